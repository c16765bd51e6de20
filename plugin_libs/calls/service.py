"""Calls in a session, shared by the audio and video plugins (the host side of the calls library).

A call is the set of participants of one session who take part in the audio (or the video) of that
session. The host keeps who is in it, records when it started and stopped and who took part (in
session_events), and relays WebRTC signalling between its members only: an offer, answer or ICE
candidate goes from a member to another member of the same session, never anywhere else.

A call outlives a host restart: it is found again from its "started" event, and its members join
again as their pages and Support Managers reconnect (stopped as "nobody came back" if none does within
the grace period).

Each member has an epoch that grows every time it (re)joins: a participant whose network dropped
and who joins again gets a new epoch, and the others rebuild their connection to it.

Messages (``<kind>`` is "audio" or "video"):
  <kind>.state                     -> <kind>.state {allowed, active, started_by, members, me_member}
  <kind>.start  (reps)             -> <kind>.joined {members, epoch, ice_servers, media}
  <kind>.join   {agent?: bool}     -> <kind>.joined ...
  <kind>.leave                     -> <kind>.left
  <kind>.stop   (reps)             -> <kind>.stopped; everybody gets <kind>.call {active: false}
  <kind>.signal {to, description | candidate} -> relayed as <kind>.signal {from, epoch, ...}
  <kind>.status {muted?|camera?|problem?} -> members get <kind>.members (problem: a short text, e.g.
                                      "No microphone was found", or "" when it is solved)
  <kind>.hang_up {member} (customers) -> <kind>.hung_up_ok; that Support Manager leaves the call (it gets
                                      <kind>.hung_up): the consent panel's revoke for a call
Everybody in the session gets <kind>.call when a call starts or stops and <kind>.members when its
members change.

Host members: a member the host runs itself (the recorder's silent "Recording" peer) is put into the
session's calls with ``attach_host_member`` and taken out with ``detach_host_member``. Participants see it
in the members list (``host: true``); it is an "agent" member that only answers (its id starts with "~",
so it sorts after every participant id and Support Managers offer to it, as browsers always do). It
receives what a participant's connection would, through its ``deliver`` callback, and answers with
``host_signal``. Another plugin finds the services through the ``call_services`` hook.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from host.api import (MessageError, add_event, config, database, now, plugin_state, publish_grants, sessions,
                      site_by_id)

from .sdp_check import SignalError, check_candidate, check_description

log = logging.getLogger("supporthost.calls")
_closing: set = set()   # strong references to close tasks started by a timer
HOST_MEMBER_PREFIX = "~"   # ids of host members: after every participant id (hex), so others offer to them


@dataclass
class Member:
    id: str
    name: str
    role: str
    epoch: int
    agent: bool = False
    muted: bool = False
    camera: bool = False
    problem: str = ""       # why this member sends no sound / picture (e.g. no microphone), shown to all
    host: bool = False      # run by the host itself (e.g. "Recording"): it sends nothing, only receives

    def public(self) -> dict:
        return {"id": self.id, "name": self.name, "role": self.role, "epoch": self.epoch, "agent": self.agent,
                "muted": self.muted, "camera": self.camera, "problem": self.problem, "host": self.host}


@dataclass
class HostMember:
    """A member the host runs itself: ``deliver(message)`` gets what a participant's connection would
    (``<kind>.joined``, ``.members``, ``.signal``, ``.call`` with active false). A plain sync callable
    that must not block."""
    id: str
    name: str
    deliver: Callable[[dict], None]


@dataclass
class HostContext:
    """What the policy's callables (ice, media) get for a host member; a MessageContext has the same."""
    app: object
    site: object


@dataclass
class Call:
    kind: str
    session_id: str
    started_by: dict
    started_at: float
    members: dict[str, Member] = field(default_factory=dict)
    epochs: int = 0

    def has_people(self) -> bool:
        """Whether a participant (not only a host member) is in the call."""
        return any(not m.host for m in self.members.values())

    def public(self) -> dict:
        return {"active": True, "started_by": self.started_by, "started_at": self.started_at,
                "members": [m.public() for m in self.members.values()]}


@dataclass
class CallSlot:
    """A session's call of one kind (its plugin's state of the live session). Who is in a call lives in
    memory; that a call runs is also in session_events, so after a host restart the call is found again
    (``CallService.current``) and its members, reconnecting, join it again."""
    call: Call | None = None
    looked_up: bool = False       # the database was asked for a call that ran before a restart
    host_members: dict[str, HostMember] = field(default_factory=dict)   # in every call until detached


