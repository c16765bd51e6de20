"""The activity report over the HTTP API (hook register_api_routes): GET /s/{site}/api/v1/p/report/sessions
with the report page's filters. A token sees its user's sessions; with the admin scope, every rep's."""
from __future__ import annotations

from host.api import json_error, now

from .data import MAX_SESSIONS, report_rows
from .filters import FilterError, parse

ROW = {"type": "object", "required": ["id", "number", "state", "started", "reps", "customers", "features"],
       "properties": {
           "id": {"type": "string"}, "number": {"type": "string"}, "kind": {"type": "string"},
           "state": {"type": "string"}, "started": {"type": "number"}, "ended": {"type": ["number", "null"]},
           "duration": {"type": ["integer", "null"], "description": "seconds"},
           "reps": {"type": "array", "items": {"type": "string"}},
           "customers": {"type": "array", "items": {"type": "string"}},
           "queue": {"type": "string"}, "wait": {"type": ["integer", "null"], "description": "seconds"},
           "transfers": {"type": "integer"}, "features": {"type": "array", "items": {"type": "string"}},
           "invites": {}, "files": {}, "notes": {},
           "extra": {"type": "object", "description": "Columns other plugins add"},
           "rep_ids": {"type": "array", "items": {"type": "integer"}}}}
RESPONSE = {"type": "object", "required": ["filters", "sessions", "truncated"], "properties": {
    "filters": {"type": "object", "additionalProperties": {"type": "string"}},
    "sessions": {"type": "array", "items": ROW},
    "truncated": {"type": "boolean", "description": f"True when the report stopped at {MAX_SESSIONS} sessions"}}}
QUERY = {"from": {"description": "First day (UTC), e.g. 2026-11-01; default 29 days before 'to'",
                  "schema": {"type": "string", "format": "date"}},
         "to": {"description": "Last day (UTC), default today", "schema": {"type": "string", "format": "date"}},
         "rep": {"description": "A rep's user id (needs the admin scope)", "schema": {"type": "integer"}},
         "queue": {"description": "A WebACD queue's name", "schema": {"type": "string"}}}


async def report_sessions(request, caller):
    try:
        filters = parse(request.query, now(request.app))
    except FilterError as exc:
        raise json_error(422, str(exc)) from None
    if filters.rep_id is not None and not caller.site_wide:
        raise json_error(403, "Filtering by rep needs a token with the admin scope.", "scope_missing", scope="admin")
    rows = await report_rows(request.app, caller.site, filters, None if caller.site_wide else caller.user["id"])
    return {"filters": filters.query(), "sessions": rows, "truncated": len(rows) >= MAX_SESSIONS}


def register(register_api_route) -> None:
    register_api_route("GET", "/sessions", report_sessions, scope="reports",
                       summary="The activity report: sessions with times, people, queue, wait and features",
                       query=QUERY, response=RESPONSE, errors=(422,))
