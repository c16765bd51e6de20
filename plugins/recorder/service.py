"""Recording a live session: one recording per session, each Record..Stop span (or span cut by a host restart)
a part of it laid end to end on the recording's own clock. The traffic observer turns each message and frame
into a record of the segment writer; chapters come from the traffic itself.
"""
from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import time
from dataclasses import dataclass, field

from host.api import (DISK_FULL, call_hook, database, event_and_audit, is_disk_full, now, observe_traffic,
                      plugin_data_dir, plugin_state, private_folder, sessions, setting, site_by_id)

from .chapters import Chapters
from .media_recording import MediaRecording
from .reader import recording_folder
from .writer import IN, KIND_BINARY, KIND_EVENT, KIND_JSON, OUT, SegmentWriter, close_leftover_segments

log = logging.getLogger("supporthost.recorder")
PLUGIN = "recorder"


def new_recording_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")   # 22 characters


def recordings_root(app):
    return plugin_data_dir(app, PLUGIN)


@dataclass
class SessionRecorder:
    """The recorder's state of one live session (api.plugin_state)."""
    active: "ActiveRecording | None" = None
    asking: dict | None = None          # waiting for the customer's Allow/Deny: {"by": participant id, "name"}
    automatic: bool = False             # the primary rep's sessions are all recorded (an admin's switch)
    reason: str | None = None           # why the last part stopped, when it was not somebody's Stop
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def state_of(live) -> SessionRecorder:
    return plugin_state(live, PLUGIN, SessionRecorder)


def public_state(live) -> dict:
    st = state_of(live)
    return {"type": "recorder.state", "recording": st.active is not None, "automatic": st.automatic,
            "asking": st.asking is not None, "asking_by": st.asking.get("name") if st.asking else None,
            "reason": st.reason,
            "recording_id": st.active.id if st.active else None}


def announce(app, live) -> None:
    sessions(app).broadcast(live, public_state(live))


class ActiveRecording:
    """One part being recorded: the traffic observer and the segment writer."""

    def __init__(self, app, live, recording_id: str, part: int, offset_ms: int, folder, first_segment: int):
        self.app, self.live, self.id, self.part, self.offset_ms = app, live, recording_id, part, offset_ms
        self.folder = folder
        site = site_by_id(app, live.site_id)
        self.site = site
        self.file_contents = bool(setting(app, site, PLUGIN, "record_file_contents", False))
        self.has_screen = False
        self.chapters = Chapters(live)
        self._mono0 = time.monotonic()
        self.writer = SegmentWriter(folder, first_segment, self._closed, self._failed, self._rotated)
        self._unsubscribe = observe_traffic(app, live.id, self)
        self.media = MediaRecording(app, live, recording_id, folder, part, self.now_ms)   # calls (rec-media)

    def now_ms(self, t: float | None = None) -> int:
        return self.offset_ms + max(0, int(((time.monotonic() if t is None else t) - self._mono0) * 1000))

    def event(self, body: dict, t_ms: int | None = None) -> None:
        self.writer.add(self.now_ms() if t_ms is None else t_ms, KIND_EVENT, OUT, "",
                        json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())

    def __call__(self, record) -> None:
        """The traffic observer: one record per message or frame (on the event loop; never blocks)."""
        t_ms = self.now_ms(record.t)
        if record.kind == "binary":
            # Frames are kept once, as their sender sent them (the agent's whole stream, each delta after the
            # one it builds on); what the host forwards of them to each viewer (an "out" frame naming the
            # participant it is "from") is not kept again. The host's own frames (e.g. a file relayed to the
            # Support Manager) have no "from" and are kept, to their recipients.
            frame = record.frame
            head = frame[1:1 + frame[0]] if frame else b""
            if record.direction == "out" and b'"from":' in head:
                return
            if b'"tid"' in head and not self.file_contents:
                return          # a file's contents: only with the admin's opt-in
            if b'.frame"' in head:
                self.has_screen = True
            if record.direction == "out":
                self.writer.add(t_ms, KIND_BINARY, OUT, ",".join(record.to or ()), frame)
            else:
                self.writer.add(t_ms, KIND_BINARY, IN, record.participant_id or "", frame)
            return
        text = record.text if record.text is not None else json.dumps(record.message, separators=(",", ":"))
        if record.direction == "in":
            self.writer.add(t_ms, KIND_JSON, IN, record.participant_id or "", text.encode())
        else:
            self.writer.add(t_ms, KIND_JSON, OUT, ",".join(record.to) if record.to else "", text.encode())
        for chapter in self.chapters.of(record):
            self.event({"e": "chapter", **chapter}, t_ms)

    def start(self) -> None:
        self.event({"e": "part_start", "part": self.part,
                    "participants": [p.public() for p in self.live.participants.values()]})
        self.refresh()
        self._media_start = asyncio.get_running_loop().create_task(self.media.start())   # (rec-media)

    def refresh(self) -> None:
        self.event({"e": "key"})
        asyncio.get_running_loop().create_task(call_hook(self.app, "traffic_refresh", self.site,
                                                         app=self.app, session=self.live))

    def _rotated(self) -> None:
        self.refresh()

    async def _closed(self, files) -> None:
        rows = [f.row(self.id) for f in files]
        await database(self.app).write(lambda db: db["recording_files"].upsert_all(rows, pk=("recording_id", "name")))

    async def _failed(self, exc: BaseException) -> None:
        reason = DISK_FULL if is_disk_full(exc) else f"Recording stopped: the server could not write it ({exc})."
        log.error("recording %s of session %s stopped: %s", self.id, self.live.id, exc)
        await stop(self.app, self.live, None, reason=reason, failed=True)

    async def finish(self, reason: str) -> int:
        """Stop observing, write the part's end and close the files; returns the part's end (ms)."""
        self._unsubscribe()
        await self.media.stop(reason)   # leaves the calls, registers the media files (rec-media)
        end_ms = self.now_ms()
        self.event({"e": "part_end", "part": self.part, "reason": reason}, end_ms)
        await self.writer.close()
        if self.writer.failed is not None:
            known = await database(self.app).read(lambda db: {r["name"] for r in db.query(
                "select name from recording_files where recording_id = ?", [self.id])})
            loop = asyncio.get_running_loop()
            left = await loop.run_in_executor(None, close_leftover_segments, self.folder, known)
            if left:
                await self._closed(left)
        return end_ms


