"""WebACD over real HTTP, WebSockets and SQLite: admin pages, the entry form and its bad input, the
waiting page, offers and accepts, transfers, the estimated wait, the monitor, and a host restart.

Reps and admins are logged in by writing their login session into the database (login() below)
rather than through the login form: argon2 costs seconds per login on a loaded machine, and the
login form has its own tests. Everything after that is the real host over HTTP and WebSockets."""
from __future__ import annotations

import asyncio
import json
import re
import secrets
from http.cookies import SimpleCookie

import yarl

from conftest import FakeClock, Socket, start_host, stop_host
from host.appkeys import DB, SITES
from host.session_store import token_hash
from plugins.webacd.service import WEBACD

FORM = {"mode": "most_idle", "offer_timeout": "30", "escalate_after": "0", "overflow_queue_id": "",
        "timezone": "UTC", "always_open": "on", "field_email": "required", "field_phone": "off",
        "field_company": "off", "field_problem": "required"}


def flashes(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", " ", m).strip() for m in re.findall(r'class="flash[^"]*"[^>]*>(.*?)</(?:p|div)>', html, re.S)]


async def user_id(host, username, site="demo") -> int:
    return await host.db_read(lambda db: next(db.query(
        "select u.id from users u join sites s on s.id = u.site_id where s.slug = ? and u.username = ?",
        [site, username]))["id"])


async def login(host, username="rep1", site="demo"):
    """A client logged in as this account (its login session written straight into the database)."""
    uid = await user_id(host, username, site)
    token, now, site_id = secrets.token_urlsafe(32), host.config.clock(), host.site(site).id
    await host.app[DB].write(lambda db: db["auth_sessions"].insert({
        "token_hash": token_hash(token), "user_id": uid, "site_id": site_id, "csrf": secrets.token_urlsafe(8),
        "created_at": now, "expires_at": now + 3600}))
    c = await host.client()
    c.site = site
    cookie = SimpleCookie()
    cookie[f"sh_auth_{site}"] = token
    cookie[f"sh_auth_{site}"]["path"] = f"/s/{site}"
    c.http.cookie_jar.update_cookies(cookie, response_url=yarl.URL(host.base))
    return c


async def set_entry_limit(host, per_minute: int, site="demo") -> None:
    sid = host.site(site).id
    await host.app[DB].write(lambda db: db["site_settings"].upsert(
        {"site_id": sid, "plugin": "webacd", "key": "entries_per_minute", "value": json.dumps(per_minute)},
        pk=("site_id", "plugin", "key")))
    await host.app[DB].read(host.app[SITES].load)


async def make_queue(host, name="Help desk", members=("rep1", "rep2"), site="demo", admin=None, **fields) -> int:
    """An admin creates a queue on the admin pages and saves its settings."""
    admin = admin or await login(host, "admin", site=site)
    r = await admin.post_form(f"/s/{site}/p/webacd/admin/queues", {"name": name},
                              csrf_from=f"/s/{site}/p/webacd/admin", allow_redirects=False)
    assert r.status == 302, await r.text()
    path = r.headers["Location"]
    form = {**FORM, "name": name, **fields}
    for username in members:
        form[f"member_{await user_id(host, username, site)}"] = "on"
    r = await admin.post_form(path, {k: v for k, v in form.items() if v is not None}, csrf_from=path)
    assert r.status == 200, flashes(await r.text())
    await set_entry_limit(host, 1000, site)
    return int(path.rsplit("/", 1)[1])


async def feed(client) -> Socket:
    ws = await client.http.ws_connect(client.url(f"/s/{client.site}/ws/rep"), headers={"Origin": client.host.base})
    sock = Socket(ws)
    await sock.expect("console.hello")
    return sock


async def rep_ready(host, username="rep1", site="demo", status="available"):
    """A rep logged in with the console feed open, available (or away) for WebACD."""
    rep = await login(host, username, site=site)
    sock = await feed(rep)
    r = await rep.api_post(f"/s/{site}/p/webacd/api/status", {"status": status})
    assert r.status == 200, await r.text()
    return rep, sock


async def ask_help(host, queue_id, name="Carla Customer", client=None, site="demo", csrf_from=None, **fields):
    """A customer opens the help link (from a page of the company) and sends the entry form."""
    c = client or await host.client()
    c.site = site
    path = f"/s/{site}/p/webacd/q/{queue_id}"
    form = {"name": name, "email": "carla@example.com", "problem": "The printer is on fire",
            "ref": "https://shop.example.com/checkout?step=2", **fields}
    r = await c.post_form(path, form, csrf_from=csrf_from or path + "?ref=x", allow_redirects=False)
    return c, r


def entry_of(response) -> str:
    return response.headers["Location"].rsplit("/", 1)[1]


async def waiting_socket(c, entry_id, site="demo") -> Socket:
    ws = await c.http.ws_connect(c.url(f"/s/{site}/p/webacd/ws/wait/{entry_id}"), headers={"Origin": c.host.base})
    return Socket(ws)


async def accept(rep, entry_id, site="demo"):
    r = await rep.api_post(f"/s/{site}/p/webacd/api/offers/{entry_id}/accept")
    return r.status, await r.json()


async def waiting_count(host) -> int:
    return await host.db_read(lambda db: db["acd_entries"].count_where("state = 'waiting'"))


# -- admin ---------------------------------------------------------------------------------------
async def test_admin_sets_up_a_queue_with_members_hours_distribution_and_thresholds(host):
    admin = await login(host, "admin")
    overflow = await make_queue(host, "Experts", members=("rep2",), admin=admin)
    qid = await make_queue(host, "First line", members=("rep1",), admin=admin, mode="round_robin",
                           offer_timeout="45", escalate_after="120", overflow_queue_id=str(overflow),
                           timezone="Europe/Berlin", always_open=None, hours_mon="09:00-12:00, 13:00-17:30",
                           field_phone="optional")
    q = host.app[WEBACD].queues[qid]
    assert (q.mode, q.offer_timeout, q.escalate_after, q.overflow_queue_id, q.timezone) == \
        ("round_robin", 45, 120, overflow, "Europe/Berlin")
    assert q.hours["mon"] == [[540, 720], [780, 1050]] and q.hours["sun"] == []
    assert q.members == (await user_id(host, "rep1"),) and q.fields["phone"] == "optional"
    async with admin.http.get(admin.url("/s/demo/p/webacd/admin")) as r:
        html = await r.text()
    assert f'data-queue="{qid}"' in html and "/p/webacd/snippet.js" in html and f"/p/webacd/q/{qid}" in html
    # bad values: clear message, nothing changed
    path = f"/s/demo/p/webacd/admin/queues/{qid}"
    for bad, text in [({"timezone": "Mars/Olympus"}, "not a known time zone"),
                      ({"hours_tue": "9 to 5", "always_open": None}, "write ranges like 09:00-17:00"),
                      ({"hours_tue": "17:00-09:00", "always_open": None}, "ends before it starts"),
                      ({"offer_timeout": "1"}, "Offer timeout: between 5 and 3600"),
                      ({"mode": "loudest"}, "Distribution: choose")]:
        form = {**FORM, "name": "First line", **bad}
        r = await admin.post_form(path, {k: v for k, v in form.items() if v is not None}, csrf_from=path)
        assert r.status == 400 and any(text in f for f in flashes(await r.text())), bad
    assert host.app[WEBACD].queues[qid].timezone == "Europe/Berlin"
    # an account of another site cannot be made a member
    other = await user_id(host, "rep1", "other")
    r = await admin.post_form(path, {**FORM, "name": "First line", f"member_{other}": "on"}, csrf_from=path)
    assert r.status == 400 and "only accounts of this site" in " ".join(flashes(await r.text()))


async def test_snippet_and_plain_link(host):
    qid = await make_queue(host)
    c = await host.client()
    async with c.http.get(c.url(f"/s/demo/p/webacd/snippet.js?queue={qid}")) as r:
        body = await r.text()
        assert r.status == 200 and r.headers["Content-Type"].startswith("application/javascript")
    assert "Get help" in body and "/p/webacd/q/" in body and "location.href" in body
    async with c.http.get(c.url(f"/s/demo/p/webacd/q/{qid}?ref=https://shop.example.com/a")) as r:
        html = await r.text()
    assert r.status == 200 and 'name="ref" value="https://shop.example.com/a"' in html and "Ask for help" in html


# -- bad input at the entry form ----------------------------------------------------------------
async def test_entry_form_validation_gives_clear_messages_and_queues_nobody(host):
    qid = await make_queue(host)
    cases = [({"name": "  "}, "Please enter your name."),
             ({"email": ""}, "Please enter your email address."),
             ({"email": "carla-at-example"}, "does not look right"),
             ({"problem": ""}, "Please describe your problem."),
             ({"name": "x" * 61}, "at most 60 characters")]
    for fields, text in cases:
        c, r = await ask_help(host, qid, **fields)
        html = await r.text()
        assert r.status == 400 and text in html, (fields, html[:500])
        assert "Set-Cookie" not in r.headers or "shq_" not in r.headers.get("Set-Cookie", "")
    assert await waiting_count(host) == 0 and not host.app[WEBACD].engine.waiting[qid]


async def test_closed_queue_says_so_and_takes_no_one(tmp_path):
    clock = FakeClock(1_800_000_000.0)  # 2027-01-15 08:00 UTC, a Friday: 09:00 in Berlin
    host = await start_host(tmp_path / "data", clock=clock)
    try:
        qid = await make_queue(host, always_open=None, timezone="Europe/Berlin", hours_fri="10:00-18:00")
        c = await host.client()
        async with c.http.get(c.url(f"/s/demo/p/webacd/q/{qid}")) as r:
            html = await r.text()
        assert "This queue is closed now" in html and "10:00-18:00" in html and "Ask for help" not in html
        c, r = await ask_help(host, qid)
        assert r.status == 409 and "This queue is closed now, so nobody was queued" in await r.text()
        assert await waiting_count(host) == 0
        clock.advance(3600)  # 10:00 in Berlin: open
        c, r = await ask_help(host, qid)
        assert r.status == 302 and await waiting_count(host) == 1
    finally:
        await stop_host(host)


async def test_flooding_the_entry_form_is_refused_per_address(host):
    qid = await make_queue(host)
    admin = await login(host, "admin")
    r = await admin.post_form("/s/demo/admin/settings/webacd", {"entries_per_minute": "3", "abandon_after": "180"},
                              csrf_from="/s/demo/admin")
    assert r.status == 200
    statuses = []
    for i in range(5):
        _c, r = await ask_help(host, qid, name=f"Flood {i}")
        statuses.append(r.status)
    assert statuses == [302, 302, 302, 429, 429]
    assert "Too many requests from your address" in await r.text()
    assert await waiting_count(host) == 3


async def test_reloading_the_waiting_page_keeps_the_place_and_queues_once(host):
    qid = await make_queue(host)
    first, r = await ask_help(host, qid, name="First")
    c, r = await ask_help(host, qid, name="Second")
    wait = r.headers["Location"]
    for _ in range(2):
        async with c.http.get(c.url(wait)) as page:
            html = await page.text()
        assert page.status == 200 and 'class="acd-position">2<' in html
    # the form again (back button, a second click on Get help): back to the same place
    async with c.http.get(c.url(f"/s/demo/p/webacd/q/{qid}"), allow_redirects=False) as again:
        assert again.status == 302 and again.headers["Location"] == wait
    c2, r2 = await ask_help(host, qid, name="Second", client=c)
    assert r2.status == 302 and r2.headers["Location"] == wait
    assert await waiting_count(host) == 2
    sock = await waiting_socket(c, entry_of(r))
    status = await sock.expect("webacd.status")
    assert status["position"] == 2 and status["waiting"] == 2
    # somebody else's browser cannot see or take this place
    stranger = await host.client()
    async with stranger.http.get(stranger.url(wait)) as page:
        assert page.status == 403


async def test_a_customer_gone_from_the_waiting_page_too_long_leaves_the_queue(tmp_path):
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock)
    try:
        qid = await make_queue(host)
        acd = host.app[WEBACD]
        gone, r1 = await ask_help(host, qid, name="Gone")
        stays, r2 = await ask_help(host, qid, name="Stays")
        sock = await waiting_socket(gone, entry_of(r1))
        await sock.expect("webacd.status")
        await sock.close()
        keep = await waiting_socket(stays, entry_of(r2))
        assert (await keep.expect("webacd.status"))["position"] == 2
        for _ in range(50):                    # the server noticed the page closing
            if entry_of(r1) not in acd.waiters:
                break
            await asyncio.sleep(0.02)
        clock.advance(179)
        await acd.tick()
        assert await waiting_count(host) == 2
        back = await waiting_socket(gone, entry_of(r1))   # a reload within the time keeps the place
        assert (await back.expect("webacd.status"))["position"] == 1
        await back.close()
        await asyncio.sleep(0.1)
        clock.advance(180)
        await acd.tick()
        assert (await keep.expect(lambda m: m.get("position") == 1))["waiting"] == 1
        state = await host.db_read(lambda db: db["acd_entries"].get(entry_of(r1))["state"])
        assert state == "abandoned" and await waiting_count(host) == 1
    finally:
        await stop_host(host)


# -- offers and accepting ---------------------------------------------------------------------------
async def test_everybody_mode_first_accept_wins_and_the_second_is_told_already_taken(host):
    qid = await make_queue(host, mode="everybody")
    rep1, feed1 = await rep_ready(host, "rep1")
    rep2, feed2 = await rep_ready(host, "rep2")
    c, r = await ask_help(host, qid)
    eid = entry_of(r)
    wsock = await waiting_socket(c, eid)
    await wsock.expect("webacd.status")
    o1 = (await feed1.expect("webacd.offer"))["offer"]
    o2 = (await feed2.expect("webacd.offer"))["offer"]
    assert o1["name"] == o2["name"] == "Carla Customer" and o1["problem"] == "The printer is on fire"
    assert o1["ref_url"] == "https://shop.example.com/checkout?step=2"
    status, body = await accept(rep2, eid)
    assert status == 201
    closed = await feed1.expect("webacd.offer_closed")
    assert closed["reason"] == "taken" and closed["by"] == "Sam Second"
    status, body2 = await accept(rep1, eid)
    assert status == 409 and body2["error"] == {"code": "conflict", "message": "already taken by Sam Second"}
    # the customer's waiting page moves on into the session, and they chat
    ready = await wsock.expect(lambda m: m.get("state") == "accepted")
    async with c.http.get(c.url(ready["url"])) as page:
        assert page.status == 200 and str(page.url).endswith(f"/s/demo/session/{body['session_id']}")
    cust_ws = await c.ws(body["session_id"])
    rep_ws = await rep2.ws(body["session_id"])
    assert {p["role"] for p in rep_ws.hello["session"]["participants"]} == {"primary_rep", "customer"}
    ack = await cust_ws.request({"type": "chat.send", "text": "hello"})
    assert ack["type"] == "chat.ack" and (await rep_ws.expect("chat.message"))["message"]["text"] == "hello"
    info = await rep_ws.request({"type": "webacd.info"})
    assert info["request"]["ref_url"] == "https://shop.example.com/checkout?step=2"
    row = await host.db_read(lambda db: db["support_sessions"].get(body["session_id"]))
    assert row["kind"] == "inbound" and json.loads(row["meta"])["webacd"]["ref_url"].startswith("https://shop")


async def test_capacity_single_session_and_multisession_maximum(host):
    qid = await make_queue(host)
    rep1, feed1 = await rep_ready(host, "rep1")                 # single-session
    rep2, feed2 = await rep_ready(host, "rep2", status="away")  # multisession, max 3
    entries = []
    for i in range(5):
        _c, r = await ask_help(host, qid, name=f"C{i}")
        entries.append(entry_of(r))
    o = (await feed1.expect("webacd.offer"))["offer"]
    assert o["entry_id"] == entries[0]
    assert (await accept(rep1, entries[0]))[0] == 201
    r = await rep2.api_post("/s/demo/p/webacd/api/status", {"status": "available"})
    got = [(await feed2.expect("webacd.offer"))["offer"]["entry_id"] for _ in range(3)]
    assert got == entries[1:4]                                  # three at most
    me = await (await rep2.http.get(rep2.url("/s/demo/p/webacd/api/me"))).json()
    assert len(me["offers"]) == 3 and me["capacity"] == 3
    # rep1 at capacity may not pick another one from the queue view
    status, body = await accept(rep1, entries[4])
    assert status == 403 and "limit of sessions" in body["error"]["message"]


async def test_offer_timeout_and_escalation_with_a_controlled_clock(tmp_path):
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock)
    try:
        experts = await make_queue(host, "Experts", members=("rep2",))
        qid = await make_queue(host, "First line", members=("rep1", "admin"), offer_timeout="20",
                               escalate_after="90", overflow_queue_id=str(experts))
        acd = host.app[WEBACD]
        rep1, feed1 = await rep_ready(host, "rep1")
        clock.advance(5)
        admin, feed_admin = await rep_ready(host, "admin")
        clock.advance(5)
        _c, r = await ask_help(host, qid)
        eid = entry_of(r)
        first = (await feed1.expect("webacd.offer"))["offer"]      # rep1 was idle longer
        assert first["entry_id"] == eid
        clock.advance(20)
        await acd.tick()
        assert (await feed1.expect("webacd.offer_closed"))["reason"] == "expired"
        assert (await feed_admin.expect("webacd.offer"))["offer"]["entry_id"] == eid
        rep2, feed2 = await rep_ready(host, "rep2")
        clock.advance(20)
        await acd.tick()                                              # back to rep1; not yet escalated
        assert (await feed1.expect("webacd.offer"))["offer"]["entry_id"] == eid
        assert not feed2.seen
        clock.advance(50)                                             # waited 90 s: the experts get it too
        await acd.tick()
        esc = (await feed2.expect("webacd.offer"))["offer"]
        assert esc["entry_id"] == eid and esc["escalated"] and esc["via"] == "Experts"
        assert (await accept(rep2, eid))[0] == 201
        taken = await feed_admin.expect(lambda m: m.get("type") == "webacd.offer_closed" and m["reason"] == "taken")
        assert taken["by"] == "Sam Second"
        states = await host.db_read(lambda db: [r["state"] for r in db["acd_offers"].rows_where(order_by="id")])
        assert states[:2] == ["expired", "expired"] and "accepted" in states
    finally:
        await stop_host(host)


