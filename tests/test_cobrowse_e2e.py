"""Co-browse end to end in headless Chromium, driven as a rep and a customer would: each a browser context.

The company's shop is its own little aiohttp site on another loopback origin (127.0.0.2) carrying the WebACD
snippet and a checkout form (name, card number, password, a field marked private, a field the admin made
private, private and ordinary checkboxes and radio buttons, a button with its own click handler, a list the page
updates, a link to a second page). The customer clicks Get help, fills the entry form and is routed to the rep.
The rep works only in the console (the Application tab's Co-browse View and Co-browse Control, the live replay
and its control overlay); the customer only in the shop (the page's prompt and banner). We assert on what the
rep sees in the replay, on what the customer's page does, and on every frame the shop sent and the host relayed
to the rep (no private value, no private box's state in any of them).
"""
from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web
from playwright.async_api import expect

from cobrowse_host_kit import audit_rows, set_settings
from conftest import PASSWORD, start_host, stop_host
from e2e_helpers import SOCKET_SPY
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
  <fieldset data-supporthost-private><label><input type="checkbox" id="medical" class="medical">
    I have a medical condition</label></fieldset>
  <fieldset id="plans"><label><input type="radio" name="plan" id="plan-basic" class="plan-basic" value="basic">
    Basic</label> <label><input type="radio" name="plan" id="plan-gold" class="plan-gold" value="gold"> Gold</label></fieldset>
  <label><input type="checkbox" id="gift" name="gift"> Gift wrap</label>
  <label>City <input id="city" name="city"></label>
  <label><input type="checkbox" id="newsletter" class="newsletter" name="newsletter"> Send me the newsletter</label>
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
            "allowed_origins": shop, "private_selectors": "#account\n#plans", "public_selectors": ""},
            csrf_from="/s/demo/admin")
        assert r.status == 200, await r.text()

        async def new_context(height=900):
            ctx = await browser.new_context(viewport={"width": 1280, "height": height})
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
    ctx = await world["new_context"](height=1800)     # the whole replay fits under the console's controls
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


async def replay_frame(rita):
    """The document the rep sees: rrweb's iframe inside the console's replay frame (the console may rebuild
    both when the replay starts over from a fresh snapshot, so it is looked up each time)."""
    outer = await rita.locator(".cobrowse-stage iframe.cobrowse-frame").element_handle(timeout=20000)
    outer_frame = await outer.content_frame()
    inner = await outer_frame.wait_for_selector("iframe", state="attached", timeout=20000)
    return await inner.content_frame()


async def what_the_rep_sees(rita) -> str:
    """Every text and every field value in the rep's replay, as one string."""
    frame = await replay_frame(rita)
    return await frame.evaluate("""() => [document.documentElement.outerHTML,
        ...[...document.querySelectorAll('input, textarea, select')].map((f) => f.value)].join('\\n')""")


async def rep_opens(rita, option: str) -> None:
    """The rep opens Co-browse View or Co-browse Control in the session's Application tab."""
    await rita.locator('.tab[data-tab="application"]:visible').click()
    await rita.locator(f'[data-open="{option}"]:visible').click()


async def rep_starts_view(rita, shop):
    """The rep clicks Start in Co-browse View, the customer allows in the page's prompt, the rep sees the page;
    returns the replay as the rep sees it."""
    await rep_opens(rita, "cobrowse.view")
    start = rita.locator(".cobrowse-start:visible")
    await expect(start).to_have_text("Start Co-browse View")
    await expect(start).to_be_enabled(timeout=30000)    # once the shop tab's page.js got in (4404 while queued)
    await start.click()
    await expect(rita.locator(".cobrowse-status:visible")).to_contain_text("Asking the customer")
    await shadow_click(shop, "[data-cobrowse=allow]")
    await wait_state(shop, mode="view", recording=True)
    replay = rita.frame_locator(".cobrowse-stage iframe.cobrowse-frame").frame_locator("iframe")
    await expect(replay.locator("#heading")).not_to_have_text("")
    await expect(rita.locator(".cobrowse-status:visible")).to_contain_text("Viewing the customer's page")
    return replay


