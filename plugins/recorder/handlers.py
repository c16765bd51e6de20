"""The recorder's session messages: Record / Stop from a rep's console, the customer's Allow / Deny, the state."""
from __future__ import annotations

from host.api import CUSTOMER_ROLES, MessageError, event_and_audit

from . import service


def _rep(ctx):
    if not ctx.participant.is_rep:
        raise MessageError("only a rep can start or stop recording")
    return ctx.participant


def _customers_here(ctx) -> list:
    return [p for p in ctx.session.participants.values() if p.role in CUSTOMER_ROLES and p.conn is not None]


async def start(ctx, message):
    me = _rep(ctx)
    st = service.state_of(ctx.session)
    if st.active is not None:
        return {"type": "recorder.started", "re": message.get("id"), "already": True,
                "recording_id": st.active.id}
    if ctx.setting("ask_customer", False):
        if not _customers_here(ctx):
            raise MessageError("this site records only after the customer allows it: wait until they are here")
        if st.asking is None:
            st.asking = {"by": me.id, "name": me.name}
            ctx.broadcast({"type": "recorder.consent_request", "by": me.name}, roles=CUSTOMER_ROLES)
            service.announce(ctx.app, ctx.session)
        return {"type": "recorder.asking", "re": message.get("id")}
    rec = await service.start(ctx.app, ctx.session, me)
    return {"type": "recorder.started", "re": message.get("id"), "recording_id": rec.id}


async def stop(ctx, message):
    me = _rep(ctx)
    st = service.state_of(ctx.session)
    if st.automatic:
        raise MessageError("this session is recorded automatically (an admin's setting): it cannot be stopped")
    if st.asking is not None and st.active is None:
        st.asking = None
        service.announce(ctx.app, ctx.session)
        return {"type": "recorder.stopped", "re": message.get("id"), "parts": 0}
    if not await service.stop(ctx.app, ctx.session, me, reason="stopped by " + me.name):
        raise MessageError("this session is not being recorded")
    return {"type": "recorder.stopped", "re": message.get("id")}


async def consent(ctx, message):
    """The customer's answer to "Allow recording?"."""
    me = ctx.participant
    if me.role not in CUSTOMER_ROLES:
        raise MessageError("only the customer answers this")
    st = service.state_of(ctx.session)
    if st.asking is None:
        raise MessageError("nobody asked to record now")
    asking, st.asking = st.asking, None
    allow = message.get("allow") is True
    by = ctx.session.participants.get(asking["by"])
    if allow:
        await service.start(ctx.app, ctx.session, by, automatic=st.automatic, why=f"allowed by {me.name}")
    else:
        at = ctx.now()
        await ctx.db.write(lambda db: event_and_audit(
            db, ctx.session, at, "recording_declined", me.id, {"by": me.name},
            action="recording.declined", target=f"session:{ctx.session.id}"))
        service.announce(ctx.app, ctx.session)
        ctx.broadcast({"type": "recorder.declined", "by": me.name})
    return {"type": "recorder.answered", "re": message.get("id"), "allow": allow}


async def get_state(ctx, message):
    return {**service.public_state(ctx.session), "re": message.get("id")}


def register_handlers(register) -> None:
    register("recorder.start", start)
    register("recorder.stop", stop)
    register("recorder.consent", consent)
    register("recorder.state", get_state)
