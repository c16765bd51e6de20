"""Rebuilding a shared screen from the recorded frames, the way the live viewer draws it
(plugin_libs/screenshare/static/viewer.js), for the export.

A screen frame is a binary frame (agent/frames.py: one byte N, N bytes of JSON header, payload) whose header
type ends in ".frame" (``desktop.frame``, ``appshare.frame``); its payload is a sequence of tile records
``<HHHHBBI`` (x, y, w, h, kind, scale, length) + data: kind 0 a solid colour (3 bytes RGB), 2 a JPEG (drawn
scaled to w x h when ``scale`` is 2), 3 a copy of pixels already on the screen (``<HH`` source x, y), 4 raw
deflate of RGB rows. Headers carry the picture's size (w, h) on full frames and changes, and chunk c of n.

Cheap by design: one BGR buffer per stream, reused; only the tiles a frame carries are decoded.
"""
from __future__ import annotations

import json
import struct
import zlib

import cv2
import numpy as np

TILE_RECORD = struct.Struct("<HHHHBBI")
KIND_SOLID, KIND_JPEG, KIND_COPY, KIND_ZLIB = 0, 2, 3, 4
FRAME_SUFFIX = ".frame"


def parse_frame(frame: bytes) -> tuple[dict, memoryview] | None:
    """(header, payload) of a screen frame; None for any other binary frame or a malformed one."""
    if len(frame) < 2:
        return None
    n = frame[0]
    try:
        header = json.loads(frame[1:1 + n])
    except ValueError:
        return None
    if not isinstance(header, dict) or not str(header.get("type", "")).endswith(FRAME_SUFFIX):
        return None
    if not isinstance(header.get("seq"), int):
        return None
    return header, memoryview(frame)[1 + n:]


class Screen:
    """One shared screen's picture (BGR, reused), drawn from its frames' tile records."""

    def __init__(self):
        self.pixels = np.zeros((1, 1, 3), dtype=np.uint8)
        self.frames = 0

    @property
    def size(self) -> tuple[int, int]:
        return self.pixels.shape[1], self.pixels.shape[0]

    def apply(self, header: dict, payload) -> bool:
        """Draw one chunk; True when it completed a frame (its last chunk)."""
        w, h = header.get("w"), header.get("h")
        if isinstance(w, int) and isinstance(h, int) and 0 < w <= 16384 and 0 < h <= 16384 and (w, h) != self.size:
            self.pixels = np.zeros((h, w, 3), dtype=np.uint8)       # a resized canvas starts black, as in the viewer
        self._draw(payload)
        done = header.get("c", 0) == header.get("n", 1) - 1
        if done:
            self.frames += 1
        return done

    def _draw(self, payload) -> None:
        buf = self.pixels
        H, W = buf.shape[:2]
        pos, end = 0, len(payload)
        while pos + TILE_RECORD.size <= end:
            x, y, rw, rh, kind, scale, length = TILE_RECORD.unpack_from(payload, pos)
            pos += TILE_RECORD.size
            data = payload[pos:pos + length]
            pos += length
            w, h = min(rw, W - x), min(rh, H - y)          # never outside the picture
            if w <= 0 or h <= 0:
                continue
            if kind == KIND_SOLID and len(data) >= 3:
                buf[y:y + h, x:x + w] = (data[2], data[1], data[0])
            elif kind == KIND_COPY and len(data) >= 4:
                sx, sy = struct.unpack_from("<HH", data)
                sw, sh = min(w, W - sx), min(h, H - sy)
                if sw > 0 and sh > 0:
                    buf[y:y + sh, x:x + sw] = buf[sy:sy + sh, sx:sx + sw].copy()
            elif kind == KIND_ZLIB:
                self._put_zlib(data, x, y, rw, rh, w, h)
            elif kind == KIND_JPEG:
                tile = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
                if tile is None:
                    continue
                if tile.shape[1] != rw or tile.shape[0] != rh:     # a half-size tile (scale 2)
                    tile = cv2.resize(tile, (rw, rh), interpolation=cv2.INTER_LINEAR)
                buf[y:y + h, x:x + w] = tile[:h, :w]

    def _put_zlib(self, data, x: int, y: int, full_w: int, full_h: int, w: int, h: int) -> None:
        """Raw deflate of full_w x full_h RGB rows, drawn clipped to w x h."""
        try:
            rgb = zlib.decompress(data, -15)
        except zlib.error:
            return
        if len(rgb) != full_w * full_h * 3:
            return
        tile = np.frombuffer(rgb, dtype=np.uint8).reshape(full_h, full_w, 3)[:h, :w, ::-1]
        self.pixels[y:y + h, x:x + w] = tile


class Compositor:
    """Every shared screen of a recording (one per sender and stream); the one shown is the one that drew
    last, as a viewer follows whoever shares."""

    def __init__(self):
        self.screens: dict[tuple[str, str], Screen] = {}
        self.current: Screen | None = None

    def feed(self, participant: str, frame: bytes) -> bool:
        """A binary frame a participant sent; True when a screen's picture is complete and changed."""
        parsed = parse_frame(frame)
        if parsed is None:
            return False
        header, payload = parsed
        key = (participant, header["type"])
        screen = self.screens.get(key)
        if screen is None:
            screen = self.screens[key] = Screen()
        done = screen.apply(header, payload)
        if done:
            self.current = screen
        return done and screen is self.current
