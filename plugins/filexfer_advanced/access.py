"""File access in a session: the rep's request, the customer's answer in the Support Manager, revocations
(by the customer, the rep, a Support Manager that leaves, the end of the session), and a Support Manager
that (re)connects, after which the transfers it was part of resume."""
from __future__ import annotations

from host import api
from plugin_libs.screenshare.state import PAIRS as SHARING_PAIRS

from .checks import agent_for, only_agent, only_rep
from .fetches import resume_fetch
from .lifecycle import announce, finish, name_of, public_state, record
from .protocol import PLUGIN
from .relay import receive_command, stop_relay
from .state import FileAgent, state_of


async def request(ctx, message):
    only_rep(ctx)
    state = state_of(ctx.session)
    agent = agent_for(ctx, message)
    if (agent.id, ctx.participant.id) in state.grants:
        return {"type": f"{PLUGIN}.requested", "re": message.get("id"), "agent": agent.id, "already": True}
    if any(v == (agent.id, ctx.participant.id) for v in state.pending.values()):
        raise api.MessageError("your earlier request is still waiting for an answer on the customer's computer")
    rid = state.new_id()
    state.pending[rid] = (agent.id, ctx.participant.id)
    ctx.send_to(agent.id, {"type": f"{PLUGIN}.consent_request", "request_id": rid,
                           "viewer": {"id": ctx.participant.id, "name": ctx.participant.name}})
    await record(ctx.app, ctx.session, ctx.participant.id, f"{PLUGIN}.requested",
                 {"request_id": rid, "by": ctx.participant.name, "agent": agent.id})
    announce(ctx.app, ctx.session)
    return {"type": f"{PLUGIN}.requested", "re": message.get("id"), "agent": agent.id, "request_id": rid}


async def agent_command(ctx, message):
    """A fresh join number for the customer's Support Manager (shown on the customer page)."""
    if ctx.participant.is_rep or ctx.participant.id in state_of(ctx.session).agents:
        raise api.MessageError("only the customer's page can ask for this")
    cfg, now = api.config(ctx.app), ctx.now()
    number = await ctx.db.write(lambda db: api.new_join_number(db, cfg, ctx.session.id, now, "secondary_customer"))
    return {"type": f"{PLUGIN}.agent_command", "re": message.get("id"), "number": number,
            "name": f"{ctx.participant.name} (Support Manager)"}


async def get_state(ctx, message):
    return {**public_state(ctx.session), "re": message.get("id")}


async def revoke(ctx, message):
    """The customer takes file access back: from the customer page, or from the Support Manager."""
    if ctx.participant.is_rep:   # a rep gives up their own access
        n = await drop_grants(ctx.app, ctx.session, rep=ctx.participant.id, by=ctx.participant.name,
                              actor=ctx.participant.id)
        return {"type": f"{PLUGIN}.revoked_ok", "re": message.get("id"), "grants": n}
    state = state_of(ctx.session)
    rep = message.get("rep")          # one rep's access only (the consent panels); else everybody's
    if rep is not None and not isinstance(rep, str):
        raise api.MessageError("rep must be a participant id")
    if ctx.participant.id in state.agents:
        n = await drop_grants(ctx.app, ctx.session, agent=ctx.participant.id, rep=rep, by="Support Manager",
                              actor=ctx.participant.id, tell_agent=False)
    else:
        n = 0
        for agent in list(state.agents):
            n += await drop_grants(ctx.app, ctx.session, agent=agent, rep=rep, by=ctx.participant.name,
                                   actor=ctx.participant.id)
    return {"type": f"{PLUGIN}.revoked_ok", "re": message.get("id"), "grants": n}


async def drop_grants(app, live, agent: str | None = None, rep: str | None = None, by: str = "",
                      actor: str | None = None, tell_agent: bool = True) -> int:
    """Revoke grants (all of an agent's, or one rep's): transfers under them stop, temp files go."""
    state = state_of(live)
    gone = [(a, r) for (a, r) in state.grants if (agent is None or a == agent) and (rep is None or r == rep)]
    for key in gone:
        del state.grants[key]
    for t in list(state.transfers.values()):
        if (t.agent, t.rep) in gone or (agent is not None and t.agent == agent and rep is None):
            await finish(app, live, t, "failed", "file access was revoked; the transfer stopped and nothing "
                         "of it was kept", actor=actor, tell_agent=tell_agent)
    for k, (a, r) in list(state.pending.items()):
        if (agent is None or a == agent) and (rep is None or r == rep):
            del state.pending[k]
    if gone:
        if tell_agent:
            for a in {a for a, _ in gone}:
                api.sessions(app).send(live, a, {"type": f"{PLUGIN}.revoked",
                                                 "viewers": [r for aa, r in gone if aa == a]})
        await record(app, live, actor, f"{PLUGIN}.revoked", {"by": by, "reps": [name_of(live, r) for _, r in gone]})
    announce(app, live)
    return len(gone)


