"""The webacd plugin's SQL, run in the database threads (see host/db.py); never on the event loop.

The table acd_agents keeps each queue member's status (available / away); its name predates calling them
members and is kept so existing databases need no migration."""
from __future__ import annotations

from host import api

RECENT = 20  # handling times kept per queue for the estimated wait


def load_state(db) -> dict:
    queues = list(db["acd_queues"].rows_where(order_by="id"))
    members_of: dict[int, list[int]] = {}
    for row in db["acd_members"].rows:
        members_of.setdefault(row["queue_id"], []).append(row["user_id"])
    members = list(db.query(
        "select u.id, u.site_id, u.display_name, u.mode, u.max_sessions, u.active, "
        "coalesce(a.status, 'away') as status from users u left join acd_agents a on a.user_id = u.id "
        "where u.id in (select user_id from acd_members)"))
    loads = loads_of(db, [m["id"] for m in members])
    waiting = list(db["acd_entries"].rows_where("state = 'waiting'", order_by="created_at, rowid"))
    offers = list(db["acd_offers"].rows_where("state = 'open'"))
    handling: dict[int, list[float]] = {}
    for q in queues:
        handling[q["id"]] = recent_handling(db, q["id"])
    return {"queues": queues, "members": members_of, "reps": members, "loads": loads, "waiting": waiting,
            "offers": offers, "handling": handling, "round_robin_last": round_robin_last(db)}


def round_robin_last(db) -> dict[int, int]:
    """Per queue, the rep whose turn it last was (the newest offer the queue made by turns, not one to a
    rep a customer was transferred to): after a restart the round goes on from the next rep."""
    rows = db.query(
        "select o.via_queue_id as qid, o.user_id as uid from acd_offers o join acd_entries e on e.id = o.entry_id "
        "where o.id in (select max(o2.id) from acd_offers o2 join acd_entries e2 on e2.id = o2.entry_id "
        "where e2.target_user_id is null group by o2.via_queue_id)")
    return {r["qid"]: r["uid"] for r in rows}


def recent_handling(db, queue_id: int) -> list[float]:
    rows = db.query("select ended_at - accepted_at as d from acd_entries where queue_id = ? and ended_at is not null "
                    "and accepted_at is not null order by ended_at desc limit ?", [queue_id, RECENT])
    return [r["d"] for r in rows][::-1]


def loads_of(db, user_ids: list[int]) -> dict[int, int]:
    """How many sessions (not ended) each rep is in."""
    out = {uid: 0 for uid in user_ids}
    if not user_ids:
        return out
    marks = ",".join("?" * len(user_ids))
    for row in db.query(
            f"select p.user_id as uid, count(*) as n from participants p join support_sessions s on s.id = p.session_id "
            f"where p.user_id in ({marks}) and p.left_at is null and s.state != 'ended' group by p.user_id", user_ids):
        out[row["uid"]] = row["n"]
    return out


def user_rows(db, user_ids: list[int]) -> dict[int, dict]:
    if not user_ids:
        return {}
    marks = ",".join("?" * len(user_ids))
    return {r["id"]: r for r in db.query(
        f"select id, site_id, display_name, mode, max_sessions, active from users where id in ({marks})", user_ids)}


def record_offers(db, opened: list[dict], closed: list[tuple], escalated: list[str], undirected=()) -> None:
    if opened:
        db["acd_offers"].insert_all(opened)
    for entry_id, user_id, reason, now in closed:
        db.execute("update acd_offers set state = ?, closed_at = ? where entry_id = ? and user_id = ? and state = 'open'",
                   [reason, now, entry_id, user_id])
    for entry_id in escalated:
        db.execute("update acd_entries set escalated = 1 where id = ?", [entry_id])
    for entry_id in undirected:
        db.execute("update acd_entries set target_user_id = null where id = ?", [entry_id])