def running_call(db, session_id: str, kind: str) -> dict | None:
    """The last start of a ``kind`` call in the session if no stop came after it (it ran when the host
    stopped), else None."""
    row = next(db.query("select kind, at, participant_id, details from session_events where session_id = ? "
                        "and kind in (?, ?) order by id desc limit 1",
                        [session_id, f"{kind}.started", f"{kind}.stopped"]), None)
    return row if row is not None and row["kind"] == f"{kind}.started" else None


@dataclass
class CallPolicy:
    """What differs between the audio and the video plugin."""
    kind: str
    allowed: callable            # (ctx) -> str | None: None when allowed, else the reason
    media: callable              # (ctx) -> dict sent to members (e.g. resolution limits)
    ice: callable                # (ctx) -> list of RTCIceServer dicts
    status_fields: tuple = ()    # booleans a member may report about itself (muted, camera)


class CallService:
    def __init__(self, policy: CallPolicy):
        self.policy = policy
        self.kind = policy.kind

    def slot(self, live) -> CallSlot:
        """The session's call of this kind (``api.plugin_state`` under the kind: the plugin's name)."""
        return plugin_state(live, self.kind, CallSlot)

    # -- registration ---------------------------------------------------------------------------
    def register(self, register) -> None:
        k = self.kind
        register(f"{k}.state", self.state)
        register(f"{k}.start", self.start)
        register(f"{k}.join", self.join)
        register(f"{k}.leave", self.leave)
        register(f"{k}.stop", self.stop)
        register(f"{k}.signal", self.signal)
        register(f"{k}.status", self.status)
        register(f"{k}.hang_up", self.hang_up)

    # -- helpers ---------------------------------------------------------------------------------
    async def current(self, app, live) -> Call | None:
        """The session's running call; after a restart, found again from its events (with no members yet:
        they join again as they reconnect; if nobody does within the grace period, it stops)."""
        slot = self.slot(live)
        if slot.call is not None or slot.looked_up:
            return slot.call
        row = await database(app).read(lambda db: running_call(db, live.id, self.kind))
        slot.looked_up = True
        if slot.call is not None or row is None:   # (one may have started while we read)
            return slot.call
        details = json.loads(row["details"] or "{}")
        call = Call(self.kind, live.id, {"id": row["participant_id"], "name": details.get("name", ""),
                                         "auto": bool(details.get("auto"))}, row["at"])
        slot.call = call
        log.info("%s call of session %s found again after a restart", self.kind, live.id)
        asyncio.get_running_loop().call_later(config(app).grace_period, self._close_if_nobody_came,
                                              app, live, call)
        return call

    def _close_if_nobody_came(self, app, live, call: Call) -> None:
        if self.slot(live).call is call and not call.has_people() and live.state != "ended":
            task = asyncio.get_running_loop().create_task(self.close_call(app, live, None, "nobody came back"))
            _closing.add(task)
            task.add_done_callback(_closing.discard)

    def _broadcast_members(self, ctx_or_hub, live, call: Call) -> None:
        hub = ctx_or_hub.hub if hasattr(ctx_or_hub, "hub") else ctx_or_hub
        message = {"type": f"{self.kind}.members", "members": [m.public() for m in call.members.values()]}
        hub.broadcast(live, message)
        self._deliver(live, call, message)
        self._publish(hub.app, live, call)

    def _deliver(self, live, call: Call, message: dict) -> None:
        """``message`` to the host members in ``call``."""
        hosts = self.slot(live).host_members
        for m in list(call.members.values()):
            if m.host and m.id in hosts:
                hosts[m.id].deliver(message)

    def _publish(self, app, live, call: Call | None) -> None:
        """For the customer page's consent panel: each customer's Support Manager in the call, who hears
        (or sees) it, and how the customer ends its part (``hang_up``)."""
        members = list(call.members.values()) if call is not None else []
        reps = [m.id for m in members if m.role in ("primary_rep", "assisting_rep")]
        grants = []
        for m in members:
            if not m.agent or m.host or m.role in ("primary_rep", "assisting_rep"):
                continue
            if self.kind == "audio":
                what = f"hear {m.name}'s microphone (VoIP call{', muted' if m.muted else ''})"
            else:
                what = f"see {m.name}'s camera (video call)" if m.camera else \
                    f"be in a video call with {m.name} (camera off)"
            grants.append({"holders": reps, "what": what, "revoke": {"type": f"{self.kind}.hang_up", "member": m.id}})
        publish_grants(app, live, self.kind, grants)

    def _joined_reply(self, ctx, call: Call, member: Member, message: dict) -> dict:
        return {"type": f"{self.kind}.joined", "re": message.get("id"), "epoch": member.epoch,
                "members": [m.public() for m in call.members.values()],
                "started_by": call.started_by, "ice_servers": self.policy.ice(ctx),
                "media": self.policy.media(ctx)}

    async def _add_member(self, ctx, call: Call, agent: bool) -> Member:
        me = ctx.participant
        call.epochs += 1
        again = me.id in call.members
        member = Member(me.id, me.name, me.role, call.epochs, agent=agent)
        call.members[me.id] = member
        if not again:
            await ctx.event(f"{self.kind}.joined", {"name": me.name, "role": me.role, "agent": agent})
        for host in list(self.slot(ctx.session).host_members.values()):   # a standing host member comes too
            if host.id not in call.members:
                await self._enter_host_member(ctx.app, ctx.session, call, host)
        return member

    # -- handlers --------------------------------------------------------------------------------
    async def state(self, ctx, message):
        call = await self.current(ctx.app, ctx.session)
        reason = self.policy.allowed(ctx)
        out = {"type": f"{self.kind}.state", "re": message.get("id"), "allowed": reason is None,
               "reason": reason, "active": call is not None, "media": self.policy.media(ctx),
               "me_member": bool(call and ctx.participant.id in call.members)}
        if call is not None:
            out.update(started_by=call.started_by, started_at=call.started_at, members=[m.public() for m in call.members.values()],
                       auto_join=call.started_by.get("auto") and call.started_by.get("id") == ctx.participant.id)
        return out

    async def start(self, ctx, message):
        reason = self.policy.allowed(ctx)
        if reason:
            raise MessageError(reason)
        if not ctx.participant.is_rep:
            raise MessageError(f"only a rep can start the {self.kind}; you can join once it runs")
        call = await self.current(ctx.app, ctx.session)
        if call is None:
            call = await self.open_call(ctx.app, ctx.session, ctx.participant, auto=False)
        member = await self._add_member(ctx, call, bool(message.get("agent")))
        self._broadcast_members(ctx, ctx.session, call)
        return self._joined_reply(ctx, call, member, message)

    async def open_call(self, app, live, starter, auto: bool) -> Call:
        at = now(app)
        call = Call(self.kind, live.id, {"id": starter.id, "name": starter.name, "auto": auto}, at)
        self.slot(live).call = call

        def write(db):
            add_event(db, live.id, at, f"{self.kind}.started", starter.id, {"name": starter.name, "auto": auto})
        await database(app).write(write)
        sessions(app).broadcast(live, {"type": f"{self.kind}.call", **call.public()})
        return call

    async def join(self, ctx, message):
        reason = self.policy.allowed(ctx)
        if reason:
            raise MessageError(reason)
        call = await self.current(ctx.app, ctx.session)
        if call is None:
            raise MessageError(f"no {self.kind} call is running in this session; a rep starts it")
        member = await self._add_member(ctx, call, bool(message.get("agent")))
        self._broadcast_members(ctx, ctx.session, call)
        return self._joined_reply(ctx, call, member, message)

    async def leave(self, ctx, message):
        call = self.slot(ctx.session).call
        if call is None or ctx.participant.id not in call.members:
            return {"type": f"{self.kind}.left", "re": message.get("id")}
        await self.remove_member(ctx.app, ctx.session, ctx.participant.id, "left")
        return {"type": f"{self.kind}.left", "re": message.get("id")}

    async def stop(self, ctx, message):
        if not ctx.participant.is_rep:
            raise MessageError(f"only a rep can stop the {self.kind} for everybody; you can leave it")
        if self.slot(ctx.session).call is None:
            raise MessageError(f"no {self.kind} call is running")
        await self.close_call(ctx.app, ctx.session, ctx.participant.id, "stopped")
        return {"type": f"{self.kind}.stopped", "re": message.get("id")}

    async def hang_up(self, ctx, message):
        """A customer ends their Support Manager's part in the call from the session page (consent panel)."""
        if ctx.participant.is_rep:
            raise MessageError(f"a rep leaves the {self.kind} call, or stops it for everybody")
        call = self.slot(ctx.session).call
        wanted = message.get("member")
        member = call.members.get(wanted) if call is not None and isinstance(wanted, str) else None
        if member is None or not member.agent or member.host:
            raise MessageError(f"that Support Manager is not in the {self.kind} call")
        ctx.send_to(member.id, {"type": f"{self.kind}.hung_up", "by": ctx.participant.name})
        await self.remove_member(ctx.app, ctx.session, member.id, f"hung up by {ctx.participant.name}")
        return {"type": f"{self.kind}.hung_up_ok", "re": message.get("id")}

    async def status(self, ctx, message):
        call = self.slot(ctx.session).call
        member = call and call.members.get(ctx.participant.id)
        if not member:
            raise MessageError(f"you are not in the {self.kind} call")
        for name in self.policy.status_fields:
            if name in message:
                if not isinstance(message[name], bool):
                    raise MessageError(f"{name} must be true or false")
                setattr(member, name, message[name])
        if "problem" in message:
            problem = message["problem"] or ""
            if not isinstance(problem, str) or len(problem) > 200:
                raise MessageError("problem must be a text of at most 200 characters")
            member.problem = problem
        self._broadcast_members(ctx, ctx.session, call)
        return {"type": f"{self.kind}.status_ok", "re": message.get("id")} if message.get("id") else None

    async def signal(self, ctx, message):
        to = message.get("to")
        call = self.slot(ctx.session).call
        to_host = isinstance(to, str) and call is not None and to in call.members and call.members[to].host
        if not isinstance(to, str) or (to not in ctx.session.participants and not to_host):
            raise MessageError("that participant is not in this session: signalling refused")
        if call is None:
            raise MessageError(f"no {self.kind} call is running")
        me = call.members.get(ctx.participant.id)
        if me is None:
            raise MessageError(f"join the {self.kind} call before sending signalling")
        if to not in call.members:
            raise MessageError(f"that participant is not in the {self.kind} call")
        if to == ctx.participant.id:
            raise MessageError("signalling to yourself is refused")
        has_desc, has_cand = "description" in message, "candidate" in message
        if has_desc == has_cand:
            raise MessageError("a signal carries either a description or a candidate")
        out = {"type": f"{self.kind}.signal", "from": me.id, "epoch": me.epoch}
        try:
            if has_desc:
                out["description"] = check_description(message["description"])
            else:
                out["candidate"] = check_candidate(message["candidate"])
        except SignalError as exc:
            raise MessageError(str(exc)) from None
        peer_epoch = message.get("peer_epoch")
        if isinstance(peer_epoch, int) and peer_epoch != call.members[to].epoch:
            return None  # meant for an earlier connection of that member: drop quietly
        out["to_epoch"] = call.members[to].epoch
        if to_host:
            self.slot(ctx.session).host_members[to].deliver(out)
        elif not ctx.send_to(to, out):
            raise MessageError("that participant is not connected right now")
        return {"type": f"{self.kind}.signal_ok", "re": message.get("id")} if message.get("id") else None

    # -- membership changes from hooks -----------------------------------------------------------
    async def remove_member(self, app, live, participant_id: str, reason: str) -> None:
        call = self.slot(live).call
        if call is None:
            return
        member = call.members.pop(participant_id, None)
        if member is None:
            return
        at = now(app)

        def write(db):
            add_event(db, live.id, at, f"{self.kind}.left", participant_id, {"name": member.name, "reason": reason})
        await database(app).write(write)
        if call.has_people():
            self._broadcast_members(sessions(app), live, call)
        else:
            await self.close_call(app, live, None, "empty")

    async def close_call(self, app, live, by: str | None, reason: str) -> None:
        await self.current(app, live)   # a call that ran before a restart is stopped (and recorded) too
        slot = self.slot(live)
        call, slot.call, slot.looked_up = slot.call, None, False
        if call is None:
            return
        at = now(app)
        self._deliver(live, call, {"type": f"{self.kind}.call", "active": False, "reason": reason, "members": []})
        left = list(call.members.values())
        call.members.clear()

        def write(db):
            for m in left:
                add_event(db, live.id, at, f"{self.kind}.left", m.id, {"name": m.name, "reason": reason})
            add_event(db, live.id, at, f"{self.kind}.stopped", by, {"reason": reason})
        await database(app).write(write)
        sessions(app).broadcast(live, {"type": f"{self.kind}.call", "active": False, "reason": reason, "members": []})
        self._publish(app, live, None)

    # -- members the host runs itself (e.g. the recorder) ------------------------------------------
    async def attach_host_member(self, app, live, member_id: str, name: str, deliver: Callable[[dict], None]) -> None:
        """Put a member the host runs itself into this session's call of this kind now (when one runs) and
        into every later one, until ``detach_host_member``. ``member_id`` starts with HOST_MEMBER_PREFIX;
        ``deliver`` gets the messages a participant's connection would (see ``HostMember``)."""
        if not member_id.startswith(HOST_MEMBER_PREFIX) or len(member_id) > 64:
            raise ValueError(f"a host member's id starts with {HOST_MEMBER_PREFIX!r} (at most 64 characters)")
        host = HostMember(member_id, name, deliver)
        self.slot(live).host_members[member_id] = host
        call = await self.current(app, live)
        if call is not None and call.has_people() and member_id not in call.members:
            await self._enter_host_member(app, live, call, host)

    async def detach_host_member(self, app, live, member_id: str, reason: str) -> None:
        """Take a host member out of the session's call (the others drop their connection to it) and out of
        later calls. Nothing happens when it is not attached."""
        self.slot(live).host_members.pop(member_id, None)
        await self.remove_member(app, live, member_id, reason)

    async def _enter_host_member(self, app, live, call: Call, host: HostMember) -> None:
        hosts = self.slot(live).host_members
        if hosts.get(host.id) is not host:
            return
        call.epochs += 1
        member = Member(host.id, host.name, "host", call.epochs, agent=True, host=True)
        call.members[host.id] = member
        at = now(app)

        def write(db):
            add_event(db, live.id, at, f"{self.kind}.joined", host.id, {"name": host.name, "role": "host", "agent": True})
        await database(app).write(write)
        if hosts.get(host.id) is not host and call.members.get(host.id) is member:
            del call.members[host.id]     # detached while it was entering: it never shows
        if self.slot(live).call is not call or call.members.get(host.id) is not member:
            return   # the call stopped (or the member was detached) meanwhile
        ctx = HostContext(app, site_by_id(app, live.site_id))
        host.deliver({"type": f"{self.kind}.joined", "epoch": member.epoch,
                      "members": [m.public() for m in call.members.values()], "started_by": call.started_by,
                      "ice_servers": self.policy.ice(ctx), "media": self.policy.media(ctx)})
        self._broadcast_members(sessions(app), live, call)

    def host_signal(self, app, live, member_id: str, to: str, body: dict) -> bool:
        """Send a host member's signalling (``{"description": ...}`` or ``{"candidate": ...}``) to member
        ``to`` of the call, as ``<kind>.signal`` from it. False when either is not in the call (any more)
        or ``to`` is not connected."""
        call = self.slot(live).call
        me = call.members.get(member_id) if call is not None else None
        peer = call.members.get(to) if call is not None else None
        if me is None or not me.host or peer is None or peer.host:
            return False
        return sessions(app).send(live, to, {"type": f"{self.kind}.signal", "from": me.id, "epoch": me.epoch,
                                             "to_epoch": peer.epoch, **body})


