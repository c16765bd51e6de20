"""Remote input events as the viewer sends them, and their validation (host and agent both check).

An event is a small dict:
  {"t": "move", "x": 10, "y": 20}
  {"t": "button", "b": "left"|"middle"|"right", "down": true, "x": 10, "y": 20}
  {"t": "wheel", "dx": 0, "dy": -3, "x": 10, "y": 20}
  {"t": "key", "code": "KeyA", "key": "a", "down": true}
Coordinates are pixels of the shared monitor (or window), 0 <= x < width, 0 <= y < height.
"""
from __future__ import annotations

import re

BUTTONS = ("left", "middle", "right")
MAX_EVENTS = 200
MAX_WHEEL = 50
CODE = re.compile(r"^[A-Za-z0-9]{1,24}$")


class InputError(ValueError):
    """A malformed or out-of-range input event; the text says which and why."""


def _int(ev: dict, name: str) -> int:
    value = ev.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise InputError(f"{name} must be a number")
    return int(value)


def _point(ev: dict, width: int | None, height: int | None) -> tuple[int, int]:
    x, y = _int(ev, "x"), _int(ev, "y")
    if x < 0 or y < 0 or (width is not None and x >= width) or (height is not None and y >= height):
        raise InputError(f"position {x},{y} is outside the shared screen ({width}x{height})")
    return x, y


def validate_event(ev, width: int | None = None, height: int | None = None) -> dict:
    """Return a clean copy of one event, or raise InputError."""
    if not isinstance(ev, dict):
        raise InputError("an input event must be an object")
    kind = ev.get("t")
    if kind == "move":
        x, y = _point(ev, width, height)
        return {"t": "move", "x": x, "y": y}
    if kind == "button":
        if ev.get("b") not in BUTTONS:
            raise InputError(f"button must be one of {', '.join(BUTTONS)}")
        if not isinstance(ev.get("down"), bool):
            raise InputError("down must be true or false")
        x, y = _point(ev, width, height)
        return {"t": "button", "b": ev["b"], "down": ev["down"], "x": x, "y": y}
    if kind == "wheel":
        dx, dy = _int(ev, "dx"), _int(ev, "dy")
        if abs(dx) > MAX_WHEEL or abs(dy) > MAX_WHEEL:
            raise InputError(f"a wheel step is at most {MAX_WHEEL}")
        x, y = _point(ev, width, height)
        return {"t": "wheel", "dx": dx, "dy": dy, "x": x, "y": y}
    if kind == "key":
        code, key = ev.get("code"), ev.get("key", "")
        if not isinstance(code, str) or not CODE.match(code):
            raise InputError("code must be a KeyboardEvent.code such as KeyA or Enter")
        if not isinstance(key, str) or len(key) > 24:
            raise InputError("key must be a short KeyboardEvent.key text")
        if not isinstance(ev.get("down"), bool):
            raise InputError("down must be true or false")
        return {"t": "key", "code": code, "key": key, "down": ev["down"]}
    raise InputError(f"unknown input event type {kind!r}")


def validate_events(events, width: int | None = None, height: int | None = None) -> list[dict]:
    if not isinstance(events, list) or not events:
        raise InputError("events must be a non-empty list")
    if len(events) > MAX_EVENTS:
        raise InputError(f"at most {MAX_EVENTS} input events per message")
    return [validate_event(ev, width, height) for ev in events]
