"""The outermost middleware: every answer, errors included, carries the security headers.

An error raised by a handler (``web.HTTPException``) is turned into a plain response here, and one
nobody expected into a 500 (a full disk into 507) with the same headers, so aiohttp never answers
on its own. The exception is then cut loose from its traceback: a handler's frames (which may hold
a request's whole body) would otherwise live on in a reference cycle (exception -> traceback ->
frame -> exception) until a full garbage collection, which after ``gc.freeze()`` is rare.
"""
from __future__ import annotations

import logging
import re

from aiohttp import web

from .appkeys import CONFIG, CSRF_NEW
from .disk_full import DISK_FULL, is_disk_full
from .json_errors import json_error
from .web_common import CSRF_COOKIE

log = logging.getLogger("supporthost")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; "
       "form-action 'self'; object-src 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
           "X-Frame-Options": "DENY"}
_JSON_PATH = re.compile(r"^/s/[^/]+/(api/|p/[a-z][a-z0-9_]*/api/)")


@web.middleware
async def security_headers(request: web.Request, handler):
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = _plain(exc)
        _forget(exc)
    except Exception as exc:
        if request.writer.output_size > 0:   # an answer is on its way already: nothing to replace
            raise
        response = _unexpected(request, exc)
        _forget(exc)
    if not isinstance(response, web.WebSocketResponse) and not response.prepared:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if CSRF_NEW in request:
            response.set_cookie(CSRF_COOKIE, request[CSRF_NEW], path="/", httponly=True, samesite="Strict",
                                secure=request.app[CONFIG].secure_cookies)
    return response


def _plain(exc: web.HTTPException) -> web.Response:
    """The response an HTTP error stands for, as a plain (non-exception) response."""
    response = web.Response(status=exc.status, reason=exc.reason, body=exc.body, headers=exc.headers)
    for name, morsel in exc.cookies.items():
        response.cookies[name] = morsel
    return response


def _unexpected(request: web.Request, exc: Exception) -> web.Response:
    if is_disk_full(exc):
        log.error("disk full while answering %s %s: %s", request.method, request.path, exc)
        return _error(request, 507, DISK_FULL)
    log.error("error while answering %s %s", request.method, request.path, exc_info=exc)
    return _error(request, 500, "Something went wrong on the server; it is logged. Try again, or tell an admin.")


def _error(request: web.Request, status: int, message: str) -> web.Response:
    accept = request.headers.get("Accept", "")
    if _JSON_PATH.match(request.path) or ("application/json" in accept and "text/html" not in accept):
        return _plain(json_error(status, message))
    return web.Response(status=status, text=message)


def _forget(exc: BaseException) -> None:
    """Drop the tracebacks (and with them the frames) an exception and its chained causes hold."""
    seen = 0
    while exc is not None and seen < 20:
        exc.__traceback__ = None
        nxt = exc.__cause__ or exc.__context__
        exc.__cause__ = exc.__context__ = None
        exc, seen = nxt, seen + 1
