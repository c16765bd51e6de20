"""Co-browse, host side (plugins/cobrowse): a real host on loopback, the rep over the real session socket and
the customer's page as a real WebSocket client speaking page.js's protocol (COBROWSE.md)."""
from __future__ import annotations

import asyncio
import json
import secrets

import aiohttp
import pytest

from plugins.cobrowse.state import PAGE_STOPS
from cobrowse_host_kit import (SHOP, audit_rows, connected_page, events_of, inbound, open_page, set_settings,
                               snapshot)
from test_webacd import login

TOO_LARGE, NO_RECORDER = PAGE_STOPS["too_large"], PAGE_STOPS["no_recorder"]
HOSTILE = [
    {"type": 2, "id": 10, "tagName": "script", "attributes": {"src": "https://evil.example/x.js"},
     "childNodes": [{"type": 3, "id": 11, "textContent": "parent.pwned = 1"}]},
    {"type": 2, "id": 12, "tagName": "img", "attributes": {"src": "x.png", "onerror": "parent.pwned = 2",
                                                           "ONLOAD": "parent.pwned = 3"}, "childNodes": []},
    {"type": 2, "id": 13, "tagName": "a", "attributes": {"href": " JaVa\tScript:parent.pwned=4", "class": "link"},
     "childNodes": [{"type": 3, "id": 14, "textContent": "Pay now"}]},
    {"type": 2, "id": 15, "tagName": "iframe", "attributes": {"srcdoc": "<script>parent.pwned=5</script>"},
     "childNodes": []},
    {"type": 2, "id": 16, "tagName": "input", "attributes": {"name": "name", "value": "Carla"}, "childNodes": []},
]


async def start_view(s, page, allow=True):
    """The rep starts Co-browse View, the page is asked and answers."""
    state = await s["rep_ws"].request({"type": "cobrowse.start", "mode": "view"})
    assert state["state"] == "asking" and state["asking"] == "view"
    ask = await page.expect("ask")
    assert ask == {"t": "ask", "mode": "view", "rep": "Rita Rep"}
    await page.send({"t": "consent", "mode": "view", "allow": allow})


# -- settings and availability ----------------------------------------------------------------------
async def test_settings_are_checked_when_the_admin_saves_them(host):
    admin = await login(host, "admin")
    path = "/s/demo/admin/settings/cobrowse"
    good = {"allowed_origins": "https://shop.example.com/\r\nhttp://127.0.0.1:8080\nhttps://shop.example.com",
            "private_selectors": "#card\n.secret input[type=text]", "public_selectors": ""}
    r = await admin.post_form(path, good, csrf_from="/s/demo/admin")
    assert r.status == 200, await r.text()
    site = host.site()
    assert site.settings["cobrowse"]["allowed_origins"] == "https://shop.example.com\nhttp://127.0.0.1:8080"
    for bad, text in [({"allowed_origins": "shop.example.com"}, "is not an http:// or https:// origin"),
                      ({"allowed_origins": "https://shop.example.com/checkout"}, "an origin has no path"),
                      ({"private_selectors": "#card {color: red}"}, "is not a CSS selector"),
                      ({"public_selectors": "input[name=a"}, "is not a CSS selector")]:
        r = await admin.post_form(path, {**good, **bad}, csrf_from="/s/demo/admin")
        page = await r.text()
        assert r.status == 400 and text in page, (bad, r.status)
    assert host.site().settings["cobrowse"]["allowed_origins"] == "https://shop.example.com\nhttp://127.0.0.1:8080"


async def test_an_outbound_session_shows_cobrowse_unavailable_with_the_reason(host, rep_socket):
    state = await rep_socket.request({"type": "cobrowse.state"})
    assert state["state"] == "unavailable" and state["reason"] == "needs a session that came in from your web site"
    err = await rep_socket.request({"type": "cobrowse.start", "mode": "view"})
    assert err["type"] == "error" and "needs a session that came in from your web site" in err["error"]
    options = [o for o in rep_socket.hello.get("options", [])] if "options" in rep_socket.hello else None
    assert options is None or any(o["id"] == "cobrowse.view" for o in options)


async def test_the_inbound_session_carries_the_page_key_hash_and_origin(host):
    s = await inbound(host)
    meta = await host.db_read(lambda db: json.loads(db["support_sessions"].get(s["sid"])["meta"]))
    from host.api import token_hash
    assert meta["webacd"]["page_key_hash"] == token_hash(s["key"]) and meta["webacd"]["page_origin"] == SHOP
    stored = await host.db_read(lambda db: [r["page_key_hash"] for r in db["acd_entries"].rows])
    assert stored == [token_hash(s["key"])] and s["key"] not in json.dumps(meta)
    assert (await s["rep_ws"].request({"type": "cobrowse.state"}))["state"] == "off"


