"""The report's rows: each session of the site in the date range with its people and times (from the
host's tables) and the columns plugins add through the session_record hook (api.report_columns). A
plugin's result names the report's own columns its columns fill ("shown_as"); the rest are extra columns."""
from __future__ import annotations

import json

from host import api

from .filters import Filters

MAX_SESSIONS = 5000
CORE = {"id", "site_id", "number", "kind", "state", "created_by", "created_at", "started_at", "ended_at",
        "ended_by", "meta"}
COLUMNS = [("started", "Start"), ("ended", "End"), ("duration", "Duration"), ("reps", "Rep(s)"),
           ("customers", "Customer"), ("queue", "Queue"), ("wait", "Wait"), ("transfers", "Transfers"),
           ("features", "Features used"), ("invites", "Invites"), ("files", "Files"), ("notes", "Notes")]


def _sessions(db, site_id: int, f: Filters, user_id: int | None) -> list[dict]:
    sql = ("select s.* from support_sessions s where s.site_id = ? and coalesce(s.started_at, s.created_at) >= ? "
           "and coalesce(s.started_at, s.created_at) < ?")
    args: list = [site_id, f.since, f.until]
    if user_id is not None:
        sql += " and exists (select 1 from participants p where p.session_id = s.id and p.user_id = ?)"
        args.append(user_id)
    sql += " order by coalesce(s.started_at, s.created_at) desc limit ?"
    args.append(MAX_SESSIONS)
    sessions = list(db.query(sql, args))
    if not sessions:
        return []
    ids = [s["id"] for s in sessions]
    marks = ",".join("?" * len(ids))
    people: dict[str, list] = {}
    for p in db.query(f"select session_id, name, role, user_id, joined_at from participants "
                      f"where session_id in ({marks}) order by joined_at", ids):
        people.setdefault(p["session_id"], []).append(p)
    events: dict[str, dict] = {}
    for e in db.query(f"select session_id, kind, count(*) as n from session_events where session_id in ({marks}) "
                      f"group by session_id, kind", ids):
        events.setdefault(e["session_id"], {})[e["kind"]] = e["n"]
    for s in sessions:
        s["_people"] = people.get(s["id"], [])
        s["_events"] = events.get(s["id"], {})
    return sessions


def _feature(key: str) -> str:
    return key.split("_", 1)[0]


def _truthy(value) -> bool:
    return value not in (None, "", 0, [], {}, False)


def build_row(s: dict, record: dict, shown: dict[str, str]) -> dict:
    """One row of the report from the session, its record and which record key fills each of the
    report's own columns (``shown``: report column -> key)."""
    people = s["_people"]
    reps, customers = [], []
    for p in people:
        target = reps if p["user_id"] is not None else customers
        if p["name"] not in target:
            target.append(p["name"])
    meta = json.loads(s["meta"] or "{}")
    started = s["started_at"] or s["created_at"]
    ended = s["ended_at"]

    def own(column: str, default=None):
        return record.get(shown[column], default) if column in shown else default
    queue = own("queue") or meta.get("queue") or ""
    wait = own("wait")
    if wait is None:
        wait = meta.get("wait_seconds")
    used = set(shown.values())
    extra = {k: v for k, v in record.items() if k not in CORE and k not in used}
    features = {_feature(k) for k, v in record.items() if k not in CORE and k != shown.get("wait") and _truthy(v)}
    if s["_events"].get("rep_added"):
        features.add("assisting rep")
    transfers = s["_events"].get("control_transferred", 0) + int(own("transfers") or 0)
    return {
        "id": s["id"], "number": s["number"], "kind": s["kind"], "state": s["state"],
        "started": started, "ended": ended,
        "duration": round(ended - started) if ended else None,
        "reps": reps, "customers": customers, "queue": queue,
        "wait": round(wait) if isinstance(wait, (int, float)) else None,
        "transfers": transfers, "features": sorted(features),
        "invites": own("invites") or "", "files": own("files") or "", "notes": own("notes") or "",
        "extra": extra, "rep_ids": sorted({p["user_id"] for p in people if p["user_id"] is not None}),
    }


async def report_rows(app, site, f: Filters, only_user: int | None) -> list[dict]:
    """The rows a viewer may see: ``only_user`` restricts to sessions that user took part in."""
    user_filter = only_user if only_user is not None else f.rep_id   # a rep's own sessions, whatever asked

    def read(db):
        sessions = _sessions(db, site.id, f, user_filter)
        return sessions, [api.report_columns(app, site, {k: v for k, v in s.items() if not k.startswith("_")}, db)
                          for s in sessions]
    sessions, records = await api.database(app).read(read)
    rows = [build_row(s, record, shown) for s, (record, shown) in zip(sessions, records)]
    if f.queue:
        rows = [r for r in rows if r["queue"] == f.queue]
    return rows


def extra_columns(rows: list[dict]) -> list[str]:
    keys: set = set()
    for r in rows:
        keys.update(r["extra"])
    return sorted(keys)
