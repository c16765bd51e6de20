"""Screen sharing on the host, shared by the desktop and appshare plugins: requests, the grants the person
at the shared computer gave, frame forwarding with per-viewer pacing, input checks, display mode.

Each handler works for the plugin that registered it (``ctx.plugin``): its messages, events and state are
named after that plugin ("desktop.granted", "appshare.granted", ...).
"""
from __future__ import annotations

import secrets

from host.api import (CUSTOMER_ROLES, REP_ROLES, MessageError, config, database, event_and_audit,
                      existing_plugin_state, make_binary, new_join_number, now, publish_grants, sessions)

from .input_events import InputError, validate_events
from .state import AgentInfo, Pace, Pending, pairs_of, state_of

LEVELS = ("view", "control")
MODES = ("standard", "sampling")


def register_sharing(register, plugin: str) -> None:
    """Register every sharing message type under ``<plugin>.``."""
    for verb, fn in (("request", request), ("share", share), ("consent", consent), ("revoke", revoke),
                     ("stop", stop), ("release", release), ("input", input_), ("input_error", input_error),
                     ("ack", ack), ("cursor", cursor), ("screen", screen), ("agent_hello", agent_hello),
                     ("agent_command", agent_command), ("set_mode", set_mode),
                     ("pick_monitor", pick_monitor), ("violation", violation), ("state", get_state)):
        register(f"{plugin}.{verb}", fn)
    register(f"{plugin}.frame", frame, binary=True)
    register(f"{plugin}.cursor_shape", cursor_shape, binary=True)


# -- helpers ------------------------------------------------------------------------------------
def _name(live, pid: str) -> str:
    p = live.participants.get(pid)
    return p.name if p else "someone"


def _public_state(live, state, plugin: str) -> dict:
    return {
        "type": f"{plugin}.state", "mode": state.mode,
        "agents": [{"id": a.id, "name": a.name, "side": a.side, "owner": a.owner, "monitors": a.monitors,
                    "monitor": a.monitor,
                    "online": bool(live.participants.get(a.id) and live.participants[a.id].conn)}
                   for a in state.agents.values()],
        "grants": [{"agent": a, "viewer": v, "viewer_name": _name(live, v), "level": lvl}
                   for (a, v), lvl in state.grants.items()],
        "pending": [{"request_id": p.request_id, "agent": p.agent, "level": p.level, "kind": p.kind,
                     "viewers": p.viewers} for p in state.pending.values()],
    }


def _announce(ctx, state) -> None:
    ctx.broadcast(_public_state(ctx.session, state, ctx.plugin))
    _publish(ctx.app, ctx.session, state, ctx.plugin)


def _publish(app, live, state, plugin: str) -> None:
    """The grants on customers' computers, for the customer page's consent panel (each ends alone)."""
    thing = "the shared application window" if plugin == "appshare" else "the screen"
    publish_grants(app, live, plugin, [
        {"holders": [viewer], "what": f"see and control {thing}" if level == "control" else f"see {thing}",
         "revoke": {"type": f"{plugin}.stop", "agent": agent_id, "viewer": viewer}}
        for (agent_id, viewer), level in state.grants.items()
        if agent_id in state.agents and state.agents[agent_id].side == "customer"])


async def _record(ctx, kind: str, details: dict) -> None:
    """One consent-relevant change: into the session's record and the audit log (one transaction)."""
    at = ctx.now()
    await ctx.db.write(lambda db: event_and_audit(db, ctx.session, at, kind, ctx.participant.id, details,
                                                  action=kind, target=f"session:{ctx.session.id}"))


def _agent_for(ctx, state, message, side: str) -> AgentInfo:
    wanted = message.get("agent")
    if wanted is not None:
        agent = state.agents.get(wanted) if isinstance(wanted, str) else None
        if agent is None or agent.side != side:
            raise MessageError("there is no such Support Manager in this session")
        return agent
    online = [a for a in state.agents.values() if a.side == side and ctx.session.participants.get(a.id)
              and ctx.session.participants[a.id].conn is not None]
    if side == "rep":
        online = [a for a in online if a.owner == ctx.participant.id]
    if not online:
        if side == "rep":
            raise MessageError("start your own Support Manager first (the command is shown here)")
        raise MessageError("the customer's Support Manager is not connected: ask them to run it "
                           "(the command is on their session page)")
    return online[0]