# -- who may open a page socket -----------------------------------------------------------------------
async def test_a_foreign_or_missing_origin_is_refused_before_the_upgrade(host):
    s = await inbound(host)
    for origin in ("https://evil.example", host.base, None):
        http = aiohttp.ClientSession()
        host.sessions.append(http)
        headers = {"Origin": origin} if origin else {}
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await http.ws_connect(f"{host.base}/s/demo/p/cobrowse/page-ws", headers=headers)
        assert caught.value.status == 403
    refused = await audit_rows(host, "cobrowse_origin_refused")
    assert [json.loads(r["details"])["origin"] for r in refused] == ["https://evil.example", host.base, ""]
    page = await connected_page(host, s["key"])            # the allowed origin still gets in
    assert page.key and page.key != s["key"]
    http = aiohttp.ClientSession()
    host.sessions.append(http)

    async def knock(n):
        try:
            await http.ws_connect(f"{host.base}/s/demo/p/cobrowse/page-ws", headers={"Origin": f"https://evil{n % 50}.example"})
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status
    assert set(await asyncio.gather(*(knock(n) for n in range(200)))) == {403}   # a flood fills no audit log
    assert len(await audit_rows(host, "cobrowse_origin_refused")) <= 30


async def test_keys_missing_unknown_replayed_and_of_another_site(host):
    s = await inbound(host)
    page = await open_page(host, None)
    await page.send({"t": "hello", "url": SHOP})
    assert (await page.closed())[0] == 4401
    page = await open_page(host, secrets.token_urlsafe(32))          # not known (yet): the page retries
    assert (await page.closed())[0] == 4404
    page = await connected_page(host, s["key"])
    settings_seen = page.key
    assert settings_seen
    replay = await open_page(host, s["key"])
    assert await replay.closed() == (4401, "this page key was used already")
    rows = await audit_rows(host, "cobrowse_key_replayed")
    assert len(rows) == 1 and json.loads(rows[0]["details"])["session"] == s["sid"]
    assert not page.ws.closed                                         # the real page stays connected
    await set_settings(host, "other", allowed_origins=SHOP)
    other = await open_page(host, page.key, site="other")
    assert (await other.closed())[0] == 4401
    assert len(await audit_rows(host, "cobrowse_key_refused")) == 1


async def test_the_page_gets_its_settings_after_hello(host):
    s = await inbound(host, private_selectors="#card\n.secret", private_by_default=True, public_selectors="#name")
    page = await open_page(host, s["key"])
    await page.expect("key")
    assert await page.expect("settings") == {"t": "settings", "private_selectors": ["#card", ".secret"],
                                             "private_by_default": True, "public_selectors": ["#name"]}


async def test_a_site_that_switched_cobrowse_off_refuses_the_page(host):
    s = await inbound(host)
    admin = await login(host, "admin")
    from host.appkeys import PLUGINS
    form = {f"plugin_{n}": "on" for n in host.app[PLUGINS].optional() if n != "cobrowse"}
    r = await admin.post_form("/s/demo/admin/plugins", form, csrf_from="/s/demo/admin")
    assert r.status == 200
    http = aiohttp.ClientSession()
    host.sessions.append(http)
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await http.ws_connect(f"{host.base}/s/demo/p/cobrowse/page-ws", headers={"Origin": SHOP})
    assert caught.value.status == 403
    err = await s["rep_ws"].request({"type": "cobrowse.start", "mode": "view"})
    assert err["type"] == "error" and "switched off" in err["error"]


async def test_a_session_that_is_not_inbound_is_refused(host, support_session):
    """A key that (somehow) names an outbound session: refused with 4403."""
    key = secrets.token_urlsafe(32)
    from host.api import token_hash
    sid, site_id = support_session["id"], host.site().id
    await host.app[__import__("host.appkeys", fromlist=["DB"]).DB].write(lambda db: db["cobrowse_page_keys"].insert(
        {"key_hash": token_hash(key), "site_id": site_id, "session_id": sid, "state": "live", "created_at": 0.0}))
    await set_settings(host, allowed_origins=SHOP)
    page = await open_page(host, key)
    assert (await page.closed())[0] == 4403


