"""Audio (VoIP): talk between the participants of a session over WebRTC.

The rep starts VoIP, the others accept; every participant can mute, pick microphone and speaker and
see who is speaking. Media goes browser to browser (a mesh: fine for the few people of a support
session); the host only relays the WebRTC signalling over the session's WebSocket (see calls.py),
records when the call ran and who took part, and hands out the site's STUN/TURN servers to those in
the call. The Support Manager (agent) takes part with agent_media.py (aiortc + PyAudio).
"""
from __future__ import annotations

from host.appkeys import SITES
from host.hookspecs import hookimpl
from host.options import CONSOLES, ROLES, DashboardOption, Setting

from .call_hooks import call_hooks
from .calls import CallPolicy, CallService
from .sdp_check import ice_servers, parse_ice_urls

__version__ = "0.1.0"

ALLOW = Setting("allow_voip", "Allow VoIP (audio calls) in sessions", "bool", True)
AUTOSTART = Setting("autostart", "Start VoIP automatically when a session starts", "bool", False,
                    help="The rep's microphone is switched on as the session starts; customers are asked to accept.")
ICE_URLS = Setting("ice_urls", "STUN/TURN servers, separated by spaces (stun:host:3478 turn:host:3478?transport=udp)",
                   "str", "", help="Used for audio and video. Leave empty on a LAN.")
ICE_USERNAME = Setting("ice_username", "TURN username", "str", "")
ICE_CREDENTIAL = Setting("ice_credential", "TURN password", "secret", "",
                         help="Only sent to the participants of a call, as WebRTC needs it; never shown in pages.")
SETTINGS = [ALLOW, AUTOSTART, ICE_URLS, ICE_USERNAME, ICE_CREDENTIAL]


def site_ice_servers(site) -> list[dict]:
    """The site's ICE servers as RTCIceServer dicts (TURN credentials included)."""
    return ice_servers(parse_ice_urls(site.setting("audio", ICE_URLS)), site.setting("audio", ICE_USERNAME),
                       site.setting("audio", ICE_CREDENTIAL))


def _allowed(ctx):
    return None if ctx.setting("allow_voip", True) else "VoIP is switched off for this site"


service = CallService(CallPolicy(
    kind="audio", allowed=_allowed, media=lambda ctx: {}, ice=lambda ctx: site_ice_servers(ctx.site),
    status_fields=("muted",)))


@hookimpl
def dashboard_options():
    return [DashboardOption("audio.panel", "Audio (VoIP)", tab="tools", icon="\U0001F3A7", order=30,
                            consoles=CONSOLES, roles=ROLES)]


@hookimpl
def site_settings():
    return SETTINGS


@hookimpl
def extra_page_context(page):
    if page == "customer" or str(page).startswith("console"):
        return {"css_urls": ["/static/plugins/audio/media.css"]}
    return None


@hookimpl
async def session_started(app, session):
    site = app[SITES].by_id.get(session.site_id)
    if site is None or not site.setting("audio", ALLOW) or not site.setting("audio", AUTOSTART):
        return
    primary = session.primary()
    if primary is not None and service.book(app).get(session.id) is None:
        await service.open_call(app, session, primary, auto=True)


# The hooks that only hand over to the call service: the same for audio and video.
register_message_handlers, participant_left, session_ended, session_record = call_hooks(service)
