"""The host's own calls of the HTTP API (docs/http-api.md): who am I, start / list / read / end sessions,
and the site's OpenAPI document. Plugins add theirs through the register_api_routes hook (host/api_routes.py).

A token sees what its user took part in; with the ``admin`` scope (admins only) it sees the whole site.
"""
from __future__ import annotations

import json

from aiohttp import web

from .api import json_error, read_json_body
from .api_caller import ApiCaller
from .api_routes import PREFIX, ApiRoute, mount, plugin_api_routes
from .api_tokens import API_LIMIT
from .appkeys import CONFIG, DB, HUB, PLUGINS, SITES
from .audit import audit_row
from .openapi import ref
from .openapi import document as openapi_document
from .ratelimit import RateLimiter
from .records import session_record
from .session_start import SessionLimitReached, start_session
from .views_rep import session_summary
from .web_common import client_address, site_url

API_ROUTES: web.AppKey[list] = web.AppKey("api_routes", list)
STATES = {"live": ("open", "active"), "open": ("open",), "active": ("active",), "ended": ("ended",),
          "all": ("open", "active", "ended")}
REFERENCE_MAX = 100
LIST_MAX = 200


def _summary(request, caller: ApiCaller, row: dict) -> dict:
    meta = json.loads(row.get("meta") or "{}")
    out = session_summary(request, caller.site, row)
    out.update(started_at=row.get("started_at"), ended_at=row.get("ended_at"), reference=meta.get("reference"))
    return out


