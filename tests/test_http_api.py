"""The HTTP API for scripts, over real HTTP on a real host: personal API tokens made and revoked on the API
tokens page (form + CSRF), shown once and stored hashed, and the session calls a ticketing system makes
(start, list, read, end), with every refusal in the one JSON error shape. Answers are checked against the
host's OpenAPI document."""
from __future__ import annotations

import json
import re

from conftest import FakeClock, start_host, stop_host
from host.appkeys import DB
from host.session_store import token_hash
from http_api_helpers import Script, assert_error, check_against, make_token, openapi


async def audit_actions(host) -> list[str]:
    return await host.db_read(lambda db: [r["action"] for r in db.query("select action from audit_log order by id")])


async def session_count(host) -> int:
    return await host.db_read(lambda db: db["support_sessions"].count)


async def test_a_rep_makes_a_token_on_the_page_and_a_script_runs_a_session_with_it(host):
    rep = await host.rep("rep1")
    token = await make_token(rep, "Helpdesk", scopes=("sessions",))
    assert token.startswith("sht_") and len(token) > 40
    # shown once: the page shows it no more, and only its hash is stored
    async with rep.http.get(rep.url("/s/demo/tokens")) as r:
        page = await r.text()
    assert token not in page and "Helpdesk" in page and token[-4:] in page
    rows = await host.db_read(lambda db: list(db["api_tokens"].rows))
    assert len(rows) == 1 and rows[0]["token_hash"] == token_hash(token)
    assert token not in json.dumps(rows)

    doc = await openapi(host)
    script = Script(host, token)
    status, me = await script.get("/me")
    assert status == 200 and me["user"]["username"] == "rep1" and me["scopes"] == ["sessions"]
    check_against(doc, "GET", "/me", status, me)

    status, started = await script.post("/sessions", json={"reference": "TICKET-4711"})
    assert status == 201, started
    check_against(doc, "POST", "/sessions", status, started)
    number = started["number"]
    assert started["state"] == "open" and started["reference"] == "TICKET-4711" and started["my_role"] == "primary_rep"
    assert started["join_url"].endswith(f"/s/demo/join?n={number}")
    assert re.sub(r"\D", "", started["invitation"].split("number", 1)[1]) == number

    # the customer joins with the number the script got, as with one from the console
    customer = await host.client()
    r = await customer.join(number)
    assert r.status == 302, await r.text()

    status, listed = await script.get("/sessions")
    check_against(doc, "GET", "/sessions", status, listed)
    assert [s["id"] for s in listed["sessions"]] == [started["id"]] and listed["sessions"][0]["state"] == "active"

    status, one = await script.get(f"/sessions/{started['id']}")
    check_against(doc, "GET", "/sessions/{session_id}", status, one)
    assert {p["role"] for p in one["participants"]} == {"primary_rep", "customer"}
    assert one["record"]["id"] == started["id"] and json.loads(one["record"]["meta"])["reference"] == "TICKET-4711"

    status, ended = await script.post(f"/sessions/{started['id']}/end")
    check_against(doc, "POST", "/sessions/{session_id}/end", status, ended)
    assert status == 200 and ended["session"]["state"] == "ended"
    status, again = await script.post(f"/sessions/{started['id']}/end")
    assert_error(status, again, 409, "ended")
    check_against(doc, "POST", "/sessions/{session_id}/end", status, again)
    status, live = await script.get("/sessions")
    assert live["sessions"] == []
    status, everything = await script.get("/sessions?state=all")
    assert [s["state"] for s in everything["sessions"]] == ["ended"]

    actions = await audit_actions(host)
    assert actions.count("api_token_created") == 1 and actions.count("api_token_first_used") == 1
    assert "session_ended" in actions
    token_row = await host.db_read(lambda db: db["api_tokens"].get(rows[0]["id"]))
    assert token_row["first_used_at"] and token_row["last_used_at"]


async def test_a_revoked_token_is_refused(host):
    rep = await host.rep("rep1")
    token = await make_token(rep)
    script = Script(host, token)
    assert (await script.get("/me"))[0] == 200
    token_id = await host.db_read(lambda db: next(db.query("select id from api_tokens"))["id"])
    r = await rep.post_form(f"/s/demo/tokens/{token_id}/revoke", {}, csrf_from="/s/demo/tokens", allow_redirects=False)
    assert r.status == 303
    assert_error(*await script.get("/me"), 401, "token_invalid")
    assert_error(*await script.post("/sessions"), 401)
    assert await session_count(host) == 0
    assert "api_token_revoked" in await audit_actions(host)
    # another rep cannot revoke it (nor see it): no such token of theirs
    other = await host.rep("rep2")
    token2 = await make_token(rep, "second")
    id2 = await host.db_read(lambda db: max(r["id"] for r in db.query("select id from api_tokens")))
    r = await other.post_form(f"/s/demo/tokens/{id2}/revoke", {}, csrf_from="/s/demo/tokens")
    assert r.status == 404
    assert (await Script(host, token2).get("/me"))[0] == 200


