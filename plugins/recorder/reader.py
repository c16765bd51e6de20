"""Reading a recording back: its files in order, the records of a segment, checks that nothing was changed or
cut, chapters, and which segment holds a moment (for seeking). Used by the player's endpoints, the export and
the CLI. Everything here is synchronous file and database work: callers run it off the event loop.

Segment format (docs in RECORDER.md): an 8-byte file header, then records ``>I length, >I crc32, payload``,
the payload being ``>Q t_ms, >B kind, >B direction, >H n, n bytes participant, body``.

Two kinds of damage are told apart:
- a *closed* file (it has its ``recording_files`` row with size and SHA-256) that differs in any byte or
  length was tampered with or truncated: RecordingDamaged, with a message naming the file and the time;
- the *last* file of a recording that was still open when the host died (no row yet) may end in a cut
  record: reading simply stops at the last complete record with a good checksum.
"""
from __future__ import annotations

import bisect
import hashlib
import json
import re
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

MAGIC = b"SHREC\x00\x01\n"
RECORD_HEAD = struct.Struct(">II")        # payload length, crc32 of the payload
PAYLOAD_HEAD = struct.Struct(">QBBH")     # t_ms, kind, direction, participant id length
KIND_JSON, KIND_BINARY, KIND_EVENT = 1, 2, 3
OUT, IN = 0, 1
RECORDING_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
SEGMENT_NAME = re.compile(r"^seg-\d{6}\.rec$")
MAX_RECORD = 64 * 1024 * 1024             # a length above this is garbage, never a record


class RecordingDamaged(Exception):
    """A file of the recording is missing, truncated or changed since it was written (the message says which
    and from what time on the recording cannot be trusted)."""


@dataclass
class Record:
    t_ms: int
    kind: int
    direction: int
    participant: str
    body: bytes

    def json(self) -> dict | None:
        """The message or event of a kind 1 or 3 record (None when it is not a JSON object)."""
        if self.kind == KIND_BINARY:
            return None
        try:
            value = json.loads(self.body)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


@dataclass
class RecordingFile:
    name: str
    kind: str                 # "segment" or "media"
    first_ms: int
    last_ms: int
    bytes: int
    sha256: str | None        # None: the open (or interrupted, never closed) last segment
    records: int | None
    path: Path

    @property
    def closed(self) -> bool:
        return self.sha256 is not None


@dataclass
class RecordingIndex:
    id: str
    row: dict
    folder: Path
    parts: list[dict]
    segments: list[RecordingFile]
    media: list[RecordingFile]
    duration_ms: int
    _starts: list[int] = field(default_factory=list, repr=False)

    def segment_at(self, t_ms: int) -> int:
        """The position in ``segments`` of the segment holding the moment ``t_ms`` (0 before the first)."""
        if not self._starts:
            self._starts = [s.first_ms for s in self.segments]
        return max(0, bisect.bisect_right(self._starts, t_ms) - 1)


def recording_folder(root: Path, site_id: int, recording_id: str) -> Path:
    """``<root>/<site_id>/<recording_id>``; ValueError for an id that is not a recording id."""
    if not isinstance(recording_id, str) or not RECORDING_ID.match(recording_id):
        raise ValueError("not a recording id")
    return Path(root) / str(int(site_id)) / recording_id


# -- records ---------------------------------------------------------------------------------------
def parse_records(data: bytes, name: str = "segment", strict: bool = True) -> tuple[list[Record], int]:
    """The records of a segment file's bytes, and how many bytes of it are complete records (with the
    header). ``strict``: a bad checksum is damage (RecordingDamaged); otherwise (the open last segment) the
    records stop there, like at a record cut short."""
    if data[:len(MAGIC)] != MAGIC:
        raise RecordingDamaged(f"{name} is not a recording segment (its header is wrong)")
    out: list[Record] = []
    pos, end = len(MAGIC), len(data)
    view = memoryview(data)
    while pos + RECORD_HEAD.size <= end:
        length, crc = RECORD_HEAD.unpack_from(data, pos)
        start = pos + RECORD_HEAD.size
        if length > MAX_RECORD or start + length > end:
            if strict:
                raise RecordingDamaged(f"{name} is cut short in the record at byte {pos}")
            break
        payload = view[start:start + length]
        if zlib.crc32(payload) != crc or length < PAYLOAD_HEAD.size:
            if strict:
                raise RecordingDamaged(f"{name}: the record at byte {pos} was changed (bad checksum)")
            break
        t_ms, kind, direction, n = PAYLOAD_HEAD.unpack_from(payload)
        head = PAYLOAD_HEAD.size
        participant = bytes(payload[head:head + n]).decode("utf-8", "replace")
        out.append(Record(t_ms, kind, direction, participant, bytes(payload[head + n:])))
        pos = start + length
    if strict and pos != end:
        raise RecordingDamaged(f"{name} is cut short in the record at byte {pos}")
    return out, pos


