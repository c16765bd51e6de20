"""The screen pipeline: find the tiles that changed since the last frame sent, encode each one the
cheapest fitting way, and pack them into binary chunks small enough for one WebSocket message.

Per tile (64x64): one colour -> a solid fill (3 bytes); few colours -> PNG (lossless); photo-like ->
JPEG. Content that moved vertically (scrolling) is sent as a copy of pixels the viewer already has.
"Standard" favours picture quality; "sampling" sends half-resolution JPEG tiles at a lower quality.

Chunk payload: a sequence of records, each ``REC`` (x, y, w, h, kind, scale, length) + data.
The frame header (JSON, separate) carries seq, screen size and whether this chunk ends the frame.
"""
from __future__ import annotations

import concurrent.futures
import os
import struct

import cv2
import numpy as np

TILE = 64
KIND_SOLID, KIND_PNG, KIND_JPEG, KIND_COPY = 0, 1, 2, 3
REC = struct.Struct("<HHHHBBI")
CHUNK_BYTES = 48 * 1024          # stays below the host's 64 KiB message limit with the header
FEW_COLOURS = 64
PARALLEL_ROWS = 4                # changed tile rows from which encoding is spread over threads
MAX_RUN = 16                     # tiles merged into one rectangle at most
MAX_RECORD = CHUNK_BYTES // 2    # a merged rectangle bigger than this is sent tile by tile
MODES = ("standard", "sampling")


