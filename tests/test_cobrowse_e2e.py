"""Co-browse end to end in headless Chromium: a rep and a customer, each a browser context of their own.

The company's shop is its own little aiohttp site on another loopback origin (127.0.0.2) carrying the WebACD
snippet and a checkout form (name, card number, password, a field marked private, a field the admin made
private, a button with its own click handler, a list the page updates, a link to a second page). The customer
clicks Get help, fills the entry form and is routed to the rep; the rep starts Co-browse View, the customer
allows in the page's prompt; typing and DOM changes show up in the rep's replay; what the shop page sent and
what the host relayed to the rep never hold the private values. Control: the rep's click runs the page's own
handler, the rep's typing fills a normal field and not a private one. The customer stops; the rep starts
again; following the link to the second page keeps co-browse going.
"""
from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web
from playwright.async_api import expect

from conftest import PASSWORD, start_host, stop_host
from e2e_helpers import SOCKET_SPY, crafted
from test_webacd import login as client_login
from test_webacd import make_queue

pytestmark = pytest.mark.browser
expect.set_options(timeout=20000)

SECRETS = {"card": "4111 1111 1111 1111", "password": "Hunter2-secret", "private": "MyMothersMaiden",
           "admin": "ACCT-998877", "hidden": "csrf-HIDDEN-token", "text": "Balance 12345.67 EUR"}
SHOP_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font:16px sans-serif;margin:20px}} label{{display:block;margin:8px 0}} #log li{{color:#363}}</style></head>
<body><h1 id="heading">{heading}</h1>
<form id="checkout" action="/done" onsubmit="return false">
  <label>Name <input id="name" name="name" autocomplete="name"></label>
  <label>Card number <input id="card" name="card" autocomplete="cc-number"></label>
  <label>Password <input id="password" name="password" type="password"></label>
  <label>Mother's maiden name <input id="private" name="private" data-supporthost-private></label>
  <label>Account <input id="account" name="account"></label>
  <input type="hidden" name="csrf" value="{hidden}">
  <p class="supporthost-private" id="balance">{text}</p>
  <button type="button" id="apply">Apply coupon</button> <span id="applied"></span>
</form>
<ul id="log"></ul>
<p><a id="next" href="/second">Shipping options</a></p>
<script src="/shop.js"></script>
<script src="{host}/s/demo/p/webacd/snippet.js" data-queue="{queue}"></script>
</body></html>"""
SHOP_JS = """
document.getElementById("apply").addEventListener("click", function (ev) {
  document.getElementById("applied").textContent = "Coupon applied by the page's own handler";
});
window.addItem = function (text) {
  var li = document.createElement("li"); li.textContent = text; document.getElementById("log").appendChild(li);
};
"""


async def shop_site(host_base: str, queue_id: int):
    """The company's shop on 127.0.0.2 (another origin than the host's 127.0.0.1)."""
    def page(title, heading):
        html = SHOP_PAGE.format(title=title, heading=heading, host=host_base, queue=queue_id,
                                hidden=SECRETS["hidden"], text=SECRETS["text"])
        async def handler(_request):
            return web.Response(text=html, content_type="text/html")
        return handler

    async def shop_js(_request):
        return web.Response(text=SHOP_JS, content_type="application/javascript")
    app = web.Application()
    app.router.add_get("/checkout", page("Shop checkout", "Checkout"))
    app.router.add_get("/second", page("Shop shipping", "Shipping options"))
    app.router.add_get("/shop.js", shop_js)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.2", 0)
    await site.start()
    return runner, f"http://127.0.0.2:{site._server.sockets[0].getsockname()[1]}"


async def shadow_click(page, selector: str, timeout: float = 20) -> None:
    """A real mouse click on a button of page.js's prompt or banner, once it shows. They live in a closed
    shadow root that neither the page's scripts nor Playwright's selectors reach; DevTools sees into it."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        box = await _shadow_box(page, selector)
        if box:
            await page.mouse.click(*box)
            return
        if loop.time() > end:
            raise AssertionError(f"no {selector} in page.js's prompt or banner")
        await asyncio.sleep(0.1)


