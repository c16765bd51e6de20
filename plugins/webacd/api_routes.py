"""WebACD over the HTTP API (hook register_api_routes): GET /s/{site}/api/v1/p/webacd/queues lists queues
with how many customers wait in each. A token sees its user's queues; with the admin scope, all of them."""
from __future__ import annotations

from host.api import json_error, now

from .service import WEBACD

RESPONSE = {"type": "object", "required": ["queues"], "properties": {"queues": {"type": "array", "items": {
    "type": "object", "required": ["id", "name", "open", "waiting"], "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "open": {"type": "boolean"},
        "waiting": {"type": "integer", "description": "Customers waiting in the queue now"},
        "estimate_next": {"type": ["integer", "null"], "description": "Seconds until the next one is taken"},
        "member": {"type": "boolean", "description": "The token's user takes customers from it"}}}}}}


async def queues(request, caller):
    if WEBACD not in request.app:
        raise json_error(503, "WebACD is not running.")
    acd = request.app[WEBACD]
    at = now(request.app)
    uid = caller.user["id"]
    return {"queues": [{"id": q.id, "name": q.name, "open": q.is_open(at), "waiting": len(acd.engine.positions(q.id)),
                        "estimate_next": acd.estimate(q.id, 1), "member": uid in q.members}
                       for q in acd.site_queues(caller.site.id) if caller.site_wide or uid in q.members]}


def register(register_api_route) -> None:
    register_api_route("GET", "/queues", queues, scope="sessions",
                       summary="Your WebACD queues (with the admin scope: all) and how many customers wait in each",
                       response=RESPONSE, errors=(503,))
