"""Co-browse (issue 12): the rep sees, and with the customer's consent acts in, the web page the customer
asked for help from. Nothing is installed on the customer's side: the WebACD snippet loads page.js into
the company's page, which records the page with rrweb and talks to the host over the page socket.

Parts: settings.py (per-site settings), page_keys.py (the page key: lookup and rotation), sanitize.py
(defence in depth on relayed snapshots), state.py (one session's co-browse: consent, grants, relay to the
reps), page_socket.py (the page's WebSocket), handlers.py (session messages of reps and customers),
static/console.js (the rep's view), static/page.js (the customer's page, by helper cb-page).
"""
from __future__ import annotations

from host.api import DashboardOption, hookimpl

from . import handlers, page_socket, state
from .migrations import migrations as cobrowse_migrations
from .settings import PLUGIN, SETTINGS

__version__ = "0.1.0"
JS = f"/static/plugins/{PLUGIN}/console.js"
CONSOLE_PAGES = ("console_dashboard", "console_tray", "console_multisession")


@hookimpl
def dashboard_options():
    return [
        DashboardOption(f"{PLUGIN}.view", "Co-browse View", tab="application", icon="\U0001F310", order=50,
                        js_module=JS),
        DashboardOption(f"{PLUGIN}.control", "Co-browse Control", tab="application", icon="\U0001F446", order=60,
                        js_module=JS),
    ]


@hookimpl
def site_settings():
    return list(SETTINGS)


@hookimpl
def migrations():
    return cobrowse_migrations


@hookimpl
def register_routes(register):
    page_socket.register(register)


@hookimpl
def register_message_handlers(register):
    handlers.register(register)


@hookimpl
def extra_page_context(page, user):
    if page in CONSOLE_PAGES and user:
        return {"css_urls": [f"/static/plugins/{PLUGIN}/console.css"]}
    return None


@hookimpl
def startup(app):
    app[page_socket.AUDITED] = {}


@hookimpl
def webacd_page_scripts(site):
    return [f"/s/{site.slug}/p/{PLUGIN}/page.js?v={__version__}"]


@hookimpl
async def session_started(app, session):
    await state.session_started(app, session)


@hookimpl
async def participant_joined(app, session, participant):
    state.participant_joined(app, session, participant)


@hookimpl
async def participant_left(app, session, participant, reason):
    await state.participant_left(app, session, participant)


@hookimpl
async def session_ended(app, session, ended_by):
    await state.session_ended(app, session)


@hookimpl
def traffic_refresh(app, session):
    state.refresh(app, session)