async def test_a_member_picks_a_specific_waiting_customer_from_the_queue_view(host):
    qid = await make_queue(host)
    rep1, _feed = await rep_ready(host, "rep1", status="away")
    ids = []
    for name in ("Anna", "Bert", "Cleo"):
        _c, r = await ask_help(host, qid, name=name)
        ids.append(entry_of(r))
    view = await (await rep1.http.get(rep1.url("/s/demo/p/webacd/api/queue"))).json()
    assert [(w["name"], w["position"]) for w in view["waiting"]] == [("Anna", 1), ("Bert", 2), ("Cleo", 3)]
    assert (await accept(rep1, ids[1]))[0] == 201
    view = await (await rep1.http.get(rep1.url("/s/demo/p/webacd/api/queue"))).json()
    assert [(w["name"], w["position"]) for w in view["waiting"]] == [("Anna", 1), ("Cleo", 2)]
    outsider = await login(host, "rep1", site="other")
    status, body = await accept(outsider, ids[0], site="other")
    assert status in (403, 404) and await waiting_count(host) == 2


# -- estimated wait ---------------------------------------------------------------------------------
async def test_estimated_wait_comes_from_the_queues_recent_handling_times(tmp_path):
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock)
    try:
        qid = await make_queue(host, members=("rep1",))
        rep1, feed1 = await rep_ready(host, "rep1")
        acd = host.app[WEBACD]
        for minutes in (4, 6):                     # two sessions of 4 and 6 minutes: 5 on average
            _c, r = await ask_help(host, qid)
            eid = entry_of(r)
            await feed1.expect(lambda m, e=eid: m.get("type") == "webacd.offer" and m["offer"]["entry_id"] == e)
            status, body = await accept(rep1, eid)
            rws = await rep1.ws(body["session_id"])
            clock.advance(minutes * 60)
            await rws.send({"type": "session.end"})
            await rws.expect(lambda m: m.get("type") == "session.ended")
            await rws.close()
        for _ in range(100):
            if len(acd.handling[qid]) == 2:
                break
            await asyncio.sleep(0.02)
        assert list(acd.handling[qid]) == [240, 360]
        c, r = await ask_help(host, qid, name="Next")       # offered to rep1 (position 1)
        c2, r2 = await ask_help(host, qid, name="After")    # position 2 behind
        st = acd.status_of(entry_of(r2))
        assert st["position"] == 2 and st["estimate"] == 2 * 300
        sock = await waiting_socket(c2, entry_of(r2))
        assert (await sock.expect("webacd.status"))["estimate"] == 600
    finally:
        await stop_host(host)


