"""The OpenAPI 3.1 document of one site's HTTP API: the host's calls and those of the plugins switched on
for the site, each with its scope, parameters, body and answers (served at /s/{site}/api/v1/openapi.json)."""
from __future__ import annotations

import re

from .api_tokens import SCOPES
from .api_routes import ApiRoute

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}
NULLABLE_NUMBER = {"type": ["number", "null"]}
SESSION = {"type": "object",
           "required": ["id", "number", "kind", "state", "created_at", "join_url", "invitation"],
           "properties": {
               "id": {"type": "string"}, "number": {"type": "string", "description": "What the customer enters"},
               "kind": {"type": "string"}, "state": {"type": "string", "enum": ["open", "active", "ended"]},
               "created_at": {"type": "number"}, "started_at": NULLABLE_NUMBER, "ended_at": NULLABLE_NUMBER,
               "my_role": {"type": ["string", "null"], "description": "The token user's role in it, if any"},
               "reference": {"type": ["string", "null"], "description": "The caller's reference, e.g. a ticket"},
               "join_url": {"type": "string"},
               "invitation": {"type": "string", "description": "A sentence to send the customer"}}}
PARTICIPANT = {"type": "object", "required": ["id", "role", "name", "joined_at"],
               "properties": {"id": {"type": "string"}, "role": {"type": "string"}, "name": {"type": "string"},
                              "user_id": {"type": ["integer", "null"]}, "joined_at": {"type": "number"},
                              "left_at": NULLABLE_NUMBER, "left_reason": {"type": ["string", "null"]}}}
COMPONENTS = {"Error": ERROR, "Session": SESSION, "Participant": PARTICIPANT}
STATUS_TEXT = {200: "OK", 201: "Created", 401: "No valid API token", 403: "Wrong scope or site",
               404: "Not found", 409: "Conflict with the current state", 422: "Bad input; nothing changed",
               429: "Too many calls with this token", 500: "The host failed"}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(route: ApiRoute) -> dict:
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in re.findall(r"\{([a-z_][a-z0-9_]*)\}", route.path)]
    params += [{"name": name, "in": "query", "required": bool(spec.get("required")),
                "description": spec.get("description", ""), "schema": spec.get("schema", {"type": "string"})}
               for name, spec in route.query.items()]
    words = re.sub(r"[^a-z0-9]+", "_", f"{route.method} {route.full_path}".lower()).strip("_")
    op = {"operationId": words, "summary": route.summary, "tags": [route.plugin or "core"],
          "x-scope": route.scope, "parameters": params,
          "responses": {str(route.status): {"description": STATUS_TEXT.get(route.status, "OK"), "content": {
              "application/json": {"schema": route.response or {"type": "object"}}}}}}
    if route.scope is not None:
        op["description"] = f"Needs a token with the `{route.scope}` scope."
    if route.body is not None:
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": route.body}}}
    for status in sorted({401, 403, 429, *route.errors}):
        op["responses"][str(status)] = {"description": STATUS_TEXT.get(status, "Error"),
                                        "content": {"application/json": {"schema": ref("Error")}}}
    return op


def document(server_url: str, site_name: str, routes: list[ApiRoute]) -> dict:
    paths: dict = {}
    for route in routes:
        paths.setdefault(route.full_path, {})[route.method.lower()] = _operation(route)
    scopes = "; ".join(f"`{name}`: {text}" for name, text in SCOPES.items())
    return {
        "openapi": "3.1.0",
        "info": {"title": f"supporthost HTTP API — {site_name}", "version": "1",
                 "description": "Calls for scripts and integrations, with a personal API token sent as "
                                f"'Authorization: Bearer <token>'. Scopes: {scopes}."},
        "servers": [{"url": server_url}],
        "security": [{"bearerToken": []}],
        "paths": paths,
        "components": {"schemas": COMPONENTS,
                       "securitySchemes": {"bearerToken": {"type": "http", "scheme": "bearer"}}},
    }
