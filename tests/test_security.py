"""Bad input at the edges of the host, over real HTTP and WebSockets: Origin checks, bad messages,
oversized messages, CSRF on every form, and reps reaching into another site's sessions."""
from __future__ import annotations

import json

import aiohttp

from host.appkeys import PLUGINS


async def _handshake_status(client, path: str, headers: dict | None = None) -> int:
    """Try to open a WebSocket; the HTTP status the host answered with (101 when it upgraded)."""
    try:
        ws = await client.http.ws_connect(client.url(path), headers=headers or {})
    except aiohttp.WSServerHandshakeError as exc:
        return exc.status
    await ws.close()
    return 101


async def _session_with_customer(host):
    rep = await host.rep()
    s = await rep.start_session()
    cust = await host.client()
    assert (await cust.join(s["number"], "Carla")).status == 302
    return rep, s, cust


async def _chat_count(host) -> int:
    return await host.db_read(lambda db: db["chat_messages"].count)


async def _still_up(sock) -> None:
    pong = await sock.request({"type": "session.ping"})
    assert pong["type"] == "session.pong"


# -- Origin --------------------------------------------------------------------------------------
async def test_websocket_from_a_foreign_origin_is_refused_without_upgrade(host):
    rep, s, cust = await _session_with_customer(host)
    path = f"/s/demo/ws/session/{s['id']}"
    for origin in ("http://evil.example", "null", host.base.replace("127.0.0.1", "localhost"),
                   host.base + ".evil.example"):
        assert await _handshake_status(cust, path, {"Origin": origin}) == 403
        assert await _handshake_status(rep, path, {"Origin": origin}) == 403
    assert await _handshake_status(rep, "/s/demo/ws/rep", {"Origin": "http://evil.example"}) == 403
    # The refusal is a plain HTTP answer with a reason, not an upgraded socket:
    r = await cust.http.get(cust.url(path), headers={"Origin": "http://evil.example", "Connection": "Upgrade",
                                                     "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                                                     "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert r.status == 403 and "foreign origin" in await r.text()
    # With its own origin the same customer gets in.
    sock = await cust.ws(s["id"])
    assert sock.hello["you"]["role"] == "customer"


async def test_websocket_from_the_sites_public_address_is_accepted(host):
    from host.appkeys import DB, SITES
    site_id = host.site().id
    await host.app[DB].write(lambda db: db["sites"].update(site_id, {"public_url": "https://help.example.com/s/demo"}))
    await host.app[DB].read(host.app[SITES].load)
    rep, s, cust = await _session_with_customer(host)
    path = f"/s/demo/ws/session/{s['id']}"
    assert await _handshake_status(cust, path, {"Origin": "https://help.example.com"}) == 101
    assert await _handshake_status(cust, path, {"Origin": "http://help.example.com"}) == 403
    assert await _handshake_status(cust, path, {"Origin": "https://help.example.com.evil.org"}) == 403


async def test_websocket_without_origin_is_refused(host):
    rep, s, cust = await _session_with_customer(host)
    assert await _handshake_status(cust, f"/s/demo/ws/session/{s['id']}") == 403
    assert await _handshake_status(rep, "/s/demo/ws/rep") == 403


# -- bad messages: error reply, connection stays up ----------------------------------------------
BAD_MESSAGES = [
    ("{not json", "malformed"),
    ("", "malformed"),
    ("[1, 2, 3]", "malformed"),
    ("42", "malformed"),
    ("null", "malformed"),
    ('"chat.send"', "malformed"),
    ('{"text": "no type"}', "malformed"),
    ('{"type": "chat"}', "malformed"),
    ('{"type": 7}', "malformed"),
    ('{"type": "nosuch.verb", "id": "x1"}', "unknown_type"),
    ('{"type": "chat.nosuchverb", "id": "x1"}', "unknown_type"),
]


async def test_bad_messages_get_an_error_and_the_connection_stays_up(host):
    rep, s, cust = await _session_with_customer(host)
    sock = await cust.ws(s["id"])
    for raw, code in BAD_MESSAGES:
        await sock.ws.send_str(raw)
        err = await sock.expect("error")
        assert err["code"] == code and err["error"], (raw, err)
        if '"id"' in raw:
            assert err["re"] == "x1"
        await _still_up(sock)
    ack = await sock.request({"type": "chat.send", "text": "still here"})
    assert ack["type"] == "chat.ack"
    assert await _chat_count(host) == 1


async def test_malformed_binary_frame_gets_an_error_and_the_connection_stays_up(host):
    rep, s, cust = await _session_with_customer(host)
    sock = await cust.ws(s["id"])
    for frame in (b"\x00", b"\x05{bad}xx", b"\x02{}payload", bytes([9]) + b'{"type":1}' + b"x",
                  bytes([21]) + b'{"type":"nosuch.feed"}' + b"data"):
        await sock.ws.send_bytes(frame)
        err = await sock.expect("error")
        assert err["code"] in ("malformed", "unknown_type")
    await _still_up(sock)


async def test_message_for_a_plugin_the_admin_switched_off_is_refused_and_connection_stays_up(host):
    rep, s, cust = await _session_with_customer(host)
    sock = await cust.ws(s["id"])
    assert (await sock.request({"type": "chat.send", "text": "before"}))["type"] == "chat.ack"
    admin = await host.rep("admin")
    keep = {f"plugin_{n}": "on" for n in host.app[PLUGINS].optional() if n != "chat"}
    r = await admin.post_form("/s/demo/admin/plugins", keep, csrf_from="/s/demo/admin")
    assert r.status == 200 and "Features saved" in await r.text()
    assert "chat" in host.site("demo").disabled
    for msg in ({"type": "chat.send", "text": "after"}, {"type": "chat.history"}):
        err = await sock.request(msg)
        assert err["type"] == "error" and err["code"] == "disabled"
        assert "switched off" in err["error"]
    await _still_up(sock)
    assert await _chat_count(host) == 1
    rows = await host.db_read(lambda db: list(db["audit_log"].rows_where("action = 'plugins_changed'")))
    assert rows and "chat" in json.loads(rows[-1]["details"])["disabled"]


async def test_oversized_message_closes_the_socket_with_1009(tmp_path):
    from conftest import start_host, stop_host
    host = await start_host(tmp_path / "data", max_message_bytes=8 * 1024)
    try:
        rep, s, cust = await _session_with_customer(host)
        sock = await cust.ws(s["id"])
        rep_ws = await rep.ws(s["id"])
        # Just under the limit is fine (a long chat within the site's own limit check).
        small = await sock.request({"type": "chat.send", "text": "y" * 3000})
        assert small["type"] == "chat.ack"
        await sock.send({"type": "chat.send", "text": "x" * (9 * 1024)})
        msg = await sock.ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1009
        assert await _chat_count(host) == 1
        # The others are not affected.
        await _still_up(rep_ws)
    finally:
        await stop_host(host)


# -- a rep of one site reaching a session of another ---------------------------------------------
async def test_rep_of_another_site_cannot_reach_a_session(host):
    rep, s, cust = await _session_with_customer(host)
    intruder = await host.rep("rep1", site="other")  # same username, other site
    token = next(c.value for c in intruder.http.cookie_jar if c.key == "sh_auth_other")
    # Through its own site's address: not a participant of that session.
    intruder.site = "other"
    assert await _handshake_status(intruder, f"/s/other/ws/session/{s['id']}",
                                   {"Origin": host.base}) == 403
    # Through the session's site, with its login token put under that site's cookie name.
    forged = {"Origin": host.base, "Cookie": f"sh_auth_demo={token}"}
    bare = await host.client()
    assert await _handshake_status(bare, f"/s/demo/ws/session/{s['id']}", forged) == 403
    r = await bare.http.get(bare.url(f"/s/demo/session/{s['id']}"), headers={"Cookie": f"sh_auth_demo={token}"})
    assert r.status == 403
    r = await intruder.http.get(intruder.url(f"/s/other/session/{s['id']}"))
    assert r.status == 403
    # The session HTTP APIs of plugins, through the intruder's own site: refused.
    active = host.app[PLUGINS].active()
    probes = [("GET", "invite", f"/sessions/{s['id']}/invites"), ("GET", "invite", f"/sessions/{s['id']}/channels"),
              ("POST", "invite", f"/sessions/{s['id']}/invites"),
              ("POST", "filexfer_basic", f"/sessions/{s['id']}/files")]
    for method, plugin, path in probes:
        if plugin not in active:
            continue
        url = f"/s/other/p/{plugin}{path}"
        if method == "GET":
            r = await intruder.http.get(intruder.url(url))
        else:
            r = await intruder.api_post(url, {"channel": "email", "to": "x@example.org"})
        assert r.status == 403, (url, r.status)
    # The session API of the other site does not know this login.
    r = await bare.http.get(bare.url("/s/demo/api/sessions"), headers={"Cookie": f"sh_auth_demo={token}"})
    assert r.status == 401
    # An admin of the other site cannot add itself (or anybody of its site) to the session.
    rep_ws = await rep.ws(s["id"])
    other_admin = await host.db_read(lambda db: next(db.query(
        "select u.id from users u join sites s on s.id = u.site_id where s.slug = 'other' and u.username = 'admin'"
    ))["id"])
    err = await rep_ws.request({"type": "session.add_rep", "user_id": other_admin})
    assert err["type"] == "error"
    people = await host.db_read(lambda db: db["participants"].count_where("session_id = ?", [s["id"]]))
    assert people == 2


async def test_customer_cookie_of_one_site_does_not_open_a_session_on_another(host):
    rep, s, cust = await _session_with_customer(host)
    token = next(c.value for c in cust.http.cookie_jar if c.key == f"shp_{s['id']}")
    bare = await host.client()
    headers = {"Origin": host.base, "Cookie": f"shp_{s['id']}={token}"}
    assert await _handshake_status(bare, f"/s/other/ws/session/{s['id']}", headers) == 403
    r = await bare.http.get(bare.url(f"/s/other/session/{s['id']}"), headers={"Cookie": f"shp_{s['id']}={token}"})
    assert r.status == 403
    # The number of a demo session is unknown on the other site.
    rep2 = await host.rep("rep2")
    s2 = await rep2.start_session()
    r = await (await host.client()).join(s2["number"], "Wrong Site", site="other")
    assert r.status == 404 and "There is no session with this number" in await r.text()


# -- CSRF: every form ----------------------------------------------------------------------------
async def _post_without_token(client, path: str, data: dict | None = None, json_body: dict | None = None):
    await client.http.get(client.url("/s/demo/"))  # the CSRF cookie is present, only the token is missing
    if json_body is not None:
        return await client.http.post(client.url(path), json=json_body, allow_redirects=False)
    return await client.http.post(client.url(path), data=data or {}, allow_redirects=False)


async def test_login_and_join_without_csrf_token_are_refused(host):
    from conftest import PASSWORD
    c = await host.client()
    r = await _post_without_token(c, "/s/demo/login", {"username": "rep1", "password": PASSWORD})
    assert r.status == 403 and "CSRF" in await r.text()
    assert not [k for k in c.http.cookie_jar if k.key.startswith("sh_auth_")]
    assert await host.db_read(lambda db: db["auth_sessions"].count) == 0
    # A wrong token (from another browser's cookie) is no better than none.
    other = await host.client()
    token = await other.csrf("/s/demo/")
    r = await c.http.post(c.url("/s/demo/login"), data={"username": "rep1", "password": PASSWORD,
                                                        "csrf_token": token}, allow_redirects=False)
    assert r.status == 403

    rep = await host.rep()
    s = await rep.start_session()
    r = await _post_without_token(c, "/s/demo/join", {"number": s["number"], "name": "Mallory"})
    assert r.status == 403
    assert await host.db_read(lambda db: db["participants"].count_where("session_id = ? and role = 'customer'",
                                                                        [s["id"]])) == 0
    # The number is still good for the real customer.
    assert (await (await host.client()).join(s["number"], "Carla")).status == 302


async def test_logout_and_session_api_without_csrf_token_are_refused(host):
    rep = await host.rep()
    r = await _post_without_token(rep, "/s/demo/logout")
    assert r.status == 403
    assert (await rep.http.get(rep.url("/s/demo/api/sessions"))).status == 200  # still logged in
    r = await _post_without_token(rep, "/s/demo/api/sessions", json_body={})
    assert r.status == 403
    r = await rep.http.post(rep.url("/s/demo/api/sessions"), json={}, headers={"X-CSRF-Token": "forged"})
    assert r.status == 403
    assert await host.db_read(lambda db: db["support_sessions"].count) == 0


async def test_admin_forms_without_csrf_token_are_refused_and_change_nothing(host):
    admin = await host.rep("admin")
    before_users = await host.db_read(lambda db: list(db["users"].rows))
    before_plugins = await host.db_read(lambda db: list(db["site_plugins"].rows))
    before_settings = await host.db_read(lambda db: list(db["site_settings"].rows))
    rep1_id = next(u["id"] for u in before_users if u["username"] == "rep1" and u["site_id"] == host.site().id)

    r = await _post_without_token(admin, "/s/demo/admin/users", {"username": "mallory", "password": "x" * 12,
                                                                  "role": "admin"})
    assert r.status == 403
    r = await _post_without_token(admin, f"/s/demo/admin/users/{rep1_id}", {
        "console": "tray", "mode": "multi", "role": "admin", "max_sessions": "5", "active": "on",
        "new_password": "a brand new password"})
    assert r.status == 403
    r = await _post_without_token(admin, "/s/demo/admin/plugins", {})  # would switch every plugin off
    assert r.status == 403
    r = await _post_without_token(admin, "/s/demo/admin/settings/chat", {"max_length": "100"})
    assert r.status == 403

    assert await host.db_read(lambda db: list(db["users"].rows)) == before_users
    assert await host.db_read(lambda db: list(db["site_plugins"].rows)) == before_plugins
    assert await host.db_read(lambda db: list(db["site_settings"].rows)) == before_settings
    assert host.site("demo").disabled == frozenset()
    assert await host.db_read(lambda db: db["audit_log"].count_where("action != 'login'")) == 0


def test_rate_limiter_blocks_per_address_and_forgets_addresses_whose_window_passed():
    from conftest import FakeClock
    from host.ratelimit import RateLimiter
    clock = FakeClock()
    limiter = RateLimiter(3, 60, clock)
    for _ in range(3):
        assert not limiter.blocked("10.0.0.1")
        limiter.hit("10.0.0.1")
    assert limiter.blocked("10.0.0.1") and not limiter.blocked("10.0.0.2")
    assert 1 <= limiter.retry_after("10.0.0.1") <= 61
    for i in range(1000):  # many addresses, each trying once (checks included)
        limiter.blocked(f"2001:db8::{i:x}")
        limiter.hit(f"2001:db8::{i:x}")
    clock.advance(61)
    assert not limiter.blocked("10.0.0.1")
    for i in range(1000):
        assert not limiter.blocked(f"2001:db8::{i:x}")
    assert limiter._hits == {}  # memory does not grow with every address ever seen