# -- transfers --------------------------------------------------------------------------------------
async def start_inbound(host, qid, rep_name="rep1"):
    rep, f = await rep_ready(host, rep_name)
    c, r = await ask_help(host, qid)
    eid = entry_of(r)
    await f.expect(lambda m: m.get("type") == "webacd.offer" and m["offer"]["entry_id"] == eid)
    status, body = await accept(rep, eid)
    assert status == 201
    async with c.http.get(c.url(f"/s/demo/p/webacd/enter/{eid}")):
        pass
    return rep, f, c, body["session_id"]


async def test_transfer_to_a_queue_with_a_note_customer_stays_and_a_second_rep_picks_it_up(host):
    qid = await make_queue(host, members=("rep1",))
    second = await make_queue(host, "Billing", members=("rep2",))
    rep1, f1, cust, sid = await start_inbound(host, qid)
    cust_ws = await cust.ws(sid)
    rep_ws = await rep1.ws(sid)
    rep2, f2 = await rep_ready(host, "rep2")
    note = "Wants a refund for order 1234; already checked the card."
    done = await rep_ws.request({"type": "webacd.transfer", "to": "queue", "queue_id": second, "note": note})
    assert done["type"] == "webacd.transfer_done" and done["to"] == "Billing"
    assert (await rep_ws.expect("session.you_left"))["reason"] == "left"
    await rep_ws.close()
    told = await cust_ws.expect("webacd.transferring")
    assert "being transferred" in told["text"]
    offer = (await f2.expect("webacd.offer"))["offer"]
    assert offer["kind"] == "transfer" and offer["note"] == note and offer["from"] == "Rita Rep"
    assert not any(m.get("type") == "webacd.offer" for m in f1.seen)   # never back to the one who sent it
    status, body = await accept(rep2, offer["entry_id"])
    assert status == 201 and body["session_id"] == sid
    assert (await cust_ws.expect("webacd.transferred"))["to"] == "Sam Second"
    rep2_ws = await rep2.ws(sid)
    assert rep2_ws.hello["you"]["role"] == "primary_rep"
    info = await rep2_ws.request({"type": "webacd.info"})
    assert info["transfers"][0]["note"] == note and info["transfers"][0]["to_name"] == "Billing"
    ack = await cust_ws.request({"type": "chat.send", "text": "still here"})   # the same connection
    assert ack["type"] == "chat.ack"
    audit = await host.db_read(lambda db: list(db["audit_log"].rows_where("action = 'webacd_transfer'")))
    assert len(audit) == 1 and json.loads(audit[0]["details"])["note"] == note


