"""Audio (VoIP): talk between the participants of a session over WebRTC.

The rep starts VoIP, the others accept; every participant can mute, pick microphone and speaker and
see who is speaking. Media goes browser to browser (a mesh: fine for the few people of a support
session); the host only relays the WebRTC signalling over the session's WebSocket, records when the
call ran and who took part, and hands out the site's STUN/TURN servers to those in the call (the calls
library, plugin_libs/calls/). The Support Manager (agent) takes part with plugin_libs/calls/media/
(aiortc + PyAudio).
"""
from __future__ import annotations

from host.api import CONSOLES, ROLES, DashboardOption, Setting, hookimpl, setting, site_by_id
from plugin_libs.calls.host_hooks import call_hooks
from plugin_libs.calls.ice import ICE_SETTINGS, site_ice_servers
from plugin_libs.calls.service import CallPolicy, CallService

__version__ = "0.1.0"
PLUGIN = "audio"

ALLOW = Setting("allow_voip", "Allow VoIP (audio calls) in sessions", "bool", True)
AUTOSTART = Setting("autostart", "Start VoIP automatically when a session starts", "bool", False,
                    help="The rep's microphone is switched on as the session starts; customers are asked to accept.")
SETTINGS = [ALLOW, AUTOSTART, *ICE_SETTINGS]     # the STUN/TURN servers are this plugin's, for video too


def _allowed(ctx):
    return None if ctx.setting("allow_voip", True) else "VoIP is switched off for this site"


service = CallService(CallPolicy(
    kind=PLUGIN, allowed=_allowed, media=lambda ctx: {},
    ice=lambda ctx: site_ice_servers(ctx.app, ctx.site, PLUGIN), status_fields=("muted",)))


@hookimpl
def dashboard_options():
    return [DashboardOption(f"{PLUGIN}.panel", "Audio (VoIP)", tab="tools", icon="\U0001F3A7", order=30,
                            consoles=CONSOLES, roles=ROLES)]


@hookimpl
def site_settings():
    return SETTINGS


@hookimpl
def extra_page_context(page):
    if page == "customer" or str(page).startswith("console"):
        return {"css_urls": ["/static/lib/calls/media.css"]}
    return None


@hookimpl
async def session_started(app, session):
    site = site_by_id(app, session.site_id)
    if site is None or not setting(app, site, PLUGIN, ALLOW.name) or not setting(app, site, PLUGIN, AUTOSTART.name):
        return
    primary = session.primary()
    if primary is not None and service.slot(session).call is None:
        await service.open_call(app, session, primary, auto=True)


# The hooks that only hand over to the call service: the same for audio and video.
register_message_handlers, participant_left, session_ended, session_record, call_services = call_hooks(service)