def _viewer_side(agent: AgentInfo) -> tuple[str, ...]:
    return REP_ROLES if agent.side == "customer" else CUSTOMER_ROLES


def _is_agent(state, pid: str) -> bool:
    return pid in state.agents


async def _ask(ctx, state, agent: AgentInfo, viewers: list[str], level: str, kind: str) -> dict:
    if any(p.agent == agent.id and p.by == ctx.participant.id for p in state.pending.values()):
        raise MessageError("your earlier request is still waiting for an answer on the shared computer")
    pending = Pending(state.new_request_id(), agent.id, viewers, level, kind, ctx.participant.id)
    state.pending[pending.request_id] = pending
    ctx.send_to(agent.id, {"type": f"{ctx.plugin}.consent_request", "request_id": pending.request_id, "level": level,
                           "kind": kind, "viewers": [{"id": v, "name": _name(ctx.session, v)} for v in viewers]})
    await _record(ctx, f"{ctx.plugin}.requested", {"request_id": pending.request_id, "agent": agent.id, "level": level,
                                             "kind": kind, "by": ctx.participant.name,
                                             "viewers": [_name(ctx.session, v) for v in viewers]})
    _announce(ctx, state)
    return {"type": f"{ctx.plugin}.requested", "request_id": pending.request_id, "agent": agent.id}


# -- the rep asks, or offers ----------------------------------------------------------------------
def _level_of(message) -> str:
    level = message.get("level")
    if level not in LEVELS:
        raise MessageError("level must be 'view' or 'control'")
    return level


async def request(ctx, message):
    """A rep asks to view or control the customer's screen: the customer's Support Manager asks them."""
    level = _level_of(message)
    if not ctx.participant.is_rep:
        raise MessageError("only a rep can request to view or control a screen")
    state = state_of(ctx.session, ctx.plugin)
    agent = _agent_for(ctx, state, message, "customer")
    if state.grants.get((agent.id, ctx.participant.id)) == level:
        return {"type": f"{ctx.plugin}.requested", "re": message.get("id"), "already": True, "agent": agent.id}
    reply = await _ask(ctx, state, agent, [ctx.participant.id], level, "request")
    return {**reply, "re": message.get("id")}


async def share(ctx, message):
    """A rep shows their own screen (their own Support Manager) to the customers, optionally with control."""
    level = _level_of(message)
    if not ctx.participant.is_rep:
        raise MessageError("only a rep can share their screen from here")
    state = state_of(ctx.session, ctx.plugin)
    agent = _agent_for(ctx, state, message, "rep")
    viewers = [p.id for p in ctx.session.participants.values()
               if p.role in CUSTOMER_ROLES and not _is_agent(state, p.id)]
    if not viewers:
        raise MessageError("there is no customer in this session to share with")
    reply = await _ask(ctx, state, agent, viewers, level, "share")
    return {**reply, "re": message.get("id")}


# -- the agent answers -----------------------------------------------------------------------------
def _only_agent(ctx, state) -> AgentInfo:
    agent = state.agents.get(ctx.participant.id)
    if agent is None:
        raise MessageError("only a Support Manager can do this")
    return agent


