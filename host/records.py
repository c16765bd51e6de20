"""A session's record: its row, plus the columns every enabled plugin adds (hook ``session_record``).

The hook gets the session as every session hook does (a ``Session``: the live one while it is live, else
one made from its row, without participants) and a synchronous sqlite_utils database, so all
implementations run together on a reader thread (``db.read``), never on the event loop. One plugin's
error never spoils the record.

A plugin's result is a dict of columns. Under the key ``"shown_as"`` it may name the report's own
columns its columns fill (``{"notes": "notes"}``, ``{"webacd_queue": "queue"}``; SHOWN lists them);
its other columns are extra columns. The report's own columns go to the plugins shipped with
supporthost first, then to the first plugin in load order; another plugin's column of the same name
is kept under ``<plugin>.<key>``.
"""
from __future__ import annotations

import inspect
import json
import logging

from .appkeys import DB, HUB, PLUGINS, SITES
from .hub import LiveSession
from .plugins import call_impl

log = logging.getLogger("supporthost.records")
SHOWN_AS = "shown_as"
SHOWN = ("queue", "wait", "transfers", "invites", "files", "notes")   # the report's own columns


def session_of(app, row: dict) -> LiveSession:
    """The Session that session_record gets for this row: the live one, else one made from the row
    (without participants). Safe on a database thread: it only looks one session up."""
    live = app[HUB].sessions.get(row["id"])
    if live is not None:
        return live
    meta = row.get("meta")
    return LiveSession(row["id"], row["site_id"], row["number"], row["kind"], row["state"], row["created_at"],
                       json.loads(meta) if isinstance(meta, str) and meta else {})


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
    session = session_of(app, row)

    def collect(sync_db):
        return collect_columns(app, impls, row, sync_db, session)[0]
    return await db.read(collect)


def _builtin_first(app, plugins: list[str]) -> list[str]:
    info = app[PLUGINS].info
    shipped = [p for p in plugins if p in info and info[p].module.split(".")[0] == "plugins"]
    return shipped + [p for p in plugins if p not in shipped]


def _results(app, impls, row: dict, session, sync_db) -> list[tuple[str, dict, dict]]:
    """Each plugin's (name, columns, shown_as) for the session, in the order of ``impls``."""
    out = []
    for impl in impls:
        try:
            value = call_impl(impl, app=app, session=session, db=sync_db)
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
        value = dict(value)
        shown = value.pop(SHOWN_AS, None) or {}
        if not isinstance(shown, dict):
            log.error("plugin %s: session_record's %r must be a dict of column -> report column",
                      impl.plugin_name, SHOWN_AS)
            shown = {}
        shown = {k: v for k, v in shown.items() if k in value and v in SHOWN}
        out.append((impl.plugin_name, value, shown))
    return out


def collect_columns(app, impls, row: dict, sync_db, session=None) -> tuple[dict, dict[str, str]]:
    """``row`` and the columns every plugin in ``impls`` adds for it (on a database thread), and which
    key of that record fills each of the report's own columns (report column -> key).

    A key already in the record is stored as ``<plugin>.<key>``: a plugin never overwrites the session's
    own columns or another plugin's. A column a plugin shows as one of the report's own columns belongs
    to it: its value takes the plain key whatever order the plugins were called in."""
    if session is None:
        session = session_of(app, row)
    record = dict(row)
    added = _results(app, impls, row, session, sync_db)
    claims: dict[str, tuple[str, str]] = {}      # report column -> (plugin, key)
    order = _builtin_first(app, [plugin for plugin, _v, shown in added if shown])
    by_plugin = {plugin: shown for plugin, _v, shown in added}
    for plugin in order:
        for key, column in by_plugin[plugin].items():
            claims.setdefault(column, (plugin, key))
    owners = {key: plugin for plugin, key in claims.values()}
    placed: dict[tuple[str, str], str] = {}
    for plugin, value, _shown in added:            # the owned keys first, from their owners
        for key, item in value.items():
            if owners.get(key) == plugin and key not in record:
                record[key] = item
                placed[(plugin, key)] = key
    for plugin, value, _shown in added:
        for key, item in value.items():
            if (plugin, key) in placed:
                continue
            free = key not in record and owners.get(key, plugin) == plugin
            name = key if free else f"{plugin}.{key}"
            record[name] = item
            placed[(plugin, key)] = name
    shown = {column: placed[claim] for column, claim in claims.items() if claim in placed}
    return record, shown
