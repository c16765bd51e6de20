"""The supporthost test kit: a real host on a loopback port, people acting on it over real HTTP and
WebSockets, and the real Support Manager, for the host's own tests and for a plugin's.

Installed with supporthost as the pytest plugin ``supporthost`` (entry point group ``pytest11``), so its
fixtures (``host``, ``rep``, ``support_session``, ``rep_socket``, ``customer``, ``customer_socket``,
``support_manager``, ``clock``, ``supporthost_browser``) are there in any test of a virtualenv where
supporthost is installed; docs/plugins.md, section "Testing a plugin", shows a whole test. The helpers
below are for tests that start hosts of their own.
"""
from .hosting import (CHROMIUM_ARGS, PASSWORD, Client, FakeClock, Host, Socket, free_port, seed, start_host,
                      stop_host)

__all__ = ["CHROMIUM_ARGS", "PASSWORD", "Client", "FakeClock", "Host", "Socket", "free_port", "seed",
           "start_host", "stop_host"]
