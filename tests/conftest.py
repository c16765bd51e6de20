"""The project's tests use the test kit that ships with supporthost (``host.testing``, the pytest plugin
``supporthost``): its fixtures (``host``, ``rep``, ``customer``, ``support_manager``...) come from there.
Its helpers are imported here too, for the tests that start hosts of their own (``from conftest import
start_host``)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from host.testing import (CHROMIUM_ARGS, PASSWORD, Client, FakeClock, Host, Socket, free_port, seed,
                          start_host, stop_host)

__all__ = ["CHROMIUM_ARGS", "PASSWORD", "Client", "FakeClock", "Host", "Socket", "free_port", "parse_python",
           "seed", "start_host", "stop_host"]


@pytest.fixture
def browser(supporthost_browser):
    """The kit's headless Chromium, under the name the project's tests use."""
    return supporthost_browser


def parse_python(path: Path) -> ast.Module:
    """The syntax tree of a source file, for the tests that read the code. CPython 3.11 can fail a parse
    with "SystemError: AST constructor recursion depth mismatch" when another thread of the process
    (an earlier test's worker) builds a tree at the same moment: that one is parsed again."""
    source = path.read_text(encoding="utf-8")
    for attempt in range(3):
        try:
            return ast.parse(source, filename=str(path))
        except SystemError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
