"""The project's tests use the test kit that ships with supporthost (``host.testing``, the pytest plugin
``supporthost``): its fixtures (``host``, ``rep``, ``customer``, ``support_manager``...) come from there.
Its helpers are imported here too, for the tests that start hosts of their own (``from conftest import
start_host``)."""
from __future__ import annotations

import pytest

from host.testing import (CHROMIUM_ARGS, PASSWORD, Client, FakeClock, Host, Socket, free_port, seed,
                          start_host, stop_host)

__all__ = ["CHROMIUM_ARGS", "PASSWORD", "Client", "FakeClock", "Host", "Socket", "free_port", "seed",
           "start_host", "stop_host"]


@pytest.fixture
def browser(supporthost_browser):
    """The kit's headless Chromium, under the name the project's tests use."""
    return supporthost_browser
