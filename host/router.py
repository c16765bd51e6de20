"""Routes one participant's messages to the plugin that owns their type.

Text frames are JSON envelopes ``{"type": "<plugin>.<verb>", ...}``. Binary frames carry media:
one byte N, then N bytes of a JSON header naming the stream (``{"type": "<plugin>.<stream>"}``),
then the payload. Bad input is answered with ``{"type": "error", ...}``; the connection stays up.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from agent.frames import make_binary, parse_binary  # noqa: F401  (one frame format: see agent/frames.py)

from .appkeys import CONFIG, DB, HUB, PLUGINS
from .audit import audit
from .disk_full import DISK_FULL, is_disk_full
from .hub import LiveParticipant, LiveSession
from .plugins import MESSAGE_TYPE
from .session_store import add_event
from .traffic import emit_in_binary, emit_in_json

log = logging.getLogger("supporthost.router")
MAX_DEPTH = 32   # nesting levels of a message; no message needs more, and deeper ones break recursive code


class MessageError(Exception):
    """Raised by a handler: the text goes back to the sender as an error reply."""


class MessageContext:
    """What a message handler gets besides the message itself."""

    def __init__(self, app, site, session: LiveSession, participant: LiveParticipant, plugin: str):
        self.app = app
        self.site = site
        self.session = session
        self.participant = participant
        self.plugin = plugin

    @property
    def db(self):
        return self.app[DB]

    @property
    def hub(self):
        return self.app[HUB]

    def now(self) -> float:
        return self.app[CONFIG].clock()

    def reply(self, message: dict) -> None:
        self.hub.send(self.session, self.participant.id, message)

    def broadcast(self, message: dict, roles=None, include_self: bool = True) -> None:
        self.hub.broadcast(self.session, message, roles=roles,
                           exclude=None if include_self else self.participant.id)

    def send_to(self, participant_id: str, message: dict) -> bool:
        return self.hub.send(self.session, participant_id, message)

    def setting(self, name: str, default: Any = None) -> Any:
        for spec in self.app[PLUGINS].settings.get(self.plugin, []):
            if spec.name == name:
                return self.site.setting(self.plugin, spec)
        return default

    async def audit(self, action: str, target: str = "", details: dict | None = None) -> None:
        await audit(self.app, self.site.id, f"participant:{self.participant.id}", action, target, details)

    async def event(self, kind: str, details: dict | None = None) -> None:
        now = self.now()
        await self.db.write(lambda db: add_event(db, self.session.id, now, kind, self.participant.id, details))


def error(text: str, re_: Any = None, code: str = "bad_request") -> dict:
    out = {"type": "error", "code": code, "error": text}
    if re_ is not None:
        out["re"] = re_
    return out


def _invalid(message: Any) -> str | None:
    """Why a parsed message cannot be handled, or None: lists and objects nested more than MAX_DEPTH
    levels deep (deeper ones break recursive code), or a lone surrogate in a string (JSON's ``\\ud800``
    escapes allow one; it is not Unicode, and SQLite and every encoder refuse it). Walks without recursion."""
    level: list = [message]
    for _ in range(MAX_DEPTH + 1):
        below: list = []
        for value in level:
            if isinstance(value, dict):
                below.extend(value.keys())
                below.extend(value.values())
            elif isinstance(value, list):
                below.extend(value)
            elif isinstance(value, str) and not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return "a string holds a lone surrogate (\\ud800-\\udfff), which is not valid Unicode"
        if not below:
            return None
        level = below
    return f"the message is nested more than {MAX_DEPTH} levels deep"


def _failed(type_: str, ref: Any, exc: Exception, noun: str) -> dict:
    """The reply to a handler's unexpected failure: a full disk is said as such (no traceback logged)."""
    if is_disk_full(exc):
        log.error("disk full while handling %s: %s", type_, exc)
        return error(DISK_FULL, ref, code="disk_full")
    log.exception("handler of the %s %s failed", noun, type_)
    return error(f"internal error while handling this {noun}", ref, code="internal")


async def dispatch_text(app, site, live: LiveSession, lp: LiveParticipant, data: str) -> dict | None:
    """Handle one text frame; returns an error reply, or None when the handler answered itself."""
    try:
        message = json.loads(data)
    except ValueError:
        return error("malformed JSON", code="malformed")
    except RecursionError:
        return error(f"the message is nested more than {MAX_DEPTH} levels deep", code="malformed")
    problem = _invalid(message)
    if problem is not None:
        return error(problem, code="malformed")
    if not isinstance(message, dict):
        return error("a message must be a JSON object", code="malformed")
    type_ = message.get("type")
    ref = message.get("id") if isinstance(message.get("id"), (str, int)) else type_
    if not isinstance(type_, str) or not MESSAGE_TYPE.match(type_):
        return error("a message needs a type of the form <plugin>.<verb>", ref, code="malformed")
    registry = app[PLUGINS]
    handler = registry.handlers.get(type_)
    if handler is None or handler.binary:
        return error(f"unknown message type {type_!r}", ref, code="unknown_type")
    if not registry.is_enabled(handler.plugin, site.disabled):
        return error(f"the {handler.plugin} feature is switched off for this site", ref, code="disabled")
    if live.observers:
        emit_in_json(live, lp.id, message, data)
    ctx = MessageContext(app, site, live, lp, handler.plugin)
    try:
        result = handler.fn(ctx, message)
        if hasattr(result, "__await__"):
            result = await result
    except MessageError as exc:
        return error(str(exc), ref)
    except Exception as exc:
        return _failed(type_, ref, exc, "message")
    if isinstance(result, dict):
        ctx.reply(result)
    return None


async def dispatch_binary(app, site, live: LiveSession, lp: LiveParticipant, frame: bytes) -> dict | None:
    try:
        header, payload = parse_binary(frame)
    except (ValueError, UnicodeDecodeError) as exc:
        return error(f"malformed binary frame: {exc}", code="malformed")
    registry = app[PLUGINS]
    handler = registry.handlers.get(header["type"])
    if handler is None or not handler.binary:
        return error(f"unknown stream {header['type']!r}", header["type"], code="unknown_type")
    if not registry.is_enabled(handler.plugin, site.disabled):
        return error(f"the {handler.plugin} feature is switched off for this site", header["type"],
                     code="disabled")
    if live.observers:
        emit_in_binary(live, lp.id, frame)
    ctx = MessageContext(app, site, live, lp, handler.plugin)
    try:
        result = handler.fn(ctx, header, payload)
        if hasattr(result, "__await__"):
            await result
    except MessageError as exc:
        return error(str(exc), header["type"])
    except Exception as exc:
        return _failed(header["type"], header["type"], exc, "frame")
    return None
