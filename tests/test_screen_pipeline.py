"""The screen pipeline on synthetic frames: changed tiles only, the right encoding per region, copies for
scrolled content, chunks that fit one WebSocket message, an idle screen that sends nothing."""
from __future__ import annotations

import struct

import numpy as np

from plugin_libs.screenshare import pipeline
from plugin_libs.screenshare.pipeline import CHUNK_BYTES, KIND_COPY, KIND_JPEG, KIND_SOLID, KIND_ZLIB, ScreenEncoder
from screen_records import apply_records, decode_records


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
    text_lines(g, 10, 60)                                             # text: lossless (zlib)
    g[320:384, 320:384, :3] = np.random.default_rng(1).integers(0, 255, (64, 64, 3))   # photo: JPEG
    g[192:256, 0:64, :3] = (10, 200, 10)                              # one colour: a fill
    chunks = enc.encode(g)
    recs = [r for c in chunks for r in decode_records(c)]
    assert {r[4] for r in recs} == {KIND_SOLID, KIND_ZLIB, KIND_JPEG}
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


def window_at(f, x, y, w=300, h=200):
    """A textured 'window' (title bar and text) drawn at (x, y)."""
    f[y:y + 20, x:x + w, :3] = (140, 90, 50)
    f[y + 20:y + h, x:x + w, :3] = (230, 250, 255)
    for yy in range(y + 26, y + h - 8, 11):
        for xx in range(x + 6, x + w - 8, 7):
            f[yy:yy + 6, xx:xx + 4, :3] = (30 + ((xx - x) * 13 + (yy - y) * 7) % 90, 40, 60)


def test_a_dragged_window_is_sent_as_copies_from_where_it_was_and_decodes_exactly(monkeypatch):
    enc, plain = ScreenEncoder(), ScreenEncoder()
    f = frame(600, 800)
    f[:, :, :3] = (90, 120, 60)
    for y in range(0, 600, 40):                    # a wallpaper with a pattern, uncovered as the window moves
        f[y:y + 3, :, :3] = (20, 30, 200)
    before = f.copy()
    window_at(before, 150, 120)
    canvas = shown(enc.encode(before), np.zeros((600, 800, 3), np.uint8))
    plain.encode(before)
    for step, (x, y) in enumerate([(163, 127), (171, 119), (160, 140)]):   # right+down, right+up, left+down
        g = f.copy()
        window_at(g, x, y)
        chunks = enc.encode(g)
        recs = [r for c in chunks for r in decode_records(c)]
        copies = [r for r in recs if r[4] == KIND_COPY]
        assert copies, "the window's content comes from where it was"
        assert any(struct.unpack("<HH", r[6])[0] != r[0] for r in copies)     # from another column too
        with monkeypatch.context() as m:              # the same change without looking for moves
            m.setattr(pipeline, "find_move", lambda *a: None)
            without = sum(map(len, plain.encode(g)))
        assert sum(map(len, chunks)) < 0.5 * without
        canvas = shown(chunks, canvas)
        assert (canvas == g[:, :, 2::-1]).all(), f"step {step}: the viewer's picture differs"


def test_dirty_rectangles_limit_the_comparison():
    enc = ScreenEncoder()
    f = frame()
    canvas = shown(enc.encode(f), np.zeros((480, 640, 3), np.uint8))
    g = f.copy()
    g[100:110, 200:230, :3] = (0, 0, 0)
    assert enc.encode(g, dirty=[(0, 300, 640, 50)]) == []          # drawn elsewhere: not even looked at
    chunks = enc.encode(g, dirty=[(195, 98, 40, 15)])
    canvas = shown(chunks, canvas)
    assert (canvas == g[:, :, 2::-1]).all()
    assert enc.encode(g, dirty=[]) == []


def test_video_tiles_drop_quality_while_they_change_then_come_back_sharp():
    now = [0.0]
    enc = ScreenEncoder(clock=lambda: now[0])
    rng = np.random.default_rng(3)
    f = frame(256, 256)
    canvas = shown(enc.encode(f), np.zeros((256, 256, 3), np.uint8))
    sizes = []
    for i in range(6):
        now[0] += 0.04
        g = f.copy()
        g[:, :, :3] = rng.integers(0, 255, (256, 256, 3))
        chunks = enc.encode(g)
        sizes.append(sum(map(len, chunks)))
        canvas = shown(chunks, canvas)
    assert sizes[-1] < 0.8 * sizes[0]                      # "video": cheaper frames while it changes
    assert enc.refine() == []                               # still moving a moment ago: not yet
    soft_error = np.abs(canvas.astype(int) - g[:, :, 2::-1].astype(int)).mean()
    now[0] += 0.5
    sharp = enc.refine()
    assert sharp and enc.refine() == []                     # sent once at full quality
    canvas = shown(sharp, canvas)
    assert np.abs(canvas.astype(int) - g[:, :, 2::-1].astype(int)).mean() < soft_error
    assert enc.encode(g.copy()) == []
