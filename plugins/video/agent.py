"""The video plugin's part in the Support Manager: the video call joins the agent's calls object
(plugins/audio/agent.py), which asks the person first and sends the local camera (OpenCV) once they
accept; ``camera off`` / ``camera on`` / ``leave video`` on the terminal."""
from __future__ import annotations

from agent.hookspecs import hookimpl
from plugins.audio.agent import calls_of


@hookimpl
def agent_message_handlers(agent, register):
    calls_of(agent).add_kind("video", register)
