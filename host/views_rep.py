"""The rep's side: the console the admin chose for them, and the session API it calls."""
from __future__ import annotations

from aiohttp import web

from . import session_store as store
from .appkeys import DB, PLUGINS
from .json_errors import json_error
from .options import REP_ROLES
from .session_start import SessionLimitReached
from .session_start import start_session as start_rep_session
from .web_common import client_address, form_with_csrf, render, require_user, site_of, site_url

routes = web.RouteTableDef()


def group_number(number: str) -> str:
    """123456789 -> '123 456 789', easier to read out on the phone."""
    return " ".join(number[i:i + 3] for i in range(0, len(number), 3))


def session_summary(request, site, row: dict) -> dict:
    base = site_url(request, site)
    return {
        "id": row["id"], "number": row["number"], "kind": row["kind"], "state": row["state"],
        "created_at": row["created_at"], "my_role": row.get("my_role"),
        "join_url": f"{base}/join?n={row['number']}",
        "invitation": f"Go to {base} and enter the session number {group_number(row['number'])}.",
    }


def console_options(request, site, console: str) -> dict:
    registry = request.app[PLUGINS]
    return {role: [o.as_json() for o in registry.options_for(site.disabled, console, role)] for role in REP_ROLES}


@routes.get("/s/{site}/console")
async def console(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    kind = user["console"]
    return await render(request, f"console_{kind}.html", site=site, user=user, page=f"console_{kind}",
                        console=kind, options=console_options(request, site, kind))


@routes.get("/s/{site}/tray")
async def tray_popup(request: web.Request):
    """The compact icon tray on its own, for the small movable popup window."""
    site = site_of(request)
    user = await require_user(request, site)
    return await render(request, "console_tray.html", site=site, user=user, page="console_tray", console="tray",
                        popup=True, options=console_options(request, site, "tray"))


@routes.get("/s/{site}/api/sessions")
async def my_sessions(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    rows = await request.app[DB].read(lambda db: store.sessions_of_user(db, user["id"]))
    return web.json_response({"sessions": [session_summary(request, site, r) for r in rows]})


@routes.post("/s/{site}/api/sessions")
async def start_session(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    await form_with_csrf(request)
    try:
        session = await start_rep_session(request.app, site, user, address=client_address(request))
    except SessionLimitReached as exc:
        raise json_error(409, str(exc), "session_limit") from None
    return web.json_response(session_summary(request, site, {**session, "my_role": "primary_rep"}), status=201)


@routes.get("/s/{site}/api/reps")
async def reps(request: web.Request):
    """The site's active reps, to pick an assisting rep from."""
    site = site_of(request)
    await require_user(request, site)
    rows = await request.app[DB].read(lambda db: list(db.query(
        "select id, username, display_name from users where site_id = ? and active = 1 order by display_name",
        [site.id])))
    return web.json_response({"reps": rows})