def start_inbound_session(db, config, site_id: int, user_id: int, entry: dict, now: float,
                          meta: dict) -> tuple[dict, dict, dict]:
    """Accepting a new entry: an inbound session with the rep as primary rep and the customer in it.

    The customer's participant token is the token of their queue entry (its hash is copied), so the
    cookie that kept their place in the queue also lets them into the session."""
    user = db["users"].get(user_id)
    session, rep = api.start_session(db, config, site_id, user, now, kind="inbound", meta=meta, active=True)
    customer = api.add_participant(db, session, "customer", entry["name"], now, token_hash=entry["token_hash"],
                                   address=entry.get("address") or "")
    api.add_event(db, session["id"], now, "joined", customer["id"], {"role": "customer", "name": entry["name"]})
    api.add_event(db, session["id"], now, "webacd_accepted", rep["id"],
                  {"queue_id": entry["queue_id"], "waited": now - entry["created_at"],
                   "ref_url": entry.get("ref_url") or ""})
    mark_accepted(db, entry["id"], user, session["id"], now)
    return session, rep, customer


def join_transferred_session(db, site_id: int, user_id: int, entry: dict, now: float) -> dict | None:
    """Accepting a transferred session: the rep joins it and leads it. None when the session has ended."""
    session = db["support_sessions"].get(entry["session_id"])
    if session["state"] == "ended":
        return None
    user = db["users"].get(user_id)
    has_primary = db["participants"].count_where(  # the rep who transferred it may not have left yet
        "session_id = ? and role = 'primary_rep' and left_at is null and (user_id is null or user_id != ?)",
        [session["id"], entry.get("from_user_id") or 0])
    row = api.rep_participant(db, session["id"], user_id)
    if row is None:
        row = api.add_participant(db, session, "assisting_rep" if has_primary else "primary_rep",
                                  user["display_name"], now, user_id=user_id)
    api.add_event(db, session["id"], now, "webacd_transfer_accepted", row["id"],
                  {"name": user["display_name"], "note": entry.get("note") or ""})
    mark_accepted(db, entry["id"], user, session["id"], now)
    db.execute("update acd_transfers set accepted_by = ?, accepted_at = ? where entry_id = ?",
               [user_id, now, entry["id"]])
    return row


def mark_accepted(db, entry_id: str, user: dict, session_id: str, now: float) -> None:
    db["acd_entries"].update(entry_id, {"state": "accepted", "accepted_by": user["id"],
                                        "accepted_by_name": user["display_name"], "accepted_at": now,
                                        "session_id": session_id})
    db.execute("update acd_offers set state = case when user_id = ? then 'accepted' else 'taken' end, closed_at = ? "
               "where entry_id = ? and state = 'open'", [user["id"], now, entry_id])


def end_handling(db, session_id: str, now: float) -> list[tuple[int, float]]:
    """The rep(s) handling a session stopped (it ended or was transferred): (queue, seconds) per entry."""
    rows = list(db["acd_entries"].rows_where("session_id = ? and state = 'accepted' and ended_at is null",
                                             [session_id]))
    for row in rows:
        db["acd_entries"].update(row["id"], {"ended_at": now})
    return [(r["queue_id"], now - r["accepted_at"]) for r in rows]


def entry_row(db, entry_id: str) -> dict | None:
    return next(db["acd_entries"].rows_where("id = ?", [entry_id]), None)


def save_queue(db, queue_id: int | None, row: dict, members: list[int]) -> int:
    if queue_id is None:
        queue_id = db["acd_queues"].insert(row).last_pk
    else:
        db["acd_queues"].update(queue_id, row)
    db.execute("delete from acd_members where queue_id = ?", [queue_id])
    if members:
        db["acd_members"].insert_all([{"queue_id": queue_id, "user_id": u} for u in members])
    return queue_id


def save_queue_of_admin(db, queue_id: int | None, row: dict, members: list[int], site_id: int, actor_id: int,
                        now: float) -> tuple[int, dict[int, dict], dict[int, str]]:
    """An admin saved a queue (new when ``queue_id`` is None): the queue, its members (each gets a status,
    away at first) and the audit row. Returns (queue id, the members' user rows, their statuses)."""
    if queue_id is None:
        row["created_at"] = now
    qid = save_queue(db, queue_id, row, members)
    for uid in members:
        if not db["acd_agents"].count_where("user_id = ?", [uid]):
            db["acd_agents"].insert({"user_id": uid, "site_id": site_id, "status": "away", "since": now})
    status = {r["user_id"]: r["status"] for r in db["acd_agents"].rows_where(
        f"user_id in ({','.join('?' * len(members))})", members)} if members else {}
    api.audit_row(db, site_id, f"user:{actor_id}", "webacd_queue_saved", f"queue:{qid}",
                  {**{k: v for k, v in row.items() if k != "site_id"}, "members": members}, now)
    return qid, user_rows(db, members), status


