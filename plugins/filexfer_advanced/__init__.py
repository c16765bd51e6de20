"""Advanced file transfer (host part): after the customer allowed it in the Support Manager, the rep
browses the customer's folder and copies files both ways, in resumable, SHA-256-checked streams.

The agent part (agent.py) asks the customer and touches no file without that local approval; the host
routes nothing without the grant. Every request, grant, revocation and transfer goes to session_events,
the audit log and the table advanced_transfers (the activity report shows them).
"""
from __future__ import annotations

import asyncio
import weakref

from host.appkeys import CONFIG
from host.hookspecs import hookimpl
from host.options import CUSTOMER_ROLES, DashboardOption

from . import cleanup, handlers, views
from .migrations import migrations as filexfer_migrations
from .settings import SETTINGS
from .storage import TransferStore

__version__ = "0.1.0"


@hookimpl
def migrations():
    return filexfer_migrations


@hookimpl
def dashboard_options():
    return [
        DashboardOption("filexfer_advanced.browse", "Customer's files", tab="tools", icon="\U0001F5C2", order=45),
        DashboardOption("filexfer_advanced.customer", "File access", icon="\U0001F5C2", order=35,
                        consoles=("customer",), roles=CUSTOMER_ROLES),
    ]


@hookimpl
def site_settings():
    return SETTINGS


@hookimpl
def register_message_handlers(register):
    handlers.register_all(register)


@hookimpl
def register_routes(register):
    register("POST", "/sessions/{sid}/send", views.upload)
    register("POST", "/sessions/{sid}/uploads", views.create_upload)
    register("PUT", "/sessions/{sid}/uploads/{tid}", views.put_upload)
    register("GET", "/sessions/{sid}/uploads/{tid}", views.upload_status)
    register("GET", "/files/{tid}", views.download)


_cleanup_tasks: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()   # app -> its cleanup task


@hookimpl
async def startup(app):
    store = TransferStore(app[CONFIG].data_dir)
    await asyncio.get_running_loop().run_in_executor(None, store.remove_temps)
    _cleanup_tasks[app] = asyncio.get_running_loop().create_task(cleanup.cleanup_loop(app))


@hookimpl
async def shutdown(app):
    task = _cleanup_tasks.pop(app, None)
    if task is not None:
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass


@hookimpl
async def participant_left(app, session, participant, reason):
    await handlers.on_participant_left(app, session, participant, reason)


@hookimpl
async def session_ended(app, session):
    await handlers.on_session_ended(app, session)


@hookimpl
def session_record(session, db):
    sid = session["id"] if isinstance(session, dict) else session.id
    rows = list(db["advanced_transfers"].rows_where("session_id = ? and status = 'done'", [sid],
                                                    order_by="started_at"))
    arrow = {"to_rep": "from the customer", "to_customer": "to the customer"}
    return {"advanced_files": "; ".join(
        f"{r['name']} ({r['size']} bytes, {arrow.get(r['direction'], r['direction'])}, sha256 {(r['sha256'] or '')[:12]}…)"
        for r in rows)}


@hookimpl
def extra_page_context(page):
    if str(page).startswith(("console", "customer")):
        return {"css_urls": ["/static/plugins/filexfer_advanced/filexfer_advanced.css"]}
    return None
