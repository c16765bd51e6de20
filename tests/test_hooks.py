"""One real test per hook of host/hookspecs.py (test_docs_meta.py checks that none is left out).

Each test runs a real host on a loopback port with the probe plugin (tests/plugins_for_tests/probe),
which implements every hook and records its calls, and acts through real HTTP and WebSockets.
"""
from __future__ import annotations

import json
import logging
import re

import aiohttp
import pytest

from conftest import start_host, stop_host
from fake_dist import make_dist
from host import api

from host.appkeys import DB
from host.records import session_record
from host.router import make_binary
from plugins_for_tests.greeter import Greeter
from plugins_for_tests.misfits import BadOption, ClaimsChatSend, WrongPrefix
from plugins_for_tests.pager import Pager
from plugins_for_tests.probe import Probe

ONLY = {"chat"}  # entry-point plugins loaded besides the probe: chat, the one real feature plugin


async def probe_host(data_dir, probe=None, extra=(), **config):
    probe = probe or Probe()
    host = await start_host(data_dir, extra_plugins=[("probe", probe), *extra], only_plugins=ONLY, **config)
    host.probe = probe
    return host


@pytest.fixture
async def host(tmp_path):
    h = await probe_host(tmp_path / "data")
    yield h
    await stop_host(h)


def page_data(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
    assert found, "the page has no page-data"
    return json.loads(found.group(1))


async def plugins_json(host) -> dict:
    c = await host.client()
    async with c.http.get(c.url("/-/plugins.json")) as r:
        assert r.status == 200
        return {p["name"]: p for p in (await r.json())["plugins"]}


async def session_with_customer(host, site="demo", name="Carla"):
    """A rep starts a session and a customer joins it; both connected by WebSocket."""
    rep = await host.rep("rep1", site=site)
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    cust = await host.client()
    r = await cust.join(s["number"], name, site=site)
    assert r.status == 302, await r.text()
    cust_ws = await cust.ws(s["id"])
    await rep_ws.expect("session.joined")
    return rep, s, rep_ws, cust, cust_ws


async def until_closed(*sockets) -> None:
    """Read each socket until the host closes it (as a browser does; the host waits for the close reply)."""
    for sock in sockets:
        while (await sock.ws.receive()).type not in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            pass


async def rep_id(rep, username: str) -> int:
    async with rep.http.get(rep.url(f"/s/{rep.site}/api/reps")) as r:
        return next(u["id"] for u in (await r.json())["reps"] if u["username"] == username)


# -- startup ---------------------------------------------------------------------------------------
async def test_hook_startup_is_awaited_once_before_serving(tmp_path):
    probe = Probe()
    host = await probe_host(tmp_path / "data", probe)
    try:
        started = probe.called("startup")
        assert len(started) == 1 and started[0]["app"] is host.app
        report = await plugins_json(host)
        assert report["probe"]["status"] == "loaded" and report["probe"]["version"] == "9.9.9"
        assert {"startup", "shutdown", "migrations", "register_routes", "register_message_handlers",
                "dashboard_options", "extra_page_context", "session_started", "participant_joined",
                "participant_left", "control_transferred", "session_ended", "site_settings",
                "session_record"} <= set(report["probe"]["hooks"])
    finally:
        await stop_host(host)


async def test_hook_shutdown_is_awaited_when_the_host_stops(tmp_path):
    probe = Probe()
    host = await probe_host(tmp_path / "data", probe)
    assert probe.called("shutdown") == []
    await stop_host(host)
    stopped = probe.called("shutdown")
    assert len(stopped) == 1 and stopped[0]["app"] is host.app
    assert [name for name, _ in probe.calls if name in ("startup", "shutdown")] == ["startup", "shutdown"]


# -- storage ---------------------------------------------------------------------------------------
async def test_hook_migrations_creates_tables_once_and_data_survives_a_restart(tmp_path):
    data = tmp_path / "data"
    host = await probe_host(data)
    try:
        tables = await host.db_read(lambda db: db.table_names())
        assert "probe_notes" in tables and "chat_messages" in tables
        rep = await host.rep()
        r = await rep.api_post("/s/demo/p/probe/notes", {"text": "remember me"})
        assert r.status == 201
    finally:
        await stop_host(host)
    host = await probe_host(data)  # migrations run again at start: already applied, nothing lost
    try:
        assert (await plugins_json(host))["probe"]["status"] == "loaded"
        notes = await host.db_read(lambda db: [r["text"] for r in db["probe_notes"].rows])
        assert notes == ["remember me"]
        applied = await host.db_read(lambda db: [r["name"] for r in db["_sqlite_migrations"].rows_where(
            "migration_set = ?", ["supporthost.probe"])])
        assert applied == ["m001_probe_notes"]
    finally:
        await stop_host(host)


# -- routes ----------------------------------------------------------------------------------------
async def test_hook_register_routes_mounts_under_the_site_and_plugin(host):
    c = await host.client()
    async with c.http.get(c.url("/s/demo/p/probe/hello")) as r:
        assert r.status == 200 and await r.json() == {"plugin": "probe", "site": "demo"}
    async with c.http.get(c.url("/s/other/p/probe/hello")) as r:
        assert r.status == 200 and (await r.json())["site"] == "other"
    async with c.http.get(c.url("/s/nosuchsite/p/probe/hello")) as r:
        assert r.status == 404
    async with c.http.get(c.url("/s/demo/hello")) as r:
        assert r.status == 404  # only under /p/probe/

    rep = await host.rep()
    r = await rep.http.post(rep.url("/s/demo/p/probe/notes"), data={"text": "no token"})
    assert r.status == 403 and "CSRF" in await r.text()
    r = await rep.api_post("/s/demo/p/probe/notes", {"text": "with token"})
    assert r.status == 201 and (await r.json())["text"] == "with token"
    notes = await host.db_read(lambda db: [r["text"] for r in db["probe_notes"].rows])
    assert notes == ["with token"]


# -- session messages ------------------------------------------------------------------------------
async def test_hook_register_message_handlers_routes_replies_errors_and_binary(host):
    rep, s, rep_ws, cust, cust_ws = await session_with_customer(host)
    reply = await cust_ws.request({"type": "probe.echo", "text": "ping"})
    assert reply["type"] == "probe.echoed" and reply["text"] == "ping"
    assert reply["role"] == "customer" and reply["site"] == "demo"

    err = await cust_ws.request({"type": "probe.fail"})
    assert err["type"] == "error" and err["error"] == "the probe refuses this on purpose"

    ok = await cust_ws.request({"type": "probe.shout"})
    assert ok["type"] == "probe.ok"
    assert (await rep_ws.expect("probe.shouted"))["by"] == "Carla"

    await cust_ws.ws.send_bytes(make_binary({"type": "probe.blob", "stream": "s1"}, b"DATA" * 100))
    seen = await cust_ws.expect("probe.blob_seen")
    assert seen == {"type": "probe.blob_seen", "stream": "s1", "size": 400, "first": "DATA"}

    unknown = await cust_ws.request({"type": "probe.nothing_like_this"})
    assert unknown["code"] == "unknown_type"
    again = await cust_ws.request({"type": "probe.echo", "text": "still here"})
    assert again["text"] == "still here"  # errors never close the connection


async def test_hook_register_message_handlers_duplicate_type_is_a_clear_startup_error(tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="supporthost.plugins")
    host = await probe_host(tmp_path / "data", extra=[("squatter", ClaimsChatSend())])
    try:
        report = await plugins_json(host)
        squatter = report["squatter"]
        assert squatter["status"] == "failed"
        assert squatter["error"] == "message type 'chat.send' registered twice (by 'chat' and 'squatter')"
        assert "registered twice (by 'chat' and 'squatter')" in caplog.text
        assert report["chat"]["status"] == "loaded" and report["probe"]["status"] == "loaded"
        rep, s, rep_ws, cust, cust_ws = await session_with_customer(host)
        ack = await cust_ws.request({"type": "chat.send", "text": "chat still belongs to chat"})
        assert ack["type"] == "chat.ack"
        gone = await cust_ws.request({"type": "squatter.ok"})  # nothing of a failed plugin stays
        assert gone["code"] == "unknown_type"
    finally:
        await stop_host(host)


async def test_hook_register_message_handlers_wrong_prefix_refused(tmp_path):
    host = await probe_host(tmp_path / "data", extra=[("wrongprefix", WrongPrefix())])
    try:
        report = await plugins_json(host)
        assert report["wrongprefix"]["status"] == "failed"
        assert report["wrongprefix"]["error"] == (
            "plugin 'wrongprefix': message type 'elsewhere.poke' must start with its own name (wrongprefix.)")
        rep, s, rep_ws, cust, cust_ws = await session_with_customer(host)
        assert (await cust_ws.request({"type": "elsewhere.poke"}))["code"] == "unknown_type"
    finally:
        await stop_host(host)


# -- dashboard options -----------------------------------------------------------------------------
async def test_hook_dashboard_options_reach_each_console_by_console_and_role(host):
    rep, s, rep_ws, cust, cust_ws = await session_with_customer(host)
    uid = await rep_id(rep, "rep1")
    for console in ("dashboard", "tray", "multisession"):
        await host.app[DB].write(lambda db, c=console: db["users"].update(uid, {"console": c}))
        async with rep.http.get(rep.url("/s/demo/console")) as r:
            data = page_data(await r.text())
        assert data["console"] == console
        primary = {o["id"]: o for o in data["options"]["primary_rep"]}
        assisting = {o["id"] for o in data["options"]["assisting_rep"]}
        assert primary["probe.panel"]["tab"] == "desktop" and primary["probe.panel"]["label"] == "Probe"
        assert primary["probe.panel"]["js_module"] == "/static/plugins/probe/probe.js"
        assert "probe.panel" in assisting and "probe.lead" not in assisting  # roles=("primary_rep",)
        assert ("probe.lead" in primary) == (console == "dashboard")          # consoles=("dashboard",)
        assert "chat.panel" in primary

    async with cust.http.get(cust.url(f"/s/demo/session/{s['id']}")) as r:
        options = {o["id"] for o in page_data(await r.text())["options"]}
    assert "probe.panel" in options and "probe.lead" not in options and "chat.panel" in options

    for module in ("/static/plugins/probe/probe.js", "/static/plugins/probe/lead.js"):
        async with cust.http.get(cust.url(module)) as r:
            assert r.status == 200 and "export function mount(api)" in await r.text()


async def test_hook_dashboard_options_bad_tab_refused(tmp_path):
    host = await probe_host(tmp_path / "data", extra=[("badtab", BadOption())])
    try:
        error = (await plugins_json(host))["badtab"]["error"]
        assert "tab must be one of" in error and "'kitchen'" in error
        rep = await host.rep()
        async with rep.http.get(rep.url("/s/demo/console")) as r:
            ids = {o["id"] for o in page_data(await r.text())["options"]["primary_rep"]}
        assert "badtab.panel" not in ids and "probe.panel" in ids
    finally:
        await stop_host(host)


# -- page context ----------------------------------------------------------------------------------
async def test_hook_extra_page_context_adds_scripts_styles_and_variables(host):
    c = await host.client()
    async with c.http.get(c.url("/s/demo/p/probe/page")) as r:  # the probe's own template
        html = await r.text()
    assert '<p class="probe-greeting">probe greets demo</p>' in html
    assert '<script type="module" src="/static/plugins/probe/extra.js"></script>' in html
    assert '<link rel="stylesheet" href="/static/plugins/probe/probe.css">' in html
    assert host.probe.called("extra_page_context")[-1] == {"page": "probe_page", "site": "demo", "user": None}

    rep = await host.rep()
    async with rep.http.get(rep.url("/s/demo/console")) as r:
        assert "/static/plugins/probe/extra.js" in await r.text()
    assert host.probe.called("extra_page_context")[-1] == {"page": "console_dashboard", "site": "demo",
                                                           "user": "rep1"}
    async with c.http.get(c.url("/static/plugins/probe/extra.js")) as r:
        assert r.status == 200


# -- session events --------------------------------------------------------------------------------
async def test_hook_session_started_when_a_rep_starts_a_session(host):
    rep = await host.rep()
    s = await rep.start_session()
    started = host.probe.called("session_started")
    assert started == [{"session": s["id"], "site_id": host.site("demo").id, "number": s["number"],
                        "state": "open"}]


async def test_hook_participant_joined_for_customer_and_added_rep_not_on_reconnect(host):
    rep, s, rep_ws, cust, cust_ws = await session_with_customer(host)
    assert host.probe.called("participant_joined") == [{"session": s["id"], "name": "Carla", "role": "customer"}]

    await cust_ws.close()  # drops and comes back within the grace period: the same participant
    cust_ws = await cust.ws(s["id"])
    assert cust_ws.hello["you"]["role"] == "customer"
    ok = await rep_ws.request({"type": "session.add_rep", "user_id": await rep_id(rep, "rep2")})
    assert ok["type"] == "session.ok"
    joined = await host.probe.wait_for("participant_joined", 2)
    assert joined[1] == {"session": s["id"], "name": "Sam Second", "role": "assisting_rep"}
    assert len(joined) == 2


async def test_hook_participant_left_by_leaving_and_by_timeout(tmp_path):
    host = await probe_host(tmp_path / "data", grace_period=0.5)
    try:
        rep, s, rep_ws, cust, cust_ws = await session_with_customer(host)
        number = (await rep_ws.request({"type": "session.new_number"}))["number"]
        second = await host.client()
        assert (await second.join(number, "Second Sue")).status == 302
        second_ws = await second.ws(s["id"])
        await second_ws.send({"type": "session.leave"})
        await second_ws.expect("session.you_left")
        await until_closed(second_ws)
        left = await host.probe.wait_for("participant_left")
        assert left == [{"session": s["id"], "name": "Second Sue", "reason": "left"}]

        await cust_ws.close()  # gone, and not back within the grace period
        left = await host.probe.wait_for("participant_left", 2)
        assert left[1] == {"session": s["id"], "name": "Carla", "reason": "timeout"}
        assert (await rep_ws.expect("session.left"))["participant"]["name"] == "Second Sue"
    finally:
        await stop_host(host)


async def test_hook_control_transferred_to_the_assisting_rep(host):
    rep, s, rep_ws, cust, cust_ws = await session_with_customer(host)
    rep2 = await host.rep("rep2")
    await rep_ws.request({"type": "session.add_rep", "user_id": await rep_id(rep, "rep2")})
    rep2_ws = await rep2.ws(s["id"])
    to = rep2_ws.hello["you"]["id"]
    assert host.probe.called("control_transferred") == []
    ok = await rep_ws.request({"type": "session.transfer_control", "to": to})
    assert ok["type"] == "session.ok"
    assert host.probe.called("control_transferred") == [{
        "session": s["id"], "from": "Rita Rep", "from_role": "assisting_rep",
        "to": "Sam Second", "to_role": "primary_rep"}]
    refused = await rep_ws.request({"type": "session.transfer_control", "to": to})  # no longer primary
    assert refused["type"] == "error" and len(host.probe.called("control_transferred")) == 1


async def test_hook_session_ended_once_with_who_ended_it(host):
    rep, s, rep_ws, cust, cust_ws = await session_with_customer(host)
    refused = await cust_ws.request({"type": "session.end"})
    assert refused["type"] == "error" and host.probe.called("session_ended") == []
    await rep_ws.send({"type": "session.end"})
    assert (await cust_ws.expect("session.ended"))["by"]["name"] == "Rita Rep"
    await until_closed(rep_ws, cust_ws)
    ended = await host.probe.wait_for("session_ended")
    assert ended == [{"session": s["id"], "by": "Rita Rep", "state": "ended"}]


# -- site settings ---------------------------------------------------------------------------------
async def test_hook_site_settings_defaults_admin_form_and_bad_values_refused(host):
    rep, s, rep_ws, cust, cust_ws = await session_with_customer(host)
    echoed = await cust_ws.request({"type": "probe.echo"})
    assert (echoed["greeting"], echoed["max_waves"]) == ("hi", 3)  # the defaults

    admin = await host.rep("admin")
    async with admin.http.get(admin.url("/s/demo/admin")) as r:
        html = await r.text()
    assert 'action="/s/demo/admin/settings/probe"' in html and "Most waves" in html

    async def save(**values):
        return await admin.post_form("/s/demo/admin/settings/probe", values, csrf_from="/s/demo/admin")

    r = await save(greeting="hello there", max_waves="7", mood="loud")
    assert r.status == 200 and "Settings of probe saved." in await r.text()
    echoed = await cust_ws.request({"type": "probe.echo"})
    assert (echoed["greeting"], echoed["max_waves"]) == ("hello there", 7)

    for values, message in [
        ({"greeting": "x", "max_waves": "99", "mood": "calm"}, "Most waves: at most 10"),
        ({"greeting": "x", "max_waves": "lots", "mood": "calm"}, "Most waves: a whole number is needed"),
        ({"greeting": "x", "max_waves": "2", "mood": "angry"}, "Mood: choose one of calm, loud"),
    ]:
        r = await save(**values)
        assert r.status == 400, values
        assert f'<p class="flash error" role="alert">{message}</p>' in await r.text()
    echoed = await cust_ws.request({"type": "probe.echo"})  # nothing of the refused forms was stored
    assert (echoed["greeting"], echoed["max_waves"]) == ("hello there", 7)
    stored = await host.db_read(lambda db: {r["key"]: json.loads(r["value"]) for r in db["site_settings"].rows_where(
        "plugin = 'probe'")})
    assert stored == {"greeting": "hello there", "max_waves": 7, "mood": "loud"}


# -- the session's record --------------------------------------------------------------------------
async def test_hook_session_record_merges_every_plugins_columns(host):
    rep, s, rep_ws, cust, cust_ws = await session_with_customer(host)
    await cust_ws.request({"type": "chat.send", "text": "my printer is on fire"})
    await rep_ws.request({"type": "chat.send", "text": "reps only", "to": "reps"})
    record = await session_record(host.app, s["id"])
    assert record["id"] == s["id"] and record["number"] == s["number"] and record["state"] == "active"
    assert record["chat_messages"] == 2
    assert record["probe_people"] == 2
    assert host.probe.recorded is await api.sessions(host.app).get(s["id"])   # the live session itself

    await rep_ws.send({"type": "session.end"})
    await until_closed(rep_ws, cust_ws)
    await host.probe.wait_for("session_ended")
    record = await session_record(host.app, s["id"])
    assert record["state"] == "ended" and record["chat_messages"] == 2
    ended = host.probe.recorded            # an ended session: a Session too, made from its row
    assert isinstance(ended, api.Session) and (ended.id, ended.number, ended.state) == (s["id"], s["number"], "ended")
    assert await session_record(host.app, "no-such-session") is None


# -- per-site hook subsets -------------------------------------------------------------------------
async def test_plugin_disabled_for_a_site_gets_nothing_there_while_the_other_site_does(host):
    probe = host.probe
    # a conversation already open on "other" when its admin switches the probe off
    rep_a, s_a, rep_ws_a, cust_a, cust_ws_a = await session_with_customer(host, site="other", name="Early")
    assert (await cust_ws_a.request({"type": "probe.echo"}))["type"] == "probe.echoed"
    admin = await host.rep("admin", site="other")
    r = await admin.post_form("/s/other/admin/plugins", {"plugin_chat": "on"}, csrf_from="/s/other/admin")
    assert r.status == 200 and "Features saved." in await r.text()
    assert host.site("other").disabled == frozenset({"probe"})
    probe.calls.clear()
    refused = await cust_ws_a.request({"type": "probe.echo"})  # the open socket is refused from now on
    assert refused["code"] == "disabled"
    await rep_ws_a.send({"type": "session.end"})
    await until_closed(rep_ws_a, cust_ws_a)

    # other: no events, routes refused, messages refused, no options, no page context, no record column
    rep_o, s_o, rep_ws_o, cust_o, cust_ws_o = await session_with_customer(host, site="other")
    refused = await cust_ws_o.request({"type": "probe.echo"})
    assert refused["code"] == "disabled" and refused["error"] == "the probe feature is switched off for this site"
    await cust_ws_o.ws.send_bytes(make_binary({"type": "probe.blob"}, b"xx"))
    assert (await cust_ws_o.expect("error"))["code"] == "disabled"
    assert (await cust_ws_o.request({"type": "chat.send", "text": "chat is on here"}))["type"] == "chat.ack"
    async with cust_o.http.get(cust_o.url("/s/other/p/probe/hello")) as r:
        assert r.status == 403 and "switched off for this site" in await r.text()
    async with rep_o.http.get(rep_o.url("/s/other/console")) as r:
        html = await r.text()
    assert "probe.panel" not in json.dumps(page_data(html)["options"]) and "extra.js" not in html
    async with admin.http.get(admin.url("/s/other/admin")) as r:
        assert "/s/other/admin/settings/probe" not in await r.text()
    record = await session_record(host.app, s_o["id"])
    assert record["chat_messages"] == 1 and "probe_people" not in record
    await rep_ws_o.send({"type": "session.end"})
    await until_closed(rep_ws_o, cust_ws_o)
    assert probe.calls == []

    # demo, on the same host at the same time: everything still reaches the probe
    rep, s, rep_ws, cust, cust_ws = await session_with_customer(host, site="demo")
    assert (await cust_ws.request({"type": "probe.echo"}))["type"] == "probe.echoed"
    async with cust.http.get(cust.url("/s/demo/p/probe/hello")) as r:
        assert r.status == 200
    assert [d["session"] for d in probe.called("session_started")] == [s["id"]]
    assert [d["name"] for d in probe.called("participant_joined")] == ["Carla"]
    assert "probe_people" in await session_record(host.app, s["id"])
    enabled = (await plugins_json(host))["probe"]["enabled"]
    assert enabled == {"demo": True, "other": False}


# -- invite channels (the invite plugin's hook) ------------------------------------------------------
async def test_hook_invite_channels_adds_a_channel_the_rep_can_use_on_sites_where_it_is_on(tmp_path):
    pager = Pager()  # the pager network cannot run here: the plugin keeps what it would page in a list
    host = await start_host(tmp_path / "data", extra_plugins=[("pager", pager)], only_plugins={"chat", "invite"})
    try:
        rep = await host.rep()
        s = await rep.start_session()
        channels_url = f"/s/demo/p/invite/sessions/{s['id']}/channels"
        async with rep.http.get(rep.url(channels_url)) as r:
            channels = {c["name"]: c for c in (await r.json())["channels"]}
        assert channels["pager"]["label"] == "Customer by pager" and channels["pager"]["builtin"] is False
        assert {"email", "phone"} <= set(channels)

        r = await rep.api_post(f"/s/demo/p/invite/sessions/{s['id']}/invites", {"channel": "pager", "to": "4711"})
        assert r.status == 201 and (await r.json())["invite"]["detail"] == "paged 4711"
        assert pager.paged[0][:2] == ("demo", "4711") and s["number"][:3] in pager.paged[0][2]
        r = await rep.api_post(f"/s/demo/p/invite/sessions/{s['id']}/invites", {"channel": "pager", "to": "call me"})
        assert "a pager number is digits only" in (await r.json())["error"]["message"] and len(pager.paged) == 1

        admin = await host.rep("admin", site="other")  # "other" keeps invite but switches the pager off
        r = await admin.post_form("/s/other/admin/plugins", {"plugin_chat": "on", "plugin_invite": "on"},
                                  csrf_from="/s/other/admin")
        assert r.status == 200
        rep_o = await host.rep(site="other")
        s_o = await rep_o.start_session()
        async with rep_o.http.get(rep_o.url(f"/s/other/p/invite/sessions/{s_o['id']}/channels")) as r:
            assert "pager" not in {c["name"] for c in (await r.json())["channels"]}
        r = await rep_o.api_post(f"/s/other/p/invite/sessions/{s_o['id']}/invites", {"channel": "pager", "to": "1"})
        assert r.status == 400 and "unknown invite channel" in (await r.json())["error"]["message"]
        assert len(pager.paged) == 1
    finally:
        await stop_host(host)


# -- WebACD start options (the webacd plugin's hook) --------------------------------------------------
async def test_hook_webacd_start_options_are_set_per_queue_and_reach_the_started_session(tmp_path):
    greeter = Greeter()
    host = await start_host(tmp_path / "data", extra_plugins=[("greeter", greeter)],
                            only_plugins={"chat", "webacd"})
    try:
        admin = await host.rep("admin")
        r = await admin.post_form("/s/demo/p/webacd/admin/queues", {"name": "Help desk"},
                                  csrf_from="/s/demo/p/webacd/admin", allow_redirects=False)
        assert r.status == 302, await r.text()
        edit = r.headers["Location"]
        async with admin.http.get(admin.url(edit)) as r:
            page = await r.text()
        assert 'name="opt_greeter__greet"' in page and 'name="opt_greeter__pages"' in page
        rep1 = (await host.db_read(lambda db: next(db.query("select id from users where username = 'rep1' "
                                                            "and site_id = ?", [host.site().id]))))["id"]
        form = {"name": "Help desk", "mode": "most_idle", "offer_timeout": "30", "escalate_after": "0",
                "overflow_queue_id": "", "timezone": "UTC", "always_open": "on", "field_email": "off",
                "field_phone": "off", "field_company": "off", "field_problem": "optional", f"member_{rep1}": "on"}
        r = await admin.post_form(edit, {**form, "opt_greeter__greet": "on", "opt_greeter__pages": "9"}, csrf_from=edit)
        assert r.status == 400 and "Pages to open: at most 5" in await r.text()
        r = await admin.post_form(edit, {**form, "opt_greeter__greet": "on", "opt_greeter__pages": "2"}, csrf_from=edit)
        assert r.status == 200, await r.text()

        rep = await host.rep()
        r = await rep.api_post("/s/demo/p/webacd/api/status", {"status": "available"})
        assert r.status == 200, await r.text()
        customer = await host.client()
        ask = f"/s/demo/p/webacd/q/{edit.rsplit('/', 1)[1]}"
        r = await customer.post_form(ask, {"name": "Carla", "problem": "help"}, csrf_from=ask, allow_redirects=False)
        assert r.status == 302, await r.text()
        entry = r.headers["Location"].rsplit("/", 1)[1]
        r = await rep.api_post(f"/s/demo/p/webacd/api/offers/{entry}/accept")
        assert r.status == 201, await r.text()
        assert greeter.started == [{"greet": True, "pages": 2}]
        session = (await r.json())["session_id"]
        meta = await host.db_read(lambda db: json.loads(db["support_sessions"].get(session)["meta"]))
        assert meta["webacd"]["start_options"]["greeter"] == {"greet": True, "pages": 2}
    finally:
        await stop_host(host)


# -- hooks a plugin declares for other plugins --------------------------------------------------------
TICKER = {   # a third-party distribution: ticker declares a hook, the others implement it (or misuse it)
    "ticker/__init__.py": '''
        from aiohttp import web
        from host.api import call_hook, hookimpl, site_of
        from . import hookspecs

        @hookimpl
        def register_hookspecs(add):
            add(hookspecs)

        async def ticks(request):
            answers = await call_hook(request.app, "ticker_ticked", site_of(request), count=3)
            return web.json_response(dict(answers))

        @hookimpl
        def register_routes(register):
            register("GET", "/ticks", ticks)
    ''',
    "ticker/hookspecs.py": '''
        from host.api import hookspec

        @hookspec
        def ticker_ticked(app, count):
            """The ticker ticked count times; return what you make of it."""
    ''',
    "listener.py": '''
        from host.api import hookimpl

        @hookimpl
        async def ticker_ticked(count):
            return count * 2
    ''',
    "lonely.py": '''
        from host.api import hookimpl

        @hookimpl
        def invite_channels():   # the invite plugin, which declares this hook, is not loaded
            return []

        @hookimpl
        def ticker_ticked():
            return "lonely heard it"
    ''',
    "misfit_listener.py": '''
        from host.api import hookimpl

        @hookimpl
        def ticker_ticked(count, colour):
            return colour
    ''',
    "poacher.py": '''
        from host.api import hookimpl, hookspec

        class Specs:
            @hookspec
            def chat_typing(self, who):
                """Somebody types in chat."""

        @hookimpl
        def register_hookspecs(add):
            add(Specs)
    ''',
}


async def test_hook_register_hookspecs_lets_a_plugin_declare_hooks_that_others_implement(tmp_path, monkeypatch):
    names = ["ticker", "listener", "lonely", "misfit_listener", "poacher"]
    folder = make_dist(tmp_path / "dist", "supporthost-ticker", "1.0",
                       {"supporthost.plugins": {n: n for n in names}}, TICKER)
    monkeypatch.syspath_prepend(str(folder))
    host = await start_host(tmp_path / "data", only_plugins={"chat", *names})
    try:
        report = await plugins_json(host)
        assert {n: report[n]["error"] for n in names} == {
            "ticker": None, "listener": None, "lonely": None,
            "misfit_listener": "registration failed: hook ticker_ticked (declared by plugin ticker) has no "
                               "argument(s) colour",
            "poacher": "plugin 'poacher': the hook 'chat_typing' it declares must start with its own name "
                       "(poacher_)"}
        assert "invite_channels" in report["lonely"]["hooks"]
        c = await host.client()
        async with c.http.get(c.url("/s/demo/p/ticker/ticks")) as r:
            assert await r.json() == {"listener": 6, "lonely": "lonely heard it"}

        admin = await host.rep("admin")   # a site that switches the listener off hears only lonely
        r = await admin.post_form("/s/demo/admin/plugins", {f"plugin_{n}": "on" for n in ("chat", "ticker", "lonely")},
                                  csrf_from="/s/demo/admin")
        assert r.status == 200
        async with c.http.get(c.url("/s/demo/p/ticker/ticks")) as r:
            assert await r.json() == {"lonely": "lonely heard it"}
    finally:
        await stop_host(host)
