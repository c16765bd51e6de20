"""rrweb (vendored in ``static/``, served at /static/lib/rrweb/), shared by co-browse (the customer's page
records with it, the rep's console replays with it) and the recorder's player (replays recorded co-browse).

``replay_frame`` is the document both replays live in: rrweb's own iframe (sandboxed without scripts) sits
inside it and inherits its CSP, which lets the shared page's styles and images show (the consoles' CSP would
block them) and runs no script at all. Each plugin serves it under its own routes
(``register("GET", "/frame", replay_frame)``); it is framed only by the host's own pages.
"""
from __future__ import annotations

from aiohttp import web

STATIC = "/static/lib/rrweb"
FRAME_CSP = ("default-src 'none'; img-src * data: blob:; style-src * 'unsafe-inline'; font-src * data:; "
             "media-src * data: blob:; script-src 'none'; frame-src 'none'; object-src 'none'; form-action 'none'; "
             "base-uri 'none'; frame-ancestors 'self'")
FRAME_HTML = ('<!DOCTYPE html><html><head><meta charset="utf-8">'
              f'<link rel="stylesheet" href="{STATIC}/rrweb.min.css">'
              "<style>html, body { margin: 0; padding: 0; overflow: hidden; background: #fff; }"
              " .replayer-wrapper iframe { border: 0; pointer-events: none; }</style></head><body></body></html>")


async def replay_frame(_request: web.Request) -> web.Response:
    """The replay's outer document, with its own CSP (no script runs in it or in rrweb's frame inside)."""
    return web.Response(text=FRAME_HTML, content_type="text/html",
                        headers={"Content-Security-Policy": FRAME_CSP, "X-Frame-Options": "SAMEORIGIN",
                                 "Cache-Control": "no-store"})
