"""The routing engine: who is offered which waiting customer, in memory, with an injectable clock.

Pure logic without I/O: the service (service.py) persists what the engine decided and tells people.
Every change returns a list of events:
  ("offer", Offer)                    a rep is offered an entry
  ("closed", Offer, reason, by)       an offer is gone: "taken" (by: who took it), "expired", "declined",
                                      "withdrawn" (the customer left)
  ("escalated", Entry)                an entry is now also offered to its queue's overflow queue
  ("undirected", Entry)               a transfer to one rep was declined or not answered: it now waits
                                      for any member of its queue
Distribution modes: most_idle (the available member idle longest gets it), round_robin (members in turn),
everybody (all available members at once; the first to accept wins). Offers count against a rep's
capacity, so a single-session rep holds one offer or one session at a time.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Callable, Iterable


class Taken(Exception):
    """The entry was already accepted by someone else (or left the queue)."""

    def __init__(self, by: str | None):
        self.by = by
        super().__init__(f"already taken by {by}" if by else "this customer is no longer waiting")


class NotAllowed(Exception):
    """The rep may not take this entry (not a member, at capacity...); the text says why."""


@dataclass
class Rule:
    id: int
    site_id: int
    name: str
    members: tuple = ()
    mode: str = "most_idle"
    offer_timeout: float = 30.0
    escalate_after: float = 0.0
    overflow_id: int | None = None


@dataclass
class Member:
    """A rep as a member of WebACD queues: their status, how many sessions they can take, how many they have."""
    user_id: int
    site_id: int
    name: str
    status: str = "away"
    capacity: int = 1
    load: int = 0
    free_since: float = 0.0


@dataclass
class Offer:
    entry_id: str
    user_id: int
    via: int
    at: float
    expires_at: float


@dataclass
class Entry:
    id: str
    site_id: int
    queue_id: int
    name: str
    created_at: float
    seq: int = 0
    state: str = "waiting"
    escalated: bool = False
    target_user: int | None = None
    exclude: set = field(default_factory=set)
    tried: dict = field(default_factory=dict)       # via queue id -> {user ids that had their turn}
    taken_by: str | None = None
    data: dict = field(default_factory=dict)

    def key(self):
        return (self.created_at, self.seq)


class RoutingEngine:
    def __init__(self, clock: Callable[[], float], reachable: Callable[[int], bool] = lambda uid: True):
        self.clock = clock
        self.reachable = reachable
        self.rules: dict[int, Rule] = {}
        self.members: dict[int, Member] = {}
        self.entries: dict[str, Entry] = {}
        self.waiting: dict[int, list[Entry]] = {}          # home queue -> entries in order
        self.escalated_into: dict[int, list[Entry]] = {}   # overflow queue -> escalated entries in order
        self.offers: dict[str, dict[int, Offer]] = {}      # entry id -> user id -> offer
        self.offers_of: dict[int, dict[str, Offer]] = {}   # user id -> entry id -> offer
        self.rr_last: dict[int, int] = {}
        self._gone: dict[str, str | None] = {}            # entries no longer waiting -> who took them
        self.directed: dict[int, int] = {}                # queue id -> waiting entries transferred to one rep
        self._seq = 0

    # -- configuration -------------------------------------------------------------------------
    def set_rule(self, rule: Rule) -> None:
        self.rules[rule.id] = rule
        self.waiting.setdefault(rule.id, [])
        self.escalated_into.setdefault(rule.id, [])

    def remove_rule(self, queue_id: int) -> None:
        self.rules.pop(queue_id, None)
        self.waiting.pop(queue_id, None)
        self.escalated_into.pop(queue_id, None)

    def set_member(self, member: Member) -> None:
        old = self.members.get(member.user_id)
        if old is not None and not member.free_since:
            member.free_since = old.free_since
        self.members[member.user_id] = member

    def set_status(self, user_id: int, status: str) -> list:
        member = self.members[user_id]
        if status != member.status:
            member.status = status
            if status == "available":
                member.free_since = self.clock()
        events = []
        if status != "available":  # an away rep holds no offers
            for offer in list(self.offers_of.get(user_id, {}).values()):
                events += self._close(offer, "withdrawn")
        return events + self.dispatch()

    def set_load(self, user_id: int, load: int, capacity: int | None = None) -> list:
        member = self.members.get(user_id)
        if member is None:
            return []
        if load < member.load:
            member.free_since = self.clock()
        member.load = load
        if capacity is not None:
            member.capacity = capacity
        return self.dispatch()

    # -- queries -------------------------------------------------------------------------------
    def busy(self, member: Member) -> int:
        return member.load + len(self.offers_of.get(member.user_id, ()))

    def can_take_more(self, member: Member) -> bool:
        return (member.status == "available" and self.busy(member) < member.capacity
                and self.reachable(member.user_id))

    def position(self, entry: Entry) -> int:
        line = self.waiting.get(entry.queue_id, [])
        for i, e in enumerate(line):
            if e is entry:
                return i + 1
        return 0

    def positions(self, queue_id: int) -> list[tuple[Entry, int]]:
        return [(e, i + 1) for i, e in enumerate(self.waiting.get(queue_id, []))]

    def offers_for(self, user_id: int) -> list[Offer]:
        return list(self.offers_of.get(user_id, {}).values())

    # -- entries -------------------------------------------------------------------------------
    def add(self, entry: Entry, dispatch: bool = True) -> list:
        self._seq += 1
        entry.seq = entry.seq or self._seq
        self.entries[entry.id] = entry
        line = self.waiting.setdefault(entry.queue_id, [])
        if entry.target_user is not None:
            self.directed[entry.queue_id] = self.directed.get(entry.queue_id, 0) + 1
        if line and line[-1].key() > entry.key():
            line.append(entry)
            line.sort(key=Entry.key)
        else:
            line.append(entry)
        if entry.escalated:
            rule = self.rules.get(entry.queue_id)
            if rule and rule.overflow_id in self.rules:
                self._insert(self.escalated_into.setdefault(rule.overflow_id, []), entry)
        return self.dispatch([entry.queue_id]) if dispatch else []

    def restore_offer(self, offer: Offer) -> None:
        """Put back an offer read from the database after a restart."""
        self.offers.setdefault(offer.entry_id, {})[offer.user_id] = offer
        self.offers_of.setdefault(offer.user_id, {})[offer.entry_id] = offer

    @staticmethod
    def _insert(line: list, entry: Entry) -> None:
        line.append(entry)
        line.sort(key=Entry.key)

    def _remove(self, entry: Entry) -> None:
        line = self.waiting.get(entry.queue_id, [])
        if entry in line:
            line.remove(entry)
            if entry.target_user is not None:
                self.directed[entry.queue_id] -= 1
        for esc in self.escalated_into.values():
            if entry in esc:
                esc.remove(entry)
        self.entries.pop(entry.id, None)

    def can_pick(self, entry: Entry, user_id: int) -> None:
        """Raise NotAllowed unless this rep may take this entry now (offered, or picked from the queue view)."""
        member = self.members.get(user_id)
        if member is None or member.site_id != entry.site_id:
            raise NotAllowed("you are not a member of a WebACD queue of this site")
        offered = user_id in self.offers.get(entry.id, {})
        if not offered:
            if entry.target_user is not None and entry.target_user != user_id:
                raise NotAllowed("this customer was transferred to another rep")
            rule = self.rules.get(entry.queue_id)
            allowed = rule is not None and user_id in rule.members
            if not allowed and entry.escalated and rule and rule.overflow_id in self.rules:
                allowed = user_id in self.rules[rule.overflow_id].members
            if not allowed and entry.target_user != user_id:
                raise NotAllowed("you are not a member of this customer's queue")
        if member.load + len(self.offers_of.get(user_id, ())) - (1 if offered else 0) >= member.capacity:
            raise NotAllowed("you are at your limit of sessions: finish one first")

    def accept(self, entry_id: str, user_id: int) -> tuple[Entry, list]:
        """The rep takes the entry: raises Taken when somebody was first, NotAllowed when they may not."""
        entry = self.entries.get(entry_id)
        if entry is None or entry.state != "waiting":
            gone = self._gone.get(entry_id)
            raise Taken(gone)
        self.can_pick(entry, user_id)
        member = self.members[user_id]
        entry.state = "accepted"
        entry.taken_by = member.name
        self._remember_gone(entry.id, member.name)
        events = []
        for offer in list(self.offers.get(entry.id, {}).values()):
            if offer.user_id != user_id:
                events += self._close(offer, "taken", member.name)
            else:
                self._drop(offer)
                events.append(("closed", offer, "accepted", member.name))
        self._remove(entry)
        member.load += 1
        member.free_since = self.clock()
        return entry, events + self.dispatch()

    def undo_accept(self, entry: Entry, user_id: int) -> list:
        """The session could not be written: the entry goes back to its place."""
        entry.state = "waiting"
        entry.taken_by = None
        self._gone.pop(entry.id, None)
        member = self.members.get(user_id)
        if member:
            member.load = max(0, member.load - 1)
        return self.add(entry)

    def decline(self, entry_id: str, user_id: int) -> list:
        offer = self.offers.get(entry_id, {}).get(user_id)
        if offer is None:
            return []
        return self._close(offer, "declined") + self.dispatch()

    def cancel(self, entry_id: str, reason: str = "withdrawn") -> list:
        """The customer left the queue (or their session ended): withdraw its offers."""
        entry = self.entries.get(entry_id)
        if entry is None:
            return []
        entry.state = "cancelled"
        self._remember_gone(entry.id, None)
        events = []
        for offer in list(self.offers.get(entry_id, {}).values()):
            events += self._close(offer, reason)
        self._remove(entry)
        return events + self.dispatch()

    def _remember_gone(self, entry_id: str, by: str | None) -> None:
        self._gone[entry_id] = by
        if len(self._gone) > 20000:  # keep the memory bounded: forget the oldest half
            for key in list(self._gone)[:10000]:
                del self._gone[key]

    def _drop(self, offer: Offer) -> None:
        self.offers.get(offer.entry_id, {}).pop(offer.user_id, None)
        if not self.offers.get(offer.entry_id):
            self.offers.pop(offer.entry_id, None)
        self.offers_of.get(offer.user_id, {}).pop(offer.entry_id, None)

    def _close(self, offer: Offer, reason: str, by: str | None = None) -> list:
        self._drop(offer)
        entry = self.entries.get(offer.entry_id)
        events = [("closed", offer, reason, by)]
        if entry is not None and reason in ("expired", "declined"):
            entry.tried.setdefault(offer.via, set()).add(offer.user_id)
            if entry.target_user == offer.user_id:  # the rep it was sent to cannot take it: back to the queue
                entry.target_user = None
                self.directed[entry.queue_id] = self.directed.get(entry.queue_id, 1) - 1
                events.append(("undirected", entry))
        return events

    # -- time ----------------------------------------------------------------------------------
    def tick(self) -> list:
        """Expire offers whose time is up, escalate entries past their threshold, then dispatch."""
        now = self.clock()
        events = []
        for offers in list(self.offers.values()):
            for offer in list(offers.values()):
                if offer.expires_at <= now:
                    events += self._close(offer, "expired")
        for rule in self.rules.values():
            if not rule.escalate_after or rule.overflow_id not in self.rules:
                continue
            for entry in self.waiting.get(rule.id, []):
                if now - entry.created_at < rule.escalate_after:
                    break  # in order of arrival: the rest waited less
                if not entry.escalated and entry.target_user is None:
                    entry.escalated = True
                    self._insert(self.escalated_into.setdefault(rule.overflow_id, []), entry)
                    events.append(("escalated", entry))
        return events + self.dispatch()

    # -- distribution --------------------------------------------------------------------------
    def dispatch(self, queue_ids: Iterable[int] | None = None) -> list:
        """Offer waiting entries to free reps, queue by queue, oldest entry first."""
        events = []
        ids = list(self.rules) if queue_ids is None else list(queue_ids)
        # an escalated entry also waits in its overflow queue, so that queue may have work too
        for qid in list(ids):
            rule = self.rules.get(qid)
            if rule and rule.overflow_id in self.rules and rule.overflow_id not in ids:
                ids.append(rule.overflow_id)
        for qid in ids:
            rule = self.rules.get(qid)
            if rule is not None:
                events += self._dispatch_queue(rule)
        return events

    def _dispatch_queue(self, rule: Rule) -> list:
        free = []
        members, offers_of = self.members, self.offers_of
        for uid in rule.members:  # can_take_more(), inlined: this runs for every queue on every change
            a = members.get(uid)
            if (a is not None and a.status == "available" and a.site_id == rule.site_id
                    and a.load + len(offers_of.get(uid, ())) < a.capacity and self.reachable(uid)):
                free.append(a)
        own = self.waiting.get(rule.id, [])
        escalated = self.escalated_into.get(rule.id, [])
        line = heapq.merge(own, escalated, key=Entry.key) if escalated else own
        directed = self.directed.get(rule.id, 0) > 0
        if not free and not directed:
            return []
        events = []
        now = self.clock()
        for entry in line:  # offers never change the order of the line, so no copy is needed
            if entry.state != "waiting":
                continue
            if entry.target_user is not None:
                events += self._offer_directed(entry, rule, now)
                continue
            if not free:
                if directed:
                    continue
                break
            offered = self.offers.get(entry.id, {})
            if rule.mode != "everybody" and any(o.via == rule.id for o in offered.values()):
                continue  # one rep at a time in this queue; wait for their answer
            candidates = [a for a in free if a.user_id not in offered and a.user_id not in entry.exclude]
            if not candidates:
                continue
            if rule.mode == "everybody":
                chosen = candidates
            else:
                tried = entry.tried.setdefault(rule.id, set())
                fresh = [a for a in candidates if a.user_id not in tried]
                if not fresh:  # everybody had a turn: start the round again
                    tried.clear()
                    fresh = candidates
                chosen = [self._pick(rule, fresh)]
            for member in chosen:
                offer = Offer(entry.id, member.user_id, rule.id, now, now + rule.offer_timeout)
                self.restore_offer(offer)
                events.append(("offer", offer))
                if not self.can_take_more(member):
                    free.remove(member)
        return events

    def _offer_directed(self, entry: Entry, rule: Rule, now: float) -> list:
        member = self.members.get(entry.target_user)
        if (member is None or member.site_id != entry.site_id or entry.target_user in self.offers.get(entry.id, {})
                or not self.can_take_more(member)):
            return []
        offer = Offer(entry.id, member.user_id, rule.id, now, now + rule.offer_timeout)
        self.restore_offer(offer)
        return [("offer", offer)]

    def _pick(self, rule: Rule, candidates: list[Member]) -> Member:
        if rule.mode == "round_robin":
            last = self.rr_last.get(rule.id, -1)
            ordered = sorted(candidates, key=lambda a: a.user_id)
            chosen = next((a for a in ordered if a.user_id > last), ordered[0])
            self.rr_last[rule.id] = chosen.user_id
            return chosen
        # most idle: the fewest sessions and offers, then free the longest
        return min(candidates, key=lambda a: (self.busy(a), a.free_since, a.user_id))
