"""Queue administration (save, delete) and the live monitor of a site's queues and members."""
from __future__ import annotations

from . import store
from .engine import Member
from .queue_config import QueueConfig
from .service import AcdError, WebAcd, capacity


async def save_queue(acd: WebAcd, q: QueueConfig, actor: dict, site) -> int:
    now = acd.clock()
    members = list(q.members)
    qid, users, status = await acd.db.write(lambda db: store.save_queue_of_admin(
        db, q.id or None, q.row(), members, site.id, actor["id"], now))
    q.id = qid
    for uid, u in users.items():
        if uid not in acd.engine.members:
            acd.engine.set_member(Member(uid, u["site_id"], u["display_name"], status.get(uid, "away"),
                                         capacity(u), 0, now))
    acd.set_queue(q)
    await acd.refresh_members(members)
    await acd.apply(acd.engine.dispatch())
    return qid


async def delete_queue(acd: WebAcd, site, queue: QueueConfig, actor: dict) -> None:
    waiting = len(acd.engine.waiting.get(queue.id, []))
    if waiting:
        raise AcdError(f"{waiting} customer{'s are' if waiting != 1 else ' is'} waiting in {queue.name}: "
                       "the queue can be deleted once nobody waits in it.", 409)
    now = acd.clock()
    await acd.db.write(lambda db: store.delete_queue(db, queue.id, queue.name, site.id, actor["id"], now))
    acd.queues.pop(queue.id, None)
    acd.engine.remove_rule(queue.id)
    for other in acd.queues.values():
        if other.overflow_queue_id == queue.id:
            other.overflow_queue_id = None
            acd.set_queue(other)


def monitor(acd: WebAcd, site) -> dict:
    now = acd.clock()
    engine = acd.engine
    queues = []
    for q in acd.site_queues(site.id):
        waiting = []
        for e, pos in engine.positions(q.id):
            offered = [engine.members[u].name for u in engine.offers.get(e.id, {}) if u in engine.members]
            waiting.append({"name": e.name, "position": pos, "waited": round(now - e.created_at),
                            "escalated": e.escalated, "kind": e.data.get("kind", "new"), "offered_to": offered})
        queues.append({"id": q.id, "name": q.name, "open": q.is_open(now), "mode": q.mode, "waiting": waiting,
                       "estimate_next": acd.estimate(q.id, 1)})
    reps = []
    for m in sorted((m for m in engine.members.values() if m.site_id == site.id), key=lambda m: m.name):
        if not acd.is_member(site.id, m.user_id):
            continue
        reps.append({"name": m.name, "status": m.status, "load": m.load, "capacity": m.capacity,
                     "online": acd.online(m.user_id), "offers": len(engine.offers_of.get(m.user_id, {})),
                     "idle_for": round(now - m.free_since) if m.load == 0 else 0})
    return {"queues": queues, "reps": reps, "at": now}
