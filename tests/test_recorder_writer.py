"""The recorder's segment writer on real files: the format of RECORDER.md, data on disk within the flush
interval (before anything is closed), rotation by time and by size with SHA-256 rows, a cut last segment
closed back to its last complete record, and a full disk (a small tmpfs) stopping the writer cleanly."""
from __future__ import annotations

import asyncio
import hashlib
import json
import struct
import subprocess
import zlib

import pytest

from plugins.recorder.reader import parse_records
from plugins.recorder.writer import (KIND_BINARY, KIND_EVENT, KIND_JSON, IN, MAGIC, OUT, SegmentWriter,
                                     close_leftover_segments)


class Sink:
    def __init__(self):
        self.closed = []
        self.failed = []
        self.rotations = 0

    async def on_closed(self, files):
        self.closed += files

    async def on_failed(self, exc):
        self.failed.append(exc)

    def on_rotate(self):
        self.rotations += 1


async def until(predicate, timeout=10.0):
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


async def test_records_are_on_disk_within_the_flush_interval_in_the_documented_format(tmp_path):
    sink = Sink()
    w = SegmentWriter(tmp_path, 1, sink.on_closed, sink.on_failed, sink.on_rotate, flush_every=0.2)
    w.add(0, KIND_EVENT, OUT, "", b'{"e":"part_start","part":1}')
    w.add(15, KIND_JSON, IN, "p-customer", json.dumps({"type": "chat.send", "text": "h\u00e9llo"}).encode())
    w.add(40, KIND_BINARY, OUT, "p1,p2", b"\x05\x00\xffframe")
    seg = tmp_path / "seg-000001.rec"
    await until(lambda: seg.exists() and len(parse_records(seg.read_bytes(), strict=False)[0]) == 3)
    data = seg.read_bytes()
    assert data[:8] == b"SHREC\x00\x01\n" == MAGIC
    length, crc = struct.unpack_from(">II", data, 8)           # the first record, by hand
    payload = data[16:16 + length]
    assert zlib.crc32(payload) == crc
    t_ms, kind, direction, n = struct.unpack_from(">QBBH", payload)
    assert (t_ms, kind, direction, payload[12:12 + n], payload[12 + n:]) == (
        0, 3, 0, b"", b'{"e":"part_start","part":1}')
    records, good = parse_records(data)
    assert good == len(data)
    assert [(r.t_ms, r.kind, r.direction, r.participant) for r in records] == [
        (0, 3, 0, ""), (15, 1, 1, "p-customer"), (40, 2, 0, "p1,p2")]
    assert records[2].body == b"\x05\x00\xffframe" and json.loads(records[1].body)["text"] == "h\u00e9llo"
    assert sink.closed == []                                   # still open: no row yet

    await w.close()
    [closed] = sink.closed
    assert (closed.name, closed.first_ms, closed.last_ms, closed.records) == ("seg-000001.rec", 0, 40, 3)
    assert closed.bytes == len(data) and closed.sha256 == hashlib.sha256(data).hexdigest()
    assert w.add(50, KIND_JSON, OUT, "", b"{}") is False        # closed: nothing more is taken


async def test_segments_rotate_every_ten_seconds_of_recording_and_at_four_mebibytes(tmp_path):
    sink = Sink()
    w = SegmentWriter(tmp_path, 7, sink.on_closed, sink.on_failed, sink.on_rotate, flush_every=0.2)
    for t in range(0, 25_000, 500):                            # 25 s of small messages
        w.add(t, KIND_JSON, OUT, "", b'{"type":"chat.message"}')
    big = b"x" * (1024 * 1024)
    for i in range(5):                                          # 5 MiB within one second
        w.add(25_000 + i, KIND_BINARY, OUT, "p1", big)
    await w.close()
    names = [f.name for f in sink.closed]
    assert names == [f"seg-{n:06d}.rec" for n in range(7, 7 + len(names))]
    assert [(f.first_ms, f.last_ms) for f in sink.closed[:3]] == [(0, 9500), (10_000, 19_500), (20_000, 25_002)]
    assert len(sink.closed) == 4 and sink.rotations == 3
    for f in sink.closed:
        data = (tmp_path / f.name).read_bytes()
        assert f.bytes == len(data) <= 4 * 1024 * 1024 + 64 and f.sha256 == hashlib.sha256(data).hexdigest()
        assert len(parse_records(data)[0]) == f.records


async def test_a_segment_cut_mid_record_is_closed_back_to_its_last_complete_record(tmp_path):
    sink = Sink()
    w = SegmentWriter(tmp_path, 1, sink.on_closed, sink.on_failed, flush_every=0.1)
    for t in range(5):
        w.add(t * 100, KIND_JSON, OUT, "", b'{"type":"chat.message","n":%d}' % t)
    await w.close()
    seg = tmp_path / "seg-000001.rec"
    whole = seg.read_bytes()
    seg.write_bytes(whole[:-7])                                 # a host killed in the middle of the last record
    (tmp_path / "seg-000002.rec").write_bytes(b"SHR")           # and one that never got its header
    [fixed] = close_leftover_segments(tmp_path, set())
    data = seg.read_bytes()
    assert (fixed.name, fixed.records, fixed.first_ms, fixed.last_ms) == ("seg-000001.rec", 4, 0, 300)
    assert fixed.bytes == len(data) < len(whole) and fixed.sha256 == hashlib.sha256(data).hexdigest()
    assert len(parse_records(data)[0]) == 4                    # strict reading: clean now
    assert not (tmp_path / "seg-000002.rec").exists()
    assert close_leftover_segments(tmp_path, {"seg-000001.rec"}) == []


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_a_full_disk_stops_the_writer_and_says_so(small_disk):
    sink = Sink()
    w = SegmentWriter(small_disk, 1, sink.on_closed, sink.on_failed, flush_every=0.1)
    frame = b"f" * 200_000
    t = 0
    async with asyncio.timeout(20):
        while not sink.failed:
            t += 100
            w.add(t, KIND_BINARY, OUT, "p1", frame)
            await asyncio.sleep(0.02)
    assert isinstance(sink.failed[0], OSError) and sink.failed[0].errno == 28
    assert w.add(t + 1, KIND_JSON, OUT, "", b"{}") is False
    await w.close()                                             # harmless after a failure
    closed = close_leftover_segments(small_disk, {f.name for f in sink.closed})
    for f in sink.closed + closed:
        assert len(parse_records((small_disk / f.name).read_bytes())[0]) == f.records
