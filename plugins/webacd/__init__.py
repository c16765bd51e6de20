"""WebACD: customers ask for help from a company's own web pages, wait in a queue, and are routed to reps.

A queue's members are the reps who take its customers (the engine's Member); the Support Manager is
the agent, never a rep.

Parts: queue_config.py (hours, fields, distribution settings), engine.py (the routing engine, pure and
clock-injectable), store.py (SQL), service.py (the engine plus persistence, notifications and the
ticker), members.py (a member's status, offers, queue view), accepting.py (a rep takes a customer),
transfers.py (handing a session on), queues.py (queue administration, live monitor), views_public.py
(snippet, entry form, waiting page), views_rep.py (the members' API), views_admin.py (admin pages),
handlers.py (session messages: transfer, request details).
"""
from __future__ import annotations

from host.api import REP_CONSOLES, REP_ROLES, DashboardOption, Setting, hookimpl

from . import api_routes, handlers, store, views_admin, views_public, views_rep
from .migrations import migrations as acd_migrations
from .service import PLUGIN, WEBACD, WebAcd

__version__ = "0.1.0"
CONSOLE_PAGES = ("console_dashboard", "console_tray", "console_multisession")
SETTINGS = [
    Setting("entries_per_minute", "Entry forms accepted per minute from one address", "int", 6, min=1, max=1000),
    Setting("abandon_after", "Seconds a customer may be away from the waiting page before leaving the queue",
            "int", 180, min=30, max=86400, help="Their place is kept while they reload or reconnect."),
]


@hookimpl
def register_hookspecs(add):
    from . import hookspecs   # the hooks this plugin declares for others
    add(hookspecs)


@hookimpl
def migrations():
    return acd_migrations


@hookimpl
def site_settings():
    return list(SETTINGS)


@hookimpl
async def startup(app):
    service = app[WEBACD] = WebAcd(app)
    await service.start()


@hookimpl
async def shutdown(app):
    if WEBACD in app:
        await app[WEBACD].stop()


@hookimpl
def register_routes(register):
    views_public.register(register)
    views_rep.register(register)
    views_admin.register(register)


@hookimpl
def register_message_handlers(register):
    handlers.register(register)


@hookimpl
def dashboard_options():
    return [
        DashboardOption("webacd.request", "Request", tab="session", icon="\U0001F4CB", order=5,
                        consoles=REP_CONSOLES, roles=REP_ROLES),
        DashboardOption("webacd.transfer", "Transfer session", tab="session", icon="\u21AA", order=35,
                        consoles=REP_CONSOLES, roles=("primary_rep",)),
        DashboardOption("webacd.customer", "Your request", tab="tools", icon="\U0001F4CB", order=90,
                        consoles=("customer",), roles=("customer", "secondary_customer")),
    ]


@hookimpl
def extra_page_context(page, site, user):
    if page in CONSOLE_PAGES and user:
        return {"js_urls": [f"/static/plugins/{PLUGIN}/console_acd.js"],
                "css_urls": [f"/static/plugins/{PLUGIN}/webacd.css"]}
    if page == "admin" and user:
        return {"js_urls": [f"/static/plugins/{PLUGIN}/admin_link.js"]}
    if page.startswith("webacd_") or page == "customer":
        return {"css_urls": [f"/static/plugins/{PLUGIN}/webacd.css"]}
    return None


@hookimpl
def webacd_start_options():
    return [Setting("open_url", "Open this page for the customer when the session starts", "url", "",
                    help="For example your product's help page; shown to the customer as a link.")]


@hookimpl
async def participant_joined(app, session, participant):
    if participant.user_id is not None and WEBACD in app:
        await app[WEBACD].refresh_members([participant.user_id])


@hookimpl
async def participant_left(app, session, participant, reason):
    if WEBACD not in app:
        return
    if participant.user_id is not None:
        await app[WEBACD].refresh_members([participant.user_id])
    elif session.kind == "inbound":
        await app[WEBACD].customer_left(session)


@hookimpl
async def session_ended(app, session, ended_by):
    if WEBACD in app:
        await app[WEBACD].session_ended(session)


@hookimpl
def session_record(session, db):
    return store.session_columns(db, session.id)


@hookimpl
def register_api_routes(register):
    api_routes.register(register)

