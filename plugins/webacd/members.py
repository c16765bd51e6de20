"""What a queue member (a rep who takes WebACD work) does and sees: their status, their offers, the
queue view to pick a customer from, declining an offer."""
from __future__ import annotations

from . import store
from .service import AcdError, WebAcd


async def set_status(acd: WebAcd, site, user: dict, status: str) -> None:
    if status not in ("available", "away"):
        raise AcdError("status is available or away")
    if not acd.is_member(site.id, user["id"]):
        raise AcdError("You are not a member of any WebACD queue of this site.", 403)
    now = acd.clock()
    await acd.db.write(lambda db: store.set_status(db, user["id"], site.id, status, now))
    await acd.apply(acd.engine.set_status(user["id"], status))
    await acd.refresh_members([user["id"]])


def me(acd: WebAcd, site, user: dict) -> dict:
    member = acd.engine.members.get(user["id"])
    here = member is not None and acd.is_member(site.id, user["id"])
    return {"member": here, "status": member.status if here else "away",
            "load": member.load if here else 0, "capacity": member.capacity if here else 0,
            "queues": [{"id": q.id, "name": q.name} for q in acd.site_queues(site.id) if user["id"] in q.members],
            "offers": [acd.offer_json(o) for o in acd.engine.offers_for(user["id"])] if here else []}


def _waiting_json(acd: WebAcd, e, user_id: int, queue: str, position: int, escalated: bool, kind: str) -> dict:
    return {"entry_id": e.id, "name": e.name, "problem": e.data.get("problem") or "", "queue": queue,
            "position": position, "waited": round(acd.clock() - e.created_at), "escalated": escalated,
            "kind": kind, "note": e.data.get("note") or "", "from": e.data.get("from_name") or "",
            "offered_to_me": user_id in acd.engine.offers.get(e.id, {})}


def queue_view(acd: WebAcd, site, user_id: int) -> list[dict]:
    """Waiting customers in the rep's queues (and escalated into them), to pick one."""
    out = []
    for q in acd.site_queues(site.id):
        if user_id not in q.members:
            continue
        seen = list(acd.engine.positions(q.id))
        seen += [(e, acd.engine.position(e)) for e in acd.engine.escalated_into.get(q.id, [])]
        for e, pos in seen:
            if e.target_user is not None and e.target_user != user_id:
                continue
            out.append(_waiting_json(acd, e, user_id, q.name, pos, e.escalated and e.queue_id != q.id,
                                     e.data.get("kind", "new")))
    listed = {x["entry_id"] for x in out}
    for e in [e for e in acd.engine.entries.values() if e.target_user == user_id and e.id not in listed]:
        out.append(_waiting_json(acd, e, user_id, "to you", 1, False, "transfer"))
    return out


async def decline(acd: WebAcd, user_id: int, entry_id: str) -> None:
    await acd.apply(acd.engine.decline(entry_id, user_id))