async def _shadow_box(page, selector: str):
    cdp = await page.context.new_cdp_session(page)
    try:
        doc = await cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})

        def find(node):
            if node.get("localName") == "supporthost-cobrowse":
                return node
            for child in node.get("children", []) + node.get("shadowRoots", []):
                found = find(child)
                if found:
                    return found
            return None
        ui = find(doc["root"])
        if not ui or not ui.get("shadowRoots"):
            return None
        node = (await cdp.send("DOM.querySelector", {"nodeId": ui["shadowRoots"][0]["nodeId"],
                                                     "selector": selector}))["nodeId"]
        if not node:
            return None
        quad = (await cdp.send("DOM.getBoxModel", {"nodeId": node}))["model"]["border"]
        return (quad[0] + quad[4]) / 2, (quad[1] + quad[5]) / 2
    finally:
        await cdp.detach()


async def cobrowse_state(shop) -> dict:
    return await shop.evaluate("window.SupportHostCobrowse ? window.SupportHostCobrowse.state() : null")


async def wait_state(shop, **want) -> dict:
    """Waits until page.js's state has these values (the page's own view of co-browse)."""
    js = "want => { const s = window.SupportHostCobrowse && window.SupportHostCobrowse.state(); " \
         "return !!s && Object.entries(want).every(([k, v]) => s[k] === v); }"
    await shop.wait_for_function(js, arg=want, timeout=20000)
    return await cobrowse_state(shop)


def frame_log(page, direction: str) -> list[str]:
    """Every WebSocket text frame this page sends ("framesent") or receives ("framereceived")."""
    frames: list[str] = []

    def on_socket(ws):
        ws.on(direction, lambda payload: frames.append(payload if isinstance(payload, str) else
                                                        payload.decode("utf-8", "replace")))
    page.on("websocket", on_socket)
    return frames


def assert_no_secrets(frames: list[str], what: str) -> None:
    text = "\n".join(frames)
    for name, secret in SECRETS.items():
        assert secret not in text, f"the {name} value leaked into {what}"
        assert json.dumps(secret)[1:-1] not in text, f"the {name} value leaked into {what}"


@pytest.fixture
async def world(tmp_path, browser):
    host = await start_host(tmp_path / "data")
    w = {}
    shop_runner = None
    contexts = []
    try:
        queue = await make_queue(host, "Help desk", members=("rep1",), field_phone="off", field_email="optional")
        shop_runner, shop = await shop_site(host.base, queue)
        admin = await client_login(host, "admin")
        r = await admin.post_form("/s/demo/admin/settings/cobrowse", {
            "allowed_origins": shop, "private_selectors": "#account", "public_selectors": ""},
            csrf_from="/s/demo/admin")
        assert r.status == 200, await r.text()

        async def new_context():
            ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
            contexts.append(ctx)
            return ctx
        w = {"host": host, "shop": shop, "new_context": new_context, "host_stopped": False}
        yield w
    finally:
        for ctx in contexts:
            await ctx.close()
        if shop_runner:
            await shop_runner.cleanup()
        if not w.get("host_stopped"):
            await stop_host(host)


async def rep_console(world):
    """Rita logs in to her dashboard and makes herself available; every frame her page receives is kept."""
    ctx = await world["new_context"]()
    await ctx.add_init_script(SOCKET_SPY)
    page = await ctx.new_page()
    received = frame_log(page, "framereceived")
    await page.goto(f"{world['host'].base}/s/demo/login")
    await page.fill("input[name=username]", "rep1")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form.login-form button[type=submit]")
    await expect(page.locator(".acd-dock")).to_be_visible()
    await page.click(".acd-status-toggle")
    await expect(page.locator(".acd-status-toggle")).to_have_text("Available")
    return page, received


