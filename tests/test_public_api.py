"""The public plugin API (host/api.py) as a third-party plugin uses it, on a real host: who is behind a
request, JSON errors, per-session state, a background task's life, an event and its audit row written
together, and a setting read by name."""
from __future__ import annotations

import asyncio
import json
import types

from aiohttp import web

import host.api as api
from conftest import start_host, stop_host

PLUGIN = "apiprobe"


def make_probe():
    seen = types.SimpleNamespace(ticks=0, cancelled=False, states=[])

    @api.hookimpl
    def site_settings():
        return [api.Setting("greeting", "Greeting", "str", "hello")]

    @api.hookimpl
    def startup(app):
        async def tick():
            try:
                while True:
                    seen.ticks += 1
                    await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                seen.cancelled = True
                raise
        api.background_task(app, "apiprobe.tick", tick)

    async def rep_only(request):
        site, user, row, session = await api.rep_in_session(request, request.match_info["sid"])
        state = api.plugin_state(session, PLUGIN, dict)
        state["calls"] = state.get("calls", 0) + 1
        seen.states.append(state)
        at = api.now(request.app)
        await api.database(request.app).write(lambda db: api.event_and_audit(
            db, session, at, "apiprobe.poked", row["id"], {"n": state["calls"]},
            actor=f"user:{user['id']}", action="apiprobe.poke"))
        return web.json_response({"calls": state["calls"], "user": user["username"],
                                  "greeting": api.setting(request.app, site, PLUGIN, "greeting")})

    async def anyone(request):
        site, user, row = await api.participant_of_request(request, request.match_info["sid"])
        if row is None:
            raise api.json_error(403, "Not in this session.")
        return web.json_response({"role": row["role"], "rep": user is not None})

    @api.hookimpl
    def register_routes(register):
        register("GET", "/sessions/{sid}/poke", rep_only)
        register("GET", "/sessions/{sid}/whoami", anyone)

    probe = types.SimpleNamespace(site_settings=site_settings, startup=startup, register_routes=register_routes,
                                  __name__="apiprobe")
    return probe, seen


async def test_a_plugin_does_its_work_through_the_public_api(tmp_path):
    probe, seen = make_probe()
    host = await start_host(tmp_path / "data", extra_plugins=[(PLUGIN, probe)])
    try:
        rep = await host.rep()
        s = await rep.start_session()
        base = f"/s/demo/p/{PLUGIN}/sessions/{s['id']}"

        # the rep: state kept per live session, one object across calls; event and audit row together
        for n in (1, 2):
            async with rep.http.get(rep.url(base + "/poke")) as r:
                assert r.status == 200, await r.text()
                assert await r.json() == {"calls": n, "user": "rep1", "greeting": "hello"}
        assert seen.states[0] is seen.states[1]
        events = await host.db_read(lambda db: list(db.query(
            "select details from session_events where session_id = ? and kind = 'apiprobe.poked'", [s["id"]])))
        audits = await host.db_read(lambda db: list(db.query(
            "select target from audit_log where action = 'apiprobe.poke'")))
        assert [json.loads(e["details"])["n"] for e in events] == [1, 2]
        assert [a["target"] for a in audits] == [s["id"], s["id"]]

        # the customer behind a request, by their participant cookie
        cust = await host.client()
        assert (await cust.join(s["number"], "Carla")).status == 302
        async with cust.http.get(cust.url(base + "/whoami")) as r:
            assert (r.status, await r.json()) == (200, {"role": "customer", "rep": False})
        async with rep.http.get(rep.url(base + "/whoami")) as r:
            assert (await r.json())["rep"] is True

        # nobody, another site's rep, a customer on a rep route: one JSON error shape, nothing written
        stranger = await host.client()
        async with stranger.http.get(stranger.url(base + "/whoami")) as r:
            assert r.status == 403
            assert await r.json() == {"error": {"code": "forbidden", "message": "Not in this session."}}
        async with stranger.http.get(stranger.url(base + "/poke")) as r:
            assert r.status == 401 and (await r.json())["error"]["code"] == "unauthorized"
        async with cust.http.get(cust.url(base + "/poke")) as r:
            assert r.status == 401
        other = await host.rep("rep2")
        async with other.http.get(other.url(base + "/poke")) as r:
            assert r.status == 403 and (await r.json())["error"]["code"] == "forbidden"
        assert await host.db_read(lambda db: db["audit_log"].count_where("action = 'apiprobe.poke'")) == 2

        # an ended session
        rep_ws = await rep.ws(s["id"])
        await rep_ws.send({"type": "session.end", "id": "e"})
        await rep_ws.expect("session.ended")
        async with rep.http.get(rep.url(base + "/poke")) as r:
            # everybody left it when it ended, so the rep is no longer in it
            assert r.status == 403 and (await r.json())["error"]["code"] == "forbidden"
        assert seen.ticks > 0 and not seen.cancelled
    finally:
        await stop_host(host)
    assert seen.cancelled, "a background task is cancelled when the host stops"


def test_everything_the_api_names_exists():
    missing = [name for name in api.__all__ if not hasattr(api, name)]
    assert missing == []
