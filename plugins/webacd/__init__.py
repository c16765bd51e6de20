"""WebACD: customers ask for help from a company's own web pages, wait in a queue, and are routed to reps.

Parts: queue_config.py (hours, fields, distribution settings), engine.py (the routing engine, pure and
clock-injectable), store.py (SQL), service.py (the engine plus persistence and notifications),
views_public.py (snippet, entry form, waiting page), views_rep.py (offers, status, queue view),
views_admin.py (queues, live monitor), handlers.py (session messages: transfer, request details).
"""
from __future__ import annotations

from host.hookspecs import hookimpl
from host.options import REP_CONSOLES, REP_ROLES, DashboardOption, Setting

from . import api_routes, handlers, views_admin, views_public, views_rep
from .migrations import migrations as acd_migrations
from .service import WEBACD, WebAcd

__version__ = "0.1.0"
CONSOLE_PAGES = ("console_dashboard", "console_tray", "console_multisession")
SETTINGS = [
    Setting("entries_per_minute", "Entry forms accepted per minute from one address", "int", 6, min=1, max=1000),
    Setting("abandon_after", "Seconds a customer may be away from the waiting page before leaving the queue",
            "int", 180, min=30, max=86400, help="Their place is kept while they reload or reconnect."),
]


def settings_value(app, site, name: str):
    spec = next(s for s in SETTINGS if s.name == name)
    return site.setting("webacd", spec)


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
        return {"js_urls": ["/static/plugins/webacd/console_acd.js"], "css_urls": ["/static/plugins/webacd/webacd.css"]}
    if page == "admin" and user:
        return {"js_urls": ["/static/plugins/webacd/admin_link.js"]}
    if page.startswith("webacd_") or page == "customer":
        return {"css_urls": ["/static/plugins/webacd/webacd.css"]}
    return None


@hookimpl
def webacd_start_options():
    return [Setting("open_url", "Open this page for the customer when the session starts", "url", "",
                    help="For example your product's help page; shown to the customer as a link.")]


@hookimpl
async def participant_joined(app, session, participant):
    if participant.user_id is not None and WEBACD in app:
        await app[WEBACD].refresh_agents([participant.user_id])


@hookimpl
async def participant_left(app, session, participant, reason):
    if WEBACD not in app:
        return
    if participant.user_id is not None:
        await app[WEBACD].refresh_agents([participant.user_id])
    elif session.kind == "inbound":
        await app[WEBACD].customer_left(session)


@hookimpl
async def session_ended(app, session, ended_by):
    if WEBACD in app:
        await app[WEBACD].session_ended(session)


@hookimpl
def session_record(session, db):
    sid = session["id"] if isinstance(session, dict) else session.id
    row = next(db.query("select q.name as queue, e.created_at, e.accepted_at, e.ref_url from acd_entries e "
                        "left join acd_queues q on q.id = e.queue_id where e.session_id = ? and e.kind = 'new'",
                        [sid]), None)
    transfers = db["acd_transfers"].count_where("session_id = ?", [sid])
    if row is None:
        return {"webacd_transfers": transfers} if transfers else None
    return {"webacd_queue": row["queue"], "webacd_wait_seconds": round((row["accepted_at"] or row["created_at"])
                                                                       - row["created_at"]),
            "webacd_ref_url": row["ref_url"], "webacd_transfers": transfers}


@hookimpl
def register_api_routes(register):
    api_routes.register(register)
