"""The one error shape of JSON routes: ``{"error": {"code": ..., "message": ...}}`` (host.api names it)."""
from __future__ import annotations

import json

from aiohttp import web


class JSONError(web.HTTPException):
    """An HTTP error whose body is ``{"error": {"code": ..., "message": ...}}`` plus any extra keys:
    the one error shape of JSON routes. Raise it (or ``json_error(...)``) from a route handler."""

    def __init__(self, status: int, message: str, code: str | None = None, **extra):
        self.status_code = status
        super().__init__(content_type="application/json")
        body = {"error": {"code": code or _CODES.get(status, "error"), "message": message}, **extra}
        self.text = json.dumps(body)


_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict",
          410: "gone", 413: "too_large", 415: "unsupported_media_type", 422: "invalid", 429: "too_many_requests",
          503: "unavailable", 507: "insufficient_storage"}


def json_error(status: int, message: str, code: str | None = None, **extra) -> JSONError:
    """The error to raise from a JSON route: ``raise json_error(404, "No such file.")``."""
    return JSONError(status, message, code, **extra)