async def test_transfer_to_a_rep(host):
    qid = await make_queue(host, members=("rep1", "rep2"))
    rep1, f1, cust, sid = await start_inbound(host, qid)
    rep2, f2 = await rep_ready(host, "rep2")
    rep_ws = await rep1.ws(sid)
    rep2_id = await user_id(host, "rep2")
    await rep_ws.request({"type": "webacd.transfer", "to": "rep", "user_id": rep2_id, "note": "for you"})
    await rep_ws.expect("session.you_left")
    await rep_ws.close()
    offer = (await f2.expect("webacd.offer"))["offer"]
    assert offer["note"] == "for you" and (await accept(rep2, offer["entry_id"]))[0] == 201


async def test_bad_transfers_are_refused_and_change_nothing(host):
    qid = await make_queue(host, members=("rep1", "rep2"))
    other_q = await make_queue(host, "Other site queue", members=("rep1",), site="other")
    other_rep = await user_id(host, "rep2", "other")
    rep1, f1, cust, sid = await start_inbound(host, qid)
    rep_ws = await rep1.ws(sid)
    cases = [({"to": "queue", "queue_id": other_q}, "no such queue on this site"),
             ({"to": "rep", "user_id": other_rep}, "no such rep in the WebACD queues of this site"),
             ({"to": "queue", "queue_id": qid, "note": "x" * 346}, "at most 345 characters"),
             ({"to": "rep", "user_id": await user_id(host, "rep1")}, "to yourself"),
             ({"to": "moon"}, "Transfer to a rep or to a queue")]
    for msg, text in cases:
        reply = await rep_ws.request({"type": "webacd.transfer", "note": "", **msg})
        assert reply["type"] == "error" and text in reply["error"], (msg, reply)
    assert await waiting_count(host) == 0
    assert await host.db_read(lambda db: db["acd_transfers"].count) == 0
    assert {p["role"] for p in (await rep1.ws(sid)).hello["session"]["participants"]} == {"primary_rep", "customer"}
    # a rep who is no member of a WebACD queue gets no transfer option (server side too)
    admin = await login(host, "admin")
    targets = await (await admin.http.get(admin.url("/s/demo/p/webacd/api/targets"))).json()
    assert targets == {"member": False, "queues": [], "reps": []}
    own = await admin.start_session()
    cust2 = await host.client()
    assert (await cust2.join(own["number"], "Olga Outbound")).status == 302
    admin_ws = await admin.ws(own["id"])
    reply = await admin_ws.request({"type": "webacd.transfer", "to": "queue", "queue_id": qid, "note": ""})
    assert reply["type"] == "error" and "Only members of a WebACD queue can transfer a session" in reply["error"]