# -- consent, relay, sanitising ------------------------------------------------------------------------
async def test_view_asks_the_customer_then_relays_sanitised_events_and_stops_and_starts_again(host):
    s = await inbound(host)
    page = await connected_page(host, s["key"])
    await start_view(s, page)
    start = await page.expect("start")
    assert start == {"t": "start", "mode": "view", "rep": "Rita Rep"}
    state = await s["rep_ws"].expect(lambda m: m.get("type") == "cobrowse.state" and m["state"] == "on")
    assert state["mode"] == "view" and state["url"] == f"{SHOP}/checkout?step=2"
    await page.send({"t": "ev", "e": snapshot(HOSTILE)})
    got = await s["rep_ws"].expect("cobrowse.events")
    text = json.dumps(got)
    assert "pwned" not in text.replace("parent.pwned = 1", "")   # only the script's own text stays (inert)
    body = got["e"][1]["data"]["node"]["childNodes"][0]["childNodes"][1]["childNodes"]
    assert body[0]["tagName"] == "template" and body[0]["attributes"] == {}
    assert body[1]["attributes"] == {"src": "x.png"}
    assert body[2]["attributes"] == {"class": "link"}
    assert body[3]["attributes"] == {}
    assert body[4]["attributes"] == {"name": "name", "value": "Carla"}
    mutation = {"type": 3, "timestamp": 2.0, "data": {"source": 0, "texts": [], "removes": [], "attributes": [
        {"id": 13, "attributes": {"href": "javascript:alert(1)", "onclick": "x()", "title": "ok"}}], "adds": [
        {"parentId": 4, "nextId": None, "node": {"type": 2, "id": 20, "tagName": "SCRIPT", "attributes": {},
                                                 "childNodes": []}}]}}
    await page.send({"t": "ev", "e": [mutation]})
    got = (await s["rep_ws"].expect("cobrowse.events"))["e"][0]["data"]
    assert got["attributes"][0]["attributes"] == {"title": "ok"} and got["adds"][0]["node"]["tagName"] == "template"
    # the customer's Stop ends it on both sides; the rep can start again
    await page.send({"t": "stop"})
    ended = await s["rep_ws"].expect("cobrowse.ended")
    assert ended["reason"] == "The customer stopped co-browse."
    await page.send({"t": "ev", "e": snapshot([])})                   # too late: nothing reaches the rep
    await start_view(s, page)
    await page.expect("start")
    await page.send({"t": "ev", "e": snapshot([], at=5.0)})
    assert (await s["rep_ws"].expect("cobrowse.events"))["e"][0]["timestamp"] == 5.0
    assert await events_of(host, s["sid"]) == ["cobrowse.requested", "cobrowse.granted", "cobrowse.stopped",
                                               "cobrowse.requested", "cobrowse.granted"]
    assert len(await audit_rows(host, "cobrowse_granted")) == 2 and len(await audit_rows(host, "cobrowse_stopped")) == 1
    grants = await s["rep_ws"].request({"type": "session.grants"})
    assert [g["plugin"] for g in grants["grants"]] == ["cobrowse"]


async def test_a_denied_request_starts_nothing_and_view_without_asking_starts_at_once(host):
    s = await inbound(host)
    page = await connected_page(host, s["key"])
    await start_view(s, page, allow=False)
    ended = await s["rep_ws"].expect("cobrowse.ended")
    assert "said no" in ended["reason"]
    assert (await s["rep_ws"].request({"type": "cobrowse.state"}))["state"] == "off"
    await page.send({"t": "ev", "e": snapshot([])})
    await set_settings(host, view_without_asking=True)
    state = await s["rep_ws"].request({"type": "cobrowse.start", "mode": "view"})
    assert state["state"] == "on"
    assert (await page.expect("start"))["mode"] == "view"
    assert not [m for m in page.seen if m["t"] == "ask"]
    assert await events_of(host, s["sid"]) == ["cobrowse.requested", "cobrowse.denied", "cobrowse.started"]
    assert not [m for m in s["rep_ws"].seen if m.get("type") == "cobrowse.events"]


