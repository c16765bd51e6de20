"""What the desktop and appshare plugins share on the host besides sharing.py: the four sharing controls of
the consoles and the hooks that only hand over to sharing.py under the plugin's name.

A pluggy plugin module must hold its own @hookimpl functions, so each plugin assigns the ones built here:

    register_message_handlers, participant_left, session_record, extra_page_context = sharing_hooks("desktop")
"""
from __future__ import annotations

from host.api import DashboardOption, existing_plugin_state, hookimpl, sessions

from .sharing import on_participant_left, register_sharing


def sharing_options(plugin: str, tab: str, js_module: str | None = None) -> list[DashboardOption]:
    """Request view, Request control, Share view, Share control of ``plugin``, on the consoles' ``tab``."""
    return [
        DashboardOption(f"{plugin}.request_view", "Request view", tab=tab, icon="\U0001F441", order=10,
                        js_module=js_module),
        DashboardOption(f"{plugin}.request_control", "Request control", tab=tab, icon="\U0001F5B1", order=20,
                        js_module=js_module),
        DashboardOption(f"{plugin}.share_view", "Share view", tab=tab, icon="\U0001F4E4", order=30,
                        js_module=js_module),
        DashboardOption(f"{plugin}.share_control", "Share control", tab=tab, icon="\U0001F91D", order=40,
                        js_module=js_module),
    ]


def sharing_hooks(plugin: str) -> tuple:
    """register_message_handlers, participant_left, session_record and extra_page_context for ``plugin``."""

    @hookimpl
    def register_message_handlers(register):
        register_sharing(register, plugin)

    @hookimpl
    async def participant_left(app, session, participant, reason):
        await on_participant_left(app, session, participant, reason, plugin)

    @hookimpl
    def session_record(session, db):
        sid = session["id"] if isinstance(session, dict) else session.id
        return {f"{plugin}_grants": db["session_events"].count_where(
            "session_id = ? and kind = ?", [sid, f"{plugin}.granted"])}

    @hookimpl
    def extra_page_context(page):
        if str(page).startswith(("console", "customer")):
            return {"css_urls": ["/static/lib/screenshare/sharing.css"]}
        return None

    return register_message_handlers, participant_left, session_record, extra_page_context


def refresh_hook(plugin: str):
    """The ``traffic_refresh`` hook of ``plugin``: every Support Manager whose screen somebody sees now is
    asked for a full frame (as when a viewer missed one), so an observer can start drawing from there."""

    @hookimpl
    def traffic_refresh(app, session):
        state = existing_plugin_state(session, plugin)
        if state is None:
            return None
        hub = sessions(app)
        for agent_id in {a for (a, _viewer) in state.grants}:
            hub.send(session, agent_id, {"type": f"{plugin}.refresh"})
        return None

    return traffic_refresh
