"""Reading screen frames as the browser viewer does (plugin_libs/screenshare/static/viewer.js), for tests: the
records of a chunk, and drawing them onto a canvas."""
from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np

from plugin_libs.screenshare.pipeline import KIND_COPY, KIND_SOLID, KIND_ZLIB, REC


def decode_records(payload: bytes):
    """Yield (x, y, w, h, kind, scale, data) from a chunk."""
    pos = 0
    while pos < len(payload):
        x, y, w, h, kind, scale, n = REC.unpack_from(payload, pos)
        pos += REC.size
        yield x, y, w, h, kind, scale, payload[pos:pos + n]
        pos += n


def apply_records(canvas: np.ndarray, payload: bytes) -> None:
    """Draw a chunk onto an HxWx3 RGB array, as the browser viewer does."""
    for x, y, w, h, kind, scale, data in decode_records(payload):
        if kind == KIND_SOLID:
            canvas[y:y + h, x:x + w] = np.frombuffer(data, dtype=np.uint8)
        elif kind == KIND_COPY:
            sx, sy = struct.unpack("<HH", data)
            canvas[y:y + h, x:x + w] = canvas[sy:sy + h, sx:sx + w].copy()
        elif kind == KIND_ZLIB:
            canvas[y:y + h, x:x + w] = np.frombuffer(zlib.decompress(data, -15), np.uint8).reshape(h, w, 3)
        else:
            img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
            if scale != 1:
                img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
            canvas[y:y + h, x:x + w] = img[:h, :w, ::-1]
