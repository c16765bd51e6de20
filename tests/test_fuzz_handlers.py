"""Fuzzing every plugin's message handlers on a real host with every plugin installed: the message types
come from the host's registry, the field names from what the plugins read, the values are of every JSON
type and size. Sent by the rep and by the customer, each message gets a clear error or a normal answer:
no internal error, nothing logged with a traceback, both sockets stay up."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from hypothesis import strategies as st

from fuzz_kit import NASTY_NUMBERS, NASTY_STRINGS, LogWatch, Peer, any_text, corpus, dumps, fits, internal_errors, json_values
from host.appkeys import PLUGINS

ROOT = Path(__file__).resolve().parents[1]
# Ending the session or leaving it would end the run; they read no fields (tests/test_sessions.py).
LEAVES = {"session.end", "session.leave"}


def field_names() -> list[str]:
    """The names plugin code reads from a message: ``message.get("x")``, ``msg["x"]`` and the like."""
    read = re.compile(r'\b(?:message|msg|m|data|body)(?:\.get\(|\[)"([a-z_][a-z0-9_]*)"')
    names = set()
    for path in [*ROOT.glob("plugins/**/*.py"), *ROOT.glob("plugin_libs/**/*.py"), ROOT / "host" / "core_plugin.py"]:
        names |= set(read.findall(path.read_text()))
    return sorted(names - {"type"})


FIELDS = field_names()


# Every known field at once, with short hostile values of every JSON type, rotated so that each field gets
# each value in turn.
HOSTILE = [v for v in NASTY_STRINGS if len(v) <= 300] + NASTY_NUMBERS + [None, True, False, [], {}, [1, "\ud800"],
                                                                         {"a": None}]


def hostile_fields(k: int) -> dict:
    return {f: HOSTILE[(k + j) % len(HOSTILE)] for j, f in enumerate(FIELDS)}


# Any few of the known fields (and sometimes an unknown one), of any value.
FIELD_SETS = st.dictionaries(st.one_of(st.sampled_from(FIELDS), any_text), json_values(5), max_size=5)
@pytest.fixture
async def people(rep, customer, support_session):
    async def rep_socket():
        return (await rep.ws(support_session["id"])).ws

    async def customer_socket():
        return (await customer.ws(support_session["id"])).ws
    pair = {"rep": Peer(rep_socket), "customer": Peer(customer_socket)}
    yield pair
    for p in pair.values():
        await p.close()


def test_the_field_names_were_found():
    assert {"text", "to", "level", "name"} <= set(FIELDS), FIELDS


async def test_every_handler_answers_fuzzed_messages_from_rep_and_customer(host, people):
    types = sorted(t for t, h in host.app[PLUGINS].handlers.items() if not h.binary and t not in LEAVES)
    assert len(types) > 40, types
    field_sets = corpus(FIELD_SETS, 100)
    per_type = max(2, len(field_sets) // (2 * len(types)))   # messages of each type from each person
    plan = [(role, {**field_sets[i % len(field_sets)], "type": type_})
            for i, (type_, role, _) in enumerate(itertools.product(types, people, range(per_type)))]
    plan += [(role, {**hostile_fields(k), "type": type_})
             for k, (type_, role) in enumerate(itertools.product(types, people))]
    with LogWatch() as watch:
        for role, message in plan:
            if not fits(dumps(message)):
                continue
            peer = await people[role].ready()
            await peer.send(message)
            answers = await peer.sync(timeout=30)
            bad = watch.take()
            assert bad == [] and internal_errors(answers) == [], (role, message, internal_errors(answers), bad)
        for peer in people.values():
            await peer.sync()   # the other one is still there too
