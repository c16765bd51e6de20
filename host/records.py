"""A session's record: its row, plus the columns every enabled plugin adds (hook ``session_record``).

The hook gets a synchronous sqlite_utils database, so all implementations run together on a reader
thread (``db.read``), never on the event loop. One plugin's error never spoils the record.
"""
from __future__ import annotations

import inspect
import logging

from .appkeys import DB, PLUGINS, SITES
from .plugins import call_impl

log = logging.getLogger("supporthost.records")


async def session_record(app, session_id: str) -> dict | None:
    """The record of one session (ended or not), or None when there is no such session."""
    db = app[DB]

    def load_row(sync_db):
        return next(sync_db.query("select * from support_sessions where id = ?", [session_id]), None)
    row = await db.read(load_row)
    if row is None:
        return None
    site = app[SITES].by_id.get(row["site_id"])
    disabled = site.disabled if site is not None else frozenset()
    # Which plugins are asked is decided here, on the event loop; only their calls go to the thread.
    impls = list(reversed(app[PLUGINS].hook("session_record", disabled).get_hookimpls()))

    def collect(sync_db):
        record = dict(row)
        for impl in impls:
            try:
                value = call_impl(impl, app=app, session=dict(row), db=sync_db)
            except Exception:
                log.exception("plugin %s: session_record failed for session %s", impl.plugin_name, session_id)
                continue
            if inspect.isawaitable(value):
                if hasattr(value, "close"):
                    value.close()
                log.error("plugin %s: session_record must return a dict, not an awaitable (it runs on a "
                          "database thread)", impl.plugin_name)
                continue
            if value is None:
                continue
            if not isinstance(value, dict):
                log.error("plugin %s: session_record returned %s, not a dict", impl.plugin_name,
                          type(value).__name__)
                continue
            for key, item in value.items():
                # A plugin never overwrites the session's own columns or another plugin's.
                record[key if key not in record else f"{impl.plugin_name}.{key}"] = item
        return record
    return await db.read(collect)