async def consent(ctx, message):
    state = state_of(ctx.session, ctx.plugin)
    agent = _only_agent(ctx, state)
    pending = state.pending.get(str(message.get("request_id", "")))
    if pending is None or pending.agent != agent.id:
        raise MessageError("no such request is waiting for an answer")
    del state.pending[pending.request_id]
    viewers = [v for v in pending.viewers if v in ctx.session.participants]
    names = [_name(ctx.session, v) for v in viewers]
    allowed = message.get("allow") is True and bool(viewers)
    if allowed:
        if pending.level == "control":
            for other in state.controllers_of(agent.id):
                if other not in viewers:
                    state.grants[(agent.id, other)] = "view"
                    await _record(ctx, f"{ctx.plugin}.control_handover", {
                        "agent": agent.id, "from": _name(ctx.session, other), "to": names})
        for v in viewers:
            state.grants[(agent.id, v)] = pending.level
            state.pace.setdefault((agent.id, v), Pace())
        await _record(ctx, f"{ctx.plugin}.granted", {"request_id": pending.request_id, "agent": agent.id,
                                               "level": pending.level, "viewers": names,
                                               "all_requests": bool(message.get("all"))})
    else:
        await _record(ctx, f"{ctx.plugin}.denied", {"request_id": pending.request_id, "agent": agent.id,
                                              "level": pending.level, "viewers": names})
    ctx.send_to(pending.by, {"type": f"{ctx.plugin}.answer", "request_id": pending.request_id, "allow": allowed,
                             "level": pending.level, "agent": agent.id})
    _announce(ctx, state)


async def _record_revoked(ctx, agent_id: str, by: str, gone: list) -> None:
    await _record(ctx, f"{ctx.plugin}.revoked", {"agent": agent_id, "by": by,
                                                 "viewers": [_name(ctx.session, v) for _, v, _ in gone]})


async def revoke(ctx, message):
    """The person at the shared computer stopped it from the Support Manager (it already stopped there)."""
    state = state_of(ctx.session, ctx.plugin)
    agent = _only_agent(ctx, state)
    viewers = message.get("viewers")
    if viewers == "all":
        gone = state.drop_grants(agent=agent.id)
    elif isinstance(viewers, list):
        gone = [g for v in viewers if isinstance(v, str) for g in state.drop_grants(agent.id, v)]
    else:
        raise MessageError("viewers must be 'all' or a list of participant ids")
    if gone:
        await _record_revoked(ctx, agent.id, "Support Manager", gone)
    _announce(ctx, state)
    _ack_if_done(ctx, state, agent.id)


async def _stop_agent(ctx, state, agent: AgentInfo, viewers: list[str] | None, by: str,
                      released: bool = False) -> int:
    """End grants on one agent. ``released``: the viewers stopped on their own (the customer withdrew nothing,
    so a "don't ask again" they gave still holds on the agent)."""
    gone = []
    for v in viewers if viewers is not None else [None]:
        gone += state.drop_grants(agent.id, v)
    for pid, p in list(state.pending.items()):
        if p.agent == agent.id and (viewers is None or set(p.viewers) & set(viewers)):
            del state.pending[pid]
    ctx.send_to(agent.id, {"type": f"{ctx.plugin}.revoked",
                           "viewers": "all" if viewers is None else [v for _, v, _ in gone],
                           **({"released": True} if released else {})})
    if gone:
        await _record_revoked(ctx, agent.id, by, gone)
    _announce(ctx, state)
    _ack_if_done(ctx, state, agent.id)
    return len(gone)


async def stop(ctx, message):
    """Stop sharing at once, from the page of the person whose screen it is (customer page, or the rep
    who shares). The host stops forwarding immediately and tells the Support Manager to stop."""
    state = state_of(ctx.session, ctx.plugin)
    me = ctx.participant
    if me.is_rep:
        agents = [a for a in state.agents.values() if a.side == "rep" and a.owner == me.id]
    else:
        agents = [a for a in state.agents.values() if a.side == "customer"]
    if isinstance(message.get("agent"), str):
        agents = [a for a in agents if a.id == message["agent"]]
    if not agents:
        raise MessageError("there is no shared screen of yours to stop")
    viewer = message.get("viewer")        # one viewer's grant only (the consent panel); else all
    if viewer is not None and not isinstance(viewer, str):
        raise MessageError("viewer must be a participant id")
    stopped = 0
    for agent in agents:
        stopped += await _stop_agent(ctx, state, agent, None if viewer is None else [viewer], me.name)
    return {"type": f"{ctx.plugin}.stopped", "re": message.get("id"), "grants": stopped}