async def test_control_needs_its_own_consent_and_ends_when_taken_back_or_revoked(host):
    s = await inbound(host, view_without_asking=True)   # view may start at once; control still asks
    rep_ws = s["rep_ws"]
    page = await connected_page(host, s["key"])
    click = {"type": "cobrowse.ctl", "a": "click", "id": 13, "x": 4, "y": 5}
    await rep_ws.send(click)                                 # nothing granted yet: dropped, audited
    await rep_ws.request({"type": "cobrowse.start", "mode": "view"})
    await page.expect("start")
    await rep_ws.send(click)                                 # view only: dropped
    assert [m for m in await page.quiet(0.5) if m["t"] == "ctl"] == []
    assert len(await audit_rows(host, "cobrowse_control_refused")) == 1   # at most one per few seconds
    state = await rep_ws.request({"type": "cobrowse.start", "mode": "control"})
    assert state["state"] == "on" and state["asking"] == "control"
    assert (await page.expect("ask"))["mode"] == "control"
    await page.send({"t": "consent", "mode": "control", "allow": True})
    assert await page.expect("mode") == {"t": "mode", "mode": "control"}
    await rep_ws.send(click)
    await rep_ws.send({"type": "cobrowse.ctl", "a": "input", "id": 16, "value": "Carla C"})
    await rep_ws.send({"type": "cobrowse.ctl", "a": "key", "id": 16, "key": "Enter"})
    assert await page.expect("ctl") == {"t": "ctl", "a": "click", "id": 13, "x": 4, "y": 5}
    assert await page.expect("ctl") == {"t": "ctl", "a": "input", "id": 16, "value": "Carla C"}
    assert await page.expect("ctl") == {"t": "ctl", "a": "key", "id": 16, "key": "Enter"}
    bad = await rep_ws.request({"type": "cobrowse.ctl", "a": "eval", "id": 1})
    assert bad["type"] == "error"
    grants = (await rep_ws.request({"type": "session.grants"}))["grants"]
    assert sorted(g["revoke"]["what"] for g in grants) == ["control", "view"]
    # the customer takes control back in the page: control events are dropped again, the view goes on
    await page.send({"t": "take_back"})
    assert await page.expect("mode") == {"t": "mode", "mode": "view"}
    await rep_ws.expect(lambda m: m.get("type") == "cobrowse.state" and m["mode"] == "view")
    await rep_ws.send(click)
    assert [m for m in await page.quiet(0.5) if m["t"] == "ctl"] == []
    # control again, then revoked from the customer's consent panel (the session page)
    await rep_ws.request({"type": "cobrowse.start", "mode": "control"})
    await page.expect("ask")
    await page.send({"t": "consent", "mode": "control", "allow": True})
    await page.expect("mode")
    cust_ws = await s["customer"].ws(s["sid"])
    revoked = await cust_ws.request({"type": "cobrowse.revoke", "what": "control"})
    assert revoked["mode"] == "view"
    await rep_ws.send(click)
    assert [m for m in await page.quiet(0.5) if m["t"] == "ctl"] == []
    stopped = await cust_ws.request({"type": "cobrowse.revoke", "what": "view"})
    assert stopped["state"] == "off"
    assert (await page.expect("stop"))["reason"] == "The customer revoked co-browse."
    kinds = await events_of(host, s["sid"])
    assert kinds.count("cobrowse.revoked") == 3 and kinds[-1] == "cobrowse.stopped"
    denied = await rep_ws.request({"type": "cobrowse.revoke", "what": "view"})
    assert denied["type"] == "error"


# -- bad input from the page ------------------------------------------------------------------------------
@pytest.mark.parametrize("frame", ["{not json", json.dumps({"t": "ev", "e": [{"type": "full"}]}),
                                   json.dumps({"t": "ev", "e": "x"}), json.dumps([1, 2]),
                                   "[" * 5000 + "]" * 5000])
async def test_malformed_frames_close_the_page_with_4400_and_are_audited(host, frame):
    s = await inbound(host)
    page = await connected_page(host, s["key"])
    await page.ws.send_str(frame)
    assert (await page.closed())[0] == 4400
    assert len(await audit_rows(host, "cobrowse_bad_input")) == 1
    again = await connected_page(host, page.key)         # the host is fine; the rotated key still works
    assert again.key


