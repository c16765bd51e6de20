"""Session messages of WebACD: the request's details, and transferring the session."""
from __future__ import annotations

from host.api import MessageError

from . import store
from .service import WEBACD, AcdError
from .transfers import transfer as transfer_session


def register(register) -> None:
    register("webacd.info", info)
    register("webacd.transfer", transfer)


async def info(ctx, message):
    """What a rep (or the customer) sees about the request: who, what, from which page, transfer notes."""
    sid = ctx.session.id
    rep = ctx.participant.is_rep
    entry, transfers = await ctx.db.read(lambda db: store.request_of_session(db, sid))
    acd = ctx.app[WEBACD]
    meta = ctx.session.meta.get("webacd", {})
    queue = acd.queues.get(entry["queue_id"]) if entry else None
    out = {"type": "webacd.info", "re": message.get("id"), "inbound": entry is not None,
           "start_options": meta.get("start_options", {}),
           "member": bool(ctx.participant.user_id and acd.is_member(ctx.site.id, ctx.participant.user_id))}
    if entry is not None:
        out["request"] = {"name": entry["name"], "problem": entry["problem"], "queue": queue.name if queue else "",
                          "waited": round((entry["accepted_at"] or entry["created_at"]) - entry["created_at"])}
        if rep:
            out["request"].update(email=entry["email"], ref_url=entry["ref_url"])
    if rep:
        out["transfers"] = transfers
    return out


async def transfer(ctx, message):
    if ctx.participant.role != "primary_rep":
        raise MessageError("only the rep leading the session can transfer it")
    note = message.get("note", "")
    if not isinstance(note, str):
        raise MessageError("the note must be text")
    to_kind = message.get("to")
    to_id = message.get("queue_id") if to_kind == "queue" else message.get("user_id")
    try:
        await transfer_session(ctx.app[WEBACD], ctx, to_kind, to_id, note, message.get("id"))
    except AcdError as exc:
        raise MessageError(str(exc)) from None
    return None