async def release(ctx, message):
    """A viewer stops viewing (or controlling) on their own."""
    state = state_of(ctx.session, ctx.plugin)
    agents = [a for a in state.agents.values() if (a.id, ctx.participant.id) in state.grants]
    if isinstance(message.get("agent"), str):
        agents = [a for a in agents if a.id == message["agent"]]
    for agent in agents:
        await _stop_agent(ctx, state, agent, [ctx.participant.id], ctx.participant.name, released=True)
    return {"type": f"{ctx.plugin}.released", "re": message.get("id"), "agents": [a.id for a in agents]}


# -- frames, cursor, input -------------------------------------------------------------------------
def _drawn_by_all(state, agent_id: str) -> int | None:
    """The frame the agent waits on, when no viewer is left drawing it (it stops waiting); else None."""
    waiting = state.waiting.get(agent_id)
    if waiting is not None and not waiting[1]:
        del state.waiting[agent_id]
        return waiting[0]
    return None


def _ack_if_done(ctx, state, agent_id: str) -> None:
    seq = _drawn_by_all(state, agent_id)
    if seq is not None:
        ctx.send_to(agent_id, {"type": f"{ctx.plugin}.ack", "seq": seq})


async def frame(ctx, header, payload):
    """A chunk of a screen frame from an agent: to covered viewers that are not still busy."""
    state = state_of(ctx.session, ctx.plugin)
    agent = _only_agent(ctx, state)
    seq, chunk, count = header.get("seq"), header.get("c", 0), header.get("n", 1)   # one chunk: neither
    if not all(isinstance(v, int) for v in (seq, chunk, count)) or not 0 <= chunk < count:
        raise MessageError("a frame header needs integer seq, c and n")
    state.frames_in += 1
    out = make_binary({**header, "from": agent.id}, payload)
    last = chunk == count - 1
    got = set()
    for viewer in state.viewers_of(agent.id):
        pace = state.pace.setdefault((agent.id, viewer), Pace())
        if chunk == 0:
            if pace.receiving is not None:          # still busy with an older frame: drop this one
                pace.dropped += 1
                pace.missed = True
                continue
            pace.receiving = seq
        elif pace.receiving != seq:
            continue
        ctx.hub.broadcast_bytes(ctx.session, out, [viewer])
        pace.forwarded += 1
        got.add(viewer)
    if last and got:
        state.waiting[agent.id] = (seq, got)


async def ack(ctx, message):
    """A viewer drew a whole frame: it may get the next one; the agent may send when all have drawn."""
    state = state_of(ctx.session, ctx.plugin)
    agent_id, seq = message.get("agent"), message.get("seq")
    pace = state.pace.get((agent_id, ctx.participant.id)) if isinstance(agent_id, str) else None
    if pace is None or pace.receiving != seq:
        return None
    pace.receiving = None
    if pace.missed:
        pace.missed = False
        ctx.send_to(agent_id, {"type": f"{ctx.plugin}.refresh"})
    waiting = state.waiting.get(agent_id)
    if waiting is not None and waiting[0] == seq:
        waiting[1].discard(ctx.participant.id)
        _ack_if_done(ctx, state, agent_id)


async def cursor(ctx, message):
    state = state_of(ctx.session, ctx.plugin)
    agent = _only_agent(ctx, state)
    x, y = message.get("x"), message.get("y")
    if not isinstance(x, int) or not isinstance(y, int):
        raise MessageError("cursor x and y must be integers")
    out = {"type": f"{ctx.plugin}.cursor", "agent": agent.id, "x": x, "y": y}
    for viewer in state.viewers_of(agent.id):
        ctx.send_to(viewer, out)


async def cursor_shape(ctx, header, payload):
    """The pointer's image (small PNG) from an agent: to the viewers a grant covers."""
    state = state_of(ctx.session, ctx.plugin)
    agent = _only_agent(ctx, state)
    if len(payload) > 64 * 1024:
        raise MessageError("a cursor image is at most 64 KiB")
    out = make_binary({**header, "from": agent.id}, payload)
    ctx.hub.broadcast_bytes(ctx.session, out, list(state.viewers_of(agent.id)))


