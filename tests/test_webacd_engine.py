"""The WebACD routing engine on its own, with a controllable clock: distribution modes, capacity,
offer timeout, escalation to an overflow queue, 'already taken', transfers to one rep."""
from __future__ import annotations

import pytest

from conftest import FakeClock
from plugins.webacd.engine import Member, Entry, NotAllowed, Rule, RoutingEngine, Taken


def engine_with(mode="most_idle", reps=(1, 2, 3), timeout=30.0, clock=None, **rule):
    clock = clock or FakeClock()
    eng = RoutingEngine(clock)
    eng.set_rule(Rule(10, 1, "Help", tuple(reps), mode, timeout, **rule))
    for uid in reps:
        eng.set_member(Member(uid, 1, f"rep{uid}", capacity=1, free_since=clock()))
    return eng, clock


def customer(eng, clock, eid, queue=10, **kw):
    return eng.add(Entry(eid, 1, queue, f"cust {eid}", clock(), **kw))


def offers(events):
    return [(e[1].entry_id, e[1].user_id) for e in events if e[0] == "offer"]


def available(eng, clock, *uids, gap=1.0):
    events = []
    for uid in uids:
        events += eng.set_status(uid, "available")
        clock.advance(gap)
    return events


def test_most_idle_offers_to_the_rep_idle_longest():
    eng, clock = engine_with()
    available(eng, clock, 2, 3, 1)  # rep2 became free first
    assert offers(customer(eng, clock, "a")) == [("a", 2)]
    assert offers(customer(eng, clock, "b")) == [("b", 3)]   # rep2 holds an offer: at capacity
    assert offers(customer(eng, clock, "c")) == [("c", 1)]
    assert offers(customer(eng, clock, "d")) == []            # everybody busy: d waits
    assert eng.position(eng.entries["d"]) == 4


def test_most_idle_after_a_session_the_rep_goes_to_the_back():
    eng, clock = engine_with(reps=(1, 2))
    available(eng, clock, 1, 2)
    customer(eng, clock, "a")
    eng.accept("a", 1)
    clock.advance(5)
    eng.set_load(1, 0)          # rep1 finished: free since now, rep2 idle longer
    assert offers(customer(eng, clock, "b")) == [("b", 2)]


def test_round_robin_takes_members_in_turn():
    eng, clock = engine_with("round_robin")
    available(eng, clock, 3, 2, 1)
    got = []
    for eid in "abc":
        got += offers(customer(eng, clock, eid))
        eng.accept(eid, got[-1][1])
        eng.set_load(got[-1][1], 0)
    assert [u for _e, u in got] == [1, 2, 3]
    assert offers(customer(eng, clock, "d")) == [("d", 1)]   # and round again


def test_everybody_offers_to_all_and_the_first_accept_wins():
    eng, clock = engine_with("everybody")
    available(eng, clock, 1, 2, 3)
    assert sorted(offers(customer(eng, clock, "a"))) == [("a", 1), ("a", 2), ("a", 3)]
    entry, events = eng.accept("a", 2)
    closed = {(e[1].user_id, e[2], e[3]) for e in events if e[0] == "closed"}
    assert closed == {(1, "taken", "rep2"), (3, "taken", "rep2"), (2, "accepted", "rep2")}
    with pytest.raises(Taken) as exc:
        eng.accept("a", 1)
    assert str(exc.value) == "already taken by rep2"


def test_away_reps_and_reps_at_capacity_get_no_offers():
    eng, clock = engine_with(reps=(1, 2))
    available(eng, clock, 1)
    customer(eng, clock, "a")
    eng.accept("a", 1)
    assert offers(customer(eng, clock, "b")) == []            # rep1 single-session, busy; rep2 away
    eng.members[1].capacity = 2                                # multisession with a maximum of 2
    assert offers(eng.dispatch()) == [("b", 1)]
    assert offers(customer(eng, clock, "c")) == []            # 1 session + 1 offer = 2


