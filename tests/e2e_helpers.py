"""Helpers for the end-to-end tests: people (browser contexts) acting on a real host in headless Chromium.

Each person is a separate browser context (own cookies) of one headless Chromium. Waiting is always on what
the page shows (selectors, texts), never on sleeps.

To keep the suite fast, one Chromium serves all e2e tests (launched as conftest's `browser` fixture does, with
its arguments) and one real host serves them all; every test makes its own reps with fresh accounts, so tests
do not share sessions, and the test that switches features off works on its own site. Each test closes its people's browser contexts at its end.
"""
from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, Page, expect

from conftest import CHROMIUM_ARGS, PASSWORD, start_host, stop_host
from host.appkeys import DB
from host.sites import create_user

# e2e test modules: pytestmark = E2E
E2E = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]
_serial = itertools.count(1)

SHOTS = Path("/tmp/supporthost-e2e")
TIMEOUT_MS = 8000
expect.set_options(timeout=TIMEOUT_MS)

# Keeps every WebSocket the page opens in window.__sockets, so a test can send a hand-made frame over the
# page's own connection (as a tampered page would) and read the server's answer.
SOCKET_SPY = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.__sockets.push(this); }
  };
})();
"""

CRAFTED_SEND = """
async (msg) => {
  const ws = window.__sockets.filter((s) => s.url.includes("/ws/session/") && s.readyState === 1).pop();
  if (!ws) return { type: "no-socket" };
  return await new Promise((resolve) => {
    ws.addEventListener("message", (e) => {
      let m; try { m = JSON.parse(e.data); } catch { return; }
      if (m.re === msg.id) resolve(m);
    });
    ws.send(JSON.stringify(msg));
  });
}
"""


@dataclass
class Person:
    """One person at one browser: a context with its own cookies, and the page they look at."""
    context: BrowserContext
    page: Page
    errors: list = field(default_factory=list)

    async def close(self):
        await self.context.close()


@dataclass
class World:
    """The browser and host of a test, and the people it brought in (closed at the end of the test)."""
    browser: object
    host: object
    people: list = field(default_factory=list)

    async def new_rep(self, display_name: str, console: str = "dashboard", mode: str = "single",
                      max_sessions: int = 1, role: str = "rep", site: str = "demo") -> str:
        """A fresh account for this test (password PASSWORD); returns its username. It takes the argon2 hash
        of the seeded rep1 (the same password): hashing again would only cost time."""
        username = f"{display_name.split()[0].lower()}{next(_serial)}"
        site_id = self.host.site(site).id

        def write(db):
            known = next(db.query("select password_hash from users where site_id = ? and username = 'rep1'",
                                  [site_id]))["password_hash"]
            return create_user(db, site_id, username, display_name, PASSWORD, role=role, console=console,
                               mode=mode, max_sessions=max_sessions, password_hash=known)
        await self.host.app[DB].write(write)
        return username


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def e2e_browser():
    from playwright.async_api import async_playwright
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        await b.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def e2e_host(tmp_path_factory):
    # One host for all e2e tests: each test has its own reps and sessions, the admin test its own site
    # ("other"). Logins from 127.0.0.1 add up over the suite, so the per-address login limit is raised
    # here (the limit itself has its own tests).
    h = await start_host(tmp_path_factory.mktemp("e2e") / "data", login_attempts_per_minute_per_address=500)
    yield h
    await stop_host(h)


@pytest_asyncio.fixture(loop_scope="session")
async def world(e2e_browser, e2e_host):
    w = World(e2e_browser, e2e_host)
    yield w
    for p in w.people:
        await p.context.close()


async def person(world: World, width=1200, height=800, real_windows=False) -> Person:
    """real_windows: no viewport emulation, so window.open sizes and window.resizeTo act on real windows."""
    browser, host = world.browser, world.host
    if real_windows:
        context = await browser.new_context(base_url=host.base, no_viewport=True)
    else:
        context = await browser.new_context(base_url=host.base, viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    await context.add_init_script(SOCKET_SPY)
    page = await context.new_page()
    p = Person(context, page)
    world.people.append(p)
    watch(p, page)
    return p


def watch(p: Person, page: Page) -> None:
    """Collect uncaught script errors of a page: a test ends by asserting there were none."""
    page.on("pageerror", lambda err: p.errors.append(f"{page.url}: {err}"))


async def login(world: World, username: str, password: str = PASSWORD, site: str = "demo", **kw) -> Person:
    """A rep (or admin) logs in; they land on their console."""
    p = await person(world, **kw)
    await p.page.goto(f"/s/{site}/login")
    await p.page.fill("input[name=username]", username)
    await p.page.fill("input[name=password]", password)
    await p.page.click(".login-form button[type=submit]")
    await p.page.wait_for_url(f"**/s/{site}/console")
    return p


async def set_console(host, username: str, console: str, mode: str = "single", max_sessions: int = 1,
                      site: str = "demo") -> None:
    """Seed a rep's console and mode straight into the database (the admin page path has its own test)."""
    site_id = host.site(site).id
    await host.app[DB].write(lambda db: db.execute(
        "update users set console = ?, mode = ?, max_sessions = ? where site_id = ? and username = ?",
        [console, mode, max_sessions, site_id, username]))


