"""An example third-party plugin: adds a "Wave" option to the consoles and handles hello.wave; a page
about it (a template of its own, a style sheet in a nested static folder) and a small JSON route."""
from aiohttp import web

from host.api import CONSOLES, ROLES, DashboardOption, MessageError, hookimpl, render, require_user, site_of


__version__ = "0.1.0"
PLUGIN = "hello"


@hookimpl
def dashboard_options():
    return [DashboardOption("hello.wave", "Wave", tab="tools", icon="\U0001F44B", order=80,
                            consoles=CONSOLES, roles=ROLES)]


@hookimpl
def register_message_handlers(register):
    register("hello.wave", wave)


@hookimpl
def register_routes(register):
    register("GET", "/", about)                    # /s/{site}/p/hello/
    register("GET", "/api/greeting", greeting)     # /s/{site}/p/hello/api/greeting


async def wave(ctx, message):
    to = message.get("to", "everybody")
    if not isinstance(to, str) or len(to) > 40:
        raise MessageError("to must be a short text")
    ctx.broadcast({"type": "hello.waved", "by": ctx.participant.name, "to": to})
    return {"type": "hello.ok", "re": message.get("id")}


async def about(request):
    site = site_of(request)
    user = await require_user(request, site)
    return await render(request, "hello/about.html", site=site, user=user, page="hello_about")


async def greeting(request):
    site = site_of(request)
    user = await require_user(request, site)
    return web.json_response({"greeting": f"Hello, {user['display_name']}!"})
