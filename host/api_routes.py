"""The routes of the HTTP API (``/s/{site}/api/v1/...``): how one is declared, how plugins add theirs
(hook ``register_api_routes``), and the wrapper every call goes through.

The wrapper answers in one JSON error shape (host.api.JSONError) and does, in this order: the site
(404), the plugin switched on for the site (404), the bearer token (401/403, host/api_tokens.py), the
route's scope (403), then calls ``handler(request, caller)``. A handler returns a dict or list (sent as
JSON with the route's status) or an aiohttp response.
"""
from __future__ import annotations

import inspect
import logging
import re
from dataclasses import dataclass, field
from typing import Callable

from aiohttp import web

from .json_errors import json_error
from .api_tokens import SCOPES, authenticate
from .appkeys import PLUGINS, SITES
from .plugins import PluginSetupError, call_impl

log = logging.getLogger("supporthost.http_api")
PREFIX = "/s/{site}/api/v1"
PATH = re.compile(r"^(/[a-z0-9_.\-]+|/\{[a-z_][a-z0-9_]*\})+$")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass
class ApiRoute:
    method: str
    path: str                        # below the API prefix, e.g. "/sessions/{session_id}"
    handler: Callable
    scope: str | None                # None: any valid token
    summary: str
    plugin: str | None = None        # None: the host's own
    query: dict = field(default_factory=dict)   # name -> {"description": ..., "schema": {...}, "required": bool}
    body: dict | None = None         # JSON Schema of the request body (None: no body)
    response: dict | None = None     # JSON Schema of the success body
    status: int = 200
    errors: tuple = ()               # further statuses it may answer (401, 403 and 429 always)

    @property
    def full_path(self) -> str:
        return self.path if self.plugin is None else f"/p/{self.plugin}{self.path}"

    def validate(self) -> None:
        who = f"plugin {self.plugin!r}: " if self.plugin else ""
        if self.method not in METHODS:
            raise PluginSetupError(f"{who}API route method {self.method!r} is not one of {', '.join(METHODS)}")
        if not PATH.match(self.path):
            raise PluginSetupError(f"{who}API route path {self.path!r} must start with / and hold only lower-case "
                                   "letters, digits, _ . - and {parameters}")
        if self.scope is not None and self.scope not in SCOPES:
            raise PluginSetupError(f"{who}API route scope {self.scope!r} is not one of {', '.join(SCOPES)}")
        if not self.summary:
            raise PluginSetupError(f"{who}API route {self.method} {self.path} needs a summary")


def plugin_api_routes(registry) -> list[ApiRoute]:
    """Every active plugin's API routes (hook register_api_routes); a plugin that registers a bad or duplicate
    route fails as a whole, with a message on /-/plugins, and the others go on."""
    routes: list[ApiRoute] = []
    for name in list(registry.active()):
        mine: list[ApiRoute] = []

        def register(method: str, path: str, handler: Callable, *, scope: str | None, summary: str,
                     query: dict | None = None, body: dict | None = None, response: dict | None = None,
                     status: int = 200, errors=(), _plugin=name) -> None:
            route = ApiRoute(method.upper(), path, handler, scope, summary, _plugin, dict(query or {}), body,
                             response, status, tuple(errors))
            route.validate()
            if any(r.method == route.method and r.path == route.path for r in mine):
                raise PluginSetupError(f"plugin {_plugin!r}: API route {route.method} {path} registered twice")
            mine.append(route)
        try:
            for impl in registry._impls("register_api_routes", name):
                call_impl(impl, register=register)
        except Exception as exc:
            registry.fail(name, str(exc) if isinstance(exc, PluginSetupError)
                          else f"register_api_routes failed: {exc.__class__.__name__}: {exc}")
            continue
        routes += mine
    return routes


def endpoint(app: web.Application, route: ApiRoute):
    """The aiohttp handler of one API route."""
    async def handle(request: web.Request):
        site = request.app[SITES].get(request.match_info.get("site", ""))
        if site is None:
            raise json_error(404, "No such support site.")
        if route.plugin is not None and not app[PLUGINS].is_enabled(route.plugin, site.disabled):
            raise json_error(404, f"The {route.plugin} feature is switched off for this site.", "feature_off")
        caller = await authenticate(request, site)
        if route.scope is not None:
            caller.require(route.scope)
        try:
            result = route.handler(request, caller)
            if inspect.isawaitable(result):
                result = await result
        except web.HTTPException:
            raise
        except Exception:
            log.exception("API %s %s failed", route.method, route.full_path)
            raise json_error(500, "The host failed to answer this call (see its log).", "internal")
        if isinstance(result, web.StreamResponse):
            return result
        return web.json_response(result, status=route.status)
    return handle


async def not_found(request: web.Request):
    """Every other path under the prefix: 405 when the path has calls with other methods, else 404."""
    allowed: set = set()
    for resource in request.app.router.resources():
        if resource.canonical.startswith(PREFIX) and resource.canonical != PREFIX + "/{tail}":
            match, methods = await resource.resolve(request)
            if match is None:
                allowed |= methods
    if allowed:
        error = json_error(405, f"{request.path} answers {', '.join(sorted(allowed))}, not {request.method}.",
                           "method_not_allowed")
        error.headers["Allow"] = ", ".join(sorted(allowed))
        raise error
    raise json_error(404, f"There is no API call {request.method} {request.path}.")


def mount(app: web.Application, routes: list[ApiRoute]) -> None:
    for route in routes:
        app.router.add_route(route.method, PREFIX + route.full_path, endpoint(app, route))
    app.router.add_route("*", PREFIX + "/{tail:.*}", not_found)

