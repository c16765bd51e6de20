"""The audit log: every privileged action (grants, control, transfers, admin changes)."""
from __future__ import annotations

import json
import time


def audit_row(db, site_id: int | None, actor: str, action: str, target: str = "", details: dict | None = None,
              now: float | None = None) -> None:
    db["audit_log"].insert({"site_id": site_id, "at": now or time.time(), "actor": actor, "action": action,
                            "target": target, "details": json.dumps(details or {})})


async def audit(app, site_id: int | None, actor: str, action: str, target: str = "", details: dict | None = None):
    from .appkeys import CONFIG, DB
    now = app[CONFIG].clock()
    await app[DB].write(lambda db: audit_row(db, site_id, actor, action, target, details, now))
