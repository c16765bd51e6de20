"""The chat plugin over real WebSockets and real SQLite: acknowledged after commit, kept across a host
restart, text kept verbatim, bad input refused, and chat among reps that customers never see."""
from __future__ import annotations

import sqlite3

from yarl import URL

from conftest import start_host, stop_host

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> &amp; &lt;b&gt; \u202e "\'` {{7*7}}'


async def _session(host):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    cust = await host.client()
    assert (await cust.join(s["number"], "Carla")).status == 302
    cust_ws = await cust.ws(s["id"])
    return rep, s, rep_ws, cust, cust_ws


def _committed(host, message_id: int) -> dict | None:
    """Read the database file with a connection of our own: only committed rows are visible."""
    con = sqlite3.connect(host.config.db_path)
    con.row_factory = sqlite3.Row
    try:
        row = con.execute("select * from chat_messages where id = ?", [message_id]).fetchone()
        return dict(row) if row else None
    finally:
        con.close()


async def _count(host) -> int:
    return await host.db_read(lambda db: db["chat_messages"].count)


async def test_ack_arrives_only_after_the_message_is_committed(host):
    rep, s, rep_ws, cust, cust_ws = await _session(host)
    for i in range(5):
        ack = await cust_ws.request({"type": "chat.send", "text": f"message {i}"})
        assert ack["type"] == "chat.ack"
        row = _committed(host, ack["message"]["id"])
        assert row is not None and row["text"] == f"message {i}" and row["session_id"] == s["id"]
        assert row["from_role"] == "customer" and row["audience"] == "all"
        got = await rep_ws.expect("chat.message")
        assert got["message"] == ack["message"]
    # The sender gets its ack, not a copy of its own message.
    await cust_ws.request({"type": "session.ping"})
    assert not [m for m in cust_ws.seen if m["type"] == "chat.message"]


async def test_chat_survives_a_host_restart(tmp_path):
    host = await start_host(tmp_path / "data")
    rep, s, rep_ws, cust, cust_ws = await _session(host)
    said = [await cust_ws.request({"type": "chat.send", "text": "my printer is on fire"}),
            await rep_ws.request({"type": "chat.send", "text": "please unplug it"}),
            await rep_ws.request({"type": "chat.send", "text": "reps: call the fire brigade", "to": "reps"})]
    cookies = {c.key: c.value for client in (rep, cust) for c in client.http.cookie_jar}
    rep_cookie = {k: v for k, v in cookies.items() if k == "sh_auth_demo"}
    cust_cookie = {k: v for k, v in cookies.items() if k.startswith("shp_")}
    await stop_host(host)

    host = await start_host(tmp_path / "data")
    try:
        async def back(cookie):
            c = await host.client()
            c.http.cookie_jar.update_cookies(cookie, URL(host.base + "/s/demo/session"))
            return await c.ws(s["id"])
        rep_ws = await back(rep_cookie)
        cust_ws = await back(cust_cookie)
        assert rep_ws.hello["you"]["role"] == "primary_rep" and cust_ws.hello["you"]["role"] == "customer"
        hist = (await cust_ws.request({"type": "chat.history"}))["messages"]
        assert [m["text"] for m in hist] == ["my printer is on fire", "please unplug it"]
        assert [m["id"] for m in hist] == [said[0]["message"]["id"], said[1]["message"]["id"]]
        rep_hist = (await rep_ws.request({"type": "chat.history"}))["messages"]
        assert [m["text"] for m in rep_hist] == [a["message"]["text"] for a in said]
        # And the session goes on.
        ack = await cust_ws.request({"type": "chat.send", "text": "unplugged"})
        assert (await rep_ws.expect("chat.message"))["message"]["id"] == ack["message"]["id"]
    finally:
        await stop_host(host)


async def test_html_and_script_text_is_stored_and_returned_verbatim(host):
    rep, s, rep_ws, cust, cust_ws = await _session(host)
    ack = await cust_ws.request({"type": "chat.send", "text": HOSTILE})
    assert ack["message"]["text"] == HOSTILE
    assert (await rep_ws.expect("chat.message"))["message"]["text"] == HOSTILE
    assert _committed(host, ack["message"]["id"])["text"] == HOSTILE
    hist = await rep_ws.request({"type": "chat.history"})
    assert hist["messages"][-1]["text"] == HOSTILE
    # The sender's name is data too.
    other = await host.client()
    extra = await rep_ws.request({"type": "session.new_number"})
    await other.join(extra["number"], "<b>Bob</b>")
    other_ws = await other.ws(s["id"])
    await other_ws.request({"type": "chat.send", "text": "hi"})
    got = await rep_ws.expect(lambda m: m["type"] == "chat.message" and m["message"]["text"] == "hi")
    assert got["message"]["name"] == "<b>Bob</b>"


async def test_empty_too_long_and_malformed_chat_is_refused_and_not_stored(host):
    rep, s, rep_ws, cust, cust_ws = await _session(host)
    cases = [
        ({"text": ""}, "needs some text"),
        ({"text": "   \n\t "}, "needs some text"),
        ({}, "needs some text"),
        ({"text": 42}, "needs some text"),
        ({"text": ["a"]}, "needs some text"),
        ({"text": "x" * 4001}, "at most 4000 characters"),
        ({"text": "hi", "to": "everybody"}, "to must be"),
        ({"text": "hi", "to": "reps"}, "only reps"),
    ]
    for extra, text in cases:
        err = await cust_ws.request({"type": "chat.send", **extra})
        assert err["type"] == "error" and text in err["error"], (extra, err)
    assert await _count(host) == 0
    ok = await cust_ws.request({"type": "chat.send", "text": "x" * 4000})
    assert ok["type"] == "chat.ack"
    await rep_ws.request({"type": "session.ping"})
    assert [m["message"]["text"] for m in rep_ws.seen if m["type"] == "chat.message"] == ["x" * 4000]


