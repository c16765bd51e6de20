"""Asking the person at this computer: a real Tk dialog when there is a display, a terminal prompt if not.

The dialog runs as its own small program (``python -m agent.consent_dialog``), so Tk never shares a
thread with the event loop. No answer within the time limit counts as Deny.
"""
from __future__ import annotations

import asyncio
import json
import logging
import sys
from dataclasses import dataclass, field

from .hookspecs import hookimpl
from .terminal import terminal_lines
from .window_process import display_present

log = logging.getLogger("support_manager.consent")
ANSWER_TIMEOUT = 120.0
LEVEL_TEXT = {"view": "see your screen", "control": "see and control your screen (mouse and keyboard)"}
SHARE_TEXT = {"view": "show your screen to", "control": "show your screen to, and let them control it,"}
# what "allow again without asking" covers, per level: a level covers itself and the levels before it
AGAIN_TEXT = {"view": "see your {thing}", "control": "see or control your {thing}"}
AGAIN_NOT = {"view": "control, or anyone else, is asked again", "control": "anyone else is asked again"}


@dataclass
class ConsentRequest:
    request_id: str
    who: str            # names of the people who would see / control
    level: str          # "view" | "control"
    kind: str = "request"   # "request" (they asked) | "share" (you offered)
    what: str = "desktop"   # "desktop" | "application"
    choices: list = field(default_factory=list)   # [{"id", "title"}]: the windows one may be picked from

    def question(self) -> str:
        if self.what == "application":
            verb = "see and control" if self.level == "control" else "see"
            if self.kind == "share":
                return f"Which of your application windows may {self.who} {verb}? Pick one, then Allow."
            return f"{self.who} asks to {verb} one of your application windows. Pick which one, then Allow."
        if self.kind == "share":
            return f"Do you want to {SHARE_TEXT.get(self.level, self.level)} {self.who}?"
        return f"{self.who} asks to {LEVEL_TEXT.get(self.level, self.level)}. Allow?"

    def again_text(self) -> str | None:
        """What "allow again without asking" would cover, in the person's words (None: not offered).

        It covers exactly what was asked: this level (and the lower one), for these people only."""
        if self.level not in AGAIN_TEXT:
            return None
        thing = "application window" if self.what == "application" else "screen"
        return (f"Don't ask again this session when {self.who} asks to "
                f"{AGAIN_TEXT[self.level].format(thing=thing)} ({AGAIN_NOT[self.level]})")


@dataclass
class Answer:
    allow: bool
    all_requests: bool = False    # "don't ask again": only for what the request's again_text() says
    choice: str | None = None     # the window picked, for an application request


class DialogConsent:
    """A Tk window with Allow / Deny and, when the request offers it, a "don't ask again" box that names
    exactly what it covers (``ConsentRequest.again_text``)."""
    kind = "dialog"

    def __init__(self, timeout: float = ANSWER_TIMEOUT):
        self.timeout = timeout

    async def ask(self, request: ConsentRequest) -> Answer:
        again = request.again_text()
        spec = json.dumps({"question": request.question(), "timeout": self.timeout, "again": again,
                           "choices": [{"id": str(c["id"]), "title": str(c["title"])[:80]} for c in request.choices]})
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "agent.consent_dialog", spec,
                                                    stdout=asyncio.subprocess.PIPE)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), self.timeout + 5)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            proc.kill()
            await proc.wait()
            return Answer(False)
        try:
            data = json.loads(out.decode().strip().splitlines()[-1])
            allow = bool(data.get("allow"))
            return Answer(allow, allow and again is not None and bool(data.get("all")), data.get("choice"))
        except (ValueError, IndexError):
            log.warning("the consent dialog gave no answer; treating it as Deny")
            return Answer(False)


class TerminalConsent:
    """The same question on the terminal: y = allow, n = deny, and a = allow and don't ask again for what
    the request's ``again_text`` says (offered only when it says something)."""
    kind = "terminal"

    def __init__(self, timeout: float = ANSWER_TIMEOUT):
        self.timeout = timeout

    async def ask(self, request: ConsentRequest) -> Answer:
        choice = None
        if request.choices:
            print(f"\n[Support Manager] {request.question()}", flush=True)
            for i, c in enumerate(request.choices, 1):
                print(f"  {i}. {c['title']}", flush=True)
            print("  number of the window (n = deny): ", end="", flush=True)
            try:
                line = (await asyncio.wait_for(terminal_lines().ask(), self.timeout) or "").strip()
            except asyncio.TimeoutError:
                return Answer(False)
            if not line.isdigit() or not 1 <= int(line) <= len(request.choices):
                return Answer(False)
            choice = str(request.choices[int(line) - 1]["id"])
        again = request.again_text()
        options = f"y = allow, a = allow; {again}, n = deny" if again else "y = allow, n = deny"
        print(f"\n[Support Manager] {request.question()}\n  {options}: ", end="", flush=True)
        try:
            line = await asyncio.wait_for(terminal_lines().ask(), self.timeout)
        except asyncio.TimeoutError:
            print("\n  no answer: denied.")
            return Answer(False)
        line = (line or "").strip().lower()
        if line in ("a", "all"):
            return Answer(True, again is not None, choice)
        return Answer(line in ("y", "yes"), False, choice)


def default_prompt(config: dict | None = None):
    config = config or {}
    if config.get("prompt") == "terminal" or not display_present():
        return TerminalConsent()
    try:
        import tkinter  # noqa: F401
    except ImportError:
        return TerminalConsent()
    return DialogConsent()


@hookimpl
def agent_consent_prompt(config):
    return default_prompt(config)
