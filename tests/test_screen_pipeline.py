"""The screen pipeline on synthetic frames: changed tiles only, the right encoding per region, copies for
scrolled content, chunks that fit one WebSocket message, an idle screen that sends nothing."""
from __future__ import annotations

import numpy as np

from plugins.desktop.pipeline import (CHUNK_BYTES, KIND_COPY, KIND_JPEG, KIND_PNG, KIND_SOLID, ScreenEncoder,
                                      apply_records, decode_records)


def frame(h=480, w=640, colour=(200, 210, 220)):
    f = np.zeros((h, w, 4), np.uint8)
    f[:, :, :3] = colour
    f[:, :, 3] = 255
    return f


def text_lines(f, top, bottom):
    for y in range(top, bottom, 12):
        for x in range(20, f.shape[1] - 20, 9):
            f[y:y + 7, x:x + 5, :3] = (20 + (x * 7 + y) % 60, 20, 30)   # glyph-like marks, a few greys


def kinds(chunks):
    return [rec[4] for c in chunks for rec in decode_records(c)]


def shown(chunks, canvas):
    for c in chunks:
        apply_records(canvas, c)
    return canvas


def test_first_frame_whole_then_idle_sends_nothing():
    enc = ScreenEncoder()
    f = frame()
    chunks = enc.encode(f)
    assert set(kinds(chunks)) == {KIND_SOLID}
    canvas = shown(chunks, np.zeros((480, 640, 3), np.uint8))
    assert (canvas == f[:, :, 2::-1]).all()
    assert enc.encode(f.copy()) == []


def test_only_changed_tiles_and_encoding_per_region():
    enc = ScreenEncoder()
    f = frame()
    canvas = shown(enc.encode(f), np.zeros((480, 640, 3), np.uint8))
    g = f.copy()
    text_lines(g, 10, 60)                                             # text: lossless
    g[320:384, 320:384, :3] = np.random.default_rng(1).integers(0, 255, (64, 64, 3))   # photo: JPEG
    g[192:256, 0:64, :3] = (10, 200, 10)                              # one colour: a fill
    chunks = enc.encode(g)
    recs = [r for c in chunks for r in decode_records(c)]
    assert {r[4] for r in recs} == {KIND_SOLID, KIND_PNG, KIND_JPEG}
    assert sum(r[2] * r[3] for r in recs) < 640 * 480 / 2             # far from the whole screen
    canvas = shown(chunks, canvas)
    lossless = (slice(0, 64), slice(0, 640))
    assert (canvas[lossless] == g[:, :, 2::-1][lossless]).all()
    assert np.abs(canvas.astype(int) - g[:, :, 2::-1].astype(int)).mean() < 2


def test_scrolled_content_is_sent_as_a_copy():
    enc = ScreenEncoder()
    f = frame(640, 640)
    text_lines(f, 0, 640)
    canvas = shown(enc.encode(f), np.zeros((640, 640, 3), np.uint8))
    g = np.roll(f, -36, axis=0)
    g[-36:] = f[:36]
    chunks = enc.encode(g)
    assert kinds(chunks)[0] == KIND_COPY
    assert sum(map(len, chunks)) < 0.25 * sum(map(len, ScreenEncoder().encode(g)))
    canvas = shown(chunks, canvas)
    assert (canvas == g[:, :, 2::-1]).all()


def test_noise_everywhere_still_fits_in_messages_and_sampling_halves_resolution():
    rng = np.random.default_rng(2)
    f = frame(1080, 1920)
    f[:, :, :3] = rng.integers(0, 255, (1080, 1920, 3))
    enc = ScreenEncoder()
    chunks = enc.encode(f)
    assert all(len(c) <= CHUNK_BYTES + 16 * 1024 for c in chunks)
    enc.set_mode("sampling")
    small = enc.encode(f)
    assert {r[5] for c in small for r in decode_records(c) if r[4] == KIND_JPEG} == {2}
    assert sum(map(len, small)) < sum(map(len, chunks))
