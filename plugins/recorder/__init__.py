"""Session recording: the session's traffic stored as it went (append-only segments of timestamped messages,
frames and recorder events, RECORDER.md), played back by the player and exported to WebM.

Record / Stop recording in the Session tab (each span is a part of the session's one recording), automatic
recording of every session of the reps an admin chose, the customer's notice and (per site) consent, chapters
from the traffic, retention, and the Recordings list.
"""
from __future__ import annotations

import importlib.util

from host.api import (CUSTOMER_ROLES, REP_CONSOLES, REP_ROLES, DashboardOption, Setting, background_task, database,
                      existing_plugin_state, hookimpl, sessions, setting, site_by_id)

from . import service
from .handlers import register_handlers
from .migrations import migrations as recorder_migrations
from .recovery import close_interrupted, resume_live_sessions
from .retention import retention_loop
from .views import register_views

__version__ = "0.1.0"
PLUGIN = "recorder"


@hookimpl
def migrations():
    return recorder_migrations


@hookimpl
def site_settings():
    return [
        Setting("ask_customer", "Ask the customer before recording", "bool", False,
                help="Recording starts only after the customer allows it on their side."),
        Setting("retention_days", "Keep recordings (days)", "int", 90, min=1, max=3650,
                help="Older recordings are deleted automatically."),
        Setting("record_file_contents", "Record the contents of transferred files", "bool", False,
                help="Off: only each file's name, size and SHA-256 are recorded."),
    ]


@hookimpl
def dashboard_options():
    return [
        DashboardOption("recorder.record", "Record session", tab="session", icon="\u23FA", order=60,
                        js_module="/static/plugins/recorder/console.js", consoles=REP_CONSOLES, roles=REP_ROLES),
        DashboardOption("recorder.notice", "Recording", icon="\u23FA", order=90,
                        js_module="/static/plugins/recorder/console.js", consoles=("customer",),
                        roles=CUSTOMER_ROLES),
    ]


@hookimpl
def register_message_handlers(register):
    register_handlers(register)


@hookimpl
def register_routes(register):
    register_views(register)
    if importlib.util.find_spec(f"{__name__}.player_views") is not None:     # rec-play's player endpoints
        from .player_views import register_player_routes
        register_player_routes(register)


@hookimpl
def extra_page_context(page):
    if page == "report":        # a "Recording" link on the rows of recorded sessions
        return {"js_urls": ["/static/plugins/recorder/report_links.js"]}
    if page == "admin":         # "Record all sessions" on each account's row
        return {"js_urls": ["/static/plugins/recorder/admin_auto.js"]}
    return None


@hookimpl
async def startup(app):
    interrupted = await close_interrupted(app)
    await resume_live_sessions(app, interrupted)
    background_task(app, "recorder retention", lambda: retention_loop(app))


def _auto(db, site_id: int, user_id) -> bool:
    return user_id is not None and bool(db.execute(
        "select 1 from recorder_auto_reps where site_id = ? and user_id = ?", [site_id, user_id]).fetchone())


@hookimpl
async def session_started(app, session):
    """An admin chose to record every session of this rep: it starts at once (or when the customer allows)."""
    rep = session.primary()
    if rep is None or not await database(app).read(lambda db: _auto(db, session.site_id, rep.user_id)):
        return
    service.state_of(session).automatic = True
    if not setting(app, site_by_id(app, session.site_id), "recorder", "ask_customer", False):
        await service.start(app, session, rep, automatic=True)


@hookimpl
async def participant_joined(app, session, participant):
    st = existing_plugin_state(session, "recorder")
    if st is None or not st.automatic or st.active is not None or participant.role not in CUSTOMER_ROLES:
        return
    if st.asking is None:       # automatic recording on a site that asks the customer first
        rep = session.primary()
        st.asking = {"by": rep.id if rep else participant.id, "name": rep.name if rep else "the support rep"}
        sessions(app).broadcast(session, {"type": "recorder.consent_request", "by": st.asking["name"],
                                          "automatic": True},
                                roles=CUSTOMER_ROLES)
        service.announce(app, session)


@hookimpl
async def session_ended(app, session, ended_by):
    if existing_plugin_state(session, "recorder") is not None:
        await service.stop(app, session, ended_by, reason="the session ended")


@hookimpl
def session_record(session, db):
    sid = session["id"] if isinstance(session, dict) else session.id
    row = next(db.query("select id, status from recordings where session_id = ? order by started_at desc limit 1",
                        [sid]), None)
    return {"recording": row["status"] if row else ""}

from .commands import register_commands  # noqa: E402,F401  (rec-play: `supporthost recordings list|export`)
