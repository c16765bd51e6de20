"""Watching a live session's traffic: every message and binary frame the host takes from its participants
and sends to them, for a plugin that records or measures a session without knowing the other plugins.

The hub and the router call ``emit_*`` only behind ``if session.observers:``, so nothing is built (no
record, no clock read) while nobody observes a session.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger("supporthost.traffic")


@dataclass(slots=True)
class TrafficRecord:
    """One message or frame of a session, as an observer gets it (read it, never change it).

    ``t``: ``time.monotonic()`` when the host took or sent it; ``direction``: "in" (from a participant) or
    "out" (to participants); ``participant_id``: the sender for "in", None for "out"; ``to``: for "out",
    the recipients' participant ids, or None when it went to everybody in the session; ``kind``: "json"
    (then ``message`` is the dict) or "binary" (then ``frame`` is the whole frame as on the wire);
    ``text``: the JSON text as on the wire when the host had it at hand (else None)."""

    t: float
    direction: str
    participant_id: str | None
    to: list[str] | None
    kind: str
    message: dict | None
    frame: bytes | None
    text: str | None = None


Observer = Callable[[TrafficRecord], None]


def observe(live, observer: Observer) -> Callable[[], None]:
    """Start calling ``observer(record)`` for the traffic of ``live``; returns the function that stops it."""
    if not callable(observer):
        raise TypeError("an observer is a callable taking one TrafficRecord")
    live.observers.append(observer)

    def unsubscribe() -> None:
        try:
            live.observers.remove(observer)
        except ValueError:
            pass        # already stopped: stopping twice is harmless
    return unsubscribe


def _deliver(live, record: TrafficRecord) -> None:
    for observer in tuple(live.observers):
        try:
            observer(record)
        except Exception:   # one broken observer never breaks the session's traffic; it is dropped
            log.exception("a traffic observer of session %s failed and was removed", live.id)
            try:
                live.observers.remove(observer)
            except ValueError:
                pass


def emit_out_json(live, message: dict, to: list[str] | None, text: str | None) -> None:
    _deliver(live, TrafficRecord(time.monotonic(), "out", None, to, "json", message, None, text))


def emit_out_binary(live, frame: bytes, to: list[str] | None) -> None:
    _deliver(live, TrafficRecord(time.monotonic(), "out", None, to, "binary", None, frame))


def emit_in_json(live, participant_id: str, message: dict, text: str) -> None:
    _deliver(live, TrafficRecord(time.monotonic(), "in", participant_id, None, "json", message, None, text))


def emit_in_binary(live, participant_id: str, frame: bytes) -> None:
    _deliver(live, TrafficRecord(time.monotonic(), "in", participant_id, None, "binary", None, frame))
