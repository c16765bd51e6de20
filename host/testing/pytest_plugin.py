"""The fixtures of the supporthost test kit (the pytest plugin ``supporthost``, entry point ``pytest11``).

One test gets one host of its own (in ``tmp_path``): the sites ``demo`` and ``other`` with the accounts
of ``host.testing.hosting`` (``admin``, ``rep1``, ``rep2``; password ``host.testing.PASSWORD``).

Which plugins the host loads, and its other settings, come from the test's ``supporthost`` marker::

    @pytest.mark.supporthost(plugins=["hello"])            # only these entry points (default: all installed)
    @pytest.mark.supporthost(extra_plugins=[("probe", Probe())], grace_period=1.0)

(``plugins`` becomes ``Config.only_plugins``, ``extra_plugins`` are registered besides the entry points,
any other keyword is a field of ``host.config.Config``.) A conftest or test module may also override the
``supporthost_options`` fixture.
"""
from __future__ import annotations

import os

import pytest

try:
    import pytest_asyncio
except ImportError as exc:
    raise ImportError("the supporthost test kit needs pytest-asyncio: pip install \"supporthost[test]\" "
                      "(or leave the kit out of this run with -p no:supporthost)") from exc

from .hosting import CHROMIUM_ARGS, FakeClock, start_host, stop_host

MARKER = ("supporthost(plugins=None, extra_plugins=(), **config): which plugins (entry point names) and "
          "which host settings the supporthost kit's `host` fixture starts its host with")


def pytest_configure(config):
    config.addinivalue_line("markers", MARKER)


@pytest.fixture
def clock():
    """A clock the test moves by hand (``clock.advance(seconds)``); pass it as ``clock=clock`` to a host."""
    return FakeClock()


@pytest.fixture
def supporthost_options(request) -> dict:
    """The keyword arguments the ``host`` fixture gives ``start_host``, from the ``supporthost`` marker."""
    marker = request.node.get_closest_marker("supporthost")
    options = dict(marker.kwargs) if marker else {}
    plugins = options.pop("plugins", None)
    if plugins is not None:
        if isinstance(plugins, str):
            raise pytest.UsageError("supporthost marker: plugins is a list of plugin names, not one string")
        options["only_plugins"] = set(plugins)
    return options


@pytest_asyncio.fixture
async def host(tmp_path, supporthost_options):
    """A real host serving on a free loopback port, with its database under ``tmp_path / "data"``."""
    h = await start_host(tmp_path / "data", **supporthost_options)
    yield h
    await stop_host(h)


@pytest_asyncio.fixture
async def rep(host):
    """The rep ``rep1`` (Rita Rep) of the site ``demo``, logged in: a ``host.testing.Client``."""
    return await host.rep("rep1", site="demo")


@pytest_asyncio.fixture
async def support_session(rep) -> dict:
    """A session the rep started: ``{"id", "number", ...}`` as the console's Start session returns it."""
    return await rep.start_session()


@pytest_asyncio.fixture
async def rep_socket(rep, support_session):
    """The rep's WebSocket in the session (``send``, ``request``, ``expect``; ``hello`` is its first message)."""
    return await rep.ws(support_session["id"])


@pytest_asyncio.fixture
async def customer(host, support_session):
    """The customer Carla Customer, joined with the session's number from the join page."""
    c = await host.client()
    r = await c.join(support_session["number"], "Carla Customer", site="demo")
    assert r.status == 302, f"the customer could not join: {r.status} {await r.text()}"
    return c


@pytest_asyncio.fixture
async def customer_socket(customer, support_session):
    """The customer's WebSocket in the session."""
    return await customer.ws(support_session["id"])


@pytest_asyncio.fixture
async def support_manager(request, host, rep_socket, support_session, supporthost_options):
    """The real Support Manager (``agent.app.SupportManager``), joined to the session as on the customer's
    computer, with the agent parts of the plugins the host loads (the marker's ``plugins``, else all
    installed). It joins with the session's number, or,
    when the test has the ``customer`` too, with a further number the rep asked for. Its consent prompt is
    a ``ScriptedConsent`` that answers no: append answers to ``support_manager.consent.answers``."""
    from .support_manager import start_agent, stop_agent
    number = support_session["number"]
    if "customer" in request.fixturenames:
        request.getfixturevalue("customer")        # the customer joins first, with the session's number
        number = (await rep_socket.request({"type": "session.new_number"}))["number"]
    agent, task = await start_agent(host, number, name="Carla's Support Manager",
                                    only_plugins=supporthost_options.get("only_plugins"))
    yield agent
    await stop_agent(agent, task)


@pytest_asyncio.fixture
async def supporthost_browser():
    """Headless Chromium through Playwright (``playwright.async_api.Browser``); new contexts are new people.
    The executable is /usr/bin/chromium, or the one named in SUPPORTHOST_CHROMIUM."""
    from playwright.async_api import async_playwright
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=os.environ.get("SUPPORTHOST_CHROMIUM", "/usr/bin/chromium"),
                                     args=CHROMIUM_ARGS)
        yield b
        await b.close()
