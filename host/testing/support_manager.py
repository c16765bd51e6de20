"""Running the real Support Manager (the agent) in a test's event loop, against a real host.

``ScriptedConsent`` stands in for the person answering the consent dialog; it records every question it
was asked. The agent parts of the plugins installed (entry points) are loaded, as on a customer's computer,
or only those of the plugins a test names.
"""
from __future__ import annotations

import asyncio

from agent.app import SupportManager
from agent.consent import Answer
from agent.plugin_manager import make_plugin_manager
from agent.status import TerminalStatus


class ScriptedConsent:
    """Answers the agent's consent questions with the given answers in turn, then with "no"."""
    kind = "scripted"

    def __init__(self, *answers: Answer):
        self.answers = list(answers)
        self.asked = []

    async def ask(self, request):
        self.asked.append(request)
        return self.answers.pop(0) if self.answers else Answer(False)


async def start_agent(host, number: str, consent=None, extra=(), name: str = "Carla", site: str = "demo",
                      pair: str = "", only_plugins=None) -> tuple[SupportManager, asyncio.Task]:
    """A Support Manager that joins the session with ``number``; returns (agent, its task) once it joined.

    ``consent``: a prompt such as ScriptedConsent (default: one that says no to everything), or
    ``"real"`` for the real one; ``extra``: ``[(name, agent_plugin)]`` registered after the installed ones;
    ``only_plugins``: names of the plugins whose agent parts are loaded (None: every installed one)."""
    pm = make_plugin_manager(extra=extra, only=None if only_plugins is None else set(only_plugins))
    if consent == "real":          # the real consent prompt (the Tk dialog when there is a display)
        consent = None
    elif consent is None:
        consent = ScriptedConsent()
    agent = SupportManager(f"{host.base}/s/{site}", number, name, pm=pm, consent=consent,
                           status=TerminalStatus(lambda: None), pair=pair)
    return await launch(agent)


async def launch(agent):
    """Run a Support Manager in this event loop until it has joined; returns (agent, its task)."""
    task = asyncio.create_task(agent.run())
    for _ in range(200):
        if agent.link.connected.is_set() and agent.me is not None:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the Support Manager did not connect")
    return agent, task


async def stop_agent(agent, task) -> None:
    await agent.link.stop()
    try:
        await asyncio.wait_for(task, 5)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        task.cancel()
