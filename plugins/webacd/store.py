"""The webacd plugin's SQL, run in the database threads (see host/db.py); never on the event loop."""
from __future__ import annotations

from host import session_store as host_store

RECENT = 20  # handling times kept per queue for the estimated wait


def load_state(db) -> dict:
    queues = list(db["acd_queues"].rows_where(order_by="id"))
    members: dict[int, list[int]] = {}
    for row in db["acd_members"].rows:
        members.setdefault(row["queue_id"], []).append(row["user_id"])
    agents = list(db.query(
        "select u.id, u.site_id, u.display_name, u.mode, u.max_sessions, u.active, "
        "coalesce(a.status, 'away') as status from users u left join acd_agents a on a.user_id = u.id "
        "where u.id in (select user_id from acd_members)"))
    loads = loads_of(db, [a["id"] for a in agents])
    waiting = list(db["acd_entries"].rows_where("state = 'waiting'", order_by="created_at, rowid"))
    offers = list(db["acd_offers"].rows_where("state = 'open'"))
    handling: dict[int, list[float]] = {}
    for q in queues:
        handling[q["id"]] = recent_handling(db, q["id"])
    return {"queues": queues, "members": members, "agents": agents, "loads": loads, "waiting": waiting,
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


def start_inbound_session(db, site_id: int, user_id: int, entry: dict, now: float, ttl: float, digits: int,
                          meta: dict) -> tuple[dict, dict, dict]:
    """Accepting a new entry: an inbound session with the rep as primary rep and the customer in it.

    The customer's participant token is the token of their queue entry (its hash is copied), so the
    cookie that kept their place in the queue also lets them into the session."""
    user = db["users"].get(user_id)
    session, rep = host_store.create_session(db, site_id, user, now, ttl, digits, kind="inbound", meta=meta)
    db["join_codes"].update(session["number"], {"used_at": now})  # nobody else joins with this number
    customer = host_store.add_participant(db, session, "customer", entry["name"], now, address=entry.get("address") or "")
    db["participants"].update(customer["id"], {"token_hash": entry["token_hash"]})
    customer["token_hash"] = entry["token_hash"]
    db["support_sessions"].update(session["id"], {"state": "active", "started_at": now})
    session = db["support_sessions"].get(session["id"])
    host_store.add_event(db, session["id"], now, "joined", customer["id"], {"role": "customer", "name": entry["name"]})
    host_store.add_event(db, session["id"], now, "webacd_accepted", rep["id"],
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
    row = host_store.rep_participant(db, session["id"], user_id)
    if row is None:
        row = host_store.add_participant(db, session, "assisting_rep" if has_primary else "primary_rep",
                                         user["display_name"], now, user_id=user_id)
    host_store.add_event(db, session["id"], now, "webacd_transfer_accepted", row["id"],
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



def delete_queue(db, queue_id: int) -> None:
    db.execute("delete from acd_members where queue_id = ?", [queue_id])
    db.execute("update acd_queues set overflow_queue_id = null where overflow_queue_id = ?", [queue_id])
    db.execute("delete from acd_queues where id = ?", [queue_id])
