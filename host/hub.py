"""Live sessions in memory: who is in each, who is connected, and sending to them.

The database is written first; memory follows; then everybody concerned is told.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

from aiohttp import WSCloseCode

from . import session_store as store
from .appkeys import CONFIG, DB, PLUGINS, SITES
from .audit import audit
from .connection import Connection, encode
from .options import REP_ROLES
from .traffic import emit_out_binary, emit_out_json

log = logging.getLogger("supporthost.hub")


@dataclass
class LiveParticipant:
    id: str
    role: str
    name: str
    user_id: int | None
    joined_at: float
    conn: Connection | None = None
    grace: asyncio.TimerHandle | None = None

    @property
    def is_rep(self) -> bool:
        return self.role in REP_ROLES

    def public(self) -> dict:
        out = {"id": self.id, "role": self.role, "name": self.name, "online": self.conn is not None,
               "rep": self.is_rep}
        if self.is_rep:
            out["user_id"] = self.user_id  # the rep's account, so consoles can tell reps with one name apart
        return out


@dataclass
class LiveSession:
    id: str
    site_id: int
    number: str
    kind: str
    state: str
    created_at: float
    meta: dict = field(default_factory=dict)
    participants: dict[str, LiveParticipant] = field(default_factory=dict)
    idle_since: float | None = None      # when its last connection went (None: somebody is connected)
    plugin_state: dict = field(default_factory=dict)   # plugin name -> its state (api.plugin_state)
    observers: list = field(default_factory=list)      # traffic observers (host/traffic.py, api.observe_traffic)

    def primary(self) -> LiveParticipant | None:
        return next((p for p in self.participants.values() if p.role == "primary_rep"), None)

    def reps(self) -> list[LiveParticipant]:
        return [p for p in self.participants.values() if p.is_rep]

    def public(self) -> dict:
        return {"id": self.id, "number": self.number, "kind": self.kind, "state": self.state,
                "created_at": self.created_at, "participants": [p.public() for p in self.participants.values()]}


class Hub:
    def __init__(self, app):
        self.app = app
        self.sessions: dict[str, LiveSession] = {}
        self.rep_feeds: dict[int, set[Connection]] = {}
        self._loading: dict[str, asyncio.Lock] = {}

    @property
    def config(self):
        return self.app[CONFIG]

    def _site(self, live: LiveSession):
        return self.app[SITES].by_id[live.site_id]

    async def _hook(self, live: LiveSession, name: str, **kwargs) -> None:
        await self.app[PLUGINS].call(name, self._site(live).disabled, app=self.app, session=live, **kwargs)

    # -- loading ---------------------------------------------------------------------------------
    async def get(self, session_id: str) -> LiveSession | None:
        live = self.sessions.get(session_id)
        if live is not None:
            return live
        lock = self._loading.setdefault(session_id, asyncio.Lock())
        async with lock:
            live = self.sessions.get(session_id)
            if live is not None:
                return live

            def load(db):
                row = db["support_sessions"].get(session_id) if db["support_sessions"].count_where(
                    "id = ?", [session_id]) else None
                return row, (store.active_participants(db, session_id) if row else [])
            row, people = await self.app[DB].read(load)
            if row is None or row["state"] == "ended":
                return None
            live = LiveSession(row["id"], row["site_id"], row["number"], row["kind"], row["state"],
                               row["created_at"], json.loads(row["meta"] or "{}"))
            for p in people:
                lp = LiveParticipant(p["id"], p["role"], p["name"], p["user_id"], p["joined_at"])
                live.participants[lp.id] = lp
                self._start_grace(live, lp)  # everybody must come back after a restart
            live.idle_since = self.config.clock()
            self.sessions[session_id] = live
        self._loading.pop(session_id, None)
        return live

    # -- sending ---------------------------------------------------------------------------------
    def broadcast(self, live: LiveSession, message: dict, roles=None, exclude: str | None = None) -> None:
        text = encode(message)
        for p in live.participants.values():
            if p.conn is not None and p.id != exclude and (roles is None or p.role in roles):
                p.conn.send(text)
        if live.observers:
            to = None if roles is None and exclude is None else [
                p.id for p in live.participants.values() if p.id != exclude and (roles is None or p.role in roles)]
            emit_out_json(live, message, to, text)

    def broadcast_bytes(self, live: LiveSession, frame: bytes, to: list[str]) -> None:
        for pid in to:
            p = live.participants.get(pid)
            if p is not None and p.conn is not None:
                p.conn.send(frame)
        if live.observers:
            emit_out_binary(live, frame, list(to))

    def send_bytes(self, live: LiveSession, participant_id: str, frame: bytes) -> bool:
        """A binary frame the host itself makes for one participant (not a forward of somebody's frame);
        False when they are not connected or their queue is full. Seen by the session's traffic observers."""
        p = live.participants.get(participant_id)
        sent = bool(p and p.conn and p.conn.send(frame))
        if sent and live.observers:
            emit_out_binary(live, bytes(frame), [participant_id])
        return sent

    def send_many(self, live: LiveSession, participant_ids, message: dict, text: str | None = None) -> list[str]:
        """The same message to several participants, encoded once (``text``: its JSON when the caller has it);
        the ids it was sent to (connected, queue not full). The session's traffic observers see it once."""
        text = encode(message) if text is None else text
        sent = [pid for pid in participant_ids
                if (p := live.participants.get(pid)) is not None and p.conn is not None and p.conn.send(text)]
        if sent and live.observers:
            emit_out_json(live, message, sent, text)
        return sent

    def send(self, live: LiveSession, participant_id: str, message: dict) -> bool:
        p = live.participants.get(participant_id)
        if not live.observers:
            return bool(p and p.conn and p.conn.send(message))
        text = encode(message)
        sent = bool(p and p.conn and p.conn.send(text))
        if sent:
            emit_out_json(live, message, [participant_id], text)
        return sent

    def notify_user(self, user_id: int, message: dict) -> None:
        text = encode(message)
        for conn in list(self.rep_feeds.get(user_id, ())):
            conn.send(text)

    def _roster(self, live: LiveSession) -> None:
        self.broadcast(live, {"type": "session.participants", "participants":
                              [p.public() for p in live.participants.values()]})

    # -- presence --------------------------------------------------------------------------------
    async def added(self, live: LiveSession, row: dict) -> LiveParticipant:
        """A participant row was written (join, rep added): bring it into the live session."""
        lp = LiveParticipant(row["id"], row["role"], row["name"], row["user_id"], row["joined_at"])
        live.participants[lp.id] = lp
        if live.state == "open" and not lp.is_rep:
            live.state = "active"
        if not lp.is_rep:  # a rep who was added opens the session from its console when it can
            self._start_grace(lp=lp, live=live)
        self.broadcast(live, {"type": "session.joined", "participant": lp.public()})
        self._roster(live)
        if lp.user_id is not None:
            self.notify_user(lp.user_id, {"type": "console.sessions_changed"})
        for rep in live.reps():
            if rep.user_id is not None:
                self.notify_user(rep.user_id, {"type": "console.alert", "session": live.id,
                                               "text": f"{lp.name} joined"})
        await self._hook(live, "participant_joined", participant=lp)
        return lp

    def attach(self, live: LiveSession, lp: LiveParticipant, conn: Connection) -> None:
        if lp.grace is not None:
            lp.grace.cancel()
            lp.grace = None
        old = lp.conn
        lp.conn = conn
        live.idle_since = None
        if old is not None:  # the same person opened the session again: the newest socket wins
            asyncio.create_task(old.close(WSCloseCode.POLICY_VIOLATION, "replaced by a newer connection"))
        conn.send({"type": "session.hello", "you": lp.public(), "session": live.public()})
        self._roster(live)

    def detach(self, live: LiveSession, lp: LiveParticipant, conn: Connection) -> None:
        if lp.conn is not conn:
            return
        lp.conn = None
        if not any(p.conn is not None for p in live.participants.values()):
            live.idle_since = self.config.clock()
        if live.state != "ended" and lp.id in live.participants:
            self._start_grace(live, lp)
            self._roster(live)

    def _start_grace(self, live: LiveSession, lp: LiveParticipant) -> None:
        if lp.grace is not None:
            lp.grace.cancel()
        loop = asyncio.get_running_loop()
        lp.grace = loop.call_later(self.config.grace_period,
                                   lambda: asyncio.create_task(self._grace_over(live, lp)))

    async def _grace_over(self, live: LiveSession, lp: LiveParticipant) -> None:
        lp.grace = None
        if lp.conn is not None or lp.id not in live.participants or live.state == "ended":
            return
        if lp.role == "primary_rep":
            # A session never loses its lead: control goes to a rep who is here, else the primary
            # stays (shown offline) and can come back from its console to carry on or end it.
            heir = next((p for p in live.reps() if p.id != lp.id and p.conn is not None), None)
            if heir is None:
                return
            await self.transfer_control(live, lp, heir)
            await audit(self.app, live.site_id, "host", "control_transferred", f"participant:{heir.id}",
                        {"session": live.id, "reason": "primary rep gone"})
        await self.leave(live, lp, "timeout")

    # -- changes ---------------------------------------------------------------------------------
    async def leave(self, live: LiveSession, lp: LiveParticipant, reason: str = "left") -> None:
        now = self.config.clock()

        def write(db):
            db["participants"].update(lp.id, {"left_at": now, "left_reason": reason})
            store.add_event(db, live.id, now, "left", lp.id, {"reason": reason, "name": lp.name})
        await self.app[DB].write(write)
        live.participants.pop(lp.id, None)
        if lp.grace is not None:
            lp.grace.cancel()
        self.broadcast(live, {"type": "session.left", "participant": lp.public(), "reason": reason})
        self._roster(live)
        if lp.conn is not None:
            lp.conn.send({"type": "session.you_left", "reason": reason})
            await lp.conn.close(WSCloseCode.OK, "left")
        if lp.user_id is not None:
            self.notify_user(lp.user_id, {"type": "console.sessions_changed"})
        await self._hook(live, "participant_left", participant=lp, reason=reason)

    async def transfer_control(self, live: LiveSession, from_p: LiveParticipant, to_p: LiveParticipant) -> None:
        now = self.config.clock()

        def write(db):
            db["participants"].update(from_p.id, {"role": "assisting_rep"})
            db["participants"].update(to_p.id, {"role": "primary_rep"})
            store.add_event(db, live.id, now, "control_transferred", from_p.id,
                            {"to": to_p.id, "from_name": from_p.name, "to_name": to_p.name})
        await self.app[DB].write(write)
        from_p.role, to_p.role = "assisting_rep", "primary_rep"
        self.broadcast(live, {"type": "session.control_transferred", "from": from_p.public(),
                              "to": to_p.public()})
        self._roster(live)
        await self._hook(live, "control_transferred", from_participant=from_p, to_participant=to_p)

    async def end(self, live: LiveSession, by: LiveParticipant | None, reason: str | None = None) -> None:
        if live.state == "ended":
            return
        now = self.config.clock()
        details = {"reason": reason} if reason else {}

        def write(db):
            db["support_sessions"].update(live.id, {"state": "ended", "ended_at": now,
                                                    "ended_by": by.id if by else None})
            db.execute("update participants set left_at = ?, left_reason = 'ended' "
                       "where session_id = ? and left_at is null", [now, live.id])
            db.execute("update join_codes set expires_at = ? where session_id = ? and used_at is null",
                       [now, live.id])
            store.add_event(db, live.id, now, "ended", by.id if by else None, details)
        await self.app[DB].write(write)
        live.state = "ended"
        self.broadcast(live, {"type": "session.ended", "by": by.public() if by else None, **details})
        people = list(live.participants.values())
        for p in people:
            if p.grace is not None:
                p.grace.cancel()
        # Closed side by side: a peer that does not answer its close frame delays nobody else.
        await asyncio.gather(*(p.conn.close(WSCloseCode.OK, "session ended") for p in people if p.conn is not None),
                             return_exceptions=True)
        for p in people:
            if p.user_id is not None:
                self.notify_user(p.user_id, {"type": "console.sessions_changed"})
        self.sessions.pop(live.id, None)
        await self._hook(live, "session_ended", ended_by=by)

    async def disconnect_user(self, user_id: int, reason: str = "account switched off") -> None:
        """Close every socket of an account: its console feeds and its session connections."""
        conns = list(self.rep_feeds.get(user_id, ()))
        for live in list(self.sessions.values()):
            conns += [p.conn for p in live.participants.values() if p.user_id == user_id and p.conn is not None]
        await asyncio.gather(*(c.close(WSCloseCode.POLICY_VIOLATION, reason) for c in conns),
                             return_exceptions=True)

    async def close_all(self) -> None:
        for live in list(self.sessions.values()):
            for p in live.participants.values():
                if p.grace is not None:
                    p.grace.cancel()
                if p.conn is not None:
                    await p.conn.close(WSCloseCode.GOING_AWAY, "server shutdown")
        for conns in list(self.rep_feeds.values()):
            for conn in list(conns):
                await conn.close(WSCloseCode.GOING_AWAY, "server shutdown")
