"""Checking the audit log's hash chains (host/audit.py) and exporting them as JSON lines for a SIEM.

Functions take a sqlite_utils db (a reader connection, or the CLI's own) and only read."""
from __future__ import annotations

import datetime
import json
from dataclasses import dataclass

from .audit import GENESIS, chain_key, row_hash

_COLUMNS = "id, site_id, at, actor, action, target, details, seq, prev_hash, hash"


@dataclass
class ChainReport:
    site_id: int | None
    rows: int                 # rows checked
    head_seq: int             # the last seq of the chain (0: empty)
    head_hash: str
    bad_row: int | None = None  # the id of the first row found bad (None: intact, or only the tail is cut)
    problem: str = ""         # what is wrong, in words ("" when intact)
    last_id: int | None = None  # the id of the last good row
    checked_at: float = 0.0   # when every row was last walked (ChainWatch)

    @property
    def intact(self) -> bool:
        return not self.problem


def _rows(db, site_id: int | None, since: float | None = None, after_id: int | None = None):
    where, args = "site_id is ?", [site_id]
    if after_id is not None:
        where += " and id > ?"
        args.append(after_id)
    if since is not None:
        where += " and at >= ?"
        args.append(since)
    return db.conn.execute(f"select {_COLUMNS} from audit_log where {where} order by id", args)


def _row_problem(row, expected_seq: int, prev: str) -> str:
    rid, site_id, at, actor, action, target, details, seq, prev_hash, digest = row
    if seq is None or not digest:
        return f"row {rid} has no hash: it was added outside the audit writer"
    if seq > expected_seq:
        return (f"row {rid} has seq {seq} where seq {expected_seq} was due: "
                f"{seq - expected_seq} row(s) before it were deleted or moved")
    if seq < expected_seq:
        return f"row {rid} has seq {seq} after seq {expected_seq - 1}: rows were reordered or a row was inserted"
    if prev_hash != prev:
        return f"row {rid} (seq {seq}) does not follow the row before it: a row before it was replaced or inserted"
    # the details as stored (the writer stores canonical JSON): any change of the text is an edit
    try:
        ok = row_hash(prev_hash, site_id, seq, at, actor, action, target, details) == digest
    except (TypeError, ValueError):  # a column edited to another type
        ok = False
    if not ok:
        return f"row {rid} (seq {seq}) was edited after it was written: its contents do not match its hash"
    return ""


def verify_chain(db, site_id: int | None, start: ChainReport | None = None) -> ChainReport:
    """Walk one site's chain in the order it was written; stop at the first bad row. ``start``: an intact
    report of an earlier walk, to check only the rows written since."""
    prev, expected, count, last_id = GENESIS, 1, 0, None
    if start is not None:
        prev, expected, count, last_id = start.head_hash, start.head_seq + 1, start.rows, start.last_id
    for row in _rows(db, site_id, after_id=last_id):
        problem = _row_problem(row, expected, prev)
        if problem:
            return ChainReport(site_id, count, expected - 1, prev, row[0], problem, last_id)
        prev, expected, count, last_id = row[9], expected + 1, count + 1, row[0]
    head = db.conn.execute("select seq, hash from audit_heads where chain = ?", [chain_key(site_id)]).fetchone()
    report = ChainReport(site_id, count, expected - 1, prev, last_id=last_id)
    if head is None:
        if count:
            report.problem = "the chain's head record is missing (audit_heads was edited)"
    elif head[0] > count:
        report.problem = (f"the log ends at seq {count} but {head[0] - count} row(s) after it were deleted "
                          f"(the chain's head says seq {head[0]})")
    elif head[0] != count or head[1] != prev:
        report.problem = "the chain's head record does not match the last row (audit_heads was edited)"
    return report


FULL_CHECK_EVERY = 600.0   # seconds between two walks of a whole chain for the admin page


class ChainWatch:
    """The admin page's chain status without walking a long log on every visit: every row at most every
    FULL_CHECK_EVERY seconds, in between the rows written since the last walk (and the last row walked,
    which must still be there unchanged). ``supporthost audit verify`` always walks every row."""

    def __init__(self):
        self._intact: dict = {}   # site_id -> the last intact report

    def check(self, db, site_id: int, now: float) -> ChainReport:
        start = self._intact.get(site_id)
        if start is not None and (now - start.checked_at >= FULL_CHECK_EVERY or not _still_there(db, start)):
            start = None
        report = verify_chain(db, site_id, start)
        report.checked_at = start.checked_at if start is not None else now
        if report.intact:
            self._intact[site_id] = report
        else:
            self._intact.pop(site_id, None)
        return report


def _still_there(db, report: ChainReport) -> bool:
    if report.last_id is None:
        return True
    row = db.conn.execute("select seq, hash from audit_log where id = ?", [report.last_id]).fetchone()
    return row is not None and tuple(row) == (report.head_seq, report.head_hash)


def chain_site_ids(db) -> list[int | None]:
    """Every chain in the database: each site's (sites and rows), and None when rows of no site exist."""
    ids = {r[0] for r in db.conn.execute("select id from sites")}
    ids |= {r[0] for r in db.conn.execute("select distinct site_id from audit_log")}
    ids |= {r[0] or None for r in db.conn.execute("select chain from audit_heads")}
    return sorted(ids, key=lambda i: (i is not None, i or 0))


def export_lines(db, site_id: int, slug: str, since: float | None = None):
    """One JSON object a row (with its chain fields), oldest first: what a SIEM ingests."""
    for rid, sid, at, actor, action, target, details, seq, prev_hash, digest in _rows(db, site_id, since):
        try:
            body = json.loads(details)
        except (TypeError, ValueError):
            body = details
        stamp = (datetime.datetime.fromtimestamp(at, datetime.timezone.utc).isoformat().replace("+00:00", "Z")
                 if isinstance(at, (int, float)) else None)
        yield json.dumps({"site": slug, "site_id": sid, "id": rid, "seq": seq, "at": at, "time": stamp,
                          "actor": actor, "action": action, "target": target, "details": body,
                          "prev_hash": prev_hash, "hash": digest})
