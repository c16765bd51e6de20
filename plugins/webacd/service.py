"""The WebACD service of one app: the routing engine plus persistence, notifications and a ticker.

Order of work for every change: the engine decides (synchronously, so two accepts can never both
win), the database is written (store.py), then people are told: reps through their console feed
(notify_user), waiting customers through their waiting-page socket, transferred customers through
their session. What reps do (members.py), accepting a customer (accepting.py), transfers
(transfers.py) and queue administration (queues.py) build on this.
"""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import uuid
from collections import deque
from statistics import mean

from aiohttp import web

from host import api

from . import store
from .engine import Entry, Member, Offer, Rule, RoutingEngine
from .queue_config import QueueConfig

PLUGIN = "webacd"
log = logging.getLogger("supporthost.webacd")


class AcdError(Exception):
    """A request that cannot go ahead; the text is shown to the person asking."""

    def __init__(self, text: str, status: int = 400):
        super().__init__(text)
        self.status = status


class WebAcd:
    tick_interval = 0.5

    def __init__(self, app):
        self.app = app
        self.clock = lambda: api.now(app)
        self.engine = RoutingEngine(self.clock, self.online)
        self.queues: dict[int, QueueConfig] = {}
        self.handling: dict[int, deque] = {}
        self.waiters: dict[str, set] = {}       # waiting entry -> its waiting pages' connections
        self.limiters: dict[int, api.RateLimiter] = {}
        self.dirty: set[int] = set()
        self.last_seen: dict[str, float] = {}   # waiting entry -> when its waiting page was last connected
        self.last_sent: dict[str, tuple] = {}   # waiting entry -> (position, waiting, estimate) last pushed
        self.starting: dict[int, int] = {}      # rep -> sessions being written for accepts (not yet in the db)
        self._last_drop = float("-inf")
        self._queue_told: dict[int, float] = {}  # queue -> when its members were last told it changed

    # -- shortcuts -----------------------------------------------------------------------------
    @property
    def db(self):
        return api.database(self.app)

    @property
    def sessions(self):
        return api.sessions(self.app)

    def online(self, user_id: int) -> bool:
        return api.rep_online(self.app, user_id)

    def site_queues(self, site_id: int) -> list[QueueConfig]:
        return sorted((q for q in self.queues.values() if q.site_id == site_id), key=lambda q: q.name.lower())

    def queue_of_site(self, site_id: int, queue_id) -> QueueConfig | None:
        try:
            q = self.queues.get(int(queue_id))
        except (TypeError, ValueError):
            return None
        return q if q is not None and q.site_id == site_id else None

    def is_member(self, site_id: int, user_id: int) -> bool:
        """Whether the rep is a member of a queue of this site (takes WebACD work there)."""
        return any(user_id in q.members for q in self.queues.values() if q.site_id == site_id)

    # -- start and stop ------------------------------------------------------------------------
    async def start(self) -> None:
        state = await self.db.read(store.load_state)
        for row in state["queues"]:
            self.set_queue(QueueConfig.from_row(row, state["members"].get(row["id"], [])))
        for r in state["reps"]:
            self.engine.set_member(Member(r["id"], r["site_id"], r["display_name"],
                                          r["status"] if r["active"] else "away", capacity(r),
                                          state["loads"].get(r["id"], 0), self.clock()))
        for row in state["waiting"]:
            self.engine.add(self.entry(row), dispatch=False)
            self.last_seen[row["id"]] = self.clock()  # after a restart everybody gets time to reconnect
        for row in state["offers"]:
            if row["entry_id"] in self.engine.entries:
                self.engine.restore_offer(Offer(row["entry_id"], row["user_id"], row["via_queue_id"],
                                                row["offered_at"], row["expires_at"]))
        self.engine.rr_last.update(state["round_robin_last"])
        for qid, times in state["handling"].items():
            self.handling[qid] = deque(times, maxlen=store.RECENT)
        api.background_task(self.app, "webacd.ticker", self._ticker)

    async def stop(self) -> None:
        for conns in list(self.waiters.values()):
            for conn in list(conns):
                await conn.close()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval)
            try:
                await self.tick()
            except Exception:
                log.exception("webacd tick failed")

    async def tick(self) -> None:
        """Expire offers, escalate, dispatch, drop customers gone from their waiting page; then push
        positions of the queues that changed."""
        await self.apply(self.engine.tick())
        await self.drop_abandoned()
        self.push_positions()

    def seen(self, entry_id: str) -> None:
        self.last_seen[entry_id] = self.clock()

    async def drop_abandoned(self) -> None:
        """A customer whose waiting page has been closed longer than the site allows leaves the queue."""
        now = self.clock()
        if now - self._last_drop < 5:  # coarse on purpose: the limits are minutes
            return
        self._last_drop = now
        sites = api.sites(self.app).by_id
        limits = {sid: api.setting(self.app, site, PLUGIN, "abandon_after", 180) for sid, site in sites.items()}
        gone = [e.id for e in self.engine.entries.values()
                if e.id not in self.waiters and e.state == "waiting" and not e.data.get("session_id")
                and now - self.last_seen.get(e.id, now) >= limits.get(e.site_id, 180)]
        for entry_id in gone:
            await self.leave_queue(entry_id, "abandoned")

    def set_queue(self, q: QueueConfig) -> None:
        self.queues[q.id] = q
        self.engine.set_rule(Rule(q.id, q.site_id, q.name, q.members, q.mode, q.offer_timeout, q.escalate_after,
                                  q.overflow_queue_id))
        self.handling.setdefault(q.id, deque(maxlen=store.RECENT))

    @staticmethod
    def entry(row: dict) -> Entry:
        return Entry(row["id"], row["site_id"], row["queue_id"], row["name"], row["created_at"],
                     escalated=bool(row["escalated"]), target_user=row["target_user_id"],
                     exclude={row["exclude_user_id"]} if row["exclude_user_id"] else set(), data=row)

    def handled(self, ended: list[tuple[int, float]]) -> None:
        """Sessions handled for these queues ended (or were transferred): their times feed the estimates."""
        for qid, seconds in ended:
            self.handling.setdefault(qid, deque(maxlen=store.RECENT)).append(seconds)

    # -- applying the engine's decisions ---------------------------------------------------------
    async def apply(self, events: list) -> None:
        if not events:
            return
        now = self.clock()
        opened, closed, escalated, undirected = [], [], [], []
        for ev in events:
            if ev[0] == "offer":
                o = ev[1]
                opened.append({"entry_id": o.entry_id, "user_id": o.user_id, "via_queue_id": o.via,
                               "offered_at": o.at, "expires_at": o.expires_at, "state": "open", "closed_at": None})
            elif ev[0] == "closed":
                closed.append((ev[1].entry_id, ev[1].user_id, ev[2], now))
            elif ev[0] == "escalated":
                escalated.append(ev[1].id)
            elif ev[0] == "undirected":
                undirected.append(ev[1].id)
        await self.db.write(lambda db: store.record_offers(db, opened, closed, escalated, undirected))
        for ev in events:
            if ev[0] == "offer":
                self.sessions.notify_user(ev[1].user_id, {"type": "webacd.offer", "offer": self.offer_json(ev[1])})
                self.dirty.add(ev[1].via)
            elif ev[0] == "closed":
                offer, reason, by = ev[1], ev[2], ev[3]
                self.sessions.notify_user(offer.user_id, {"type": "webacd.offer_closed", "entry_id": offer.entry_id,
                                                          "reason": reason, "by": by,
                                                          "name": self._entry_name(offer.entry_id)})
                self.dirty.add(offer.via)
            elif ev[0] in ("escalated", "undirected"):
                self.dirty.add(ev[1].queue_id)

    def _entry_name(self, entry_id: str) -> str:
        e = self.engine.entries.get(entry_id)
        return e.name if e else ""

    def offer_json(self, offer: Offer) -> dict:
        e = self.engine.entries.get(offer.entry_id)
        data = e.data if e else {}
        q = self.queues.get(e.queue_id) if e else None
        via = self.queues.get(offer.via)
        return {"entry_id": offer.entry_id, "name": e.name if e else "", "problem": data.get("problem") or "",
                "queue": q.name if q else "", "via": via.name if via else "", "since": e.created_at if e else 0,
                "waited": round(self.clock() - e.created_at) if e else 0, "expires_in": round(offer.expires_at - self.clock()),
                "kind": data.get("kind", "new"), "note": data.get("note") or "", "from": data.get("from_name") or "",
                "ref_url": data.get("ref_url") or "", "escalated": bool(e and e.escalated)}

    # -- customers entering and waiting ----------------------------------------------------------
    def limiter(self, site_id: int, per_minute: int) -> api.RateLimiter:
        lim = self.limiters.get(site_id)
        if lim is None:
            lim = self.limiters[site_id] = api.RateLimiter(per_minute, 60, self.clock)
        lim.limit = per_minute
        return lim

    async def enqueue(self, site, queue: QueueConfig, clean: dict, ref_url: str, address: str,
                      page_key: str = "") -> tuple[dict, str]:
        """A customer submitted the entry form: their place in the queue, and the token that keeps it.
        ``page_key``: the key the snippet made in the customer's page (only its hash is kept)."""
        now = self.clock()
        token = secrets.token_urlsafe(32)
        extra = {k: v for k, v in clean.items() if k not in ("name", "email", "problem")}
        row = new_entry(uuid.uuid4().hex, site.id, queue.id, "new", clean["name"], now,
                        token_hash=api.token_hash(token), email=clean.get("email", ""),
                        problem=clean.get("problem", ""), fields=json.dumps(extra), ref_url=ref_url, address=address,
                        page_key_hash=api.token_hash(page_key) if page_key else None)
        await self.db.write(lambda db: store.add_entry(db, row))
        self.seen(row["id"])
        self.dirty.add(queue.id)
        await self.apply(self.engine.add(self.entry(row)))
        return row, token

    async def leave_queue(self, entry_id: str, state: str = "left") -> None:
        now = self.clock()
        entry = self.engine.entries.get(entry_id)
        self.last_seen.pop(entry_id, None)
        self.last_sent.pop(entry_id, None)
        if entry is None:
            return
        await self.apply(self.engine.cancel(entry_id))
        await self.db.write(lambda db: store.close_entries(db, [entry_id], state, now))
        self.dirty.add(entry.queue_id)
        self.send_waiter(entry_id, {"type": "webacd.status", "state": "left"})

    def status_of(self, entry_id: str) -> dict | None:
        """What the waiting page shows: position and estimated wait, live."""
        e = self.engine.entries.get(entry_id)
        if e is None:
            return None
        pos = self.engine.position(e)
        q = self.queues.get(e.queue_id)
        return {"type": "webacd.status", "state": "waiting", "position": pos,
                "waiting": len(self.engine.waiting.get(e.queue_id, [])), "queue": q.name if q else "",
                "estimate": self.estimate(e.queue_id, pos), "waited": round(self.clock() - e.created_at)}

    def estimate(self, queue_id: int, position: int) -> int | None:
        """Seconds until a rep takes this customer: from the queue's recent handling times and how many
        reps serve it now. None while the queue has no finished sessions to go by."""
        recent = self.handling.get(queue_id)
        if not recent:
            return None
        q = self.queues.get(queue_id)
        servers = 0
        for uid in q.members if q else ():
            m = self.engine.members.get(uid)
            if m is not None and m.status == "available":
                servers += m.capacity
        return round(position * mean(recent) / max(1, servers))

    def send_waiter(self, entry_id: str, message: dict) -> None:
        for conn in list(self.waiters.get(entry_id, ())):
            conn.send(message)

    def push_positions(self) -> None:
        dirty, self.dirty = self.dirty, set()
        for qid in dirty:
            for e, pos in self.engine.positions(qid):
                if e.data.get("session_id"):
                    live = api.live_session(self.app, e.data["session_id"])
                    if live is not None:
                        self.sessions.broadcast(live, {**self.status_of(e.id), "transfer": True},
                                                roles=api.CUSTOMER_ROLES)
                elif e.id in self.waiters:
                    status = self.status_of(e.id)
                    shown = (status["position"], status["waiting"], status["estimate"])
                    if self.last_sent.get(e.id) != shown:  # only what changed goes out
                        self.last_sent[e.id] = shown
                        self.send_waiter(e.id, status)
            q = self.queues.get(qid)
            now = time.monotonic()
            if q is not None and now - self._queue_told.get(qid, 0.0) >= 1.0:  # queue views refresh at most 1/s
                self._queue_told[qid] = now
                for uid in q.members:
                    self.sessions.notify_user(uid, {"type": "webacd.queue_changed", "queue_id": qid})
            elif q is not None:
                self.dirty.add(qid)  # tell them on a later tick

    # -- members' load -------------------------------------------------------------------------
    async def refresh_members(self, user_ids) -> None:
        """Re-read sessions, mode and maximum of these reps (after a session changed or an admin edit)."""
        ids = [u for u in set(user_ids) if u is not None and u in self.engine.members]
        if not ids:
            return

        def read(db):
            return store.loads_of(db, ids), store.user_rows(db, ids)
        loads, users = await self.db.read(read)
        events = []
        for uid in ids:
            member = self.engine.members.get(uid)
            u = users.get(uid)
            if member is None or u is None:
                continue
            member.name = u["display_name"]
            if not u["active"] and member.status != "away":
                events += self.engine.set_status(uid, "away")
            events += self.engine.set_load(uid, loads.get(uid, 0) + self.starting.get(uid, 0), capacity(u))
        await self.apply(events)

    # -- session events ------------------------------------------------------------------------
    async def session_ended(self, session) -> None:
        now = self.clock()
        sid = session.id
        waiting = [e.id for e in self.engine.entries.values() if e.data.get("session_id") == sid]
        for eid in waiting:
            await self.apply(self.engine.cancel(eid))

        def write(db):
            store.close_entries(db, waiting, "ended", now)
            return store.end_handling(db, sid, now)
        self.handled(await self.db.write(write))
        await self.refresh_members([p.user_id for p in session.participants.values()])

    async def customer_left(self, session) -> None:
        if any(p.role in api.CUSTOMER_ROLES for p in session.participants.values()):
            return
        for e in [e for e in self.engine.entries.values() if e.data.get("session_id") == session.id]:
            await self.apply(self.engine.cancel(e.id))
            now = self.clock()
            await self.db.write(lambda db, eid=e.id: store.close_entries(db, [eid], "left", now))


def new_entry(entry_id: str, site_id: int, queue_id: int, kind: str, name: str, now: float, **values) -> dict:
    """A waiting entry's row: a customer from the entry form (kind new) or a transferred session."""
    row = {"id": entry_id, "site_id": site_id, "queue_id": queue_id, "kind": kind, "state": "waiting",
           "token_hash": None, "name": name, "email": "", "problem": "", "fields": "{}", "ref_url": "",
           "address": "", "created_at": now, "escalated": 0, "target_user_id": None, "exclude_user_id": None,
           "session_id": None, "note": None, "from_user_id": None, "from_name": None, "accepted_by": None,
           "accepted_by_name": None, "accepted_at": None, "ended_at": None, "closed_at": None,
           "page_key_hash": None}
    unknown = set(values) - set(row)
    if unknown:
        raise TypeError(f"not a column of acd_entries: {', '.join(sorted(unknown))}")
    row.update(values)
    return row


def capacity(user: dict) -> int:
    return 1 if user["mode"] == "single" else max(1, int(user["max_sessions"] or 1))


WEBACD: web.AppKey[WebAcd] = web.AppKey("webacd", WebAcd)
