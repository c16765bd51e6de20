"""The screen pipeline: find the tiles that changed since the last frame sent, encode each one the
cheapest fitting way, and pack them into binary chunks small enough for one WebSocket message.

Per tile (64x64): one colour -> a solid fill (3 bytes); few colours -> deflate-compressed RGB (lossless;
smaller than PNG, which spends ~60 bytes on headers per rectangle); photo-like -> JPEG. Content that
moved (a scroll, or a dragged window in any direction) is sent as copies of pixels the viewer already
has. "Standard" favours picture quality: photo-like tiles that keep changing (video) are
sent at a lower JPEG quality while they change and again at full quality once they stand still;
"sampling" sends half-resolution JPEG tiles at a lower quality.

The capture backend may say which rectangles were drawn (XDamage): then only those are compared.

Chunk payload: a sequence of records, each ``REC`` (x, y, w, h, kind, scale, length) + data.
The frame header (JSON, separate) carries seq, chunk c of n, the grab time ("t", ms modulo 100 s) and,
on full frames and changes, the picture's size and monitor.
"""
from __future__ import annotations

import concurrent.futures
import os
import struct
import time
import zlib

import cv2
import numpy as np

TILE = 64
KIND_SOLID, KIND_JPEG, KIND_COPY, KIND_ZLIB = 0, 2, 3, 4      # the record kinds on the wire
REC = struct.Struct("<HHHHBBI")
CHUNK_BYTES = 48 * 1024          # stays below the host's 64 KiB message limit with the header
FEW_COLOURS = 64
PARALLEL_ROWS = 4                # changed tile rows from which encoding is spread over threads
MAX_RUN = 16                     # tiles merged into one rectangle at most
MAX_RECORD = CHUNK_BYTES // 2    # a merged rectangle bigger than this is sent tile by tile
MODES = ("standard", "sampling")
MOVE_RANGE = 160                 # a window dragged this many pixels (or fewer) between frames is found
HOT_FRAMES = 3                   # a photo-like tile changed in this many frames running is "video"
REFINE_AFTER = 0.3               # seconds a video tile stands still before it is sent again at full quality