# -- monitor ----------------------------------------------------------------------------------------
async def test_live_monitor_shows_waiting_customers_and_reps_by_status_and_load(host):
    qid = await make_queue(host)
    rep1, f1 = await rep_ready(host, "rep1", status="away")
    for name in ("Anna", "Bert"):
        await ask_help(host, qid, name=name)
    admin = await login(host, "admin")
    m = await (await admin.http.get(admin.url("/s/demo/p/webacd/api/monitor"))).json()
    q = next(q for q in m["queues"] if q["id"] == qid)
    assert [w["name"] for w in q["waiting"]] == ["Anna", "Bert"] and all("waited" in w for w in q["waiting"])
    reps = {r["name"]: r for r in m["reps"]}
    assert reps["Rita Rep"]["status"] == "away" and reps["Rita Rep"]["online"]
    assert reps["Sam Second"]["capacity"] == 3 and reps["Sam Second"]["load"] == 0
    async with admin.http.get(admin.url("/s/demo/p/webacd/monitor")) as page:
        assert page.status == 200 and "Live queue monitor" in await page.text()
    async with rep1.http.get(rep1.url("/s/demo/p/webacd/api/monitor")) as denied:
        assert denied.status == 403


# -- durability -------------------------------------------------------------------------------------
async def test_restart_keeps_every_waiting_place_and_sessions_in_progress(tmp_path):
    data = tmp_path / "data"
    host = await start_host(data, grace_period=20)
    qid = await make_queue(host, members=("rep1", "rep2"))
    rep1, f1, cust, sid = await start_inbound(host, qid)
    cust_ws = await cust.ws(sid)
    await cust_ws.request({"type": "chat.send", "text": "before the restart"})
    waiting = []
    for name in ("Anna", "Bert", "Cleo"):
        c, r = await ask_help(host, qid, name=name)
        waiting.append((c, entry_of(r)))
    cookies = [(c.http.cookie_jar.filter_cookies(yarl.URL(c.url("/s/demo/"))), eid) for c, eid in waiting]
    cust_cookies = cust.http.cookie_jar.filter_cookies(yarl.URL(cust.url("/s/demo/")))
    await stop_host(host)

    host = await start_host(data, grace_period=20)
    try:
        for i, (jar, eid) in enumerate(cookies):
            c = await host.client()
            c.http.cookie_jar.update_cookies(jar, response_url=yarl.URL(c.url("/s/demo/")))
            sock = await waiting_socket(c, eid)
            st = await sock.expect("webacd.status")
            assert st["state"] == "waiting" and st["position"] == i + 1
        assert await waiting_count(host) == 3
        c = await host.client()
        c.http.cookie_jar.update_cookies(cust_cookies, response_url=yarl.URL(c.url("/s/demo/")))
        back = await c.ws(sid)
        hist = await back.request({"type": "chat.history"})
        assert [m["text"] for m in hist["messages"]] == ["before the restart"]
        rep = await login(host, "rep1")
        rep_ws = await rep.ws(sid)
        assert rep_ws.hello["you"]["role"] == "primary_rep"
        rep2, f2 = await rep_ready(host, "rep2")
        offer = (await f2.expect("webacd.offer"))["offer"]
        assert offer["name"] == "Anna"                    # still first in line
    finally:
        await stop_host(host)


