"""Plugins in the HTTP API: the register_api_routes hook (a test plugin adds a call; a bad one fails alone),
the report's and WebACD's calls, and the OpenAPI document that lists them, checked by openapi-spec-validator."""
from __future__ import annotations

import aiohttp
from openapi_spec_validator import validate

from conftest import start_host, stop_host
from host.api import hookimpl, json_error
from host.appkeys import DB, PLUGINS, SITES
from http_api_helpers import Script, assert_error, check_against, make_token, openapi
from test_webacd import ask_help, make_queue

STAMP = {"type": "object", "required": ["stamp", "by"], "properties": {
    "stamp": {"type": "string"}, "by": {"type": "string"}, "scopes": {"type": "array", "items": {"type": "string"}}}}


class Stamps:
    """A third party's plugin: stamps a ticket number through the API."""

    @hookimpl
    def register_api_routes(self, register):
        register("GET", "/stamps/{ticket}", self.stamp, scope="sessions", summary="Stamp a ticket",
                 query={"ink": {"description": "red or blue", "schema": {"type": "string", "enum": ["red", "blue"]}}},
                 response=STAMP, errors=(422,))
        register("POST", "/broken", self.broken, scope="reports", summary="Always fails")

    async def stamp(self, request, caller):
        ink = request.query.get("ink", "red")
        if ink not in ("red", "blue"):
            raise json_error(422, "ink: red or blue")
        return {"stamp": f"{ink}:{request.match_info['ticket']}", "by": caller.user["username"],
                "scopes": sorted(caller.scopes)}

    def broken(self, request, caller):
        raise RuntimeError("the stamp pad is dry")


class Squatter:
    """A plugin whose API route is not acceptable: an unknown scope."""

    @hookimpl
    def register_api_routes(self, register):
        register("GET", "/all", lambda request, caller: {}, scope="root", summary="Everything")


async def switch_off(host, site: str, plugin: str) -> None:
    site_id = host.site(site).id
    await host.app[DB].write(lambda db: db["site_plugins"].upsert(
        {"site_id": site_id, "plugin": plugin, "enabled": 0}, pk=("site_id", "plugin")))
    await host.app[DB].read(host.app[SITES].load)


async def test_hook_register_api_routes_adds_a_documented_call_behind_tokens(tmp_path):
    host = await start_host(tmp_path / "data", extra_plugins=[("stamps", Stamps()), ("squatter", Squatter())],
                            only_plugins={"report"})
    try:
        assert "scope 'root'" in host.app[PLUGINS].info["squatter"].error   # failed alone, with a clear message
        doc = await openapi(host)
        validate(doc)
        assert "/p/stamps/stamps/{ticket}" in doc["paths"] and not any("squatter" in p for p in doc["paths"])
        op = doc["paths"]["/p/stamps/stamps/{ticket}"]["get"]
        assert op["x-scope"] == "sessions" and [p["name"] for p in op["parameters"]] == ["ticket", "ink"]

        rep = await host.rep("rep1")
        script = Script(host, await make_token(rep, scopes=("sessions",)))
        status, body = await script.get("/p/stamps/stamps/T-17?ink=blue")
        assert (status, body) == (200, {"stamp": "blue:T-17", "by": "rep1", "scopes": ["sessions"]})
        check_against(doc, "GET", "/p/stamps/stamps/{ticket}", status, body)
        status, body = await script.get("/p/stamps/stamps/T-17?ink=green")
        assert_error(status, body, 422)
        check_against(doc, "GET", "/p/stamps/stamps/{ticket}", status, body)
        assert_error(*await script.post("/p/stamps/broken"), 403, "scope_missing")
        assert_error(*await Script(host, None).get("/p/stamps/stamps/T-17"), 401)
        reports = Script(host, await make_token(rep, "r", scopes=("reports",)))
        assert_error(*await reports.post("/p/stamps/broken"), 500, "internal")
        assert_error(*await script.get("/p/squatter/all"), 404)

        await switch_off(host, "demo", "stamps")
        assert_error(*await script.get("/p/stamps/stamps/T-17"), 404, "feature_off")
        assert "/p/stamps/stamps/{ticket}" not in (await openapi(host))["paths"]
    finally:
        await stop_host(host)