async def test_reps_chat_among_themselves_unseen_by_customers_live_and_in_history(host):
    rep, s, rep_ws, cust, cust_ws = await _session(host)
    rep2_id = await host.db_read(lambda db: next(db.query(
        "select id from users where username = 'rep2' and site_id = ?", [host.site().id]))["id"])
    await rep_ws.request({"type": "session.add_rep", "user_id": rep2_id})
    rep2 = await host.rep("rep2")
    rep2_ws = await rep2.ws(s["id"])

    secret = await rep_ws.request({"type": "chat.send", "text": "customer seems confused", "to": "reps"})
    assert secret["message"]["to"] == "reps"
    got = await rep2_ws.expect("chat.message")
    assert got["message"]["text"] == "customer seems confused" and got["message"]["to"] == "reps"
    reply = await rep2_ws.request({"type": "chat.send", "text": "I will take over", "to": "reps"})
    assert (await rep_ws.expect("chat.message"))["message"]["id"] == reply["message"]["id"]
    public = await rep_ws.request({"type": "chat.send", "text": "hello Carla"})

    # The customer sees only the public message, live and in history.
    got = await cust_ws.expect("chat.message")
    assert got["message"]["id"] == public["message"]["id"]
    await cust_ws.request({"type": "session.ping"})
    assert not [m for m in cust_ws.seen if m["type"] == "chat.message"]
    hist = (await cust_ws.request({"type": "chat.history"}))["messages"]
    assert [m["text"] for m in hist] == ["hello Carla"]
    rep_hist = (await rep2_ws.request({"type": "chat.history"}))["messages"]
    assert [m["text"] for m in rep_hist] == ["customer seems confused", "I will take over", "hello Carla"]

    # A customer cannot write to the reps' channel.
    err = await cust_ws.request({"type": "chat.send", "text": "let me in", "to": "reps"})
    assert err["type"] == "error"


async def test_admin_can_switch_rep_chat_off(host):
    rep, s, rep_ws, cust, cust_ws = await _session(host)
    admin = await host.rep("admin")
    r = await admin.post_form("/s/demo/admin/settings/chat", {"max_length": "4000"}, csrf_from="/s/demo/admin")
    assert r.status == 200  # the rep_chat box left unticked
    err = await rep_ws.request({"type": "chat.send", "text": "psst", "to": "reps"})
    assert err["type"] == "error" and "switched off" in err["error"]
    assert (await rep_ws.request({"type": "chat.send", "text": "to all"}))["type"] == "chat.ack"


async def test_chat_of_one_session_does_not_reach_another(host):
    rep, s, rep_ws, cust, cust_ws = await _session(host)
    rep2 = await host.rep("rep2")
    s2 = await rep2.start_session()
    rep2_ws = await rep2.ws(s2["id"])
    await cust_ws.request({"type": "chat.send", "text": "for session one"})
    await rep_ws.expect("chat.message")
    await rep2_ws.request({"type": "session.ping"})
    assert not [m for m in rep2_ws.seen if m["type"] == "chat.message"]
    assert (await rep2_ws.request({"type": "chat.history"}))["messages"] == []


async def test_history_comes_in_pages_newest_first_and_bad_page_requests_are_refused(host):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    sid = s["id"]

    def write(db):
        db["chat_messages"].insert_all(
            {"session_id": sid, "at": 1.0 + i, "from_participant": "x", "from_name": "Rita", "from_role": "primary_rep",
             "audience": "all", "text": f"line {i}"} for i in range(205))
    from host.appkeys import DB
    await host.app[DB].write(write)

    page = await rep_ws.request({"type": "chat.history"})
    assert len(page["messages"]) == 200 and page["more"] is True
    assert [m["text"] for m in page["messages"][:2]] == ["line 5", "line 6"]
    assert page["messages"][-1]["text"] == "line 204"
    older = await rep_ws.request({"type": "chat.history", "before": page["messages"][0]["id"]})
    assert [m["text"] for m in older["messages"]] == [f"line {i}" for i in range(5)] and older["more"] is False
    small = await rep_ws.request({"type": "chat.history", "limit": 3})
    assert [m["text"] for m in small["messages"]] == ["line 202", "line 203", "line 204"]
    for bad in ({"before": "x"}, {"before": 0}, {"before": True}, {"limit": 0}, {"limit": 501}, {"limit": "9"}):
        reply = await rep_ws.request({"type": "chat.history", **bad})
        assert reply["type"] == "error", bad
    assert (await rep_ws.request({"type": "session.ping"}))["type"] == "session.pong"


async def test_the_chat_stylesheet_comes_from_the_chat_plugin_on_the_pages_that_show_sessions(host):
    rep, s, _rep_ws, cust, _cust_ws = await _session(host)
    link = '<link rel="stylesheet" href="/static/plugins/chat/chat.css">'
    for client, path in ((rep, "/s/demo/console"), (cust, f"/s/demo/session/{s['id']}")):
        async with client.http.get(client.url(path)) as r:
            assert r.status == 200 and link in await r.text(), path
    async with rep.http.get(rep.url("/static/plugins/chat/chat.css")) as r:
        assert r.status == 200 and ".chat-log" in await r.text()
    async with rep.http.get(rep.url("/static/core/style.css")) as r:
        assert r.status == 200 and ".chat-" not in await r.text()    # none of chat's rules in the host's
