"""Video: webcam pictures between the participants of a session over WebRTC.

The rep starts video; every participant then sees the others' cameras and can send or stop their
own. Signalling, membership and the session's record work as for audio (plugins/audio/calls.py);
the STUN/TURN servers are the site's audio settings. The Support Manager (agent) sends its camera
with plugins/video/agent_media.py (aiortc + OpenCV).
"""
from __future__ import annotations

from host.hookspecs import hookimpl
from host.options import CONSOLES, ROLES, DashboardOption, Setting
from plugins.audio import site_ice_servers
from plugins.audio.call_hooks import call_hooks
from plugins.audio.calls import CallPolicy, CallService

__version__ = "0.1.0"

RESOLUTIONS = ("320x240", "640x480", "1280x720", "1920x1080")
ALLOW = Setting("allow_video", "Allow video (webcams) in sessions", "bool", True)
MAX_RESOLUTION = Setting("max_resolution", "Largest video picture", "choice", "1280x720", choices=RESOLUTIONS)
MAX_FPS = Setting("max_fps", "Highest video frame rate (frames per second)", "int", 15, min=1, max=60)
SETTINGS = [ALLOW, MAX_RESOLUTION, MAX_FPS]


def media_limits(site) -> dict:
    width, height = (int(x) for x in str(site.setting("video", MAX_RESOLUTION)).split("x"))
    return {"max_width": width, "max_height": height, "max_fps": int(site.setting("video", MAX_FPS))}


def _allowed(ctx):
    return None if ctx.setting("allow_video", True) else "video is switched off for this site"


service = CallService(CallPolicy(
    kind="video", allowed=_allowed, media=lambda ctx: media_limits(ctx.site),
    ice=lambda ctx: site_ice_servers(ctx.site), status_fields=("camera",)))


@hookimpl
def dashboard_options():
    return [DashboardOption("video.panel", "Video", tab="tools", icon="\U0001F3A5", order=31,
                            consoles=CONSOLES, roles=ROLES)]


@hookimpl
def site_settings():
    return SETTINGS


@hookimpl
def extra_page_context(page, site):
    # The panels' stylesheet lives with the audio plugin; it adds it itself when it is on.
    if "audio" in site.disabled and (page == "customer" or str(page).startswith("console")):
        return {"css_urls": ["/static/plugins/audio/media.css"]}
    return None


# The hooks that only hand over to the call service: the same for audio and video.
register_message_handlers, participant_left, session_ended, session_record = call_hooks(service)
