"""A session's record: its row, plus the columns every enabled plugin adds (hook ``session_record``).

The hook gets a synchronous sqlite_utils database, so all implementations run together on a reader
thread (``db.read``), never on the event loop. One plugin's error never spoils the record.
"""
from __future__ import annotations

import inspect
import logging
from typing import Mapping

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
        return collect_columns(app, impls, row, sync_db)
    return await db.read(collect)


def collect_columns(app, impls, row: dict, sync_db, owners: Mapping[str, str] | None = None) -> dict:
    """``row`` and the columns every plugin in ``impls`` adds for it (on a database thread).

    A key already in the record is stored as ``<plugin>.<key>``: a plugin never overwrites the session's
    own columns or another plugin's. A key named in ``owners`` (key -> plugin) belongs to that plugin: its
    value takes the plain key whatever order the plugins were called in, another plugin's goes under its
    prefix. One plugin's error never spoils the record."""
    owners = owners or {}
    record = dict(row)
    added: list[tuple[str, dict]] = []
    for impl in impls:
        try:
            value = call_impl(impl, app=app, session=dict(row), db=sync_db)
        except Exception:
            log.exception("plugin %s: session_record failed for session %s", impl.plugin_name, row.get("id"))
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
            log.error("plugin %s: session_record returned %s, not a dict", impl.plugin_name, type(value).__name__)
            continue
        added.append((impl.plugin_name, value))
    placed: set[tuple[str, str]] = set()
    for plugin, value in added:            # the owned keys first, from their owners
        for key, item in value.items():
            if owners.get(key) == plugin and key not in record:
                record[key] = item
                placed.add((plugin, key))
    for plugin, value in added:
        for key, item in value.items():
            if (plugin, key) in placed:
                continue
            free = key not in record and owners.get(key, plugin) == plugin
            record[key if free else f"{plugin}.{key}"] = item
    return record
