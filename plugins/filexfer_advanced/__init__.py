"""Advanced file transfer (host part): after the customer allowed it in the Support Manager, the rep
browses the customer's folder and copies files both ways, in resumable, SHA-256-checked streams.

The agent part (agent.py) asks the customer and touches no file without that local approval; the host
routes nothing without the grant. Every request, grant, revocation and transfer goes to session_events,
the audit log and the table advanced_transfers (the activity report shows them).
"""
from __future__ import annotations

import asyncio

from host import api

from . import access, cleanup, handlers, views
from .lifecycle import file_store
from .migrations import migrations as filexfer_migrations
from .protocol import PLUGIN
from .settings import SETTINGS

__version__ = "0.1.0"


@api.hookimpl
def migrations():
    return filexfer_migrations


@api.hookimpl
def dashboard_options():
    return [
        api.DashboardOption(f"{PLUGIN}.browse", "Customer's files", tab="tools", icon="\U0001F5C2", order=45),
        api.DashboardOption(f"{PLUGIN}.customer", "File access", icon="\U0001F5C2", order=35,
                            consoles=("customer",), roles=api.CUSTOMER_ROLES),
    ]


@api.hookimpl
def site_settings():
    return SETTINGS


@api.hookimpl
def register_message_handlers(register):
    handlers.register_all(register)


@api.hookimpl
def register_routes(register):
    register("POST", "/sessions/{sid}/send", views.upload)
    register("POST", "/sessions/{sid}/uploads", views.create_upload)
    register("PUT", "/sessions/{sid}/uploads/{tid}", views.put_upload)
    register("GET", "/sessions/{sid}/uploads/{tid}", views.upload_status)
    register("GET", "/files/{tid}", views.download)


@api.hookimpl
async def startup(app):
    await asyncio.get_running_loop().run_in_executor(None, file_store(app).remove_temps)
    api.background_task(app, f"{PLUGIN}.cleanup", lambda: cleanup.cleanup_loop(app))


@api.hookimpl
async def participant_left(app, session, participant, reason):
    await access.on_participant_left(app, session, participant, reason)


@api.hookimpl
async def session_ended(app, session):
    await access.on_session_ended(app, session)


@api.hookimpl
def session_record(session, db):
    rows = list(db["advanced_transfers"].rows_where("session_id = ? and status = 'done'", [session.id],
                                                    order_by="started_at"))
    arrow = {"to_rep": "from the customer", "to_customer": "to the customer"}
    return {"advanced_files": "; ".join(
        f"{r['name']} ({r['size']} bytes, {arrow.get(r['direction'], r['direction'])}, "
        f"sha256 {(r['sha256'] or '')[:12]}…)" for r in rows)}


@api.hookimpl
def extra_page_context(page):
    if str(page).startswith(("console", "customer")):
        return {"css_urls": [f"/static/plugins/{PLUGIN}/{PLUGIN}.css"]}
    return None
