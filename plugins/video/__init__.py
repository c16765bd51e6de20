"""Video: webcam pictures between the participants of a session over WebRTC.

The rep starts video; every participant then sees the others' cameras and can send or stop their
own. Signalling, membership and the session's record work as for audio (the calls library,
plugin_libs/calls/); the STUN/TURN servers are the site's audio settings. The Support Manager (agent)
sends its camera with plugin_libs/calls/media/ (aiortc + OpenCV).
"""
from __future__ import annotations

from host.api import CONSOLES, ROLES, DashboardOption, Setting, hookimpl, setting
from plugin_libs.calls.host_hooks import call_hooks
from plugin_libs.calls.ice import site_ice_servers
from plugin_libs.calls.service import CallPolicy, CallService

__version__ = "0.1.0"
PLUGIN = "video"
AUDIO = "audio"     # its settings hold the site's STUN/TURN servers

RESOLUTIONS = ("320x240", "640x480", "1280x720", "1920x1080")
ALLOW = Setting("allow_video", "Allow video (webcams) in sessions", "bool", True)
MAX_RESOLUTION = Setting("max_resolution", "Largest video picture", "choice", "1280x720", choices=RESOLUTIONS)
MAX_FPS = Setting("max_fps", "Highest video frame rate (frames per second)", "int", 15, min=1, max=60)
SETTINGS = [ALLOW, MAX_RESOLUTION, MAX_FPS]


def media_limits(app, site) -> dict:
    resolution = setting(app, site, PLUGIN, MAX_RESOLUTION.name, MAX_RESOLUTION.default)
    width, height = (int(x) for x in str(resolution).split("x"))
    return {"max_width": width, "max_height": height,
            "max_fps": int(setting(app, site, PLUGIN, MAX_FPS.name, MAX_FPS.default))}


def _allowed(ctx):
    return None if ctx.setting("allow_video", True) else "video is switched off for this site"


service = CallService(CallPolicy(
    kind=PLUGIN, allowed=_allowed, media=lambda ctx: media_limits(ctx.app, ctx.site),
    ice=lambda ctx: site_ice_servers(ctx.app, ctx.site, AUDIO), status_fields=("camera",)))


@hookimpl
def dashboard_options():
    return [DashboardOption(f"{PLUGIN}.panel", "Video", tab="tools", icon="\U0001F3A5", order=31,
                            consoles=CONSOLES, roles=ROLES)]


@hookimpl
def site_settings():
    return SETTINGS


@hookimpl
def extra_page_context(page, site):
    # The panels' stylesheet lives with the audio plugin; it adds it itself when it is on.
    if AUDIO in site.disabled and (page == "customer" or str(page).startswith("console")):
        return {"css_urls": ["/static/lib/calls/media.css"]}
    return None


# The hooks that only hand over to the call service: the same for audio and video.
register_message_handlers, participant_left, session_ended, session_record, call_services = call_hooks(service)
