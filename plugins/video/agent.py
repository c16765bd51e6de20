"""The video plugin's part in the Support Manager: the video call joins the agent's calls (the calls
library, plugin_libs/calls/agent_calls.py), which asks the person first and sends the local camera
(OpenCV) once they accept; ``camera off`` / ``camera on`` / ``leave video`` on the terminal."""
from __future__ import annotations

from agent.hookspecs import hookimpl
from plugin_libs.calls.agent_calls import calls_of

PLUGIN = "video"


@hookimpl
def agent_message_handlers(agent, register):
    calls_of(agent).add_kind(PLUGIN, register)
