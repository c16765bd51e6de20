"""The audit log: every privileged action (grants, control, transfers, admin changes, logins), hash-chained.

Each site's rows form a chain (rows of no site form one of their own). A row holds ``seq`` (1, 2, 3...
within its site), ``prev_hash`` (the hash of the site's row before it, GENESIS for the first) and ``hash``,
the sha256 (hex) of the canonical JSON array::

    [prev_hash, site_id, seq, at, actor, action, target, details]

(canonical: keys sorted, no spaces, ASCII only; ``details`` as an object, ``at`` as a float). The head of
each chain (its last seq and hash) is kept in ``audit_heads`` and moved in the same transaction as the row
is written, so rows cut off the end show too. host/audit_verify.py checks a chain and exports it.
"""
from __future__ import annotations

import hashlib
import json
import time

GENESIS = "0" * 64
# A write first (not a read): the transaction takes the write lock at once, waiting for another writer (the
# CLI) instead of failing on a stale snapshot. It returns the new seq and the hash of the row before.
_ADVANCE = "update audit_heads set seq = seq + 1 where chain = ? returning seq, hash"
_INSERT = ("insert into audit_log (site_id, at, actor, action, target, details, seq, prev_hash, hash) "
           "values (?, ?, ?, ?, ?, ?, ?, ?, ?)")
_MOVE_HEAD = ("insert into audit_heads (chain, seq, hash) values (?, ?, ?) "
              "on conflict(chain) do update set seq = excluded.seq, hash = excluded.hash")


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def chain_key(site_id: int | None) -> int:
    """The key of a site's chain in audit_heads (0: the rows of no site)."""
    return site_id or 0


def row_hash(prev_hash: str, site_id: int | None, seq: int, at: float, actor: str, action: str, target: str,
             details_text: str) -> str:
    """The hash of one row; ``details_text`` is the canonical JSON of its details (as stored)."""
    head = canonical([prev_hash, site_id, seq, float(at), actor, action, target])
    # the same text as canonical([..., details]): the array's items joined by ","
    return hashlib.sha256(f"{head[:-1]},{details_text}]".encode()).hexdigest()


def canonical_details(details) -> str:
    """``details`` as stored: canonical JSON of what a JSON round trip makes of it (int keys become
    strings, tuples lists), so that the text read back hashes the same."""
    return canonical(json.loads(json.dumps(details or {})))


def audit_row(db, site_id: int | None, actor: str, action: str, target: str = "", details: dict | None = None,
              now: float | None = None) -> None:
    """Write one row and move its chain's head, inside the caller's transaction (``Database.write``, or
    ``BEGIN IMMEDIATE`` in a tool): the head is read and moved under the write lock, so two writers
    never give two rows the same place in the chain."""
    # Plain SQL, as session_store.add_event (written on every privileged action, often in a hurry)
    at = float(now or time.time())
    site_id = None if site_id is None else int(site_id)
    actor, action, target = str(actor), str(action), "" if target is None else str(target)
    text = canonical_details(details)
    conn = db.conn
    key = chain_key(site_id)
    head = conn.execute(_ADVANCE, [key]).fetchall()
    seq, prev = head[0] if head else (1, GENESIS)
    digest = row_hash(prev, site_id, seq, at, actor, action, target, text)
    conn.execute(_INSERT, [site_id, at, actor, action, target, text, seq, prev, digest])
    conn.execute(_MOVE_HEAD, [key, seq, digest])


def chain_existing_rows(db) -> None:
    """Chain the rows written before the log was chained (the migration, once): in the order they were
    written (id), each site's own chain. Their details are rewritten in canonical form."""
    conn = db.conn
    heads: dict[int, tuple[int, str]] = {}
    rows = conn.execute("select id, site_id, at, actor, action, target, details from audit_log order by id")
    for rid, site_id, at, actor, action, target, details in rows.fetchall():
        try:
            text = canonical_details(json.loads(details or "{}"))
        except ValueError:
            text = canonical_details({"unreadable_details": details})
        seq, prev = heads.get(chain_key(site_id), (0, GENESIS))
        seq += 1
        at = float(at or 0.0)
        actor, action, target = str(actor or ""), str(action or ""), str(target or "")
        digest = row_hash(prev, site_id, seq, at, actor, action, target, text)
        conn.execute("update audit_log set at = ?, actor = ?, action = ?, target = ?, details = ?, seq = ?, "
                     "prev_hash = ?, hash = ? where id = ?",
                     [at, actor, action, target, text, seq, prev, digest, rid])
        heads[chain_key(site_id)] = (seq, digest)
    for key, (seq, digest) in heads.items():
        conn.execute(_MOVE_HEAD, [key, seq, digest])


async def audit(app, site_id: int | None, actor: str, action: str, target: str = "", details: dict | None = None):
    from .appkeys import CONFIG, DB
    now = app[CONFIG].clock()
    await app[DB].write(lambda db: audit_row(db, site_id, actor, action, target, details, now))