async def admin_set_console(admin: Page, username: str, console: str, mode: str, max_sessions: int = 1,
                            site: str = "demo"):
    """On the admin page: change one account's console and mode, and save that row."""
    if not admin.url.endswith(f"/s/{site}/admin"):
        await admin.goto(f"/s/{site}/admin")
    row = admin.locator(f'tr[data-user="{username}"]')
    await row.locator("select[name=console]").select_option(console)
    await row.locator("select[name=mode]").select_option(mode)
    await row.locator("input[name=max_sessions]").fill(str(max_sessions))
    await row.get_by_role("button", name="Save").click()
    await expect(admin.locator(".flash.ok")).to_have_text("Account saved.")


def digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")


async def start_session(rep: Page) -> dict:
    """The rep presses Start session; returns what the console shows of the new session."""
    before = await rep.locator(".session[data-session]").count()
    await rep.locator(".start-session").first.click()
    await expect(rep.locator(".session[data-session]")).to_have_count(before + 1)
    view = rep.locator(".session[data-session]:not([hidden])")
    await expect(view.locator(".session-number")).to_have_text(re.compile(r"\d"))
    number = digits(await view.locator(".session-number").text_content())
    return {"id": await view.get_attribute("data-session"), "number": number, "view": view}


async def customer_joins(world: World, number: str, name: str = "Carla Customer", site: str = "demo") -> Person:
    """A customer opens the site's join page, types the number and a name, and lands on the customer page."""
    c = await person(world, 1000, 700)
    await c.page.goto(f"/s/{site}/")
    await c.page.fill("input[name=number]", number)
    await c.page.fill("input[name=name]", name)
    await c.page.click(".join-form button[type=submit]")
    await c.page.wait_for_url(re.compile(rf"/s/{site}/session/[0-9a-f]+$"))
    await expect(c.page.locator(".chat-input")).to_be_visible()
    return c


async def say(page_or_scope, text: str, audience: str | None = None) -> None:
    """Type a chat message and press Enter; wait until the host acknowledged it (the line is no longer pending)."""
    scope = page_or_scope
    if audience:
        await scope.locator(".chat-audience:visible").select_option(audience)
    box = scope.locator(".chat-input:visible")
    await box.fill(text)
    await box.press("Enter")
    line = scope.locator(".chat-line.mine[data-id]").filter(has_text=text)
    await expect(line.last).to_be_visible()


def chat_line(scope, name: str, text: str):
    """The chat lines in scope (a page or a part of one) from `name` that contain `text`."""
    page = scope if isinstance(scope, Page) else scope.page
    return scope.locator(".chat-line").filter(has=page.locator(".chat-name", has_text=name)).filter(
        has=page.locator(".chat-text", has_text=text))


async def crafted(page: Page, msg: dict) -> dict:
    """Send a hand-made envelope over the page's own session socket; return the host's reply to it."""
    return await page.evaluate(CRAFTED_SEND, msg)


async def shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    await page.screenshot(path=str(path))
    return path


async def open_tab(scope, tab: str) -> None:
    """Dashboard and multisession: open one of the tabs Tools, Desktop, Application, Session."""
    await scope.locator(f'.tabs .tab[data-tab="{tab}"]:visible').click()


async def open_option(scope, option_id: str, tab: str | None = None) -> None:
    if tab:
        await open_tab(scope, tab)
    await scope.locator(f'[data-open="{option_id}"]:visible').click()
    await expect(scope.locator(f'.panel[data-option="{option_id}"]')).to_be_visible()


def page_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
    return json.loads(m.group(1)) if m else {}
