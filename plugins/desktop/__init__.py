"""Desktop sharing (host part): Request view / Request control / Share view / Share control, display modes.

The host is the second lock (the agent is the first): it forwards frames only to participants covered by
a grant the person at the shared computer gave, and drops input from anyone without a control grant.
Every request, grant, denial, revocation and control hand-over goes to session_events and the audit log.
"""
from __future__ import annotations

from host.hookspecs import hookimpl
from host.options import CUSTOMER_ROLES, DashboardOption, Setting

from .sharing import MODES, on_participant_left, register_sharing

__version__ = "0.1.0"


@hookimpl
def dashboard_options():
    return [
        DashboardOption("desktop.request_view", "Request view", tab="desktop", icon="\U0001F441", order=10),
        DashboardOption("desktop.request_control", "Request control", tab="desktop", icon="\U0001F5B1",
                        order=20),
        DashboardOption("desktop.share_view", "Share view", tab="desktop", icon="\U0001F4E4", order=30),
        DashboardOption("desktop.share_control", "Share control", tab="desktop", icon="\U0001F91D", order=40),
        DashboardOption("desktop.session_options", "Session options", tab="session", icon="\U0001F39A",
                        order=50),
        DashboardOption("desktop.customer", "Screen sharing", icon="\U0001F5A5", order=30,
                        consoles=("customer",), roles=CUSTOMER_ROLES),
    ]


@hookimpl
def site_settings():
    return [Setting("default_mode", "Default display mode", "choice", "standard", choices=MODES,
                    help="Standard: better picture, more bandwidth. Screen sampling: faster, lower quality.")]


@hookimpl
def register_message_handlers(register):
    register_sharing(register, "desktop")


@hookimpl
async def participant_left(app, session, participant, reason):
    await on_participant_left(app, session, participant, reason, "desktop")


@hookimpl
def session_record(session, db):
    sid = session["id"] if isinstance(session, dict) else session.id
    return {"desktop_grants": db["session_events"].count_where(
        "session_id = ? and kind = 'desktop.granted'", [sid])}


@hookimpl
def extra_page_context(page):
    if str(page).startswith(("console", "customer")):
        return {"css_urls": ["/static/plugins/desktop/desktop.css"]}
    return None
