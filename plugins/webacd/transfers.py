"""Transferring a session: its leading rep hands the customer to a queue or to one rep (a member of a
queue of the same site) with a note; the customer waits, connected, until somebody takes over."""
from __future__ import annotations

import uuid

from host import api

from . import store
from .service import AcdError, WebAcd, new_entry

NOTE_MAX = 345


def _target(acd: WebAcd, site, live, me, to_kind: str, to_id):
    """The queue the transfer waits in, the rep it goes to (None: anybody of the queue) and its name."""
    if to_kind == "queue":
        queue = acd.queue_of_site(site.id, to_id)
        if queue is None:
            raise AcdError("There is no such queue on this site: a session can only go to a queue of its own site.")
        return queue, None, queue.name
    if to_kind != "rep":
        raise AcdError("Transfer to a rep or to a queue.")
    try:
        user_id = int(to_id)
    except (TypeError, ValueError):
        raise AcdError("Choose the rep to transfer to.") from None
    member = acd.engine.members.get(user_id)
    if member is None or member.site_id != site.id or not acd.is_member(site.id, user_id):
        raise AcdError("There is no such rep in the WebACD queues of this site: a session can only go to a "
                       "rep of its own site.")
    if user_id == me.user_id:
        raise AcdError("You cannot transfer a session to yourself.")
    queue = acd.queue_of_site(site.id, live.meta.get("webacd", {}).get("queue_id"))
    if queue is None or user_id not in queue.members:
        queue = next(q for q in acd.site_queues(site.id) if user_id in q.members)
    return queue, user_id, member.name


async def transfer(acd: WebAcd, ctx, to_kind: str, to_id, note: str, message_id=None) -> dict:
    site, live, me = ctx.site, ctx.session, ctx.participant
    if me.user_id is None or not acd.is_member(site.id, me.user_id):
        raise AcdError("Only members of a WebACD queue can transfer a session.")
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise AcdError(f"A transfer note is at most {NOTE_MAX} characters (this one has {len(note)}).")
    customers = [p for p in live.participants.values() if p.role in api.CUSTOMER_ROLES]
    if not customers:
        raise AcdError("There is no customer in this session to transfer.")
    queue, target_user, target_name = _target(acd, site, live, me, to_kind, to_id)
    now = acd.clock()
    first = customers[0]
    info = live.meta.get("webacd", {})
    row = new_entry(uuid.uuid4().hex, site.id, queue.id, "transfer", first.name, now, email=info.get("email", ""),
                    problem=info.get("problem", ""), ref_url=info.get("ref_url", ""), target_user_id=target_user,
                    exclude_user_id=me.user_id, session_id=live.id, note=note, from_user_id=me.user_id,
                    from_name=me.name)
    record = {"from_user_id": me.user_id, "from_name": me.name, "to_kind": to_kind,
              "to_id": target_user if target_user is not None else queue.id, "to_name": target_name, "note": note}
    acd.handled(await acd.db.write(lambda db: store.record_transfer(db, row, record, me.id, first.name, now)))
    text = "You are being transferred to another representative. Please stay connected."
    acd.sessions.broadcast(live, {"type": "webacd.transferring", "text": text}, roles=api.CUSTOMER_ROLES)
    acd.sessions.broadcast(live, {"type": "webacd.transferring", "text": f"{me.name} transferred this session to "
                                  f"{target_name}.", "note": note}, roles=api.REP_ROLES, exclude=me.id)
    ctx.reply({"type": "webacd.transfer_done", "re": message_id, "to": target_name})
    acd.dirty.add(queue.id)
    await acd.apply(acd.engine.add(acd.entry(row)))  # the transferring rep is excluded from it
    acd.push_positions()
    await acd.sessions.leave(live, me, "left")
    return {"to": target_name}
