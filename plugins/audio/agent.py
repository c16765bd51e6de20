"""The audio plugin's part in the Support Manager: the VoIP call joins the agent's calls (the calls
library, plugin_libs/calls/agent_calls.py), which asks the person first; ``mute`` / ``unmute``,
``devices``, ``microphone <n>``, ``speaker <n>``, ``leave call`` on the terminal. This plugin also
hands the calls the person's typed commands and closes them when the Support Manager stops."""
from __future__ import annotations

from agent.hookspecs import hookimpl
from plugin_libs.calls.agent_calls import KEY, calls_of

PLUGIN = "audio"


@hookimpl
def agent_message_handlers(agent, register):
    calls_of(agent).add_kind(PLUGIN, register)


@hookimpl
def agent_command(agent, line):
    calls = agent.features.get(KEY)
    return calls.command(line) if calls is not None else None


@hookimpl
def agent_stopped(agent):
    calls = agent.features.get(KEY)
    if calls is not None:
        return calls.close()
