"""/-/plugins: what is installed, with versions, hooks, per-site state and the errors of failed ones."""
from __future__ import annotations

from aiohttp import web

from .appkeys import PLUGINS, SITES
from .web_common import render

routes = web.RouteTableDef()


def plugins_report(app) -> list[dict]:
    registry = app[PLUGINS]
    sites = sorted(app[SITES].by_slug.values(), key=lambda s: s.slug)
    out = []
    for name, info in sorted(registry.info.items()):
        out.append({
            "name": name, "version": info.version, "module": info.module, "distribution": info.distribution,
            "core": info.core,
            "status": "failed" if info.error else "loaded", "error": info.error, "hooks": info.hooks,
            "enabled": {s.slug: (info.error is None and (info.core or name not in s.disabled)) for s in sites},
        })
    return out


@routes.get("/-/plugins.json")
async def plugins_json(request: web.Request):
    return web.json_response({"plugins": plugins_report(request.app)})


@routes.get("/-/plugins")
async def plugins_page(request: web.Request):
    return await render(request, "plugins.html", plugins=plugins_report(request.app),
                        sites=sorted(request.app[SITES].by_slug))


@routes.get("/favicon.ico")
async def favicon(request: web.Request):
    return web.Response(status=204)