async def customer_asks_for_help(world):
    """Carla opens the shop, clicks Get help, fills the entry form in the new tab; returns both tabs."""
    ctx = await world["new_context"]()
    shop = await ctx.new_page()
    sent = frame_log(shop, "framesent")
    errors: list[str] = []
    shop.on("pageerror", lambda err: errors.append(str(err)))
    await shop.goto(f"{world['shop']}/checkout")
    async with ctx.expect_page() as popup:
        await shop.click("text=Get help")
    entry = await popup.value
    await entry.wait_for_load_state()
    await entry.fill("input[name=name]", "Carla Customer")
    await entry.fill("textarea[name=problem]", "The coupon does not apply")
    await entry.click("form.acd-form button[type=submit]")
    await expect(entry.locator(".acd-position")).to_have_text("1")
    return shop, entry, sent, errors


async def rep_sends(rep, msg: dict) -> None:
    """A message over the rep console's own session socket."""
    ok = await rep.evaluate("""(msg) => {
      const ws = window.__sockets.filter((s) => s.url.includes("/ws/session/") && s.readyState === 1).pop();
      if (!ws) return false;
      ws.send(JSON.stringify(msg));
      return true;
    }""", msg)
    assert ok, "the rep console has no session socket"


async def rep_starts(rep, mode: str) -> None:
    """The rep asks for co-browse over the console's socket; the host takes the request."""
    reply = await crafted(rep, {"type": "cobrowse.start", "mode": mode, "id": f"start-{mode}"})
    assert reply.get("type") == "cobrowse.state" and reply.get("state") in ("asking", "on"), reply


