"""The recorder's part in the Support Manager: the person at this computer sees "This session is being
recorded" (status window and terminal) whenever it is, and, on a site that asks the customer first, answers
Allow / Deny in the same consent prompt as screen sharing. The host's ``recorder.state`` says all of it."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from agent.consent import ConsentRequest
from agent.hookspecs import hookimpl

log = logging.getLogger("support_manager.recorder")
PLUGIN = "recorder"
RECORDING = "This session is being recorded."


@dataclass
class RecordingConsent(ConsentRequest):
    """"May this session be recorded?" (no "don't ask again": each recording is asked for)."""
    automatic: bool = False

    def question(self) -> str:
        if self.automatic:
            return (f"This site records every session of {self.who}. Allow recording this session "
                    "(screen, chat, calls and files shown in it)?")
        return f"{self.who} asks to record this session (screen, chat, calls and files shown in it). Allow?"

    def again_text(self) -> None:
        return None


class RecorderNotice:
    def __init__(self, agent):
        self.agent = agent
        self.recording = False
        self.asking = False
        self.asked: asyncio.Task | None = None

    async def on_hello(self, message: dict) -> None:
        await self.agent.send({"type": "recorder.state"})    # the answer is a recorder.state like any other

    def on_state(self, message: dict) -> None:
        recording, asking = message.get("recording") is True, message.get("asking") is True
        if recording != self.recording:
            self.recording = recording
            reason = message.get("reason")
            self.agent.report(RECORDING if recording else
                              "Recording stopped." + (f" ({reason})" if isinstance(reason, str) and reason else ""))
            self._show()
        self.asking = asking and not recording
        if not self.asking and self.asked is not None and not self.asked.done():
            self.asked.cancel()     # the rep took the question back, or it was answered on the customer's page
        elif self.asking and (self.asked is None or self.asked.done()):
            who = message.get("asking_by") if isinstance(message.get("asking_by"), str) else "The support rep"
            self.asked = asyncio.create_task(self._ask(who[:80], message.get("automatic") is True))

    def _show(self) -> None:
        controls = getattr(self.agent.status, "controls", None)
        if controls is not None:
            controls(PLUGIN, RECORDING if self.recording else "", [])

    async def _ask(self, who: str, automatic: bool) -> None:
        try:
            answer = await self.agent.consent.ask(RecordingConsent(f"recording-{who}"[:40], who, "record",
                                                                   what="session", automatic=automatic))
        except asyncio.CancelledError:
            return
        if not self.asking:
            return      # answered elsewhere (the customer's page) or taken back by the rep meanwhile
        self.asking = False
        await self.agent.send({"type": "recorder.consent", "allow": bool(answer.allow)})

    def stop(self) -> None:
        if self.asked is not None and not self.asked.done():
            self.asked.cancel()


@hookimpl
def agent_message_handlers(agent, register):
    notice = agent.features.setdefault(PLUGIN, RecorderNotice(agent))
    register("session.hello", notice.on_hello)
    register("recorder.state", notice.on_state)


@hookimpl
def agent_stopped(agent):
    notice = agent.features.get(PLUGIN)
    if isinstance(notice, RecorderNotice):
        notice.stop()