async def test_an_admin_revokes_a_reps_token_from_the_admin_page(host):
    rep = await host.rep("rep1")
    token = await make_token(rep, "CRM sync")
    admin = await host.rep("admin")
    async with admin.http.get(admin.url("/s/demo/admin")) as r:
        page = await r.text()
    token_id = await host.db_read(lambda db: next(db.query("select id from api_tokens"))["id"])
    assert "CRM sync" in page and f'data-token="{token_id}"' in page
    r = await admin.post_form(f"/s/demo/tokens/{token_id}/revoke", {"back": "admin"}, csrf_from="/s/demo/admin",
                              allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/s/demo/admin"
    assert_error(*await Script(host, token).get("/me"), 401)


async def test_a_switched_off_account_and_a_changed_password_void_the_tokens(host):
    rep = await host.rep("rep1")
    token = await make_token(rep)
    script = Script(host, token)
    assert (await script.get("/me"))[0] == 200
    admin = await host.rep("admin")
    uid = await host.db_read(lambda db: next(db.query("select id from users where username = 'rep1' and site_id = ?",
                                                      [host.site().id]))["id"])
    form = {"role": "rep", "console": "dashboard", "mode": "single", "max_sessions": "1"}
    r = await admin.post_form(f"/s/demo/admin/users/{uid}", form, csrf_from="/s/demo/admin")   # "active" unticked
    assert r.status == 200
    assert_error(*await script.get("/me"), 401, "account_disabled")
    await admin.post_form(f"/s/demo/admin/users/{uid}", {**form, "active": "on"}, csrf_from="/s/demo/admin")
    assert (await script.get("/me"))[0] == 200
    await admin.post_form(f"/s/demo/admin/users/{uid}", {**form, "active": "on", "new_password": "a new long passphrase 9"},
                          csrf_from="/s/demo/admin")
    assert_error(*await script.get("/me"), 401, "token_invalid")


async def test_scopes_a_rep_cannot_have_admin_and_a_token_never_outgrows_its_role(host):
    rep = await host.rep("rep1")
    assert await make_token(rep, "too much", scopes=("sessions", "admin"), status=422) is None
    assert await host.db_read(lambda db: db["api_tokens"].count) == 0
    assert await make_token(rep, "nothing", scopes=(), status=422) is None
    reports_only = Script(host, await make_token(rep, "reports", scopes=("reports",)))
    status, body = await reports_only.post("/sessions")
    assert_error(status, body, 403, "scope_missing")
    check_against(await openapi(host), "POST", "/sessions", status, body)
    assert_error(*await reports_only.get("/sessions"), 403)
    assert await session_count(host) == 0

    # an admin's admin-scoped token sees the whole site, until the admin becomes a rep
    admin = await host.rep("admin")
    admin_script = Script(host, await make_token(admin, "ops", scopes=("sessions", "admin")))
    rep_script = Script(host, await make_token(rep, "mine"))
    status, started = await rep_script.post("/sessions")
    assert status == 201
    assert [s["id"] for s in (await admin_script.get("/sessions"))[1]["sessions"]] == [started["id"]]
    assert (await admin_script.get(f"/sessions/{started['id']}"))[0] == 200
    # without the admin scope an admin's token sees only the admin's own sessions
    plain_admin = Script(host, await make_token(admin, "own", scopes=("sessions",)))
    assert (await plain_admin.get("/sessions"))[1]["sessions"] == []
    assert_error(*await plain_admin.get(f"/sessions/{started['id']}"), 404)
    assert_error(*await plain_admin.post(f"/sessions/{started['id']}/end"), 404)
    # a second admin demotes this one: the admin scope is gone at once
    uid = await host.db_read(lambda db: next(db.query("select id from users where username = 'admin' and site_id = ?",
                                                      [host.site().id]))["id"])
    await host.app[DB].write(lambda db: db["users"].update(uid, {"role": "rep"}))
    status, me = await admin_script.get("/me")
    assert me["scopes"] == ["sessions"]
    assert (await admin_script.get("/sessions"))[1]["sessions"] == []


async def test_a_token_of_one_site_is_refused_on_another(host):
    rep = await host.rep("rep1")
    script = Script(host, await make_token(rep))
    assert_error(*await script.get("/me", site="other"), 403, "wrong_site")
    assert_error(*await script.post("/sessions", site="other"), 403)
    assert_error(*await script.get("/me", site="nosuchsite"), 404)
    assert await session_count(host) == 0


async def test_a_logged_in_browser_without_a_token_gets_401_json_not_a_redirect(host):
    rep = await host.rep("rep1")          # its cookie jar holds a valid login
    for method, path in (("GET", "/s/demo/api/v1/sessions"), ("POST", "/s/demo/api/v1/sessions"),
                         ("GET", "/s/demo/api/v1/me")):
        async with rep.http.request(method, rep.url(path), allow_redirects=False,
                                    headers={"X-CSRF-Token": await rep.csrf("/s/demo/")}) as r:
            assert r.status == 401 and r.content_type == "application/json"
            assert_error(r.status, await r.json(), 401, "token_missing")
    for header in ("Basic cmVwMTpwdw==", "Bearer ", "Bearer sht_not-a-real-token", "Bearer " + "x" * 300):
        async with rep.http.get(rep.url("/s/demo/api/v1/me"), headers={"Authorization": header}) as r:
            assert r.status == 401, header
            assert (await r.json())["error"]["code"] in ("token_missing", "token_invalid")
    assert await session_count(host) == 0


async def test_bad_input_is_422_and_changes_nothing(host):
    rep = await host.rep("rep1")
    script = Script(host, await make_token(rep))
    doc = await openapi(host)
    bad_bodies = [{"reference": "x" * 101}, {"reference": 42}, {"reference": "  "}, {"customer": "Bob"}]
    for body in bad_bodies:
        status, answer = await script.post("/sessions", json=body)
        assert_error(status, answer, 422, "invalid")
        check_against(doc, "POST", "/sessions", status, answer)
    for raw in ("[1, 2]", "{not json", '"text"'):
        status, answer = await script.post("/sessions", data=raw, headers={"Content-Type": "application/json"})
        assert_error(status, answer, 422)
    for query in ("?state=bogus", "?limit=0", "?limit=500", "?limit=ten"):
        status, answer = await script.get("/sessions" + query)
        assert_error(status, answer, 422)
        check_against(doc, "GET", "/sessions", status, answer)
    assert await session_count(host) == 0
    assert_error(*await script.get("/sessions/nope"), 404)
    assert_error(*await script.post("/sessions/nope/end"), 404)
    assert_error(*await script.get("/no/such/call"), 404)
    assert_error(*await script.call("DELETE", "/sessions"), 405, "method_not_allowed")
    # expiry days out of range: no token made
    assert await make_token(rep, "bad expiry", expires_days="0", status=422) is None
    assert await make_token(rep, "", status=422) is None
    assert await host.db_read(lambda db: db["api_tokens"].count) == 1


async def test_the_session_limit_is_a_409(host):
    rep = await host.rep("rep1")            # single-session mode
    script = Script(host, await make_token(rep))
    assert (await script.post("/sessions"))[0] == 201
    status, body = await script.post("/sessions")
    assert_error(status, body, 409, "session_limit")
    assert "single-session" in body["error"]["message"]
    assert await session_count(host) == 1


async def test_only_the_leading_rep_ends_a_session(host):
    rep1, rep2 = await host.rep("rep1"), await host.rep("rep2")
    s1 = Script(host, await make_token(rep1))
    s2 = Script(host, await make_token(rep2))
    _, started = await s1.post("/sessions")
    assert_error(*await s2.post(f"/sessions/{started['id']}/end"), 404)     # not in it: not even visible
    state = await host.db_read(lambda db: db["support_sessions"].get(started["id"])["state"])
    assert state == "open"


async def test_expired_tokens_and_the_rate_limit(tmp_path):
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock, api_calls_per_minute=3)
    try:
        rep = await host.rep("rep1")
        script = Script(host, await make_token(rep, "short", expires_days="1"))
        for _ in range(3):
            assert (await script.get("/me"))[0] == 200
        async with script.http.get(f"{host.base}/s/demo/api/v1/me", headers=script.headers()) as r:
            assert r.status == 429 and int(r.headers["Retry-After"]) >= 1
            assert_error(r.status, await r.json(), 429, "too_many_requests")
        clock.advance(61)
        assert (await script.get("/me"))[0] == 200
        clock.advance(86400)
        assert_error(*await script.get("/me"), 401, "token_expired")
    finally:
        await stop_host(host)


async def test_reloading_the_page_that_shows_a_new_token_makes_no_second_token_and_shows_it_no_more(host):
    rep = await host.rep("rep1")
    form = {"name": "Reloaded", "expires_days": "", "scope_sessions": "on"}
    r = await rep.post_form("/s/demo/tokens", form, csrf_from="/s/demo/tokens")
    shown_at = r.url
    assert r.status == 200 and "made=" in str(shown_at) and "sht_" not in str(shown_at)
    assert "sht_" in await r.text() and r.headers["Cache-Control"] == "no-store"
    async with rep.http.get(shown_at) as again:          # the browser's reload of that page
        assert again.status == 200 and "sht_" not in await again.text()
    other = await host.rep("rep2")                        # the key is good for its user only
    r = await rep.post_form("/s/demo/tokens", {**form, "name": "Second"}, csrf_from="/s/demo/tokens",
                            allow_redirects=False)
    assert r.status == 303
    async with other.http.get(other.url(r.headers["Location"])) as theirs:
        assert "sht_" not in await theirs.text()
    assert await host.db_read(lambda db: db["api_tokens"].count) == 2
