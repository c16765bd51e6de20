"""The audit log: every privileged action (grants, control, transfers, admin changes)."""
from __future__ import annotations

import json
import time


def audit_row(db, site_id: int | None, actor: str, action: str, target: str = "", details: dict | None = None,
              now: float | None = None) -> None:
    # Plain SQL, as session_store.add_event (written on every privileged action, often in a hurry)
    db.execute("insert into audit_log (site_id, at, actor, action, target, details) values (?, ?, ?, ?, ?, ?)",
               [site_id, now or time.time(), actor, action, target, json.dumps(details or {})])


async def audit(app, site_id: int | None, actor: str, action: str, target: str = "", details: dict | None = None):
    from .appkeys import CONFIG, DB
    now = app[CONFIG].clock()
    await app[DB].write(lambda db: audit_row(db, site_id, actor, action, target, details, now))