async def test_the_openapi_document_is_valid_and_lists_the_report_and_webacd_calls(host):
    doc = await openapi(host)
    validate(doc)
    assert {"/me", "/sessions", "/sessions/{session_id}", "/sessions/{session_id}/end", "/p/report/sessions",
            "/p/webacd/queues"} <= set(doc["paths"])
    assert doc["servers"][0]["url"].endswith("/s/demo/api/v1")
    assert doc["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    await switch_off(host, "other", "report")
    other = await openapi(host, "other")
    validate(other)
    assert "/p/report/sessions" not in other["paths"] and "/p/report/sessions" in (await openapi(host))["paths"]
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{host.base}/s/nosuchsite/api/v1/openapi.json") as r:
            assert r.status == 404 and (await r.json())["error"]["code"] == "not_found"


async def test_the_activity_report_over_the_api_with_its_filters(host):
    doc = await openapi(host)
    rep1, rep2, admin = await host.rep("rep1"), await host.rep("rep2"), await host.rep("admin")
    s1 = Script(host, await make_token(rep1, scopes=("sessions", "reports")))
    s2 = Script(host, await make_token(rep2, scopes=("sessions", "reports")))
    _, mine = await s1.post("/sessions", json={"reference": "T-1"})
    _, theirs = await s2.post("/sessions")

    status, report = await s1.get("/p/report/sessions")
    check_against(doc, "GET", "/p/report/sessions", status, report)
    assert [r["id"] for r in report["sessions"]] == [mine["id"]] and report["truncated"] is False
    assert report["sessions"][0]["reps"] == ["Rita Rep"]
    status, body = await s1.get("/p/report/sessions?rep=1")     # another rep's sessions: site-wide only
    assert_error(status, body, 403, "scope_missing")
    for bad in ("?from=yesterday", "?from=2026-12-01&to=2026-11-01", "?from=2020-01-01&to=2026-01-01", "?rep=x"):
        status, body = await s1.get("/p/report/sessions" + bad)
        assert_error(status, body, 422)
        check_against(doc, "GET", "/p/report/sessions", status, body)

    sessions_only = Script(host, await make_token(rep1, "s", scopes=("sessions",)))
    assert_error(*await sessions_only.get("/p/report/sessions"), 403)

    site_wide = Script(host, await make_token(admin, "ops", scopes=("reports", "admin")))
    status, everything = await site_wide.get("/p/report/sessions")
    assert {r["id"] for r in everything["sessions"]} == {mine["id"], theirs["id"]}
    rep2_uid = next(r for r in everything["sessions"] if r["id"] == theirs["id"])["rep_ids"][0]
    status, filtered = await site_wide.get(f"/p/report/sessions?rep={rep2_uid}")
    check_against(doc, "GET", "/p/report/sessions", status, filtered)
    assert [r["id"] for r in filtered["sessions"]] == [theirs["id"]] and filtered["filters"]["rep"] == str(rep2_uid)


async def test_webacd_queues_and_their_waiting_counts_over_the_api(host):
    qid = await make_queue(host, "Help desk", members=("rep1",))
    await make_queue(host, "Billing", members=("rep2",))
    await ask_help(host, qid)
    await ask_help(host, qid, name="Dora")
    doc = await openapi(host)
    rep1 = await host.rep("rep1")
    status, body = await Script(host, await make_token(rep1)).get("/p/webacd/queues")
    check_against(doc, "GET", "/p/webacd/queues", status, body)
    assert [(q["name"], q["waiting"], q["member"], q["open"]) for q in body["queues"]] == [("Help desk", 2, True, True)]
    admin = await host.rep("admin")
    assert (await Script(host, await make_token(admin)).get("/p/webacd/queues"))[1]["queues"] == []
    status, body = await Script(host, await make_token(admin, "ops", scopes=("sessions", "admin"))).get(
        "/p/webacd/queues")
    assert {q["name"]: q["waiting"] for q in body["queues"]} == {"Billing": 0, "Help desk": 2}