def _actor(by) -> str:
    if by is None:
        return "host"
    return f"user:{by.user_id}" if by.user_id is not None else f"participant:{by.id}"


async def start(app, live, by, automatic: bool = False, why: str = "") -> ActiveRecording:
    """Start a part of the session's recording (a new recording on the first one)."""
    st = state_of(live)
    async with st.lock:
        if st.active is not None:
            return st.active
        at = now(app)
        rep = live.primary()
        details_extra = {"automatic": automatic, **({"why": why} if why else {})}

        def write(db):
            row = next(db.query("select * from recordings where session_id = ? order by started_at desc limit 1",
                                [live.id]), None)
            if row is None:
                rid, part, offset = new_recording_id(), 1, 0
                db["recordings"].insert({
                    "id": rid, "site_id": live.site_id, "session_id": live.id,
                    "rep_user_id": rep.user_id if rep else None, "started_at": at, "ended_at": None,
                    "status": "recording", "reason": None, "automatic": int(automatic), "bytes": 0,
                    "duration_ms": 0, "has_screen": 0, "has_media": 0})
            else:
                rid, offset = row["id"], row["duration_ms"] or 0
                part = (next(db.query("select max(part) as n from recording_parts where recording_id = ?",
                                      [rid]))["n"] or 0) + 1
                db["recordings"].update(rid, {"status": "recording", "ended_at": None, "reason": None,
                                              "automatic": int(automatic or row["automatic"])})
            db["recording_parts"].insert({"recording_id": rid, "part": part, "started_ms": offset, "ended_ms": None,
                                          "started_by": by.name if by else "host", "stopped_by": None,
                                          "stop_reason": None})
            event_and_audit(db, live, at, "recording_started", by.id if by else None,
                            {"recording": rid, "part": part, **details_extra}, actor=_actor(by),
                            action="recording.started", target=f"recording:{rid}")
            return rid, part, offset
        rid, part, offset = await database(app).write(write)
        loop = asyncio.get_running_loop()
        folder = private_folder(recording_folder(recordings_root(app), live.site_id, rid))
        first = await loop.run_in_executor(None, _next_segment_number, folder)
        st.active = ActiveRecording(app, live, rid, part, offset, folder, first)
        st.asking, st.reason = None, None
        st.active.start()
    announce(app, live)
    return st.active


def _next_segment_number(folder) -> int:
    numbers = [int(p.name[4:10]) for p in folder.glob("seg-*.rec")]
    return max(numbers, default=0) + 1


async def stop(app, live, by, reason: str = "stopped", failed: bool = False) -> bool:
    """End the part being recorded (the recording stays, to go on with a next part). False: none was."""
    st = state_of(live)
    async with st.lock:
        rec = st.active
        if rec is None:
            return False
        st.active = None
        end_ms = await rec.finish(reason)
        at = now(app)
        status = "failed" if failed else "complete"

        def write(db):
            db.execute("update recording_parts set ended_ms = ?, stopped_by = ?, stop_reason = ? "
                       "where recording_id = ? and part = ?",
                       [end_ms, by.name if by else "host", reason, rec.id, rec.part])
            total = next(db.query("select coalesce(sum(bytes), 0) as b from recording_files where recording_id = ?",
                                  [rec.id]))["b"]
            db.execute("update recordings set status = ?, ended_at = ?, duration_ms = ?, bytes = ?, reason = ?, "
                       "has_screen = max(coalesce(has_screen, 0), ?) where id = ?",
                       [status, at, end_ms, total, reason if failed else None, int(rec.has_screen), rec.id])
            event_and_audit(db, live, at, "recording_stopped", by.id if by else None,
                            {"recording": rec.id, "part": rec.part, "reason": reason}, actor=_actor(by),
                            action="recording.failed" if failed else "recording.stopped",
                            target=f"recording:{rec.id}")
        await database(app).write(write)
        if failed:
            st.reason = reason
    if live.state != "ended":
        announce(app, live)
    return True