def tile_grid_changes(cur32: np.ndarray, prev32: np.ndarray | None) -> np.ndarray:
    """A (rows, cols) bool array: which tiles differ between two frames viewed as uint32 pixels."""
    h, w = cur32.shape
    rows, cols = -(-h // TILE), -(-w // TILE)
    if prev32 is None or prev32.shape != cur32.shape:
        return np.ones((rows, cols), dtype=bool)
    diff = cur32 != prev32
    by_row = np.logical_or.reduceat(diff, np.arange(0, h, TILE), axis=0)
    return np.logical_or.reduceat(by_row, np.arange(0, w, TILE), axis=1)


def row_hashes(frame32: np.ndarray) -> np.ndarray:
    """One 64-bit fingerprint per pixel row (cheap, for finding a vertical move)."""
    sample = frame32[:, ::5]
    weights = np.arange(1, sample.shape[1] + 1, dtype=np.uint64) * np.uint64(0x9E3779B1)
    return (sample.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)


def find_vertical_move(cur32: np.ndarray, prev32: np.ndarray, max_shift: int = 400):
    """Find a scroll: a band of rows that moved up or down. Returns (src_y, dst_y, height) or None."""
    if prev32 is None or prev32.shape != cur32.shape:
        return None
    hc, hp = row_hashes(cur32), row_hashes(prev32)
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

    def __init__(self, mode: str = "standard", jpeg_quality: int = 80, sampling_quality: int = 40):
        self.mode = mode
        self.jpeg_quality = jpeg_quality
        self.sampling_quality = sampling_quality
        self.prev32: np.ndarray | None = None
        self._base: np.ndarray | None = None      # what the viewers have, during one encode
        self.workers = min(4, os.cpu_count() or 1)
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.stats = {"frames": 0, "tiles": 0, "solid": 0, "png": 0, "jpeg": 0, "copy": 0, "bytes": 0}

    def reset(self) -> None:
        """Forget what the viewers have: the next frame is sent whole."""
        self.prev32 = None

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"display mode must be one of {MODES}")
        if mode != self.mode:
            self.mode = mode
            self.reset()

    def encode(self, frame: np.ndarray) -> list[bytes]:
        """frame: HxWx4 uint8 (BGRA, as mss grabs). Returns payload chunks; [] when nothing changed."""
        frame = np.ascontiguousarray(frame)
        h, w = frame.shape[:2]
        cur32 = frame.view(np.uint32).reshape(h, w)
        records: list[bytes] = []
        prev = self.prev32
        if prev is not None and prev.shape == cur32.shape and np.array_equal(cur32, prev):
            return []                       # the idle case: one memcmp, nothing sent
        grid = tile_grid_changes(cur32, prev)
        if not grid.any():
            return []
        if prev is not None and grid.sum() >= 8:
            move = find_vertical_move(cur32, prev)
            if move is not None:
                src, dst, height = move
                records.append(REC.pack(0, dst, w, height, KIND_COPY, 1, 4) + struct.pack("<HH", 0, src))
                self.stats["copy"] += 1
                moved = prev.copy()
                moved[dst:dst + height] = prev[src:src + height]
                grid = tile_grid_changes(cur32, moved)
                prev = moved
        self._base = prev
        rows = [int(r) for r in np.nonzero(grid.any(axis=1))[0]]
        if len(rows) >= PARALLEL_ROWS and self.workers > 1:
            # OpenCV's encoders and numpy release the GIL: big changes are encoded on all cores
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="encode")
            for part in self._pool.map(lambda r: self._row(frame, cur32, r, grid[r]), rows):
                records.extend(part)
        else:
            for r in rows:
                records.extend(self._row(frame, cur32, r, grid[r]))
        self.prev32 = cur32.copy()
        self.stats["frames"] += 1
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

    def _row(self, frame: np.ndarray, cur32: np.ndarray, r: int, changed: np.ndarray) -> list[bytes]:
        """Encode the changed tiles of one tile row; neighbours of the same class become one rectangle."""
        y = r * TILE
        h = min(TILE, frame.shape[0] - y)
        out, run = [], None          # run: [class, first column, last column]
        for c in list(np.nonzero(changed)[0]) + [None]:
            kind = None
            if c is not None:
                c = int(c)
                x = c * TILE
                kind = self._classify(cur32[y:y + h, x:x + TILE])
                self.stats["tiles"] += 1
                if kind == "solid":
                    px = frame[y, x]
                    self.stats["solid"] += 1
                    out.append(REC.pack(x, y, min(TILE, frame.shape[1] - x), h, KIND_SOLID, 1, 3)
                               + bytes((int(px[2]), int(px[1]), int(px[0]))))
            if run is not None and (kind != run[0] or c != run[2] + 1 or run[2] - run[1] + 1 >= MAX_RUN):
                out.extend(self._run(frame, cur32, run, y, h))
                run = None
            if kind in ("few", "photo"):
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
        rec = self._rect(frame, *self._crop(cur32, x, y, x_end - x, h), kind)
        if len(rec) <= MAX_RECORD or first == last:
            return [rec]
        # too big for one message with others: one record per tile instead
        return [self._rect(frame, *self._crop(cur32, c * TILE, y, min(frame.shape[1], (c + 1) * TILE) - c * TILE, h),
                           kind) for c in range(first, last + 1)]

    def _rect(self, frame: np.ndarray, x: int, y: int, w: int, h: int, kind: str) -> bytes:
        bgr = frame[y:y + h, x:x + w, :3]
        if self.mode == "sampling":
            small = cv2.resize(bgr, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
            ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, self.sampling_quality])
            self.stats["jpeg"] += 1
            return REC.pack(x, y, w, h, KIND_JPEG, 2, len(data)) + data.tobytes()
        if kind == "few":
            ok, data = cv2.imencode(".png", np.ascontiguousarray(bgr), [cv2.IMWRITE_PNG_COMPRESSION, 1])
            self.stats["png"] += 1
            return REC.pack(x, y, w, h, KIND_PNG, 1, len(data)) + data.tobytes()
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        self.stats["jpeg"] += 1
        return REC.pack(x, y, w, h, KIND_JPEG, 1, len(data)) + data.tobytes()


def decode_records(payload: bytes):
    """Yield (x, y, w, h, kind, scale, data) from a chunk (used by tests and the benchmark's viewer)."""
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
        else:
            img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
            if scale != 1:
                img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
            canvas[y:y + h, x:x + w] = img[:h, :w, ::-1]
