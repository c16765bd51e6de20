"""Deleting published files when their retention ends: a session's files are kept for the site's
retention period after the session ended (admin setting, hours), then deleted from disk; the row stays,
marked deleted, for the activity report."""
from __future__ import annotations

import asyncio
import logging

from host import api

from .views import PLUGIN, file_store

log = logging.getLogger("supporthost.filexfer_basic")
EVERY_SECONDS = 300.0
STALE_TEMP_SECONDS = 24 * 3600.0


async def run_once(app) -> list[str]:
    """One cleanup pass; returns the ids of the files it deleted."""
    now = api.now(app)
    store_ = file_store(app)
    loop = asyncio.get_running_loop()
    due = []
    for site in list(api.sites(app).by_id.values()):
        hours = api.setting(app, site, PLUGIN, "retention_hours")
        cutoff = now - float(24 if hours is None else hours) * 3600

        def find(db, site_id=site.id, cutoff=cutoff):
            return list(db.query(
                "select f.id, f.stored_name from published_files f join support_sessions s on s.id = f.session_id "
                "where f.site_id = ? and f.deleted_at is null and s.state = 'ended' and s.ended_at <= ?",
                [site_id, cutoff]))
        due += await api.database(app).read(find)
    for row in due:
        await loop.run_in_executor(None, store_.discard, store_.path_of(row["stored_name"]))
    if due:
        ids = [r["id"] for r in due]

        def mark(db):
            db.execute(f"update published_files set deleted_at = ?, delete_reason = 'retention' "
                       f"where id in ({','.join('?' * len(ids))})", [now, *ids])
        await api.database(app).write(mark)
        log.info("deleted %d published files whose retention ended", len(ids))
    await loop.run_in_executor(None, store_.remove_stale_temps, STALE_TEMP_SECONDS)
    return [r["id"] for r in due]


async def cleanup_loop(app) -> None:
    while True:
        try:
            await run_once(app)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("cleanup of published files failed; trying again later")
        await asyncio.sleep(EVERY_SECONDS)