async def agent_hello(ctx, message):
    """A Support Manager (re)connected. Grants come back only as it says (its person's approval stands
    until revoked); interrupted transfers resume from what the receiver has."""
    me = ctx.participant
    if me.is_rep:
        raise api.MessageError("a Support Manager joins with a session number, not as a rep")
    pair = message.get("pair")
    pairs = api.existing_plugin_state(ctx.session, SHARING_PAIRS) or {}
    owner = ctx.session.participants.get(pairs.get(pair)) if isinstance(pair, str) and pair else None
    if owner is not None and owner.is_rep:
        return   # a rep's own Support Manager (for sharing their screen): no file access from it
    restore = message.get("restore") or []
    if not isinstance(restore, list):
        raise api.MessageError("restore must be a list of {viewer} grants")
    state = state_of(ctx.session)
    known = me.id in state.agents
    state.agents[me.id] = FileAgent(me.id, str(message.get("name") or me.name)[:60], str(message.get("root", ""))[:300])
    said = {item["viewer"] for item in restore if isinstance(item, dict) and isinstance(item.get("viewer"), str)}
    for (a, r) in list(state.grants):
        if a == me.id and r not in said:
            await drop_grants(ctx.app, ctx.session, agent=me.id, rep=r, by="reconnect", actor=me.id, tell_agent=False)
    for r in said:
        p = ctx.session.participants.get(r) if isinstance(r, str) else None
        if p is not None and p.is_rep and (me.id, r) not in state.grants and known:
            state.grants[(me.id, r)] = p.name
    if not known:
        await ctx.event(f"{PLUGIN}.agent_connected", {"agent": me.id, "name": state.agents[me.id].name,
                                                      "root": state.agents[me.id].root})
    for t in list(state.transfers.values()):
        if t.agent != me.id:
            continue
        if (me.id, t.rep) not in state.grants:
            await finish(ctx.app, ctx.session, t, "failed", "file access ended", actor=me.id)
        elif t.direction == "to_rep":
            if t.status != "checking":   # (a file being checked here needs nothing more from it)
                await resume_fetch(ctx, t)
        else:
            # The relay of before stops now, before the Support Manager is asked what it has: no frame of
            # it may come after that question on this connection (``ready`` starts the next relay).
            stop_relay(t)
            ctx.send_to(me.id, receive_command(t))
    announce(ctx.app, ctx.session)


async def consent(ctx, message):
    agent = only_agent(ctx)
    state = state_of(ctx.session)
    rid = str(message.get("request_id", ""))
    pending = state.pending.get(rid)
    if pending is None or pending[0] != agent.id:
        raise api.MessageError("no such request is waiting for an answer")
    del state.pending[rid]
    rep = pending[1]
    allow = message.get("allow") is True and rep in ctx.session.participants
    if allow:
        state.grants[(agent.id, rep)] = name_of(ctx.session, rep)
    kind = f"{PLUGIN}.granted" if allow else f"{PLUGIN}.denied"
    await record(ctx.app, ctx.session, agent.id, kind, {"request_id": rid, "agent": agent.id,
                                                         "rep": name_of(ctx.session, rep), "root": agent.root})
    ctx.send_to(rep, {"type": f"{PLUGIN}.answer", "request_id": rid, "allow": allow, "agent": agent.id,
                      "root": agent.root})
    announce(ctx.app, ctx.session)


async def violation(ctx, message):
    agent = only_agent(ctx)
    what = str(message.get("what", ""))[:100]
    await record(ctx.app, ctx.session, agent.id, f"{PLUGIN}.violation_refused",
                 {"agent": agent.id, "what": what, "command": str(message.get("command", ""))[:60]})
    ctx.broadcast({"type": f"{PLUGIN}.notice", "agent": agent.id,
                   "text": f"The Support Manager refused to {what} without the customer's permission."})


async def on_participant_left(app, live, participant, reason) -> None:
    state = api.existing_plugin_state(live, PLUGIN)
    if state is None:
        return
    if participant.id in state.agents:
        await drop_grants(app, live, agent=participant.id, by=f"{participant.name} left ({reason})",
                          actor=participant.id, tell_agent=False)
        for t in list(state.transfers.values()):
            if t.agent == participant.id:
                await finish(app, live, t, "failed", "the Support Manager left the session", actor=participant.id)
        del state.agents[participant.id]
    elif participant.is_rep:
        await drop_grants(app, live, rep=participant.id, by=f"{participant.name} left ({reason})",
                          actor=participant.id)
    for k, (a, r) in list(state.pending.items()):
        if participant.id in (a, r):
            del state.pending[k]
    if reason != "ended":
        announce(app, live)


async def on_session_ended(app, live) -> None:
    """Transfers still in flight stop; their temp files go. Grants end with the session."""
    state = api.existing_plugin_state(live, PLUGIN)
    if state is None:
        return
    for t in list(state.transfers.values()):
        await finish(app, live, t, "failed", "the session ended before the transfer was complete")
    if state.grants:
        await record(app, live, None, f"{PLUGIN}.revoked", {"by": "the session ended",
                                                           "reps": [n for n in state.grants.values()]})
        state.grants.clear()