def check_file(f: RecordingFile) -> bytes:
    """The bytes of a closed file after checking its size and SHA-256 against its row; of the open last
    segment, the complete records only. RecordingDamaged when missing, truncated or changed."""
    try:
        data = f.path.read_bytes()
    except FileNotFoundError:
        raise RecordingDamaged(f"{f.name} is missing: the recording cannot be played from {clock(f.first_ms)} on")
    if not f.closed:
        return data[:parse_records(data, f.name, strict=False)[1]] if f.kind == "segment" else data
    if len(data) != f.bytes:
        raise RecordingDamaged(f"{f.name} was truncated or changed ({len(data)} bytes, {f.bytes} were written): "
                               f"the recording cannot be trusted from {clock(f.first_ms)} on")
    if hashlib.sha256(data).hexdigest() != f.sha256:
        raise RecordingDamaged(f"{f.name} was changed after it was written (its SHA-256 does not match): "
                               f"the recording cannot be trusted from {clock(f.first_ms)} on")
    return data


def read_segment(f: RecordingFile) -> list[Record]:
    """The records of a segment, checked (RecordingDamaged when it was tampered with)."""
    data = check_file(f)
    return parse_records(data, f.name, strict=f.closed)[0]


def verify(index: RecordingIndex) -> list[str]:
    """Check every file of a recording; the problems found (empty when it is intact)."""
    problems = []
    for f in index.segments + index.media:
        try:
            check_file(f)
        except RecordingDamaged as exc:
            problems.append(str(exc))
    return problems


def clock(t_ms: int) -> str:
    """A recording-clock time as the player shows it: 1:05 or 1:02:03."""
    s = max(0, int(t_ms)) // 1000
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


# -- the index -------------------------------------------------------------------------------------
def load_index(db, root: Path, recording_id: str, site_id: int | None = None) -> RecordingIndex | None:
    """A recording's parts and files from the database (``db``: sqlite_utils, call it on a database
    thread) and its folder; the open last segment, which has no row yet, is found on disk. None when there
    is no such recording (in ``site_id`` when given)."""
    if not isinstance(recording_id, str) or not RECORDING_ID.match(recording_id):
        return None
    row = next(db.query("select * from recordings where id = ?", [recording_id]), None)
    if row is None or (site_id is not None and row["site_id"] != site_id):
        return None
    folder = recording_folder(root, row["site_id"], recording_id)
    parts = list(db.query("select * from recording_parts where recording_id = ? order by part", [recording_id]))
    files = list(db.query("select * from recording_files where recording_id = ? order by first_ms, name",
                          [recording_id]))
    segments, media = [], []
    for r in files:
        f = RecordingFile(r["name"], r["kind"], r["first_ms"] or 0, r["last_ms"] or 0, r["bytes"] or 0,
                          r["sha256"], r.get("records"), folder / r["name"])
        (segments if r["kind"] == "segment" else media).append(f)
    segments.sort(key=lambda s: s.name)
    known = {s.name for s in segments}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if SEGMENT_NAME.match(path.name) and path.name not in known and path.name > max(known, default=""):
                segments.append(_open_segment(path))
    duration = max([row.get("duration_ms") or 0] + [s.last_ms for s in segments + media])
    return RecordingIndex(recording_id, row, folder, parts, segments, media, duration)


def _open_segment(path: Path) -> RecordingFile:
    """The last segment, still open or left by a killed host: times from its complete records."""
    data = path.read_bytes()
    try:
        records, good = parse_records(data, path.name, strict=False)
    except RecordingDamaged:
        records, good = [], 0
    first = records[0].t_ms if records else 0
    last = records[-1].t_ms if records else 0
    return RecordingFile(path.name, "segment", first, last, good, None, len(records), path)


def chapters_in(records: list[Record]) -> list[dict]:
    """The chapters (kind 3 ``chapter`` events) among records: ``{"t": ms, "label": ..., "type": ...}``."""
    out = []
    for rec in records:
        if rec.kind == KIND_EVENT:
            event = rec.json() or {}
            if event.get("e") == "chapter":
                out.append({"t": rec.t_ms, "label": str(event.get("label", "")), "type": str(event.get("type", ""))})
    return out


def chapters(index: RecordingIndex) -> list[dict]:
    """The chapters of the whole recording, in time order. Raises RecordingDamaged for a tampered file."""
    return [c for f in index.segments for c in chapters_in(read_segment(f))]


def records_from(index: RecordingIndex, first_segment: int = 0):
    """Every record from the segment at ``first_segment`` to the end, in order (generator)."""
    for f in index.segments[first_segment:]:
        yield from read_segment(f)
