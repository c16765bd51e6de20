"""How large a request body each route may send, checked from its headers before anything reads it.

Forms and JSON bodies are read whole, so each route has a limit: a few kB for the login (and its
second step), logout and join forms, DEFAULT_BYTES for any other. Only a handler marked
``streams_body`` (an upload, which checks who is asking before it reads, and writes the body to disk
as it comes) takes more, under limits of its own. A body over the limit is refused with 413 before a byte of it is read; a body
without a Content-Length (chunked) is refused with 411 except by a streaming route.
"""
from __future__ import annotations

from aiohttp import web

FORM_BYTES = 16 * 1024          # the login, logout and join forms: a few short fields
DEFAULT_BYTES = 256 * 1024      # any other form or JSON body (admin settings, API calls)
ROUTE_LIMITS = {
    "/s/{site}/login": FORM_BYTES,
    "/s/{site}/logout": FORM_BYTES,
    "/s/{site}/join": FORM_BYTES,
    "/s/{site}/login/verify": FORM_BYTES,             # the second step: a code, or a security key's answer
    "/s/{site}/login/verify/key-options": FORM_BYTES,
    "/s/{site}/login/verify/key": FORM_BYTES,
}


def streams_body(handler):
    """Mark a route handler that reads its body as a stream, under limits of its own (an upload)."""
    handler.streams_body = True
    return handler


def limit_for(request: web.Request) -> int | None:
    """The most bytes of body the request's route accepts (None: it streams its body)."""
    match = request.match_info
    if getattr(match.handler, "streams_body", False):
        return None
    resource = match.route.resource
    return ROUTE_LIMITS.get(resource.canonical if resource is not None else "", DEFAULT_BYTES)


def _kb(n: int) -> str:
    return f"{n // 1024} kB"


@web.middleware
async def body_limit(request: web.Request, handler):
    if request.body_exists:
        limit = limit_for(request)
        if limit is not None:
            length = request.content_length
            if length is None:
                raise web.HTTPLengthRequired(text="Send the request body with a Content-Length header.")
            if length > limit:
                raise web.HTTPRequestEntityTooLarge(
                    max_size=limit, actual_size=length,
                    text=f"The request body is too large for this address (at most {_kb(limit)}).")
    return await handler(request)