async def screen(ctx, message):
    state = state_of(ctx.session, ctx.plugin)
    agent = _only_agent(ctx, state)
    if isinstance(message.get("monitors"), list):
        agent.monitors = [m for m in message["monitors"] if isinstance(m, dict)][:16]
    agent.monitor = message.get("monitor", agent.monitor)
    _announce(ctx, state)


async def input_(ctx, message):
    """Input from a viewer: only with a control grant (else dropped with an error), validated, then on to
    the agent, which checks its own grant again before injecting anything."""
    state = state_of(ctx.session, ctx.plugin)
    agent_id = message.get("agent")
    agent = state.agents.get(agent_id) if isinstance(agent_id, str) else None
    if agent is None:
        raise MessageError("there is no such shared screen")
    if state.grants.get((agent.id, ctx.participant.id)) != "control":
        raise MessageError("you do not have control of this screen: input dropped")
    width, height = agent.size()
    try:
        events = validate_events(message.get("events"), width, height)
    except InputError as exc:
        raise MessageError(f"input ignored: {exc}") from None
    ctx.send_to(agent.id, {"type": f"{ctx.plugin}.input", "from": ctx.participant.id, "events": events})


async def input_error(ctx, message):
    state = state_of(ctx.session, ctx.plugin)
    _only_agent(ctx, state)
    to = message.get("to")
    if isinstance(to, str):
        ctx.send_to(to, {"type": "error", "code": "bad_request", "re": f"{ctx.plugin}.input",
                         "error": f"input ignored by the Support Manager: {str(message.get('error'))[:200]}"})


async def violation(ctx, message):
    """The agent refused a command it had no local permission for: on the record, and everybody is told."""
    state = state_of(ctx.session, ctx.plugin)
    agent = _only_agent(ctx, state)
    what = str(message.get("what", ""))[:100]
    await _record(ctx, f"{ctx.plugin}.violation_refused", {"agent": agent.id, "what": what,
                                                     "command": str(message.get("command", ""))[:60]})
    ctx.broadcast({"type": f"{ctx.plugin}.notice", "agent": agent.id,
                   "text": f"The Support Manager refused to {what} without the customer's permission."})


# -- agents and options ----------------------------------------------------------------------------
async def agent_hello(ctx, message):
    """A Support Manager (re)connected. Its old grants are gone, unless it restores the ones its person
    allowed for the whole session ("allow all requests for this session")."""
    state = state_of(ctx.session, ctx.plugin)
    me = ctx.participant
    pair = message.get("pair")
    owner = pairs_of(ctx.session).get(pair) if isinstance(pair, str) and pair else None
    owner_p = ctx.session.participants.get(owner) if owner else None
    side = "rep" if owner_p is not None and owner_p.is_rep else "customer"
    if me.is_rep:
        raise MessageError("a Support Manager joins with a session number, not as a rep")
    if not isinstance(message.get("restore") or [], list):
        raise MessageError("restore must be a list of {viewer, level} grants")
    monitors = message.get("monitors") if isinstance(message.get("monitors"), list) else []
    name = str(message.get("name") or me.name)[:60]
    old = state.agents.get(me.id)
    state.agents[me.id] = AgentInfo(me.id, name, side, owner, monitors[:16], message.get("monitor"))
    if old is not None:
        gone = state.drop_grants(agent=me.id)
        for pid, p in list(state.pending.items()):
            if p.agent == me.id:
                del state.pending[pid]
        restored = []
        allowed_roles = _viewer_side(state.agents[me.id])
        restore = message.get("restore") if isinstance(message.get("restore"), list) else []
        for item in restore:
            viewer = item.get("viewer") if isinstance(item, dict) else None
            p = ctx.session.participants.get(viewer) if isinstance(viewer, str) else None
            if p is not None and p.role in allowed_roles and item.get("level") in LEVELS:
                state.grants[(me.id, viewer)] = item["level"]
                state.pace[(me.id, viewer)] = Pace()
                restored.append({"viewer": p.name, "level": item["level"]})
        if gone and not restored:
            await _record_revoked(ctx, me.id, "reconnect", gone)
        if restored:
            await _record(ctx, f"{ctx.plugin}.granted", {"agent": me.id, "restored": restored,
                                                   "all_requests": True})
    else:
        await ctx.event(f"{ctx.plugin}.agent_connected", {"agent": me.id, "side": side, "name": name})
    if not state.mode_set:
        state.mode = ctx.setting("default_mode", "standard")
    ctx.reply({"type": f"{ctx.plugin}.mode", "mode": state.mode})
    _announce(ctx, state)


