"""Recordings made for the player and export tests: segment files and their rows in the recorder's real tables
(the format of RECORDER.md), and screen frames made by the real screen encoder."""
from __future__ import annotations

import hashlib
import json
import math
import secrets
import struct

import av
import numpy as np

from agent.frames import make_binary
from plugin_libs.screenshare.pipeline import ScreenEncoder
from plugins.recorder import reader
from plugins.recorder.writer import encode_record

record = encode_record


def event(t_ms: int, **e) -> bytes:
    return encode_record(t_ms, reader.KIND_EVENT, 0, "", json.dumps(e).encode())


def chat(t_ms: int, text: str, sender: str = "p-rep") -> bytes:
    return encode_record(t_ms, reader.KIND_JSON, reader.IN, sender,
                         json.dumps({"type": "chat.say", "text": text}).encode())


def record_time(rec: bytes) -> int:
    return struct.unpack_from(">Q", rec, 8)[0]


def write_recording(db, root, site_id: int, segments: list[list[bytes]], open_last: bytes | None = None,
                    session_id: str = "sess-1", rep_user_id: int = 1, recording_id: str | None = None,
                    media: list[tuple[str, int, bytes]] = (), status: str = "complete",
                    part_starts: tuple[int, ...] = ()) -> str:
    """A recording with closed segments (each a list of records) and optionally a last one without its row
    (the host died), plus media files (name, first_ms, bytes) and later parts starting at ``part_starts``;
    ``db``: sqlite_utils with the recorder's tables. Returns its id."""
    rid = recording_id or secrets.token_urlsafe(16)[:22]
    folder = reader.recording_folder(root, site_id, rid)
    folder.mkdir(parents=True)
    last = max([record_time(r) for seg in segments for r in seg] + [0])
    db["recordings"].insert({"id": rid, "site_id": site_id, "session_id": session_id, "rep_user_id": rep_user_id,
                             "started_at": 1_800_000_000.0, "ended_at": 1_800_000_000.0 + last / 1000,
                             "status": status, "reason": "", "automatic": 0, "bytes": 0, "duration_ms": last,
                             "has_screen": 1, "has_media": int(bool(media))})
    starts = [0, *part_starts]
    for n, begin in enumerate(starts, 1):
        db["recording_parts"].insert({"recording_id": rid, "part": n, "started_ms": begin,
                                      "ended_ms": starts[n] if n < len(starts) else last,
                                      "started_by": "user:1", "stopped_by": "user:1", "stop_reason": "stopped"})
    for i, recs in enumerate(segments, 1):
        data = reader.MAGIC + b"".join(recs)
        (folder / f"seg-{i:06d}.rec").write_bytes(data)
        db["recording_files"].insert({"recording_id": rid, "name": f"seg-{i:06d}.rec", "kind": "segment",
                                      "first_ms": record_time(recs[0]), "last_ms": record_time(recs[-1]),
                                      "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                                      "records": len(recs)})
    if open_last is not None:
        (folder / f"seg-{len(segments) + 1:06d}.rec").write_bytes(reader.MAGIC + open_last)
    for name, first_ms, data in media:
        (folder / name).write_bytes(data)
        db["recording_files"].insert({"recording_id": rid, "name": name, "kind": "media", "first_ms": first_ms,
                                      "last_ms": first_ms, "bytes": len(data),
                                      "sha256": hashlib.sha256(data).hexdigest(), "records": 0})
    return rid


def split_segments(recs: list[bytes], segment_ms: int = 10_000) -> list[list[bytes]]:
    out: dict[int, list[bytes]] = {}
    for r in recs:
        out.setdefault(record_time(r) // segment_ms, []).append(r)
    return [out[k] for k in sorted(out)]


COLOURS = [("red", (255, 0, 0)), ("green", (0, 200, 0)), ("blue", (0, 0, 255)), ("yellow", (255, 255, 0))]


def colour_at(t_ms: int, period_ms: int = 2000) -> tuple[str, tuple[int, int, int]]:
    return COLOURS[(t_ms // period_ms) % len(COLOURS)]


def screen_recording(seconds: float, w: int = 1920, h: int = 1080, fps: int = 10, period_ms: int = 2000,
                     agent: str = "p-agent", busy: bool = True) -> list[bytes]:
    """Records of a shared screen encoded by the real ScreenEncoder: the background is colour_at(t), a noisy
    band moves down the screen (photo-like tiles every frame), a key event at the start of each 10 s followed by
    a whole picture (as the sharer answers the recorder's refresh); the other frames carry only changes."""
    enc = ScreenEncoder()
    rng = np.random.default_rng(7)
    frame = np.zeros((h, w, 4), np.uint8)
    recs, seq = [], 0
    for i in range(int(seconds * fps)):
        t = i * 1000 // fps
        if t % 10_000 == 0:
            recs.append(event(t, e="key"))
            enc.reset()                   # the sharer's answer to the refresh: the next frame is whole
        r, g, b = colour_at(t, period_ms)[1]
        frame[:, :, :3] = (b, g, r)
        if busy:
            y = (i * 7) % max(1, h - 100)
            frame[y:y + 100, 40:640, :3] = rng.integers(0, 255, (100, 600, 3), dtype=np.uint8)
        chunks = enc.encode(frame)
        seq += 1
        for c, chunk in enumerate(chunks):
            header = {"type": "desktop.frame", "seq": seq, "t": t}
            if len(chunks) > 1:
                header.update(c=c, n=len(chunks))
            if c == 0:
                header.update(w=w, h=h, mon=1)
            recs.append(encode_record(t, reader.KIND_BINARY, reader.IN, agent, make_binary(header, chunk)))
    return recs


def sine_webm(path, seconds: float, hz: float = 440.0):
    """A real Opus media file (as a media track file), of a tone."""
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        n = int(seconds * 48000)
        pcm = (np.sin(2 * math.pi * hz * np.arange(n) / 48000) * 12000).astype(np.int16)
        for pos in range(0, n - 959, 960):
            frame = av.AudioFrame.from_ndarray(pcm[pos:pos + 960].reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate, frame.pts = 48000, pos
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path.read_bytes()
