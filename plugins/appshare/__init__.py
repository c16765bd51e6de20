"""Application sharing (host part): the same four requests as the desktop, for one application window.

The host logic is the desktop plugin's (plugins/desktop/sharing.py) under this plugin's own message
types, grants, events and switch: "appshare.request", "appshare.granted", ... The agent part
(agent.py) picks and captures one window.
"""
from __future__ import annotations

from host.hookspecs import hookimpl
from host.options import CUSTOMER_ROLES, DashboardOption

from plugins.desktop.sharing import on_participant_left, register_sharing

__version__ = "0.1.0"
JS = "/static/plugins/desktop/desktop.js"


@hookimpl
def dashboard_options():
    return [
        DashboardOption("appshare.request_view", "Request view", tab="application", icon="\U0001F441", order=10,
                        js_module=JS),
        DashboardOption("appshare.request_control", "Request control", tab="application", icon="\U0001F5B1",
                        order=20, js_module=JS),
        DashboardOption("appshare.share_view", "Share view", tab="application", icon="\U0001F4E4", order=30,
                        js_module=JS),
        DashboardOption("appshare.share_control", "Share control", tab="application", icon="\U0001F91D",
                        order=40, js_module=JS),
        DashboardOption("appshare.customer", "Application sharing", icon="\U0001FA9F", order=31, js_module=JS,
                        consoles=("customer",), roles=CUSTOMER_ROLES),
    ]


@hookimpl
def register_message_handlers(register):
    register_sharing(register, "appshare")


@hookimpl
async def participant_left(app, session, participant, reason):
    await on_participant_left(app, session, participant, reason, "appshare")


@hookimpl
def session_record(session, db):
    sid = session["id"] if isinstance(session, dict) else session.id
    return {"appshare_grants": db["session_events"].count_where(
        "session_id = ? and kind = 'appshare.granted'", [sid])}


@hookimpl
def extra_page_context(page):
    if str(page).startswith(("console", "customer")):
        return {"css_urls": ["/static/plugins/desktop/desktop.css"]}
    return None
