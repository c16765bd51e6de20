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
from typing import Iterator

import cv2
import numpy as np

TILE_RECORD = struct.Struct("<HHHHBBI")
KIND_SOLID, KIND_JPEG, KIND_COPY, KIND_ZLIB = 0, 2, 3, 4
FRAME_SUFFIX = ".frame"


SHAPE_SUFFIX = ".cursor_shape"
CURSOR_SUFFIX = ".cursor"


def parse_frame(frame: bytes) -> tuple[dict, memoryview] | None:
    """(header, payload) of a screen frame or pointer image; None for any other binary frame or a malformed one."""
    if len(frame) < 2:
        return None
    n = frame[0]
    try:
        header = json.loads(frame[1:1 + n])
    except ValueError:
        return None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        return None
    kind = header["type"]
    if kind.endswith(FRAME_SUFFIX) and isinstance(header.get("seq"), int):
        return header, memoryview(frame)[1 + n:]
    if kind.endswith(SHAPE_SUFFIX) and all(isinstance(header.get(k), int) for k in ("w", "h", "hx", "hy")):
        return header, memoryview(frame)[1 + n:]
    return None


class Screen:
    """One shared screen's picture (BGR, reused), drawn from its frames' tile records."""

    def __init__(self):
        self.pixels = np.zeros((1, 1, 3), dtype=np.uint8)
        self.frames = 0
        self.cursor: tuple[int, int] | None = None        # where the pointer is, when the sharer said
        self.shape: tuple[np.ndarray, np.ndarray, int, int] | None = None   # BGR, alpha 0..1, hotspot
        self._out: np.ndarray | None = None              # the picture with the pointer, reused

    def set_shape(self, header: dict, png) -> None:
        image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
        if image is None or image.ndim != 3 or image.shape[2] != 4:
            return                                         # a broken image: keep the previous shape
        self.shape = (image[:, :, :3].astype(np.float32), image[:, :, 3:4].astype(np.float32) / 255,
                      header["hx"], header["hy"])

    def picture(self) -> np.ndarray:
        """The screen with the pointer drawn on it, as the viewer shows it (its shape, or a small corner)."""
        if self.cursor is None:
            return self.pixels
        if self._out is None or self._out.shape != self.pixels.shape:
            self._out = np.empty_like(self.pixels)
        np.copyto(self._out, self.pixels)
        H, W = self._out.shape[:2]
        if self.shape is None:
            x, y = self.cursor
            x0, y0 = min(max(0, x), W - 1), min(max(0, y), H - 1)
            self._out[y0:y0 + 12, x0:x0 + 2] = 255
            self._out[y0:y0 + 2, x0:x0 + 12] = 255
            return self._out
        bgr, alpha, hx, hy = self.shape
        x, y = self.cursor[0] - hx, self.cursor[1] - hy
        h, w = bgr.shape[:2]
        sx0, sy0 = max(0, -x), max(0, -y)
        dx0, dy0, dx1, dy1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
        if dx1 <= dx0 or dy1 <= dy0:
            return self._out
        region = self._out[dy0:dy1, dx0:dx1].astype(np.float32)
        a = alpha[sy0:sy0 + dy1 - dy0, sx0:sx0 + dx1 - dx0]
        region = region * (1 - a) + bgr[sy0:sy0 + dy1 - dy0, sx0:sx0 + dx1 - dx0] * a
        self._out[dy0:dy1, dx0:dx1] = region.astype(np.uint8)
        return self._out

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

    def _screen(self, participant: str, stream: str) -> Screen:
        key = (participant, stream)
        screen = self.screens.get(key)
        if screen is None:
            screen = self.screens[key] = Screen()
        return screen

    def feed(self, participant: str, frame: bytes) -> bool:
        """A binary frame a participant sent; True when the picture shown is complete and changed."""
        parsed = parse_frame(frame)
        if parsed is None:
            return False
        header, payload = parsed
        kind = header["type"]
        if kind.endswith(SHAPE_SUFFIX):
            screen = self._screen(participant, kind[:-len(SHAPE_SUFFIX)])
            screen.set_shape(header, payload)
            return screen is self.current and screen.cursor is not None
        screen = self._screen(participant, kind[:-len(FRAME_SUFFIX)])
        done = screen.apply(header, payload)
        if done:
            self.current = screen
        return done and screen is self.current

    def message(self, participant: str, message: dict | None) -> bool:
        """A JSON message a participant sent: a pointer move of a shared screen (``<stream>.cursor``) moves
        its pointer; True when that changed the picture shown."""
        kind = message.get("type") if isinstance(message, dict) else None
        if not isinstance(kind, str) or not kind.endswith(CURSOR_SUFFIX):
            return False
        x, y = message.get("x"), message.get("y")
        if not isinstance(x, int) or not isinstance(y, int):
            return False
        screen = self.screens.get((participant, kind[:-len(CURSOR_SUFFIX)]))
        if screen is None:
            return False
        screen.cursor = (x, y)
        return screen is self.current


def painted_area(payload) -> int:
    """The area a frame chunk's tile records paint (copies of pixels already there not counted)."""
    pos, area, end = 0, 0, len(payload)
    while pos + TILE_RECORD.size <= end:
        x, y, w, h, kind, scale, length = TILE_RECORD.unpack_from(payload, pos)
        if kind != KIND_COPY:
            area += w * h
        pos += TILE_RECORD.size + length
    return area


def key_ready(records) -> tuple[int, int] | None:
    """In a segment's records: (position of the key event, time the sharer's whole picture after it was complete),
    a whole picture being a frame that started after the event and paints every pixel of its size."""
    key = next((i for i, r in enumerate(records) if r.kind == 3 and b'"key"' in r.body[:64]), None)
    if key is None:
        return None
    frames: dict[tuple, list[int]] = {}
    for r in records[key + 1:]:
        if r.kind != 2 or r.direction != 1:
            continue
        parsed = parse_frame(r.body)
        if parsed is None or not parsed[0]["type"].endswith(FRAME_SUFFIX):
            continue
        header, payload = parsed
        fid = (r.participant, header["type"], header["seq"])
        if header.get("c", 0) == 0 and isinstance(header.get("w"), int) and isinstance(header.get("h"), int):
            frames[fid] = [header["w"] * header["h"], 0]
        f = frames.get(fid)
        if f is None:
            continue
        f[1] += painted_area(payload)
        if header.get("c", 0) == header.get("n", 1) - 1:
            if f[1] >= f[0]:
                return key, r.t_ms
            del frames[fid]
    return None


def records_for(index, t_ms: int, read) -> Iterator:
    """The records to replay to draw the screen at ``t_ms``: from the key event of the last segment whose whole
    picture was complete by then (going back over segments without one), to the end. ``read(segment)`` gives a
    segment's records (reader.read_segment)."""
    start_seg, start_pos = 0, 0
    for i in range(index.segment_at(t_ms), -1, -1):
        found = key_ready(read(index.segments[i]))
        if found is not None and found[1] <= t_ms:
            start_seg, start_pos = i, found[0]
            break
    for i in range(start_seg, len(index.segments)):
        records = read(index.segments[i])
        yield from (records[start_pos:] if i == start_seg else records)