async def test_a_frame_over_8_mb_is_refused_and_ends_cobrowse_once_with_the_reason(host):
    """A page that sent a frame over the limit would send it again on every start: the host ends co-browse
    (once, saying why) instead of starting it again when the page reconnects."""
    s = await inbound(host, view_without_asking=True)
    rep_ws = s["rep_ws"]
    page = await connected_page(host, s["key"])
    await rep_ws.request({"type": "cobrowse.start", "mode": "view"})
    await page.expect("start")
    big = json.dumps({"t": "ev", "e": snapshot([{"type": 3, "id": 9, "textContent": "x" * (8 * 1024 * 1024)}])})
    try:
        await page.ws.send_str(big)
    except ConnectionError:
        pass                                             # the host closed while the frame was still going out
    code, _reason = await page.closed()
    assert code in (1009, 1006, None)
    ended = await rep_ws.expect("cobrowse.ended")
    assert ended["reason"] == TOO_LARGE
    async with asyncio.timeout(10):
        while not await audit_rows(host, "cobrowse_bad_input"):
            await asyncio.sleep(0.05)
    assert "exceeds limit" in json.loads((await audit_rows(host, "cobrowse_bad_input"))[0]["details"])["why"]
    assert not [m for m in rep_ws.seen if m.get("type") == "cobrowse.events"]
    page = await connected_page(host, page.key)          # the page comes back: co-browse stays off, says why
    state = await rep_ws.request({"type": "cobrowse.state"})
    assert state["state"] == "off" and state["reason"] == TOO_LARGE and state["page"] is True
    assert "cobrowse.ended" not in [m.get("type") for m in rep_ws.seen]     # the rep was told once
    await rep_ws.request({"type": "cobrowse.start", "mode": "view"})     # the rep may try again
    await page.expect("start")
    fine = snapshot([{"type": 3, "id": 9, "textContent": "y" * (3 * 1024 * 1024)}])   # the test socket reads 4 MB
    await page.send({"t": "ev", "e": fine})
    got = await rep_ws.expect("cobrowse.events", timeout=30)
    assert len(got["e"][1]["data"]["node"]["childNodes"][0]["childNodes"][1]["childNodes"][0]["textContent"]) == 3 * 1024 * 1024
    state = await rep_ws.request({"type": "cobrowse.state"})
    assert state["state"] == "on" and state["reason"] == ""


@pytest.mark.parametrize("why, reason", [("too_large", TOO_LARGE), ("no_recorder", NO_RECORDER),
                                         (None, "The customer stopped co-browse."),
                                         ("<b>anything</b>", "The customer stopped co-browse.")])
async def test_a_page_that_stops_by_itself_tells_the_rep_why(host, why, reason):
    s = await inbound(host, view_without_asking=True)
    rep_ws = s["rep_ws"]
    page = await connected_page(host, s["key"])
    await rep_ws.request({"type": "cobrowse.start", "mode": "view"})
    await page.expect("start")
    await page.send({"t": "stop", **({"why": why} if why else {})})
    assert (await rep_ws.expect("cobrowse.ended"))["reason"] == reason
    state = await rep_ws.request({"type": "cobrowse.state"})
    assert state["state"] == "off" and state["reason"] == reason
    assert (await page.expect("stop"))["reason"] == reason


# -- a page reload, navigation, the session's end -------------------------------------------------------
async def test_a_reload_mid_session_keeps_cobrowse_with_the_rotated_key(host):
    s = await inbound(host, view_without_asking=True)
    first = await connected_page(host, s["key"])
    await s["rep_ws"].request({"type": "cobrowse.start", "mode": "view"})
    await first.expect("start")
    second = await connected_page(host, first.key, url=f"{SHOP}/checkout?step=3")   # the next page of the site
    assert (await second.expect("start"))["mode"] == "view"          # it records at once
    assert (await first.closed())[0] == 4409
    await first.ws.close()
    state = await s["rep_ws"].expect(lambda m: m.get("type") == "cobrowse.state" and m["url"].endswith("step=3"))
    assert state["state"] == "on" and state["page"] is True
    await second.send({"t": "ev", "e": snapshot([], at=9.0)})
    assert (await s["rep_ws"].expect("cobrowse.events"))["e"][0]["timestamp"] == 9.0
    old = await open_page(host, first.key)               # the first page's key is spent
    assert (await old.closed())[0] == 4401


async def test_leaving_the_site_or_ending_the_session_stops_cobrowse(host):
    s = await inbound(host, view_without_asking=True)
    page = await connected_page(host, s["key"])
    await s["rep_ws"].request({"type": "cobrowse.start", "mode": "view"})
    await page.expect("start")
    await page.send({"t": "leaving", "url": "https://elsewhere.example/"})
    await page.ws.close()
    ended = await s["rep_ws"].expect("cobrowse.ended")
    assert ended["reason"] == "The customer left the web site."
    page = await connected_page(host, page.key)
    await s["rep_ws"].request({"type": "cobrowse.start", "mode": "view"})
    await page.expect("start")
    await s["rep_ws"].send({"type": "session.end"})
    assert (await page.expect("stop"))["reason"] == "The support session ended."
    assert (await page.closed())[0] == 4410
    late = await open_page(host, page.key)
    assert (await late.closed())[0] == 4410