def test_offer_timeout_moves_the_request_to_the_next_rep_and_round_again():
    eng, clock = engine_with(reps=(1, 2), timeout=20)
    available(eng, clock, 1, 2)
    assert offers(customer(eng, clock, "a")) == [("a", 1)]
    clock.advance(19)
    assert offers(eng.tick()) == []
    clock.advance(1)
    events = eng.tick()
    assert [(e[1].user_id, e[2]) for e in events if e[0] == "closed"] == [(1, "expired")]
    assert offers(events) == [("a", 2)]
    clock.advance(20)
    assert offers(eng.tick()) == [("a", 1)]                   # everybody had a turn: rep1 again


def test_decline_goes_to_the_next_rep():
    eng, clock = engine_with(reps=(1, 2))
    available(eng, clock, 1, 2)
    customer(eng, clock, "a")
    assert offers(eng.decline("a", 1)) == [("a", 2)]


def test_escalation_offers_to_the_overflow_queue_after_the_threshold():
    clock = FakeClock()
    eng = RoutingEngine(clock)
    eng.set_rule(Rule(10, 1, "First line", (1,), "most_idle", 300, escalate_after=60, overflow_id=20))
    eng.set_rule(Rule(20, 1, "Experts", (5, 6), "most_idle", 300))
    for uid in (1, 5, 6):
        eng.set_member(Member(uid, 1, f"rep{uid}"))
    available(eng, clock, 6, 5)
    customer(eng, clock, "a")                                  # rep1 is away: nobody in First line
    clock.advance(59)
    assert eng.tick() == []
    clock.advance(1)
    events = eng.tick()
    assert [e[0] for e in events][:1] == ["escalated"] and offers(events) == [("a", 6)]
    entry, _ = eng.accept("a", 6)
    assert entry.escalated and entry.queue_id == 10


def test_pick_a_specific_customer_from_the_queue_view():
    eng, clock = engine_with(reps=(1, 2))
    customer(eng, clock, "a")
    customer(eng, clock, "b")
    entry, _ = eng.accept("b", 2)                              # not offered (away), but a member: may pick
    assert entry.id == "b" and eng.position(eng.entries["a"]) == 1
    eng.set_member(Member(9, 1, "outsider"))
    with pytest.raises(NotAllowed):
        eng.accept("a", 9)


def test_other_site_reps_are_never_offered_or_allowed():
    eng, clock = engine_with(reps=(1, 7))
    eng.set_member(Member(7, 2, "other site rep"))
    available(eng, clock, 7)
    assert offers(customer(eng, clock, "a")) == []
    with pytest.raises(NotAllowed):
        eng.accept("a", 7)


def test_transfer_to_one_rep_is_offered_to_that_rep_only():
    eng, clock = engine_with(reps=(1, 2, 3))
    available(eng, clock, 1, 2, 3)
    assert offers(customer(eng, clock, "t", target_user=3, exclude={1})) == [("t", 3)]
    with pytest.raises(NotAllowed):
        eng.accept("t", 2)


def test_cancel_withdraws_offers_and_positions_close_up():
    eng, clock = engine_with("everybody", reps=(1,))
    available(eng, clock, 1)
    customer(eng, clock, "a")
    customer(eng, clock, "b")
    events = eng.cancel("a")
    assert [(e[1].user_id, e[2]) for e in events if e[0] == "closed"] == [(1, "withdrawn")]
    assert offers(events) == [("b", 1)] and eng.position(eng.entries["b"]) == 1


def test_a_transfer_the_rep_declines_or_lets_expire_goes_back_to_the_queue():
    eng, clock = engine_with(reps=(1, 2, 3), timeout=20)
    available(eng, clock, 1, 2, 3)
    customer(eng, clock, "t", target_user=3, exclude={1})
    events = eng.decline("t", 3)
    assert ("undirected", eng.entries["t"]) in events and offers(events) == [("t", 2)]
    eng2, clock2 = engine_with(reps=(1, 2, 3), timeout=20)
    available(eng2, clock2, 2, 3)
    customer(eng2, clock2, "u", target_user=3)
    clock2.advance(20)
    assert offers(eng2.tick()) == [("u", 2)]
