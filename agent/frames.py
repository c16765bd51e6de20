"""The binary frame format of the session WebSocket, the one implementation the host and the Support
Manager both use (the agent never imports the host's internals; the host's router imports it from here).

A binary frame is one byte N, then N bytes of a JSON header naming the stream
(``{"type": "<plugin>.<stream>", ...}``, at most 255 bytes), then the payload.
"""
from __future__ import annotations

import json

MAX_HEADER = 255


def parse_binary(frame: bytes) -> tuple[dict, bytes]:
    """``(header, payload)`` of a frame; ValueError (or UnicodeDecodeError) when it is malformed."""
    if len(frame) < 2:
        raise ValueError("binary frame too short")
    n = frame[0]
    header = json.loads(frame[1:1 + n].decode())
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise ValueError("binary frame header needs a type")
    return header, frame[1 + n:]


def make_binary(header: dict, payload: bytes) -> bytes:
    """A frame of ``header`` (a dict with a ``type``) and ``payload``; ValueError when the header is too long."""
    raw = json.dumps(header, separators=(",", ":")).encode()
    if len(raw) > MAX_HEADER:
        raise ValueError("binary frame header too long")
    return bytes([len(raw)]) + raw + payload