def _int_query(request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise json_error(422, f"{name}: a whole number from {low} to {high}.", field=name)
    return int(raw)


async def me(request, caller: ApiCaller):
    u = caller.user
    return {"user": {"id": u["id"], "username": u["username"], "display_name": u["display_name"], "role": u["role"]},
            "site": caller.site.slug, "token_id": caller.token_id, "scopes": sorted(caller.scopes)}


async def list_sessions(request, caller: ApiCaller):
    state = request.query.get("state", "live")
    if state not in STATES:
        raise json_error(422, f"state: one of {', '.join(STATES)}.", field="state")
    limit = _int_query(request, "limit", 50, 1, LIST_MAX)
    states = STATES[state]
    marks = ",".join("?" * len(states))
    uid = caller.user["id"]

    def read(db):
        sql = (f"select s.*, (select p.role from participants p where p.session_id = s.id and p.user_id = ? "
               f"order by p.joined_at desc limit 1) as my_role from support_sessions s "
               f"where s.site_id = ? and s.state in ({marks})")
        args = [uid, caller.site.id, *states]
        if not caller.site_wide:
            sql += " and exists (select 1 from participants p where p.session_id = s.id and p.user_id = ?)"
            args.append(uid)
        return list(db.query(sql + " order by s.created_at desc limit ?", [*args, limit]))
    rows = await request.app[DB].read(read)
    return {"sessions": [_summary(request, caller, r) for r in rows]}


async def create_session(request, caller: ApiCaller):
    body = await read_json_body(request)
    unknown = sorted(set(body) - {"reference"})
    if unknown:
        raise json_error(422, f"Unknown field {unknown[0]!r}: the body may hold only 'reference'.", field=unknown[0])
    reference = body.get("reference")
    if reference is not None and (not isinstance(reference, str) or not 1 <= len(reference.strip()) <= REFERENCE_MAX):
        raise json_error(422, f"reference: a text of 1 to {REFERENCE_MAX} characters, e.g. your ticket number.",
                         field="reference")
    meta = {"started_via": "api", "api_token": caller.token_id}
    if reference is not None:
        meta["reference"] = reference.strip()
    try:
        row = await start_session(request.app, caller.site, caller.user, meta, client_address(request))
    except SessionLimitReached as exc:
        raise json_error(409, str(exc), "session_limit") from None
    return _summary(request, caller, {**row, "my_role": "primary_rep"})


async def _visible_session(request, caller: ApiCaller) -> tuple[dict, list[dict]]:
    """The session of the path with its participants, if the caller may see it; else 404."""
    sid = request.match_info["session_id"]
    uid = caller.user["id"]

    def read(db):
        row = next(db.query("select * from support_sessions where id = ? and site_id = ?", [sid, caller.site.id]),
                   None)
        if row is None:
            return None, []
        people = list(db.query("select id, role, name, user_id, joined_at, left_at, left_reason from participants "
                               "where session_id = ? order by joined_at", [sid]))
        return row, people
    row, people = await request.app[DB].read(read)
    mine = [p for p in people if p["user_id"] == uid]
    if row is None or not (mine or caller.site_wide):
        raise json_error(404, "There is no such session that this token may see.")
    row["my_role"] = mine[-1]["role"] if mine else None
    return row, people


async def read_session(request, caller: ApiCaller):
    row, people = await _visible_session(request, caller)
    record = await session_record(request.app, row["id"])
    return {"session": _summary(request, caller, row), "participants": people, "record": record}


async def end_session(request, caller: ApiCaller):
    row, people = await _visible_session(request, caller)
    if row["state"] == "ended":
        raise json_error(409, "This session has ended already.", "ended")
    if row["my_role"] != "primary_rep" and not caller.site_wide:
        raise json_error(403, "Only the rep who leads this session (or a token with the admin scope) can end it.")
    live = await request.app[HUB].get(row["id"])
    if live is None:
        raise json_error(409, "This session has ended already.", "ended")
    by = next((p for p in live.participants.values() if p.user_id == caller.user["id"]), None)
    now = request.app[CONFIG].clock()
    await request.app[DB].write(lambda db: audit_row(
        db, caller.site.id, caller.actor, "session_ended", f"session:{row['id']}",
        {"via": "api", "api_token": caller.token_id}, now))
    await request.app[HUB].end(live, by, "ended through the API")
    row = await request.app[DB].read(lambda db: db["support_sessions"].get(row["id"]))
    return {"session": _summary(request, caller, {**row, "my_role": by.role if by else None})}


async def openapi_json(request: web.Request):
    """The site's OpenAPI document: needs no token (it holds no data of the site)."""
    site = request.app[SITES].get(request.match_info.get("site", ""))
    if site is None:
        raise json_error(404, "No such support site.")
    registry = request.app[PLUGINS]
    routes = [r for r in request.app[API_ROUTES]
              if r.plugin is None or registry.is_enabled(r.plugin, site.disabled)]
    return web.json_response(openapi_document(site_url(request, site) + "/api/v1", site.name, routes))


SESSION_ID = "/sessions/{session_id}"
CORE_ROUTES = [
    ApiRoute("GET", "/me", me, None, "Who this token belongs to, and its scopes in force", response={
        "type": "object", "required": ["user", "site", "token_id", "scopes"], "properties": {
            "user": {"type": "object"}, "site": {"type": "string"}, "token_id": {"type": "integer"},
            "scopes": {"type": "array", "items": {"type": "string"}}}}),
    ApiRoute("GET", "/sessions", list_sessions, "sessions", "List the sessions you took part in (with the admin "
             "scope: the site's)", query={
                 "state": {"description": "live (default: open or active), open, active, ended or all",
                           "schema": {"type": "string", "enum": list(STATES)}},
                 "limit": {"description": f"at most this many, newest first (1-{LIST_MAX}, default 50)",
                           "schema": {"type": "integer", "minimum": 1, "maximum": LIST_MAX}}},
             response={"type": "object", "required": ["sessions"],
                       "properties": {"sessions": {"type": "array", "items": ref("Session")}}}, errors=(422,)),
    ApiRoute("POST", "/sessions", create_session, "sessions", "Start a session led by you: its number, join "
             "link and invitation text", body={
                 "type": "object", "additionalProperties": False, "properties": {
                     "reference": {"type": "string", "minLength": 1, "maxLength": REFERENCE_MAX,
                                   "description": "Your reference, e.g. a ticket number (shown in the record)"}}},
             response=ref("Session"), status=201, errors=(409, 422)),
    ApiRoute("GET", SESSION_ID, read_session, "sessions", "A session with its participants and its record "
             "(the columns every plugin adds)", response={
                 "type": "object", "required": ["session", "participants", "record"], "properties": {
                     "session": ref("Session"), "participants": {"type": "array", "items": ref("Participant")},
                     "record": {"type": "object"}}}, errors=(404,)),
    ApiRoute("POST", SESSION_ID + "/end", end_session, "sessions", "End a session you lead, for everybody in it",
             response={"type": "object", "required": ["session"], "properties": {"session": ref("Session")}},
             errors=(404, 409)),
]


def setup(app: web.Application) -> None:
    """Mount the API: the host's calls, the plugins' (hook register_api_routes), the OpenAPI document and a
    JSON 404 for every other path under the prefix."""
    app[API_LIMIT] = RateLimiter(app[CONFIG].api_calls_per_minute, 60, app[CONFIG].clock)
    routes = app[API_ROUTES] = CORE_ROUTES + plugin_api_routes(app[PLUGINS])
    app.router.add_get(PREFIX + "/openapi.json", openapi_json)
    mount(app, routes)
