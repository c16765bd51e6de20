"""Deleting recordings: one on request (audited), and every recording older than its site's retention_days,
by a background task (the host's clock, so tests move it)."""
from __future__ import annotations

import asyncio
import shutil

from host.api import audit_row, database, now, setting, sites

from . import service
from .reader import recording_folder

CHECK_EVERY = 3600.0     # seconds between two sweeps


async def delete_recording(app, row: dict, actor: str, why: str) -> None:
    """Its files, then its rows, with an audit row (one transaction)."""
    folder = recording_folder(service.recordings_root(app), row["site_id"], row["id"])
    await asyncio.get_running_loop().run_in_executor(None, shutil.rmtree, folder, True)
    at = now(app)

    def write(db):
        for table in ("recording_files", "recording_parts"):
            db.execute(f"delete from {table} where recording_id = ?", [row["id"]])
        db.execute("delete from recordings where id = ?", [row["id"]])
        audit_row(db, row["site_id"], actor, "recording.deleted", f"recording:{row['id']}",
                  {"session": row["session_id"], "why": why, "bytes": row.get("bytes") or 0}, at)
    await database(app).write(write)


async def purge_expired(app) -> int:
    """Delete the finished recordings older than their site's retention; returns how many."""
    at = now(app)
    count = 0
    for site in list(sites(app).by_id.values()):
        if "recorder" in site.disabled:
            continue
        days = setting(app, site, "recorder", "retention_days", 90)
        cutoff = at - days * 86400
        rows = await database(app).read(lambda db, s=site.id, c=cutoff: list(db.query(
            "select * from recordings where site_id = ? and status != 'recording' and started_at < ?", [s, c])))
        for row in rows:
            await delete_recording(app, row, "host", f"older than {days} days (retention)")
            count += 1
    return count


async def retention_loop(app, every: float = CHECK_EVERY) -> None:
    while True:
        await purge_expired(app)
        await asyncio.sleep(every)