async def rep_clicks_in_replay(rita, replay, selector: str) -> None:
    """A real mouse click on an element of the customer's page as the rep sees it (on the control overlay)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + 20
    while True:        # the replay may be rebuilding from a fresh snapshot this moment
        await expect(replay.locator(selector)).to_be_visible()
        box = await replay.locator(selector).bounding_box()
        if box:
            break
        assert loop.time() < end, f"{selector} is not shown in the rep's replay"
    await rita.mouse.click(box["x"] + min(6, box["width"] / 2), box["y"] + box["height"] / 2)


def checked_nodes(frames: list[str]) -> set[int]:
    """Node ids the host ever told the rep were ticked (checkbox/radio), in snapshots and input events."""
    ticked: set[int] = set()

    def walk(node):
        if node.get("attributes", {}).get("checked") in (True, "", "checked", "true"):
            ticked.add(node["id"])
        for child in node.get("childNodes", []):
            walk(child)
    for frame in frames:
        if '"cobrowse.events"' not in frame:
            continue
        for event in json.loads(frame)["e"]:
            data = event.get("data") or {}
            if event["type"] == 2:
                walk(data["node"])
            elif event["type"] == 3 and data.get("source") == 5 and data.get("isChecked"):
                ticked.add(data["id"])
            elif event["type"] == 3 and data.get("source") == 0:
                for add in data.get("adds", []):
                    walk(add["node"])
                for attr in data.get("attributes", []):
                    if attr.get("attributes", {}).get("checked") is not None:
                        ticked.add(attr["id"])
    return ticked


async def test_a_rep_and_a_customer_co_browse_through_the_console_and_the_page(world):
    """Everything through the people's own controls: the rep's console buttons and replay, the customer's
    prompt, banner and page."""
    rita, relayed = await rep_console(world)
    shop, entry, page_sent, shop_errors = await customer_asks_for_help(world)
    offer = rita.locator(".acd-offer")
    await expect(offer).to_contain_text("Carla Customer")
    await offer.locator(".acd-accept").click()
    await entry.wait_for_url("**/s/demo/session/*")

    # -- view: the rep clicks Start in Co-browse View, the customer allows in the page's prompt --
    await shop.fill("#name", "Carla before")
    replay = await rep_starts_view(rita, shop)
    await expect(replay.locator("#heading")).to_have_text("Checkout")
    for field in ("card", "password", "private", "account"):
        await shop.fill(f"#{field}", SECRETS["admin" if field == "account" else field])
    await shop.check("#medical")                 # private: a ticked box says something too
    await shop.check("#plan-gold")               # in an area the admin made private
    await shop.check("#gift")                    # an ordinary box: the rep sees it ticked
    await shop.fill("#name", "Carla Customer")
    await shop.evaluate("addItem('Blue shirt, size M')")
    # what the rep sees: the customer's typing and the list, live; the private values masked
    await expect(replay.locator("#name")).to_have_value("Carla Customer")
    await expect(replay.locator("#log li")).to_have_text(["Blue shirt, size M"])
    await expect(replay.locator("#gift")).to_be_checked()
    for field in ("card", "password", "private", "account"):
        await expect(replay.locator(f"#{field}")).to_have_value("********")
    await expect(replay.locator("#balance")).not_to_contain_text("12345")
    seen = await what_the_rep_sees(rita)
    for name, secret in SECRETS.items():
        assert secret not in seen, f"the rep sees the {name} value"
    ticked = await (await replay_frame(rita)).evaluate(
        "() => [...document.querySelectorAll('input')].filter((i) => i.checked).map((i) => i.id)")
    assert ticked == ["gift"], f"the rep sees these boxes ticked: {ticked}"
    ids = node_ids(relayed)
    assert checked_nodes(relayed) == {ids["gift"]}, "a private box's state reached the rep"
    assert_no_secrets(page_sent, "what the shop page sent")
    assert_no_secrets(relayed, "what the host relayed to the rep")

    # -- control: the rep asks in Co-browse Control, the customer allows; the rep's click runs the page's
    # own handler, the rep's typing fills the name field and never a private one --
    await rep_opens(rita, "cobrowse.control")
    request = rita.locator(".cobrowse-start:visible")
    await expect(request).to_have_text("Request control")
    await request.click()
    await shadow_click(shop, "[data-cobrowse=allow]")
    await wait_state(shop, mode="control")
    overlay = rita.locator(".cobrowse-overlay")
    await expect(overlay).to_be_visible()
    await expect(replay.locator("#name")).to_have_value("Carla Customer")     # the replay started over
    await rep_clicks_in_replay(rita, replay, "#apply")
    await expect(shop.locator("#applied")).to_have_text("Coupon applied by the page's own handler")
    await rep_clicks_in_replay(rita, replay, "#name")
    await rita.keyboard.type(" Jr")
    await expect(shop.locator("#name")).to_have_value("Carla Customer Jr")
    for field in ("card", "password", "private", "account"):
        await rep_clicks_in_replay(rita, replay, f"#{field}")
        await rita.keyboard.type("99")
        await rita.keyboard.press("Backspace")
    await rep_clicks_in_replay(rita, replay, "#gift")          # an ordinary box: the rep may untick it
    await expect(shop.locator("#gift")).not_to_be_checked()
    await rep_clicks_in_replay(rita, replay, "#name")
    await rita.keyboard.type("!")
    await expect(shop.locator("#name")).to_have_value("Carla Customer Jr!")   # the rep's events before came first
    assert await shop.input_value("#private") == SECRETS["private"]
    assert await shop.input_value("#password") == SECRETS["password"]
    assert await shop.input_value("#card") == SECRETS["card"]
    assert await shop.input_value("#account") == SECRETS["admin"]
    # a private box is drawn blank in the replay (only its class is left) and the rep cannot untick it
    await rep_clicks_in_replay(rita, replay, ".medical")
    await rep_clicks_in_replay(rita, replay, ".plan-basic")
    await rep_clicks_in_replay(rita, replay, "#name")
    await rita.keyboard.type("?")
    await expect(shop.locator("#name")).to_have_value("Carla Customer Jr!?")
    assert await shop.is_checked("#medical") and await shop.is_checked("#plan-gold")

    # -- the customer takes control back with one click: the rep's control ends, the view goes on --
    await shadow_click(shop, "[data-cobrowse=take-back]")
    await wait_state(shop, mode="view")
    await expect(overlay).to_be_hidden()
    await expect(rita.locator(".cobrowse-status:visible")).to_contain_text("Viewing the customer's page")
    ids = node_ids(relayed)
    await rep_sends(rita, {"type": "cobrowse.ctl", "a": "input", "id": ids["name"], "value": "not any more"})
    await shop.fill("#name", "Carla typing again")
    await expect(replay.locator("#name")).to_have_value("Carla typing again")
    assert await shop.input_value("#name") == "Carla typing again"      # the rep's event was dropped

    # -- the customer presses Stop: the rep's view shows it stopped --
    await shadow_click(shop, "[data-cobrowse=stop]")
    await wait_state(shop, mode=None, recording=False)
    await expect(rita.locator(".cobrowse-stage iframe")).to_have_count(0)
    await expect(rita.locator(".cobrowse-status:visible")).to_contain_text("Co-browse is off")

    # -- the rep starts again, the customer allows --
    await rep_starts_view(rita, shop)
    await expect(replay.locator("#heading")).to_have_text("Checkout")
    await expect(replay.locator("#name")).to_have_value("Carla typing again")

    # -- the customer follows the link to the second page of the site: co-browse goes on there --
    await shop.click("#next")
    await shop.wait_for_url("**/second")
    await wait_state(shop, mode="view", recording=True)
    await expect(replay.locator("#heading")).to_have_text("Shipping options")
    await shop.fill("#name", "Carla on page two")
    await expect(replay.locator("#name")).to_have_value("Carla on page two")
    await expect(rita.locator(".cobrowse-status:visible")).to_contain_text("Shop shipping")
    assert_no_secrets(page_sent, "what the shop page sent")
    assert_no_secrets(relayed, "what the host relayed to the rep")
    assert shop_errors == []


async def test_the_shop_keeps_working_when_the_host_goes_away(world):
    """A dead host never breaks the company's page: no script error, its own handlers and fields work, and
    page.js stops recording (nothing piles up) and keeps only its one global."""
    rita, _relayed = await rep_console(world)
    shop, entry, _sent, shop_errors = await customer_asks_for_help(world)
    await rita.locator(".acd-offer .acd-accept").click()
    await entry.wait_for_url("**/s/demo/session/*")
    await rep_starts_view(rita, shop)

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


async def test_private_by_default_shows_only_the_allowed_fields_and_boxes(world):
    """With "private by default" every field and every checkbox is masked but the allow-listed ones."""
    await set_settings(world["host"], private_by_default=True, public_selectors="#name\n#gift")
    rita, relayed = await rep_console(world)
    shop, entry, page_sent, shop_errors = await customer_asks_for_help(world)
    await rita.locator(".acd-offer .acd-accept").click()
    await entry.wait_for_url("**/s/demo/session/*")
    replay = await rep_starts_view(rita, shop)
    await shop.fill("#city", "Springfield")
    await shop.check("#newsletter")
    await shop.check("#gift")
    await shop.fill("#name", "Carla Customer")
    await expect(replay.locator("#name")).to_have_value("Carla Customer")
    await expect(replay.locator("#gift")).to_be_checked()
    await expect(replay.locator("#city")).to_have_value("********")
    assert "Springfield" not in await what_the_rep_sees(rita)
    ticked = await (await replay_frame(rita)).evaluate(
        "() => [...document.querySelectorAll('input')].filter((i) => i.checked).map((i) => i.id)")
    assert ticked == ["gift"], f"the rep sees these boxes ticked: {ticked}"
    assert checked_nodes(relayed) == {node_ids(relayed)["gift"]}, "a box that is not allowed reached the rep ticked"
    for frames in (page_sent, relayed):
        assert "Springfield" not in "\n".join(frames)
    assert_no_secrets(relayed, "what the host relayed to the rep")
    assert shop_errors == []


async def test_a_page_too_large_to_share_tells_the_rep_once_and_does_not_reconnect(world):
    """A snapshot over the host's 8 MiB frame limit in UTF-8 bytes (3 Mi euro signs: 9 MiB, though only 3 Mi
    JavaScript characters): page.js measures bytes, says so instead of sending it, and stays connected; the rep's
    console shows why co-browse is off."""
    rita, relayed = await rep_console(world)
    shop, entry, _sent, shop_errors = await customer_asks_for_help(world)
    sockets = []
    shop.on("websocket", lambda ws: sockets.append(ws.url))
    await rita.locator(".acd-offer .acd-accept").click()
    await entry.wait_for_url("**/s/demo/session/*")
    await shop.evaluate("() => { const p = document.createElement('p'); p.id = 'huge';"
                        " p.textContent = '\\u20ac'.repeat(3 * 1024 * 1024); document.body.append(p); }")
    await rep_opens(rita, "cobrowse.view")
    status = rita.locator(".cobrowse-status:visible")
    for attempt in (1, 2):                     # the rep may try again: told again, once per try
        start = rita.locator(".cobrowse-start:visible")
        await expect(start).to_be_enabled(timeout=30000)
        await start.click()
        await shadow_click(shop, "[data-cobrowse=allow]")
        await expect(status).to_contain_text("too large to share", timeout=30000)
        await expect(status).to_contain_text("Co-browse is off")
        await wait_state(shop, connected=True, recording=False, mode=None)
        assert sum('"cobrowse.ended"' in f for f in relayed) == attempt
    assert not [f for f in relayed if '"cobrowse.events"' in f]
    assert len(sockets) == 1, f"the page connected again: {sockets}"
    assert await audit_rows(world["host"], "cobrowse_bad_input") == []     # nothing over the limit was sent
    assert shop_errors == []
