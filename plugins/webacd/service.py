"""The WebACD service of one app: the routing engine plus persistence, notifications and a ticker.

Order of work for every change: the engine decides (synchronously, so two accepts can never both
win), the database is written, then people are told: reps through their console feed
(hub.notify_user), waiting customers through their waiting-page socket, transferred customers
through their session.
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

from host.appkeys import CONFIG, DB, HUB, PLUGINS, SITES
from host.audit import audit_row
from host.connection import Connection
from host.ratelimit import RateLimiter
from host.session_store import add_event, token_hash

from . import store
from .engine import Agent, Entry, NotAllowed, Offer, Rule, RoutingEngine, Taken
from .queue_config import QueueConfig

log = logging.getLogger("supporthost.webacd")
CUSTOMER_ROLES = ("customer", "secondary_customer")


class AcdError(Exception):
    """A request that cannot go ahead; the text is shown to the person asking."""

    def __init__(self, text: str, status: int = 400):
        super().__init__(text)
        self.status = status


class WebAcd:
    tick_interval = 0.5

    def __init__(self, app):
        self.app = app
        self.clock = app[CONFIG].clock
        self.engine = RoutingEngine(self.clock, self._reachable)
        self.queues: dict[int, QueueConfig] = {}
        self.handling: dict[int, deque] = {}
        self.waiters: dict[str, set[Connection]] = {}
        self.limiters: dict[int, RateLimiter] = {}
        self.dirty: set[int] = set()
        self.last_seen: dict[str, float] = {}   # waiting entry -> when its waiting page was last connected
        self.last_sent: dict[str, tuple] = {}   # waiting entry -> (position, waiting, estimate) last pushed
        self.starting: dict[int, int] = {}      # rep -> sessions being written for accepts (not yet in the db)
        self._last_drop = float("-inf")
        self._queue_told: dict[int, float] = {}  # queue -> when its members were last told it changed
        self.task: asyncio.Task | None = None

    # -- shortcuts -----------------------------------------------------------------------------
    @property
    def db(self):
        return self.app[DB]

    @property
    def hub(self):
        return self.app[HUB]

    def _reachable(self, user_id: int) -> bool:
        return bool(self.hub.rep_feeds.get(user_id))

    def site_queues(self, site_id: int) -> list[QueueConfig]:
        return sorted((q for q in self.queues.values() if q.site_id == site_id), key=lambda q: q.name.lower())

    def queue_of_site(self, site_id: int, queue_id) -> QueueConfig | None:
        try:
            q = self.queues.get(int(queue_id))
        except (TypeError, ValueError):
            return None
        return q if q is not None and q.site_id == site_id else None

    def is_agent(self, site_id: int, user_id: int) -> bool:
        return any(user_id in q.members for q in self.queues.values() if q.site_id == site_id)

    # -- start and stop ------------------------------------------------------------------------
    async def start(self) -> None:
        state = await self.db.read(store.load_state)
        for row in state["queues"]:
            self._set_queue(QueueConfig.from_row(row, state["members"].get(row["id"], [])))
        for a in state["agents"]:
            self.engine.set_agent(Agent(a["id"], a["site_id"], a["display_name"],
                                        a["status"] if a["active"] else "away", _capacity(a),
                                        state["loads"].get(a["id"], 0), self.clock()))
        for row in state["waiting"]:
            self.engine.add(self._entry(row), dispatch=False)
            self.last_seen[row["id"]] = self.clock()  # after a restart everybody gets time to reconnect
        for row in state["offers"]:
            if row["entry_id"] in self.engine.entries:
                self.engine.restore_offer(Offer(row["entry_id"], row["user_id"], row["via_queue_id"],
                                                row["offered_at"], row["expires_at"]))
        self.engine.rr_last.update(state["round_robin_last"])
        for qid, times in state["handling"].items():
            self.handling[qid] = deque(times, maxlen=store.RECENT)
        self.task = asyncio.create_task(self._ticker())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass
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
        from . import settings_value
        now = self.clock()
        if now - self._last_drop < 5:  # coarse on purpose: the limits are minutes
            return
        self._last_drop = now
        limits = {sid: settings_value(self.app, site, "abandon_after") for sid, site in self.app[SITES].by_id.items()}
        gone = [e.id for e in self.engine.entries.values()
                if e.id not in self.waiters and e.state == "waiting" and not e.data.get("session_id")
                and now - self.last_seen.get(e.id, now) >= limits.get(e.site_id, 180)]
        for entry_id in gone:
            await self.leave_queue(entry_id, "abandoned")

    def _set_queue(self, q: QueueConfig) -> None:
        self.queues[q.id] = q
        self.engine.set_rule(Rule(q.id, q.site_id, q.name, q.members, q.mode, q.offer_timeout, q.escalate_after,
                                  q.overflow_queue_id))
        self.handling.setdefault(q.id, deque(maxlen=store.RECENT))

    def _entry(self, row: dict) -> Entry:
        return Entry(row["id"], row["site_id"], row["queue_id"], row["name"], row["created_at"],
                     escalated=bool(row["escalated"]), target_user=row["target_user_id"],
                     exclude={row["exclude_user_id"]} if row["exclude_user_id"] else set(), data=row)

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
                self.hub.notify_user(ev[1].user_id, {"type": "webacd.offer", "offer": self.offer_json(ev[1])})
                self.dirty.add(ev[1].via)
            elif ev[0] == "closed":
                offer, reason, by = ev[1], ev[2], ev[3]
                self.hub.notify_user(offer.user_id, {"type": "webacd.offer_closed", "entry_id": offer.entry_id,
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

    # -- customers entering --------------------------------------------------------------------
    def limiter(self, site_id: int, per_minute: int) -> RateLimiter:
        lim = self.limiters.get(site_id)
        if lim is None:
            lim = self.limiters[site_id] = RateLimiter(per_minute, 60, self.clock)
        lim.limit = per_minute
        return lim

    async def enqueue(self, site, queue: QueueConfig, clean: dict, ref_url: str, address: str) -> tuple[dict, str]:
        """A customer submitted the entry form: their place in the queue, and the token that keeps it."""
        now = self.clock()
        token = secrets.token_urlsafe(32)
        extra = {k: v for k, v in clean.items() if k not in ("name", "email", "problem")}
        row = {"id": uuid.uuid4().hex, "site_id": site.id, "queue_id": queue.id, "kind": "new", "state": "waiting",
               "token_hash": token_hash(token), "name": clean["name"], "email": clean.get("email", ""),
               "problem": clean.get("problem", ""), "fields": json.dumps(extra), "ref_url": ref_url,
               "address": address, "created_at": now, "escalated": 0, "target_user_id": None,
               "exclude_user_id": None, "session_id": None, "note": None, "from_user_id": None, "from_name": None,
               "accepted_by": None, "accepted_by_name": None, "accepted_at": None, "ended_at": None,
               "closed_at": None}
        await self.db.write(lambda db: db["acd_entries"].insert(row))
        self.seen(row["id"])
        self.dirty.add(queue.id)
        await self.apply(self.engine.add(self._entry(row)))
        return row, token

    async def leave_queue(self, entry_id: str, state: str = "left") -> None:
        now = self.clock()
        entry = self.engine.entries.get(entry_id)
        self.last_seen.pop(entry_id, None)
        self.last_sent.pop(entry_id, None)
        if entry is None:
            return
        await self.apply(self.engine.cancel(entry_id))
        await self.db.write(lambda db: db["acd_entries"].update(entry_id, {"state": state, "closed_at": now}))
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
            a = self.engine.agents.get(uid)
            if a is not None and a.status == "available":
                servers += a.capacity
        return round(position * mean(recent) / max(1, servers))

    def send_waiter(self, entry_id: str, message: dict) -> None:
        for conn in list(self.waiters.get(entry_id, ())):
            conn.send(message)

    def push_positions(self) -> None:
        dirty, self.dirty = self.dirty, set()
        for qid in dirty:
            for e, pos in self.engine.positions(qid):
                if e.data.get("session_id"):
                    live = self.hub.sessions.get(e.data["session_id"])
                    if live is not None:
                        self.hub.broadcast(live, {**self.status_of(e.id), "transfer": True}, roles=CUSTOMER_ROLES)
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
                    self.hub.notify_user(uid, {"type": "webacd.queue_changed", "queue_id": qid})
            elif q is not None:
                self.dirty.add(qid)  # tell them on a later tick

    # -- reps ----------------------------------------------------------------------------------
    async def refresh_agents(self, user_ids) -> None:
        """Re-read sessions, mode and maximum of these reps (after a session changed or an admin edit)."""
        ids = [u for u in set(user_ids) if u is not None and u in self.engine.agents]
        if not ids:
            return

        def read(db):
            return store.loads_of(db, ids), store.user_rows(db, ids)
        loads, users = await self.db.read(read)
        events = []
        for uid in ids:
            agent = self.engine.agents.get(uid)
            u = users.get(uid)
            if agent is None or u is None:
                continue
            agent.name = u["display_name"]
            if not u["active"] and agent.status != "away":
                events += self.engine.set_status(uid, "away")
            events += self.engine.set_load(uid, loads.get(uid, 0) + self.starting.get(uid, 0), _capacity(u))
        await self.apply(events)

    async def set_status(self, site, user: dict, status: str) -> None:
        if status not in ("available", "away"):
            raise AcdError("status is available or away")
        if not self.is_agent(site.id, user["id"]):
            raise AcdError("You are not a member of any WebACD queue of this site.", 403)
        now = self.clock()
        await self.db.write(lambda db: db["acd_agents"].upsert(
            {"user_id": user["id"], "site_id": site.id, "status": status, "since": now}, pk="user_id"))
        await self.apply(self.engine.set_status(user["id"], status))
        await self.refresh_agents([user["id"]])

    def me(self, site, user: dict) -> dict:
        agent = self.engine.agents.get(user["id"])
        agent_here = agent is not None and self.is_agent(site.id, user["id"])
        return {"agent": agent_here, "status": agent.status if agent_here else "away",
                "load": agent.load if agent_here else 0, "capacity": agent.capacity if agent_here else 0,
                "queues": [{"id": q.id, "name": q.name} for q in self.site_queues(site.id) if user["id"] in q.members],
                "offers": [self.offer_json(o) for o in self.engine.offers_for(user["id"])] if agent_here else []}

    def queue_view(self, site, user_id: int) -> list[dict]:
        """Waiting customers in the rep's queues (and escalated into them), to pick one."""
        out = []
        for q in self.site_queues(site.id):
            if user_id not in q.members:
                continue
            seen = [(e, pos) for e, pos in self.engine.positions(q.id)]
            seen += [(e, self.engine.position(e)) for e in self.engine.escalated_into.get(q.id, [])]
            for e, pos in seen:
                if e.target_user is not None and e.target_user != user_id:
                    continue
                out.append({"entry_id": e.id, "name": e.name, "problem": e.data.get("problem") or "", "queue": q.name,
                            "position": pos, "waited": round(self.clock() - e.created_at),
                            "escalated": e.escalated and e.queue_id != q.id, "kind": e.data.get("kind", "new"),
                            "note": e.data.get("note") or "", "from": e.data.get("from_name") or "",
                            "offered_to_me": user_id in self.engine.offers.get(e.id, {})})
        for target_entry in [e for e in self.engine.entries.values() if e.target_user == user_id]:
            if not any(x["entry_id"] == target_entry.id for x in out):
                out.append({"entry_id": target_entry.id, "name": target_entry.name, "queue": "to you",
                            "problem": target_entry.data.get("problem") or "", "position": 1,
                            "waited": round(self.clock() - target_entry.created_at), "escalated": False,
                            "kind": "transfer", "note": target_entry.data.get("note") or "",
                            "from": target_entry.data.get("from_name") or "",
                            "offered_to_me": user_id in self.engine.offers.get(target_entry.id, {})})
        return out

    async def decline(self, user_id: int, entry_id: str) -> None:
        await self.apply(self.engine.decline(entry_id, user_id))

    async def accept(self, site, user: dict, entry_id: str) -> dict:
        """A rep takes a waiting customer (offered, or picked from the queue view)."""
        await self.refresh_agents([user["id"]])
        try:
            entry, events = self.engine.accept(entry_id, user["id"])
        except Taken as exc:
            by = exc.by
            if by is None:
                row = await self.db.read(lambda db: store.entry_row(db, entry_id))
                if row is None or row["site_id"] != site.id:
                    raise AcdError("There is no such customer waiting.", 404) from None
                by = row["accepted_by_name"]
            raise AcdError(f"already taken by {by}" if by else "This customer is no longer waiting.", 409) from None
        except NotAllowed as exc:
            raise AcdError(f"You cannot take this customer: {exc}.", 403) from None
        if entry.site_id != site.id:
            await self.apply(self.engine.undo_accept(entry, user["id"]))
            raise AcdError("There is no such customer waiting.", 404)
        self.last_seen.pop(entry.id, None)
        self.last_sent.pop(entry.id, None)
        cfg = self.app[CONFIG]
        now = self.clock()
        data = entry.data
        queue = self.queues.get(entry.queue_id)
        self.starting[user["id"]] = self.starting.get(user["id"], 0) + 1
        try:
            if data.get("session_id"):
                row = await self.db.write(lambda db: store.join_transferred_session(db, site.id, user["id"], data, now))
                if row is None:
                    await self.apply(events)
                    raise AcdError("This customer's session has ended meanwhile.", 410)
                session_id = data["session_id"]
            else:
                meta = {"webacd": {"entry_id": entry.id, "queue_id": entry.queue_id,
                                   "queue": queue.name if queue else "", "ref_url": data.get("ref_url") or "",
                                   "problem": data.get("problem") or "", "email": data.get("email") or "",
                                   "start_options": await self.start_options(site, queue)}}
                session, _rep, customer = await self.db.write(lambda db: store.start_inbound_session(
                    db, site.id, user["id"], data, now, cfg.number_ttl, cfg.number_digits, meta))
                session_id = session["id"]
        except AcdError:
            raise
        except Exception:
            log.exception("accepting %s failed", entry_id)
            await self.apply(self.engine.undo_accept(entry, user["id"]))
            raise AcdError("The session could not be started; the customer keeps their place. Try again.", 500)
        finally:
            self.starting[user["id"]] -= 1
        await self.apply(events)
        self.dirty.add(entry.queue_id)
        # A new session is not in the hub yet: hub.get() loads it with both participants from the database
        # (so hub.added() would add the customer twice); participant_joined is called for the customer below,
        # as hub.added() would. A transferred session is live: the accepting rep is added with hub.added().
        live = await self.hub.get(session_id)
        if data.get("session_id"):
            if live is not None and row["id"] not in live.participants:
                await self.hub.added(live, row)
            if live is not None:
                self.hub.broadcast(live, {"type": "webacd.transferred", "to": user["display_name"],
                                          "text": f"{user['display_name']} is now helping you."})
        else:
            registry = self.app[PLUGINS]
            await registry.call("session_started", site.disabled, app=self.app, session=live)
            cust = live.participants.get(customer["id"]) if live else None
            if cust is not None:
                await registry.call("participant_joined", site.disabled, app=self.app, session=live, participant=cust)
            self.send_waiter(entry.id, {"type": "webacd.status", "state": "accepted", "by": user["display_name"],
                                        "url": f"{site.prefix}/p/webacd/enter/{entry.id}"})
        self.hub.notify_user(user["id"], {"type": "console.sessions_changed"})
        return {"session_id": session_id, "entry_id": entry.id, "name": entry.name}

    async def start_options(self, site, queue: QueueConfig | None) -> dict:
        """The queue's start options as plugins declared them (hook webacd_start_options), with defaults."""
        stored = queue.start_options if queue else {}
        out = {}
        for plugin, specs in await self.app[PLUGINS].call("webacd_start_options", site.disabled, site=site):
            out[plugin] = {s.name: stored.get(plugin, {}).get(s.name, s.default) for s in specs or []}
        return out

    # -- transfers -----------------------------------------------------------------------------
    async def transfer(self, ctx, to_kind: str, to_id, note: str, message_id=None) -> dict:
        site, live, me = ctx.site, ctx.session, ctx.participant
        if me.user_id is None or not self.is_agent(site.id, me.user_id):
            raise AcdError("Only WebACD agents can transfer a session.")
        note = note.strip()
        if len(note) > 345:
            raise AcdError(f"A transfer note is at most 345 characters (this one has {len(note)}).")
        customers = [p for p in live.participants.values() if p.role in CUSTOMER_ROLES]
        if not customers:
            raise AcdError("There is no customer in this session to transfer.")
        target_user, target_name = None, ""
        if to_kind == "queue":
            queue = self.queue_of_site(site.id, to_id)
            if queue is None:
                raise AcdError("There is no such queue on this site: a session can only go to a queue of its own site.")
            target_name = queue.name
        elif to_kind == "agent":
            try:
                target_user = int(to_id)
            except (TypeError, ValueError):
                raise AcdError("Choose the agent to transfer to.") from None
            agent = self.engine.agents.get(target_user)
            if agent is None or agent.site_id != site.id or not self.is_agent(site.id, target_user):
                raise AcdError("There is no such agent on this site: a session can only go to an agent of its own site.")
            if target_user == me.user_id:
                raise AcdError("You cannot transfer a session to yourself.")
            target_name = agent.name
            meta_q = live.meta.get("webacd", {}).get("queue_id")
            queue = self.queue_of_site(site.id, meta_q)
            if queue is None or target_user not in queue.members:
                queue = next(q for q in self.site_queues(site.id) if target_user in q.members)
        else:
            raise AcdError("Transfer to an agent or to a queue.")
        now = self.clock()
        first = customers[0]
        info = live.meta.get("webacd", {})
        row = {"id": uuid.uuid4().hex, "site_id": site.id, "queue_id": queue.id, "kind": "transfer",
               "state": "waiting", "token_hash": None, "name": first.name, "email": info.get("email", ""),
               "problem": info.get("problem", ""), "fields": "{}", "ref_url": info.get("ref_url", ""), "address": "",
               "created_at": now, "escalated": 0, "target_user_id": target_user, "exclude_user_id": me.user_id,
               "session_id": live.id, "note": note, "from_user_id": me.user_id, "from_name": me.name,
               "accepted_by": None, "accepted_by_name": None, "accepted_at": None, "ended_at": None,
               "closed_at": None}

        def write(db):
            db["acd_entries"].insert(row)
            ended = store.end_handling(db, live.id, now)
            db["acd_transfers"].insert({"site_id": site.id, "session_id": live.id, "entry_id": row["id"],
                                        "from_user_id": me.user_id, "from_name": me.name, "to_kind": to_kind,
                                        "to_id": target_user if to_kind == "agent" else queue.id,
                                        "to_name": target_name, "note": note, "at": now, "accepted_by": None,
                                        "accepted_at": None})
            add_event(db, live.id, now, "webacd_transferred", me.id, {"to": to_kind, "to_name": target_name,
                                                                      "note": note})
            audit_row(db, site.id, f"user:{me.user_id}", "webacd_transfer", f"session:{live.id}",
                      {"to": to_kind, "to_id": target_user if to_kind == "agent" else queue.id,
                       "to_name": target_name, "note": note, "customer": first.name}, now)
            return ended
        ended = await self.db.write(write)
        for qid, seconds in ended:
            self.handling.setdefault(qid, deque(maxlen=store.RECENT)).append(seconds)
        text = "You are being transferred to another representative. Please stay connected."
        self.hub.broadcast(live, {"type": "webacd.transferring", "text": text}, roles=CUSTOMER_ROLES)
        self.hub.broadcast(live, {"type": "webacd.transferring", "text": f"{me.name} transferred this session to "
                                  f"{target_name}.", "note": note}, roles=("primary_rep", "assisting_rep"),
                           exclude=me.id)
        ctx.reply({"type": "webacd.transfer_done", "re": message_id, "to": target_name})
        self.dirty.add(queue.id)
        await self.apply(self.engine.add(self._entry(row)))  # the transferring rep is excluded from it
        self.push_positions()
        await self.hub.leave(live, me, "left")
        return {"to": target_name}

    # -- session events ------------------------------------------------------------------------
    async def session_ended(self, session) -> None:
        now = self.clock()
        sid = session.id
        waiting = [e.id for e in self.engine.entries.values() if e.data.get("session_id") == sid]
        for eid in waiting:
            await self.apply(self.engine.cancel(eid))

        def write(db):
            for eid in waiting:
                db["acd_entries"].update(eid, {"state": "ended", "closed_at": now})
            return store.end_handling(db, sid, now)
        for qid, seconds in await self.db.write(write):
            self.handling.setdefault(qid, deque(maxlen=store.RECENT)).append(seconds)
        await self.refresh_agents([p.user_id for p in session.participants.values()])

    async def customer_left(self, session) -> None:
        if any(p.role in CUSTOMER_ROLES for p in session.participants.values()):
            return
        for e in [e for e in self.engine.entries.values() if e.data.get("session_id") == session.id]:
            await self.apply(self.engine.cancel(e.id))
            now = self.clock()
            await self.db.write(lambda db, eid=e.id: db["acd_entries"].update(eid, {"state": "left", "closed_at": now}))

    # -- administration ------------------------------------------------------------------------
    async def save_queue(self, q: QueueConfig, actor: dict, site) -> int:
        now = self.clock()
        is_new = not q.id
        row = q.row()

        def write(db):
            if is_new:
                row["created_at"] = now
            qid = store.save_queue(db, None if is_new else q.id, row, list(q.members))
            for uid in q.members:
                if not db["acd_agents"].count_where("user_id = ?", [uid]):
                    db["acd_agents"].insert({"user_id": uid, "site_id": site.id, "status": "away", "since": now})
            users = store.user_rows(db, list(q.members))
            status = {r["user_id"]: r["status"] for r in db["acd_agents"].rows_where(
                f"user_id in ({','.join('?' * len(q.members))})", list(q.members))} if q.members else {}
            audit_row(db, site.id, f"user:{actor['id']}", "webacd_queue_saved", f"queue:{qid}",
                      {**{k: v for k, v in row.items() if k != "site_id"}, "members": list(q.members)}, now)
            return qid, users, status
        qid, users, status = await self.db.write(write)
        q.id = qid
        for uid, u in users.items():
            if uid not in self.engine.agents:
                self.engine.set_agent(Agent(uid, u["site_id"], u["display_name"], status.get(uid, "away"),
                                            _capacity(u), 0, now))
        self._set_queue(q)
        await self.refresh_agents(list(q.members))
        await self.apply(self.engine.dispatch())
        return qid

    async def delete_queue(self, site, queue: QueueConfig, actor: dict) -> None:
        waiting = len(self.engine.waiting.get(queue.id, []))
        if waiting:
            raise AcdError(f"{waiting} customer{'s are' if waiting != 1 else ' is'} waiting in {queue.name}: "
                           "the queue can be deleted once nobody waits in it.", 409)
        now = self.clock()

        def write(db):
            store.delete_queue(db, queue.id)
            audit_row(db, site.id, f"user:{actor['id']}", "webacd_queue_deleted", f"queue:{queue.id}",
                      {"name": queue.name}, now)
        await self.db.write(write)
        self.queues.pop(queue.id, None)
        self.engine.remove_rule(queue.id)
        for other in self.queues.values():
            if other.overflow_queue_id == queue.id:
                other.overflow_queue_id = None
                self._set_queue(other)

    def monitor(self, site) -> dict:
        now = self.clock()
        queues = []
        for q in self.site_queues(site.id):
            waiting = []
            for e, pos in self.engine.positions(q.id):
                offered = [self.engine.agents[u].name for u in self.engine.offers.get(e.id, {}) if u in self.engine.agents]
                waiting.append({"name": e.name, "position": pos, "waited": round(now - e.created_at),
                                "escalated": e.escalated, "kind": e.data.get("kind", "new"), "offered_to": offered})
            queues.append({"id": q.id, "name": q.name, "open": q.is_open(now), "mode": q.mode, "waiting": waiting,
                           "estimate_next": self.estimate(q.id, 1)})
        reps = []
        for a in sorted((a for a in self.engine.agents.values() if a.site_id == site.id), key=lambda a: a.name):
            if not self.is_agent(site.id, a.user_id):
                continue
            reps.append({"name": a.name, "status": a.status, "load": a.load, "capacity": a.capacity,
                         "online": self._reachable(a.user_id), "offers": len(self.engine.offers_of.get(a.user_id, {})),
                         "idle_for": round(now - a.free_since) if a.load == 0 else 0})
        return {"queues": queues, "reps": reps, "at": now}


def _capacity(user: dict) -> int:
    return 1 if user["mode"] == "single" else max(1, int(user["max_sessions"] or 1))


WEBACD: web.AppKey[WebAcd] = web.AppKey("webacd", WebAcd)
