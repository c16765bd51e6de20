"""At start-up: recordings a stopped host left open (status 'recording') are closed as 'interrupted' (the last
segment cut back to its last complete record and hashed); a session still live goes on as a new part."""
from __future__ import annotations

import asyncio
import logging

from host.api import audit_row, database, now, sessions

from . import service
from .reader import recording_folder
from .writer import close_leftover_segments

log = logging.getLogger("supporthost.recorder")


async def close_interrupted(app) -> list[dict]:
    db = database(app)
    rows = await db.read(lambda d: list(d.query("select * from recordings where status = 'recording'")))
    loop = asyncio.get_running_loop()
    root = service.recordings_root(app)
    for row in rows:
        rid = row["id"]
        known = await db.read(lambda d: {r["name"] for r in d.query(
            "select name from recording_files where recording_id = ?", [rid])})
        folder = recording_folder(root, row["site_id"], rid)
        left = await loop.run_in_executor(None, close_leftover_segments, folder, known)
        at = now(app)

        def write(d, row=row, left=left, at=at):
            d["recording_files"].upsert_all([f.row(row["id"]) for f in left], pk=("recording_id", "name"))
            end = next(d.query("select coalesce(max(last_ms), 0) as m, coalesce(sum(bytes), 0) as b "
                               "from recording_files where recording_id = ?", [row["id"]]))
            d.execute("update recording_parts set ended_ms = ?, stopped_by = 'host', stop_reason = ? "
                      "where recording_id = ? and ended_ms is null", [end["m"], "interrupted: the host stopped", row["id"]])
            d["recordings"].update(row["id"], {"status": "interrupted", "ended_at": at, "duration_ms": end["m"],
                                               "bytes": end["b"], "reason": "The host stopped during the recording."})
            audit_row(d, row["site_id"], "host", "recording.interrupted", f"recording:{row['id']}",
                      {"session": row["session_id"], "kept_ms": end["m"]}, at)
        await db.write(write)
        log.warning("recording %s was interrupted by a host stop; closed", rid)
    return rows


async def resume_live_sessions(app, rows: list[dict]) -> None:
    """The sessions of interrupted recordings that are not over go on being recorded, as a new part."""
    for row in rows:
        live = await sessions(app).get(row["session_id"])
        if live is not None and live.state != "ended":
            service.state_of(live).automatic = bool(row["automatic"])
            await service.start(app, live, None, automatic=bool(row["automatic"]), why="the host restarted")