def call_record(kind: str, session_id: str, db) -> dict:
    """What the session's record says about this kind of call: when it ran and who took part.
    ``db`` is a sqlite_utils database (the hook runs in a database thread)."""
    rows = list(db["session_events"].rows_where("session_id = ? and kind like ?", [session_id, f"{kind}.%"],
                                                order_by="id"))
    periods, names, current = [], [], None
    for r in rows:
        details = json.loads(r["details"] or "{}")
        verb = r["kind"].split(".", 1)[1]
        if verb == "started":
            current = {"started_at": r["at"], "stopped_at": None, "started_by": details.get("name"),
                       "participants": []}
            periods.append(current)
        elif verb == "joined" and current is not None:
            name = details.get("name")
            if name not in current["participants"]:
                current["participants"].append(name)
            if name not in names:
                names.append(name)
        elif verb == "stopped" and current is not None:
            current["stopped_at"] = r["at"]
            current = None
    seconds = sum((p["stopped_at"] or p["started_at"]) - p["started_at"] for p in periods)

    def when(t):
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) if t else "still running"
    times = "; ".join(f"{when(p['started_at'])} to {when(p['stopped_at'])} UTC: {', '.join(p['participants'])}"
                      for p in periods)
    # Plain values only: the activity report shows every column as text.
    return {f"{kind}_calls": len(periods), f"{kind}_seconds": round(seconds, 1),
            f"{kind}_participants": ", ".join(n for n in names if n), f"{kind}_times": times}
