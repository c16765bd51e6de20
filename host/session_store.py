"""Support sessions, join codes and participants in SQLite. Functions take a sqlite_utils db and run
in the database threads (see host/db.py); they never touch the event loop."""
from __future__ import annotations

import hashlib
import json
import secrets
import uuid

import sqlite_utils

from .audit import audit_row


class JoinError(Exception):
    """A join that cannot go ahead; the message is shown to the person joining."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_number(db: sqlite_utils.Database, digits: int) -> str:
    """A session number from the OS's CSPRNG, not in use by any open code."""
    for _ in range(100):
        number = str(secrets.randbelow(9 * 10 ** (digits - 1)) + 10 ** (digits - 1))
        if not db["join_codes"].count_where("code = ?", [number]):
            return number
    raise RuntimeError("could not find a free session number")


def new_code(db, session_id: str, role: str, now: float, ttl: float, digits: int) -> str:
    code = new_number(db, digits)
    db["join_codes"].insert({"code": code, "session_id": session_id, "role": role, "created_at": now,
                             "expires_at": now + ttl, "used_at": None})
    return code


def create_session(db, site_id: int, user: dict, now: float, ttl: float, digits: int,
                   kind: str = "outbound", meta: dict | None = None, address: str = "") -> tuple[dict, dict]:
    """Create a session with its rep as primary rep (and its audit row: ``address`` is the rep's, when the
    rep started it from a browser or script); returns (session, participant)."""
    sid = uuid.uuid4().hex
    number = new_number(db, digits)
    session = {"id": sid, "site_id": site_id, "number": number, "kind": kind, "state": "open",
               "created_by": user["id"], "created_at": now, "started_at": None, "ended_at": None,
               "ended_by": None, "meta": json.dumps(meta or {})}
    db["support_sessions"].insert(session)
    db["join_codes"].insert({"code": number, "session_id": sid, "role": "customer", "created_at": now,
                             "expires_at": now + ttl, "used_at": None})
    participant = add_participant(db, session, "primary_rep", user["display_name"], now, user_id=user["id"])
    add_event(db, sid, now, "created", participant["id"], {"kind": kind})
    audit_row(db, site_id, f"user:{user['id']}", "session_started", f"session:{sid}",
              {"number": number, "kind": kind, "address": address}, now)
    return session, participant


def add_participant(db, session: dict, role: str, name: str, now: float, user_id: int | None = None,
                    token: str | None = None, address: str = "") -> dict:
    row = {"id": uuid.uuid4().hex[:16], "session_id": session["id"], "site_id": session["site_id"],
           "role": role, "name": name, "user_id": user_id, "token_hash": token_hash(token) if token else None,
           "address": address, "joined_at": now, "left_at": None, "left_reason": None}
    db["participants"].insert(row)
    return row


def add_event(db, session_id: str, now: float, kind: str, participant_id: str | None, details: dict | None = None):
    # Plain SQL: sqlite_utils' insert looks the table up on every call (measured inside one transaction:
    # 20 µs a row against 1.6 µs).
    db.execute("insert into session_events (session_id, at, kind, participant_id, details) values (?, ?, ?, ?, ?)",
               [session_id, now, kind, participant_id, json.dumps(details or {})])


def join_by_code(db, site_id: int, code: str, name: str, now: float, address: str) -> tuple[dict, dict, str]:
    """Use a join code: returns (session, participant, participant token) or raises JoinError."""
    row = next(db["join_codes"].rows_where("code = ?", [code]), None)
    session = row and db["support_sessions"].get(row["session_id"])
    if not row or session["site_id"] != site_id:
        raise JoinError("There is no session with this number. Check the number and try again.")
    if session["state"] == "ended":
        raise JoinError("This session has ended.")
    if row["used_at"] is not None:
        raise JoinError("This session number has been used already. Ask your representative for a new one.")
    if row["expires_at"] < now:
        raise JoinError("This session number has expired. Ask your representative for a new one.")
    db["join_codes"].update(code, {"used_at": now})
    role = row["role"]
    if role == "customer" and db["participants"].count_where(
            "session_id = ? and role = 'customer' and left_at is null", [session["id"]]):
        role = "secondary_customer"
    token = secrets.token_urlsafe(32)
    participant = add_participant(db, session, role, name, now, token=token, address=address)
    if session["state"] == "open":
        db["support_sessions"].update(session["id"], {"state": "active", "started_at": now})
        session = db["support_sessions"].get(session["id"])
    add_event(db, session["id"], now, "joined", participant["id"], {"role": role, "name": name})
    audit_row(db, site_id, f"participant:{participant['id']}", "session_joined", f"session:{session['id']}",
              {"role": role, "name": name, "address": address}, now)
    return session, participant, token


def participant_by_token(db, session_id: str, token: str) -> dict | None:
    return next(db["participants"].rows_where(
        "session_id = ? and token_hash = ? and left_at is null", [session_id, token_hash(token)]), None)


def former_participant(db, session_id: str, user_id: int | None = None, token: str | None = None) -> dict | None:
    """The newest participant row of this person in the session, left or not."""
    if user_id is not None:
        row = next(db["participants"].rows_where("session_id = ? and user_id = ?", [session_id, user_id],
                                                 order_by="joined_at desc", limit=1), None)
        if row:
            return row
    if token:
        return next(db["participants"].rows_where("session_id = ? and token_hash = ?",
                                                  [session_id, token_hash(token)], limit=1), None)
    return None


def rep_participant(db, session_id: str, user_id: int) -> dict | None:
    return next(db["participants"].rows_where(
        "session_id = ? and user_id = ? and left_at is null", [session_id, user_id]), None)


def active_participants(db, session_id: str) -> list[dict]:
    return list(db["participants"].rows_where("session_id = ? and left_at is null", [session_id],
                                              order_by="joined_at"))


def sessions_of_user(db, user_id: int) -> list[dict]:
    return list(db.query(
        "select s.*, p.role as my_role, p.id as my_participant from support_sessions s "
        "join participants p on p.session_id = s.id "
        "where p.user_id = ? and p.left_at is null and s.state != 'ended' order by s.created_at", [user_id]))