def delete_queue(db, queue_id: int, name: str, site_id: int, actor_id: int, now: float) -> None:
    db.execute("delete from acd_members where queue_id = ?", [queue_id])
    db.execute("update acd_queues set overflow_queue_id = null where overflow_queue_id = ?", [queue_id])
    db.execute("delete from acd_queues where id = ?", [queue_id])
    api.audit_row(db, site_id, f"user:{actor_id}", "webacd_queue_deleted", f"queue:{queue_id}", {"name": name}, now)


def site_users(db, site_id: int) -> list[dict]:
    """The accounts of a site an admin can make queue members."""
    return list(db.query("select id, username, display_name, mode, max_sessions, active from users "
                         "where site_id = ? order by display_name", [site_id]))


def set_status(db, user_id: int, site_id: int, status: str, now: float) -> None:
    db["acd_agents"].upsert({"user_id": user_id, "site_id": site_id, "status": status, "since": now}, pk="user_id")


# -- entries ---------------------------------------------------------------------------------------
def add_entry(db, row: dict) -> None:
    db["acd_entries"].insert(row)


def close_entries(db, entry_ids, state: str, now: float) -> None:
    """Entries that stopped waiting: ``left`` (the customer left), ``abandoned``, ``ended``."""
    for entry_id in entry_ids:
        db["acd_entries"].update(entry_id, {"state": state, "closed_at": now})


def record_transfer(db, entry: dict, transfer: dict, participant_id: str, customer: str,
                    now: float) -> list[tuple[int, float]]:
    """A rep transferred a session: its new waiting entry, the transfer, its event and audit row. The
    handling of the session so far ends: returns end_handling's (queue, seconds)."""
    sid, site_id = entry["session_id"], entry["site_id"]
    db["acd_entries"].insert(entry)
    ended = end_handling(db, sid, now)
    db["acd_transfers"].insert({**transfer, "site_id": site_id, "session_id": sid, "entry_id": entry["id"],
                                "at": now, "accepted_by": None, "accepted_at": None})
    where = {"to": transfer["to_kind"], "to_name": transfer["to_name"], "note": transfer["note"]}
    api.add_event(db, sid, now, "webacd_transferred", participant_id, where)
    api.audit_row(db, site_id, f"user:{transfer['from_user_id']}", "webacd_transfer", f"session:{sid}",
                  {**where, "to_id": transfer["to_id"], "customer": customer}, now)
    return ended


def request_of_session(db, session_id: str) -> tuple[dict | None, list[dict]]:
    """The entry a session came from (None: not from a queue) and its transfers, oldest first."""
    entry = next(db.query("select name, email, problem, ref_url, fields, created_at, accepted_at, queue_id "
                          "from acd_entries where session_id = ? and kind = 'new'", [session_id]), None)
    transfers = list(db.query("select from_name, to_name, to_kind, note, at from acd_transfers "
                              "where session_id = ? order by id", [session_id]))
    return entry, transfers


def session_columns(db, session_id: str) -> dict | None:
    """The webacd part of a session's record: its queue, wait, referring page, transfers."""
    row = next(db.query("select q.name as queue, e.created_at, e.accepted_at, e.ref_url from acd_entries e "
                        "left join acd_queues q on q.id = e.queue_id where e.session_id = ? and e.kind = 'new'",
                        [session_id]), None)
    transfers = db["acd_transfers"].count_where("session_id = ?", [session_id])
    if row is None:
        return {"webacd_transfers": transfers, "shown_as": {"webacd_transfers": "transfers"}} if transfers else None
    return {"webacd_queue": row["queue"],
            "webacd_wait_seconds": round((row["accepted_at"] or row["created_at"]) - row["created_at"]),
            "webacd_ref_url": row["ref_url"], "webacd_transfers": transfers,
            "shown_as": {"webacd_queue": "queue", "webacd_wait_seconds": "wait", "webacd_transfers": "transfers"}}