async def test_switched_off_for_the_site_refuses_the_form(host):
    qid = await make_queue(host)
    admin = await login(host, "admin")
    from host.appkeys import PLUGINS
    form = {f"plugin_{n}": "on" for n in host.app[PLUGINS].optional() if n != "webacd"}
    r = await admin.post_form("/s/demo/admin/plugins", form, csrf_from="/s/demo/admin")
    assert r.status == 200
    _c, r = await ask_help(host, qid, csrf_from="/s/demo/")
    assert r.status == 403 and await waiting_count(host) == 0


async def test_the_queues_own_start_option_opens_a_page_for_the_customer(host):
    qid = await make_queue(host, members=("rep1",), opt_webacd__open_url="https://help.example.com/printers")
    rep1, f1, cust, sid = await start_inbound(host, qid)
    cust_ws = await cust.ws(sid)
    info = await cust_ws.request({"type": "webacd.info"})
    assert info["start_options"]["webacd"]["open_url"] == "https://help.example.com/printers"
    assert "email" not in info["request"] and "transfers" not in info   # the rep's view only
    admin = await login(host, "admin")
    path = f"/s/demo/p/webacd/admin/queues/{qid}"
    r = await admin.post_form(path, {**FORM, "name": "Help desk", "opt_webacd__open_url": "javascript:alert(1)"},
                              csrf_from=path)
    assert r.status == 400 and "http:// or https://" in " ".join(flashes(await r.text()))