async def agent_command(ctx, message):
    """A fresh session number and pairing code for this person's own Support Manager."""
    state = state_of(ctx.session, ctx.plugin)
    if _is_agent(state, ctx.participant.id):
        raise MessageError("a Support Manager cannot start another one")
    cfg, at, sid = config(ctx.app), now(ctx.app), ctx.session.id
    number = await database(ctx.app).write(lambda db: new_join_number(db, cfg, sid, at, "secondary_customer"))
    token = secrets.token_urlsafe(9)
    pairs_of(ctx.session)[token] = ctx.participant.id
    return {"type": f"{ctx.plugin}.agent_command", "re": message.get("id"), "number": number, "pair": token,
            "name": f"{ctx.participant.name} (Support Manager)"}


async def set_mode(ctx, message):
    mode = message.get("mode")
    if mode not in MODES:
        raise MessageError("mode must be 'standard' or 'sampling'")
    if not ctx.participant.is_rep:
        raise MessageError("only a rep can change the display mode")
    state = state_of(ctx.session, ctx.plugin)
    state.mode = mode
    state.mode_set = True
    for agent in state.agents.values():
        ctx.send_to(agent.id, {"type": f"{ctx.plugin}.mode", "mode": mode})
    await ctx.event(f"{ctx.plugin}.mode", {"mode": mode, "by": ctx.participant.name})
    _announce(ctx, state)
    return {"type": f"{ctx.plugin}.mode_set", "re": message.get("id"), "mode": mode}


async def pick_monitor(ctx, message):
    state = state_of(ctx.session, ctx.plugin)
    agent_id, monitor = message.get("agent"), message.get("monitor")
    agent = state.agents.get(agent_id) if isinstance(agent_id, str) else None
    if agent is None or (agent.id, ctx.participant.id) not in state.grants:
        raise MessageError("you do not see this screen")
    if not any(m.get("index") == monitor for m in agent.monitors):
        raise MessageError("there is no such monitor")
    ctx.send_to(agent.id, {"type": f"{ctx.plugin}.monitor", "from": ctx.participant.id, "monitor": monitor})
    return {"type": f"{ctx.plugin}.monitor_picked", "re": message.get("id"), "monitor": monitor}


async def get_state(ctx, message):
    return {**_public_state(ctx.session, state_of(ctx.session, ctx.plugin), ctx.plugin), "re": message.get("id")}


# -- session events --------------------------------------------------------------------------------
async def on_participant_left(app, session, participant, reason, plugin: str) -> None:
    """A viewer or a Support Manager left: its grants end (recorded), the others are told."""
    state = existing_plugin_state(session, plugin)
    if state is None:
        return
    hub = sessions(app)
    gone = state.drop_grants(viewer=participant.id)
    for agent_id in {a for a, _, _ in gone}:
        hub.send(session, agent_id, {"type": f"{plugin}.revoked", "viewers": [participant.id]})
        seq = _drawn_by_all(state, agent_id)
        if seq is not None:
            hub.send(session, agent_id, {"type": f"{plugin}.ack", "seq": seq})
    if participant.id in state.agents:
        gone += state.drop_grants(agent=participant.id)
        del state.agents[participant.id]
    for pid, p in list(state.pending.items()):
        if p.agent == participant.id or p.by == participant.id:
            del state.pending[pid]
    if gone:
        at = now(app)
        details = {"by": f"{participant.name} left ({reason})", "grants": len(gone)}
        await database(app).write(lambda db: event_and_audit(db, session, at, f"{plugin}.revoked", participant.id,
                                                             details, action=f"{plugin}.revoked",
                                                             target=f"session:{session.id}"))
    hub.broadcast(session, _public_state(session, state, plugin))
    _publish(app, session, state, plugin)


