"""The host's copies of files fetched from customers are kept for the site's retention period after the
session ended (admin setting, hours), then deleted from disk; the row stays, marked deleted, for the record."""
from __future__ import annotations

import asyncio
import logging

from host import api

from .lifecycle import file_store
from .settings import retention_hours
from .storage import TransferStore

log = logging.getLogger("supporthost.filexfer_advanced")
EVERY_SECONDS = 300.0


async def run_once(app) -> list[str]:
    """One pass; returns the ids of the transfers whose copies it deleted."""
    now = api.now(app)
    store = file_store(app)
    due = []
    for site in list(api.sites(app).by_id.values()):
        cutoff = now - retention_hours(app, site) * 3600

        def find(db, site_id=site.id, cutoff=cutoff):
            return list(db.query(
                "select t.id, t.stored_name from advanced_transfers t join support_sessions s on s.id = t.session_id "
                "where t.site_id = ? and t.direction = 'to_rep' and t.status = 'done' and t.deleted_at is null "
                "and s.state = 'ended' and s.ended_at <= ?", [site_id, cutoff]))
        due += await api.database(app).read(find)
    loop = asyncio.get_running_loop()
    for row in due:
        if row["stored_name"]:
            await loop.run_in_executor(None, TransferStore.discard, -1, store.path_of(row["stored_name"]))
    if due:
        ids = [r["id"] for r in due]
        await api.database(app).write(lambda db: db.execute(
            f"update advanced_transfers set deleted_at = ? where id in ({','.join('?' * len(ids))})", [now, *ids]))
        log.info("deleted %d copies of customers' files whose retention ended", len(ids))
    return [r["id"] for r in due]


async def cleanup_loop(app) -> None:
    while True:
        try:
            await run_once(app)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("cleanup of transferred files failed; trying again later")
        await asyncio.sleep(EVERY_SECONDS)