def tile_grid_changes(cur32: np.ndarray, prev32: np.ndarray | None) -> np.ndarray:
    """A (rows, cols) bool array: which tiles differ between two frames viewed as uint32 pixels."""
    h, w = cur32.shape
    rows, cols = -(-h // TILE), -(-w // TILE)
    if prev32 is None or prev32.shape != cur32.shape:
        return np.ones((rows, cols), dtype=bool)
    return tiles_any(cur32 != prev32)


def tiles_any(mask: np.ndarray) -> np.ndarray:
    """Per 64x64 tile of a bool array: is any element set (a max over bands of rows, then of columns)."""
    h, w = mask.shape
    m8 = mask.view(np.uint8)
    full = h // TILE
    parts = []
    if full:
        parts.append(m8[:full * TILE].reshape(full, TILE, w).max(axis=1))
    if h % TILE:
        parts.append(m8[full * TILE:].max(axis=0, keepdims=True))
    bands = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return np.maximum.reduceat(bands, np.arange(0, w, TILE), axis=1) > 0


def dirty_tiles(shape: tuple[int, int], dirty) -> np.ndarray:
    """The tiles touched by a list of (x, y, w, h) rectangles."""
    h, w = shape
    grid = np.zeros((-(-h // TILE), -(-w // TILE)), dtype=bool)
    for x, y, rw, rh in dirty:
        x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + rw), min(h, y + rh)
        if x1 > x0 and y1 > y0:
            grid[y0 // TILE:-(-y1 // TILE), x0 // TILE:-(-x1 // TILE)] = True
    return grid


def find_move(cur32: np.ndarray, prev32: np.ndarray, grid: np.ndarray, probes: int = 8):
    """Find content that moved in any direction (a dragged window): the shift (dx, dy) for which the most
    changed tiles equal the previous frame's pixels shifted by it, and those tiles. Returns
    (dx, dy, tiles bool grid) or None. Candidates come from exact matches of short pixel runs of
    changed tiles, looked up in the previous frame within MOVE_RANGE."""
    h, w = cur32.shape
    ys, xs = np.nonzero(grid)
    if len(ys) < 4:
        return None
    votes: dict[tuple[int, int], int] = {}
    pick = np.linspace(0, len(ys) - 1, min(len(ys), probes * 3)).astype(int)
    found = 0
    for i in pick:
        if found >= probes:
            break
        seg = _textured_run(cur32, int(ys[i]) * TILE, int(xs[i]) * TILE)
        if seg is None:
            continue
        found += 1
        py, px, run = seg
        for d in _run_matches(prev32, py, px, run, cur32[py:py + 12, px:px + RUN]):
            if d != (0, 0):
                votes[d] = votes.get(d, 0) + 1
        ranked = sorted(votes.values(), reverse=True)
        if ranked and ranked[0] >= 3 and (len(ranked) == 1 or ranked[0] >= 2 * ranked[1]):
            break                           # the probes agree: enough
    best = None
    total = int(grid.sum())
    for d in sorted(votes, key=votes.get, reverse=True)[:3]:
        same = _tiles_equal_shifted(cur32, prev32, grid, *d)
        n = int(same.sum())
        if n >= 4 and (best is None or n > best[0]):
            best = (n, d, same)
        if best is not None and best[0] * 2 >= total:
            break                           # most of the change is explained: no need to try others
    if best is None:
        return None
    n, (dx, dy), same = best
    return dx, dy, same


RUN = 24


def _textured_run(cur32: np.ndarray, y0: int, x0: int):
    """A run of RUN pixels in the tile at (x0, y0) with several colour changes (a good fingerprint)."""
    h, w = cur32.shape
    if x0 + RUN > w:
        x0 = max(0, w - RUN)
    for y in range(y0 + 3, min(h, y0 + TILE), 6):
        for x in range(x0, min(w - RUN, x0 + TILE - RUN) + 1, RUN // 2):
            run = cur32[y, x:x + RUN]
            if np.count_nonzero(run[1:] != run[:-1]) >= 5:
                return y, x, run
    return None


def _run_matches(prev32: np.ndarray, py: int, px: int, run: np.ndarray, block=None) -> list[tuple[int, int]]:
    """Where the run appears in the previous frame near (px, py), as shifts (dx, dy) = (px - x, py - y)."""
    h, w = prev32.shape
    y0, y1 = max(0, py - MOVE_RANGE), min(h, py + MOVE_RANGE + 1)
    x0, x1 = max(0, px - MOVE_RANGE), min(w - RUN + 1, px + MOVE_RANGE + 1)
    if x1 <= x0:
        return []
    area = prev32[y0:y1, x0:x1 + RUN - 1]
    values, counts = np.unique(run, return_counts=True)
    start = int(np.flatnonzero(run == values[np.argmin(counts)])[0])   # its rarest colour: fewest candidates
    cy, cx = np.nonzero(area[:, start:start + x1 - x0] == run[start])
    for k in range(RUN):
        if len(cy) == 0:
            return []
        if k != start:
            keep = area[cy, cx + k] == run[k]
            cy, cx = cy[keep], cx[keep]
    if len(cy) > 256:                       # a run found everywhere (a repeated pattern) says nothing
        return []
    sy, sx = y0 + cy, x0 + cx
    if block is not None:                   # the rows below must match too (text repeats along a line)
        span = np.arange(RUN)
        for k in range(1, block.shape[0]):
            inside = sy + k < h
            sy, sx = sy[inside], sx[inside]
            keep = (prev32[(sy + k)[:, None], sx[:, None] + span] == block[k]).all(axis=1)
            sy, sx = sy[keep], sx[keep]
    if len(sy) > 16:
        return []
    return [(px - int(x), py - int(y)) for y, x in zip(sy, sx)]


def _tiles_equal_shifted(cur32: np.ndarray, prev32: np.ndarray, grid: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Changed tiles whose every pixel equals the previous frame's pixel (dx, dy) away (source inside)."""
    h, w = cur32.shape
    out = np.zeros_like(grid)
    rows = np.nonzero(grid.any(axis=1))[0]
    for r in rows:
        y0, y1 = int(r) * TILE, min(h, (int(r) + 1) * TILE)
        if y0 - dy < 0 or y1 - dy > h:
            continue
        cols = np.nonzero(grid[r])[0]
        c0, c1 = int(cols[0]), int(cols[-1]) + 1
        x0, x1 = c0 * TILE, min(w, c1 * TILE)
        sx0, sx1 = max(x0, dx), min(x1, w + dx)          # columns whose source is on the screen
        if sx1 <= sx0:
            continue
        differs = cur32[y0:y1, sx0:sx1] != prev32[y0 - dy:y1 - dy, sx0 - dx:sx1 - dx]
        col_bad = differs.any(axis=0)
        full = np.ones(x1 - x0, dtype=bool)              # columns without a source cannot be copied
        full[sx0 - x0:sx1 - x0] = col_bad
        per_tile = np.maximum.reduceat(full.view(np.uint8), np.arange(0, x1 - x0, TILE)) > 0
        out[r, c0:c1] = grid[r, c0:c1] & ~per_tile
    return out


def grow_copy_rect(cur32: np.ndarray, prev32: np.ndarray, same: np.ndarray, dx: int, dy: int):
    """One rectangle for a moved window: the tiles that moved whole, grown pixel by pixel on each side
    (up to a tile) while the pixels still equal their source (x, y, w, h); None when those tiles are
    not one block."""
    h, w = cur32.shape
    rows, cols = np.nonzero(same.any(axis=1))[0], np.nonzero(same.any(axis=0))[0]
    x0, x1 = int(cols[0]) * TILE, min(w, (int(cols[-1]) + 1) * TILE)
    y0, y1 = int(rows[0]) * TILE, min(h, (int(rows[-1]) + 1) * TILE)
    # which pixels around the block equal their source, computed once (no source: not equal)
    ax0, ax1 = max(0, x0 - TILE, dx), min(w, x1 + TILE, w + dx)
    ay0, ay1 = max(0, y0 - TILE, dy), min(h, y1 + TILE, h + dy)
    if ax0 > x0 or ax1 < x1 or ay0 > y0 or ay1 < y1:
        return None
    eq = cur32[ay0:ay1, ax0:ax1] == prev32[ay0 - dy:ay1 - dy, ax0 - dx:ax1 - dx]
    x0, x1, y0, y1 = x0 - ax0, x1 - ax0, y0 - ay0, y1 - ay0          # now inside eq
    if not eq[y0:y1, x0:x1].all():
        return None
    def run(ok_lines: np.ndarray) -> int:   # how many lines from the start are all equal
        bad = np.flatnonzero(~ok_lines)
        return int(bad[0]) if bad.size else len(ok_lines)

    for _ in range(8):                      # each side as far as it goes, until none moves
        before = (x0, x1, y0, y1)
        y0 -= run(eq[:y0, x0:x1].all(axis=1)[::-1])
        y1 += run(eq[y1:, x0:x1].all(axis=1))
        x0 -= run(eq[y0:y1, :x0].all(axis=0)[::-1])
        x1 += run(eq[y0:y1, x1:].all(axis=0))
        if (x0, x1, y0, y1) == before:
            break
    return ax0 + x0, ay0 + y0, x1 - x0, y1 - y0


def copy_records(same: np.ndarray, dx: int, dy: int, shape: tuple[int, int]) -> list[bytes]:
    """One copy record per run of tiles in a tile row, ordered so that no copy reads pixels an earlier
    copy of the same frame already overwrote."""
    h, w = shape
    rects = []
    for r in np.nonzero(same.any(axis=1))[0]:
        cols = np.nonzero(same[r])[0]
        starts = [0] + [i for i in range(1, len(cols)) if cols[i] != cols[i - 1] + 1]
        for k, a in enumerate(starts):
            b = starts[k + 1] if k + 1 < len(starts) else len(cols)
            x0, x1 = int(cols[a]) * TILE, min(w, (int(cols[b - 1]) + 1) * TILE)
            y0, y1 = int(r) * TILE, min(h, (int(r) + 1) * TILE)
            rects.append((x0, y0, x1 - x0, y1 - y0))
    rects.sort(key=lambda t: (-t[1] if dy > 0 else t[1], -t[0] if dx > 0 else t[0]))
    return [REC.pack(x, y, rw, rh, KIND_COPY, 1, 4) + struct.pack("<HH", x - dx, y - dy) for x, y, rw, rh in rects]


def row_hashes(frame32: np.ndarray, x0: int = 0, x1: int | None = None) -> np.ndarray:
    """One 64-bit fingerprint per pixel row, of columns x0..x1 (cheap, for finding a vertical move)."""
    sample = frame32[:, x0:x1:5]
    weights = np.arange(1, sample.shape[1] + 1, dtype=np.uint64) * np.uint64(0x9E3779B1)
    return (sample.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)


def find_vertical_move(cur32: np.ndarray, prev32: np.ndarray, max_shift: int = 400, hc=None, hp=None):
    """Find a scroll: a band of rows that moved up or down. Returns (src_y, dst_y, height) or None.
    hc, hp: the row fingerprints of both frames when known (row_hashes)."""
    if prev32 is None or prev32.shape != cur32.shape:
        return None
    hc = row_hashes(cur32) if hc is None else hc
    hp = row_hashes(prev32) if hp is None else hp
    changed = np.nonzero(hc != hp)[0]
    if len(changed) < 2 * TILE:
        return None
    top, bottom = int(changed[0]), int(changed[-1]) + 1
    index: dict[int, list[int]] = {}
    for y in range(top, bottom):
        index.setdefault(int(hp[y]), []).append(y)
    votes: dict[int, int] = {}
    step = max(1, len(changed) // 64)
    for y in changed[::step]:            # only rows that changed vote: where did their content come from?
        sources = [src for src in index.get(int(hc[y]), ()) if src != y and abs(src - y) <= max_shift]
        for src in sorted(sources, key=lambda v: abs(v - y))[:8]:
            votes[src - int(y)] = votes.get(src - int(y), 0) + 1
    best = None
    for shift in sorted(votes, key=votes.get, reverse=True)[:3]:
        run = _longest_run(hc, hp, top, bottom, shift)
        if run is not None and (best is None or run[1] > best[1][1]):
            best = (shift, run)
    if best is None:
        return None
    shift, (dst, length) = best
    if length < 2 * TILE or np.count_nonzero((changed >= dst) & (changed < dst + length)) < TILE:
        return None                      # too short, or mostly unchanged rows: no real move
    return dst + shift, dst, length


def _longest_run(hc: np.ndarray, hp: np.ndarray, top: int, bottom: int, shift: int):
    """The longest band of rows y with cur[y] == prev[y + shift]: (first row, length)."""
    n = len(hp)
    ys = np.arange(max(top, -shift, 0), min(bottom, n - shift))
    if len(ys) == 0:
        return None
    same = np.concatenate(([False], hc[ys] == hp[ys + shift], [False]))
    edges = np.flatnonzero(np.diff(same.astype(np.int8)))
    if len(edges) < 2:
        return None
    starts, ends = edges[::2], edges[1::2]
    i = int(np.argmax(ends - starts))
    return int(ys[starts[i]]), int(ends[i] - starts[i])


class ScreenEncoder:
    """Keeps the picture the viewers have, and turns a new screen grab into chunks of tile records."""

    def __init__(self, mode: str = "standard", jpeg_quality: int = 80, sampling_quality: int = 40,
                 video_quality: int = 50, clock=time.monotonic):
        self.mode = mode
        self.jpeg_quality = jpeg_quality
        self.sampling_quality = sampling_quality
        self.video_quality = video_quality
        self.clock = clock
        self.prev32: np.ndarray | None = None
        self._base: np.ndarray | None = None      # what the viewers have, during one encode
        self.workers = min(4, os.cpu_count() or 1)
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.hot: np.ndarray | None = None        # per tile: frames running in which it changed
        self.soft: np.ndarray | None = None       # per tile: sent at video quality, not yet refined
        self.changed_at: np.ndarray | None = None  # per tile: when it last changed
        self.photo: np.ndarray | None = None      # per tile: was photo-like when last looked at
        self.jpeg_tile_bytes: dict[str, float] = {}
        self._hashes = None                       # (frame number, columns, row fingerprints) of the last frame
        self.stats = {"frames": 0, "tiles": 0, "solid": 0, "zlib": 0, "jpeg": 0, "copy": 0, "moved": 0,
                      "video": 0, "refined": 0, "bytes": 0}

    def reset(self) -> None:
        """Forget what the viewers have: the next frame is sent whole."""
        self.prev32 = None

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"display mode must be one of {MODES}")
        if mode != self.mode:
            self.mode = mode
            self.reset()

    def encode(self, frame: np.ndarray, dirty=None) -> list[bytes]:
        """frame: HxWx4 uint8 (BGRA, as mss grabs). dirty: the (x, y, w, h) rectangles drawn since the last
        frame when the capture backend knows them (None: anything may have changed). Returns payload
        chunks; [] when nothing changed (and no video tile is due for its full-quality picture)."""
        frame = np.ascontiguousarray(frame)
        h, w = frame.shape[:2]
        cur32 = frame.view(np.uint32).reshape(h, w)
        prev = self.prev32
        now = self.clock()
        first = prev is None or prev.shape != cur32.shape
        if first:
            grid = self._start_over(cur32, now)
        elif dirty is not None:
            grid = self._dirty_changes(cur32, prev, dirty)
        elif np.array_equal(cur32, prev):
            return self.refine()            # the idle case: one memcmp
        else:
            grid = tile_grid_changes(cur32, prev)
        if not grid.any():
            return self.refine()
        records: list[bytes] = []
        if first:
            prev = cur32.copy()
        else:
            grid = self._copy_moved(cur32, prev, grid, records)
        self._base = prev
        self._age(grid, now)
        rows = [int(r) for r in np.nonzero(grid.any(axis=1))[0]]
        records.extend(self._encode_rows(frame, cur32, grid, rows))
        if not first:
            self._take_changes(prev, cur32, grid, rows)
        self.prev32 = prev
        self._base = None
        self.stats["frames"] += 1
        records.extend(self._refine_records(frame, now, exclude=grid))
        return self._chunks(records)

    def _start_over(self, cur32: np.ndarray, now: float) -> np.ndarray:
        """A first frame (or one of a new size): every tile is new, and what was known per tile is reset."""
        grid = tile_grid_changes(cur32, None)
        self.hot = np.zeros(grid.shape, np.int16)
        self.soft = np.zeros(grid.shape, bool)
        self.changed_at = np.full(grid.shape, now)
        self.photo = np.zeros(grid.shape, bool)
        return grid

    def _copy_moved(self, cur32: np.ndarray, prev: np.ndarray, grid: np.ndarray, records: list) -> np.ndarray:
        """Content that moved (a scroll, else a dragged window) as copy records appended to ``records``,
        applied to ``prev`` as the viewer applies them; returns the tiles that still differ. Changes that
        are small, or mostly video, are not searched."""
        video_like = (self.photo[grid] & (self.hot[grid] >= HOT_FRAMES)).mean() > 0.8
        if grid.sum() < 8 or video_like:
            return grid
        cols = np.nonzero(grid.any(axis=0))[0]
        x0, x1 = int(cols[0]) * TILE, min(cur32.shape[1], (int(cols[-1]) + 1) * TILE)
        scroll = self._find_scroll(cur32, prev, x0, x1)
        if scroll is not None:
            return self._copy_scroll(cur32, prev, grid, scroll, x0, x1, records)
        found = find_move(cur32, prev, grid)
        if found is not None:
            return self._copy_window(cur32, prev, grid, found, records)
        return grid

    def _find_scroll(self, cur32: np.ndarray, prev: np.ndarray, x0: int, x1: int):
        """A vertical move of columns x0..x1 (see find_vertical_move); keeps this frame's row fingerprints
        for the next frame, whose previous frame this one is."""
        hc = row_hashes(cur32, x0, x1)
        cached = self._hashes
        hp = cached[2] if cached is not None and cached[:2] == (self.stats["frames"], (x0, x1)) else None
        scroll = find_vertical_move(cur32, prev, hc=hc, hp=row_hashes(prev, x0, x1) if hp is None else hp)
        self._hashes = (self.stats["frames"] + 1, (x0, x1), hc)
        return scroll

    def _copy_scroll(self, cur32: np.ndarray, prev: np.ndarray, grid: np.ndarray, scroll, x0: int, x1: int,
                     records: list) -> np.ndarray:
        """Scrolled: the columns that changed, moved up or down, as one copy; the tiles still differing."""
        src, dst, height = scroll
        records.append(REC.pack(x0, dst, x1 - x0, height, KIND_COPY, 1, 4) + struct.pack("<HH", x0, src))
        self.stats["copy"] += 1
        prev[dst:dst + height, x0:x1] = prev[src:src + height, x0:x1]     # in place: ours
        rows = np.nonzero(grid.any(axis=1))[0]
        r0, r1 = min(int(rows[0]), dst // TILE), max(int(rows[-1]) + 1, -(-(dst + height) // TILE))
        c0, c1 = x0 // TILE, -(-x1 // TILE)
        grid = np.zeros_like(grid)
        grid[r0:r1, c0:c1] = tiles_any(cur32[r0 * TILE:r1 * TILE, x0:x1] != prev[r0 * TILE:r1 * TILE, x0:x1])
        return grid

    def _copy_window(self, cur32: np.ndarray, prev: np.ndarray, grid: np.ndarray, found, records: list) -> np.ndarray:
        """A dragged window: one copy grown to its edges (else one per run of moved tiles); the tiles
        still differing."""
        dx, dy, same = found
        rect = grow_copy_rect(cur32, prev, same, dx, dy)
        if rect is not None:
            x, y, rw, rh = rect
            copies = [REC.pack(x, y, rw, rh, KIND_COPY, 1, 4) + struct.pack("<HH", x - dx, y - dy)]
        else:
            copies = copy_records(same, dx, dy, cur32.shape)
        for rec in copies:          # in place, in the same order as the viewer
            x, y, rw, rh = REC.unpack_from(rec)[:4]
            prev[y:y + rh, x:x + rw] = prev[y - dy:y - dy + rh, x - dx:x - dx + rw]
        records.extend(copies)
        self.stats["moved"] += len(copies)
        rows, cols = np.nonzero(grid.any(axis=1))[0], np.nonzero(grid.any(axis=0))[0]
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        sub = (slice(r0 * TILE, r1 * TILE), slice(c0 * TILE, c1 * TILE))
        grid[r0:r1, c0:c1] &= tiles_any(cur32[sub] != prev[sub])
        return grid

    def _age(self, grid: np.ndarray, now: float) -> None:
        """Per tile: how many frames running it changed, when it last did; changed tiles are no longer soft."""
        self.hot[:] = np.where(grid, self.hot + 1, 0)
        self.changed_at[grid] = now
        self.soft &= ~grid

    def _encode_rows(self, frame: np.ndarray, cur32: np.ndarray, grid: np.ndarray, rows: list[int]) -> list[bytes]:
        """The records of the changed tiles, row by row; big changes on all cores (OpenCV's encoders and
        numpy release the GIL)."""
        if len(rows) >= PARALLEL_ROWS and self.workers > 1:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="encode")
            parts = self._pool.map(lambda r: self._row(frame, cur32, r, grid[r]), rows)
        else:
            parts = (self._row(frame, cur32, r, grid[r]) for r in rows)
        return [rec for part in parts for rec in part]

    def _take_changes(self, prev: np.ndarray, cur32: np.ndarray, grid: np.ndarray, rows: list[int]) -> None:
        """What the viewers have now: the changed tiles of each row (their span) are the new frame's."""
        h, w = cur32.shape
        for r in rows:
            cols = np.nonzero(grid[r])[0]
            y0, y1 = r * TILE, min(h, (r + 1) * TILE)
            x0, x1 = int(cols[0]) * TILE, min(w, (int(cols[-1]) + 1) * TILE)
            prev[y0:y1, x0:x1] = cur32[y0:y1, x0:x1]

    def _dirty_changes(self, cur32: np.ndarray, prev: np.ndarray, dirty) -> np.ndarray:
        """Changed tiles, compared only inside the bounding box of what the X server says was drawn."""
        touched = dirty_tiles(cur32.shape, dirty)
        grid = np.zeros_like(touched)
        if not touched.any():
            return grid
        h, w = cur32.shape
        rows, cols = np.nonzero(touched.any(axis=1))[0], np.nonzero(touched.any(axis=0))[0]
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        y0, y1, x0, x1 = r0 * TILE, min(h, r1 * TILE), c0 * TILE, min(w, c1 * TILE)
        grid[r0:r1, c0:c1] = tiles_any(cur32[y0:y1, x0:x1] != prev[y0:y1, x0:x1])
        return grid

    def refine(self) -> list[bytes]:
        """Video tiles that stood still long enough, sent again at full quality (from what is on screen)."""
        if self.prev32 is None or self.soft is None or not self.soft.any():
            return []
        h, w = self.prev32.shape
        frame = self.prev32.view(np.uint8).reshape(h, w, 4)
        return self._chunks(self._refine_records(frame, self.clock()))

    def _refine_records(self, frame: np.ndarray, now: float, exclude=None) -> list[bytes]:
        if self.soft is None or not self.soft.any():
            return []
        due = self.soft & (now - self.changed_at >= REFINE_AFTER)
        if exclude is not None:
            due &= ~exclude
        if not due.any():
            return []
        self.soft &= ~due
        self._base = None
        cur32 = frame.view(np.uint32).reshape(frame.shape[:2])
        out = []
        for r in np.nonzero(due.any(axis=1))[0]:
            out.extend(self._row(frame, cur32, int(r), due[r], refine=True))
        self.stats["refined"] += int(due.sum())
        return out

    def _chunks(self, records: list[bytes]) -> list[bytes]:
        chunks, current, size = [], [], 0
        for rec in records:
            if size + len(rec) > CHUNK_BYTES and current:
                chunks.append(b"".join(current))
                current, size = [], 0
            current.append(rec)
            size += len(rec)
        if current:
            chunks.append(b"".join(current))
        self.stats["bytes"] += sum(map(len, chunks))
        return chunks

    def _classify(self, t32: np.ndarray) -> str:
        if (t32 == t32[0, 0]).all():
            return "solid"
        if self.mode == "sampling":
            return "photo"
        # few colours (text, UI): lossless; many (photos, video): JPEG. Counted on every 4th pixel of every
        # 4th row (256 of 4096): text and UI have a few dozen at most there, photos far more.
        return "few" if len(np.unique(t32[::4, ::4])) <= FEW_COLOURS else "photo"

    def _row(self, frame: np.ndarray, cur32: np.ndarray, r: int, changed: np.ndarray,
             refine: bool = False) -> list[bytes]:
        """Encode the changed tiles of one tile row; neighbours of the same class become one rectangle.
        A photo-like tile that keeps changing is "video": a lower quality until it stands still."""
        y = r * TILE
        h = min(TILE, frame.shape[0] - y)
        out, run = [], None          # run: [class, first column, last column]
        for c in list(np.nonzero(changed)[0]) + [None]:
            kind = None
            if c is not None:
                c = int(c)
                x = c * TILE
                if not refine and self.hot[r, c] >= HOT_FRAMES and self.photo[r, c]:
                    kind = "photo"               # still changing, photo-like a frame ago: no need to look again
                else:
                    kind = self._classify(cur32[y:y + h, x:x + TILE])
                    self.photo[r, c] = kind == "photo"
                self.stats["tiles"] += 1
                if kind == "solid":
                    px = frame[y, x]
                    self.stats["solid"] += 1
                    out.append(REC.pack(x, y, min(TILE, frame.shape[1] - x), h, KIND_SOLID, 1, 3)
                               + bytes((int(px[2]), int(px[1]), int(px[0]))))
                elif kind == "photo" and not refine and self.mode == "standard" and self.hot[r, c] >= HOT_FRAMES:
                    kind = "video"
                    self.soft[r, c] = True
            if run is not None and (kind != run[0] or c != run[2] + 1 or run[2] - run[1] + 1 >= MAX_RUN):
                out.extend(self._run(frame, cur32, run, y, h))
                run = None
            if kind in ("few", "photo", "video"):
                if run is None:
                    run = [kind, c, c]
                else:
                    run[2] = c
        return out

    def _crop(self, cur32: np.ndarray, x: int, y: int, w: int, h: int) -> tuple[int, int, int, int]:
        """Shrink a rectangle to the part that differs from what the viewers have (a typed letter
        changes a few pixels of a tile, not the whole tile)."""
        base = self._base
        if base is None:
            return x, y, w, h
        diff = cur32[y:y + h, x:x + w] != base[y:y + h, x:x + w]
        rows, cols = np.flatnonzero(diff.any(axis=1)), np.flatnonzero(diff.any(axis=0))
        if not rows.size:
            return x, y, w, h
        return x + int(cols[0]), y + int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)

    def _run(self, frame: np.ndarray, cur32: np.ndarray, run: list, y: int, h: int) -> list[bytes]:
        kind, first, last = run
        x, x_end = first * TILE, min(frame.shape[1], (last + 1) * TILE)
        if kind in ("photo", "video") and last > first:
            # a JPEG too big for one message would be encoded twice: split by what such tiles cost lately
            per_tile = self.jpeg_tile_bytes.get(kind, 0)
            most = max(1, int(MAX_RECORD // per_tile)) if per_tile else MAX_RUN
            if last - first + 1 > most:
                out = []
                for a in range(first, last + 1, most):
                    out.extend(self._run(frame, cur32, [kind, a, min(last, a + most - 1)], y, h))
                return out
        rec = self._rect(frame, *self._crop(cur32, x, y, x_end - x, h), kind)
        if kind in ("photo", "video"):
            self.jpeg_tile_bytes[kind] = len(rec) / (last - first + 1)
        if len(rec) <= CHUNK_BYTES - 1024 or first == last:
            return [rec]
        # too big for one message with others: one record per tile instead
        return [self._rect(frame, *self._crop(cur32, c * TILE, y, min(frame.shape[1], (c + 1) * TILE) - c * TILE, h),
                           kind) for c in range(first, last + 1)]

    def _rect(self, frame: np.ndarray, x: int, y: int, w: int, h: int, kind: str) -> bytes:
        bgra = frame[y:y + h, x:x + w]
        if kind == "few" or (self.mode == "sampling" and w * h <= 1024):
            # lossless (a typed letter in sampling too: smaller than any JPEG's headers)
            z = zlib.compressobj(6 if w * h <= 16384 else 2, zlib.DEFLATED, -15)     # raw deflate: no header
            data = z.compress(cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGB).tobytes()) + z.flush()
            self.stats["zlib"] += 1
            return REC.pack(x, y, w, h, KIND_ZLIB, 1, len(data)) + data
        bgr = cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR)       # contiguous BGR: JPEG encodes it twice as fast
        if self.mode == "sampling":
            small = cv2.resize(bgr, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
            ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, self.sampling_quality])
            self.stats["jpeg"] += 1
            return REC.pack(x, y, w, h, KIND_JPEG, 2, len(data)) + data.tobytes()
        quality = self.video_quality if kind == "video" else self.jpeg_quality
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
        self.stats["video" if kind == "video" else "jpeg"] += 1
        return REC.pack(x, y, w, h, KIND_JPEG, 1, len(data)) + data.tobytes()