async def wait_relayed(frames: list[str], text: str, timeout: float = 20) -> None:
    """Waits until a cobrowse.events message relayed to the rep holds this text."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if any('"cobrowse.events"' in f and text in f for f in frames):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{text!r} never reached the rep; it got {[f[:120] for f in frames[-8:]]}")


async def wait_relayed_message(frames: list[str], kind: str, timeout: float = 20) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if any(kind in f for f in frames):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {kind} reached the rep")


def node_ids(frames: list[str]) -> dict[str, int]:
    """The rrweb node ids of the elements with an id attribute, from the last full snapshot the rep got."""
    ids: dict[str, int] = {}

    def walk(node):
        if "id" in node.get("attributes", {}):
            ids[node["attributes"]["id"]] = node["id"]
        for child in node.get("childNodes", []):
            walk(child)
    for frame in reversed(frames):
        if '"cobrowse.events"' not in frame or '"type":2,"data":{"node"' not in frame:
            continue
        for event in json.loads(frame)["e"]:
            if event["type"] == 2:
                walk(event["data"]["node"])
        return ids
    raise AssertionError("the rep got no full snapshot")


async def test_view_privacy_control_stop_restart_and_next_page(world):
    rita, relayed = await rep_console(world)
    shop, entry, page_sent, shop_errors = await customer_asks_for_help(world)
    offer = rita.locator(".acd-offer")
    await expect(offer).to_contain_text("Carla Customer")
    await offer.locator(".acd-accept").click()
    await entry.wait_for_url("**/s/demo/session/*")
    await wait_state(shop, connected=True)     # the host took the shop tab's hello (4404 while Carla waited)

    # -- view: the rep asks, the customer allows in the page's prompt --
    await rep_starts(rita, "view")
    await shop.fill("#name", "Carla before")
    await shadow_click(shop, "[data-cobrowse=allow]")
    await wait_state(shop, mode="view", recording=True)
    for field in ("card", "password", "private", "account"):
        key = "admin" if field == "account" else field
        await shop.fill(f"#{field}", SECRETS[key])
    await shop.fill("#name", "Carla Customer")
    await shop.evaluate("addItem('Blue shirt, size M')")
    await wait_relayed(relayed, "Carla Customer")
    await wait_relayed(relayed, "Blue shirt, size M")
    assert_no_secrets(page_sent, "what the shop page sent")
    assert_no_secrets(relayed, "what the host relayed to the rep")

    # -- control: asked again, allowed; the rep's click runs the page's own handler, typing fills a normal
    # field and never a private one --
    await rep_starts(rita, "control")
    await shadow_click(shop, "[data-cobrowse=allow]")
    await wait_state(shop, mode="control")
    ids = node_ids(relayed)
    await rep_sends(rita, {"type": "cobrowse.ctl", "a": "click", "id": ids["apply"], "x": 5, "y": 5})
    await expect(shop.locator("#applied")).to_have_text("Coupon applied by the page's own handler")
    await rep_sends(rita, {"type": "cobrowse.ctl", "a": "input", "id": ids["name"], "value": "Carla C. Customer"})
    await expect(shop.locator("#name")).to_have_value("Carla C. Customer")
    for field in ("private", "password", "card", "account"):
        await rep_sends(rita, {"type": "cobrowse.ctl", "a": "input", "id": ids[field], "value": "typed by rep"})
        await rep_sends(rita, {"type": "cobrowse.ctl", "a": "click", "id": ids[field], "x": 2, "y": 2})
    await rep_sends(rita, {"type": "cobrowse.ctl", "a": "input", "id": ids["name"], "value": "Carla after"})
    await expect(shop.locator("#name")).to_have_value("Carla after")     # the events before it came first
    assert await shop.input_value("#private") == SECRETS["private"]
    assert await shop.input_value("#password") == SECRETS["password"]
    assert await shop.input_value("#card") == SECRETS["card"]
    assert await shop.input_value("#account") == SECRETS["admin"]

    # -- the customer takes control back: the rep's events are ignored, the view goes on --
    await shadow_click(shop, "[data-cobrowse=take-back]")
    await wait_state(shop, mode="view")
    await rep_sends(rita, {"type": "cobrowse.ctl", "a": "input", "id": ids["name"], "value": "not any more"})
    await shop.fill("#name", "Carla typing again")
    await wait_relayed(relayed, "Carla typing again")
    assert await shop.input_value("#name") == "Carla typing again"

    # -- the customer stops; the rep starts again --
    await shadow_click(shop, "[data-cobrowse=stop]")
    await wait_state(shop, mode=None, recording=False)
    await wait_relayed_message(relayed, '"cobrowse.ended"')
    relayed.clear()
    await rep_starts(rita, "view")
    await shadow_click(shop, "[data-cobrowse=allow]")
    await wait_state(shop, mode="view", recording=True)
    await wait_relayed(relayed, "Checkout")

    # -- the customer follows the link to the second page: co-browse goes on there --
    await shop.click("#next")
    await shop.wait_for_url("**/second")
    await wait_state(shop, mode="view", recording=True)
    await wait_relayed(relayed, "Shop shipping")     # the second page's title, in its full snapshot
    assert_no_secrets(page_sent, "what the shop page sent")
    assert_no_secrets(relayed, "what the host relayed to the rep")
    assert shop_errors == []


async def test_the_shop_keeps_working_when_the_host_goes_away(world):
    """A dead host never breaks the company's page: no script error, its own handlers and fields work, and
    page.js stops recording (nothing piles up) and keeps only its one global."""
    rita, relayed = await rep_console(world)
    shop, entry, _sent, shop_errors = await customer_asks_for_help(world)
    await rita.locator(".acd-offer .acd-accept").click()
    await entry.wait_for_url("**/s/demo/session/*")
    await wait_state(shop, connected=True)
    await rep_starts(rita, "view")
    await shadow_click(shop, "[data-cobrowse=allow]")
    await wait_state(shop, mode="view", recording=True)
    await wait_relayed(relayed, "Checkout")

    await stop_host(world["host"])
    world["host_stopped"] = True
    await wait_state(shop, connected=False, recording=False, mode=None)
    await shop.fill("#name", "Still typing")
    await shop.click("#apply")
    await expect(shop.locator("#applied")).to_have_text("Coupon applied by the page's own handler")
    await shop.evaluate("addItem('Works offline')")
    await expect(shop.locator("#log li")).to_have_text(["Works offline"])
    globals_added = await shop.evaluate("""() => Object.keys(window).filter((k) =>
        /rrweb|supporthost|cobrowse/i.test(k))""")
    assert globals_added == ["SupportHostCobrowse"]
    assert shop_errors == []