async def test_deleting_a_queue_only_while_nobody_waits_in_it(host):
    admin = await login(host, "admin")
    experts = await make_queue(host, "Experts", admin=admin)
    qid = await make_queue(host, "First line", admin=admin, escalate_after="60", overflow_queue_id=str(experts))
    await ask_help(host, experts)
    path = f"/s/demo/p/webacd/admin/queues/{experts}/delete"
    r = await admin.post_form(path, {}, csrf_from=f"/s/demo/p/webacd/admin/queues/{experts}")
    assert r.status == 409 and "1 customer is waiting in Experts" in " ".join(flashes(await r.text()))
    assert experts in host.app[WEBACD].queues
    c, r = await ask_help(host, experts, name="Leaves")
    first = await host.db_read(lambda db: next(db.query("select id from acd_entries where name = 'Carla Customer'"))["id"])
    await host.app[WEBACD].leave_queue(first)
    await host.app[WEBACD].leave_queue(entry_of(r))
    r = await admin.post_form(path, {}, csrf_from=f"/s/demo/p/webacd/admin/queues/{experts}")
    assert r.status == 200 and "Queue Experts deleted." in " ".join(flashes(await r.text()))
    assert experts not in host.app[WEBACD].queues and host.app[WEBACD].queues[qid].overflow_queue_id is None
    assert await host.db_read(lambda db: db["acd_queues"].get(qid)["overflow_queue_id"]) is None


async def test_round_robin_goes_on_with_the_next_rep_after_a_restart(tmp_path):
    data = tmp_path / "data"
    host = await start_host(data)
    qid = await make_queue(host, members=("rep1", "rep2"), mode="round_robin")
    rep1, f1, cust, sid = await start_inbound(host, qid)         # rep1's turn: first in the round
    rep_ws = await rep1.ws(sid)
    await rep_ws.send({"type": "session.end"})
    for _ in range(100):
        if (await host.db_read(lambda db: db["support_sessions"].get(sid)))["state"] == "ended":
            break
        await asyncio.sleep(0.05)
    await stop_host(host)

    host = await start_host(data)
    try:
        rep1, f1 = await rep_ready(host, "rep1")
        rep2, f2 = await rep_ready(host, "rep2")
        c, r = await ask_help(host, qid, name="Bert")
        offer = (await f2.expect("webacd.offer"))["offer"]           # rep2's turn now, not rep1's again
        assert offer["name"] == "Bert"
        assert not [m for m in f1.seen if m.get("type") == "webacd.offer"]
    finally:
        await stop_host(host)
