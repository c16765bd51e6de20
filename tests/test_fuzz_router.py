"""Fuzzing the envelope router and the binary frame parser through a real host's session socket: any
JSON value, any size, lone surrogates, deep nesting, any bytes. Every input gets a clear error reply or
a normal answer, never an internal error; nothing is logged with a traceback; the socket stays up."""
from __future__ import annotations

import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from agent.frames import MAX_HEADER, make_binary, parse_binary
from fuzz_kit import LogWatch, Peer, any_text, deep, dumps, examples, fits, internal_errors, json_values
from host.appkeys import PLUGINS
from host.router import MAX_DEPTH


@pytest.fixture
async def peer(rep, support_session):
    async def connect():
        return (await rep.ws(support_session["id"])).ws
    p = Peer(connect)
    yield p
    await p.close()


@pytest.fixture
def watch():
    with LogWatch() as w:
        yield w


def errors(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m.get("type") == "error"]


def codes(messages: list[dict]) -> list[str]:
    return [m["code"] for m in errors(messages)]


async def _answers(peer, watch, send) -> list[dict]:
    """Send (``send(peer)``), then wait for the host: no internal error, no traceback, the socket up."""
    await peer.ready()
    await send(peer)
    got = await peer.sync()
    assert internal_errors(got) == [], got
    assert watch.take() == []
    return got


@examples(60)
@given(value=json_values(), type_=any_text, depth=st.integers(1, 30_000), raw=st.text(max_size=300),
       kind=st.sampled_from(["value", "envelope", "deep", "deep field", "raw", "surrogate"]),
       surrogate=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF))
async def test_any_text_frame_gets_an_answer_and_no_traceback(peer, watch, kind, value, type_, depth, raw,
                                                              surrogate):
    """Any JSON value, any envelope type, deep nesting, lone surrogates, not JSON at all: a clear error
    reply (the docs promise one for deep nesting too, not a closed socket; a lone surrogate in chat was an
    internal error with a traceback: issue 11, defect 8)."""
    text = {"value": dumps(value), "envelope": dumps({**(value if isinstance(value, dict) else {}), "type": type_}),
            "deep": deep(depth, "list" if depth % 2 else "object"),
            "deep field": '{"type":"chat.send","text":' + deep(depth) + "}", "raw": raw,
            "surrogate": dumps({"type": "chat.send", "text": raw[:5] + surrogate + raw[5:]})}[kind]
    assume(fits(text))
    got = await _answers(peer, watch, lambda p: p.send_raw(text))
    if kind == "value" and not (isinstance(value, dict) and isinstance(value.get("type"), str)):
        assert codes(got) == ["malformed"], got
    if kind == "envelope":
        assert len(codes(got)) == 1 and codes(got)[0] in ("malformed", "unknown_type"), got
    if kind == "surrogate":
        assert codes(got) == ["malformed"] and "surrogate" in errors(got)[0]["error"], got
    if kind.startswith("deep") and depth > MAX_DEPTH + 1:
        assert codes(got) == ["malformed"] and "nested" in errors(got)[0]["error"], got


@examples(20)
@given(data=st.data())
async def test_any_binary_frame_gets_an_answer_and_no_traceback(host, peer, watch, data):
    """Any bytes, and a frame for each binary stream a plugin registered with any header fields and payload."""
    frames = [data.draw(st.binary(max_size=600))]
    for type_ in sorted(t for t, h in host.app[PLUGINS].handlers.items() if h.binary):
        fields = data.draw(st.dictionaries(st.text(max_size=8), json_values(4), max_size=4))
        header = dumps({**fields, "type": type_}).encode()[:MAX_HEADER]
        frames.append(bytes([len(header)]) + header + data.draw(st.binary(max_size=2000)))

    async def send(p):
        for frame in frames:
            await p.send_bytes(frame)
    await _answers(peer, watch, send)


@examples(200)
@given(frame=st.binary(max_size=400))
def test_parse_binary_returns_a_typed_header_or_raises_value_error(frame):
    try:
        header, payload = parse_binary(frame)
    except ValueError:   # UnicodeDecodeError is a ValueError
        return
    assert isinstance(header, dict) and isinstance(header["type"], str)
    assert frame.endswith(payload)


@examples(50)
@given(header=st.dictionaries(st.text(max_size=10), json_values(4), max_size=4), type_=any_text,
       payload=st.binary(max_size=100))
def test_make_binary_and_parse_binary_agree(header, type_, payload):
    header = {**header, "type": type_}
    try:
        frame = make_binary(header, payload)
    except ValueError:
        assert len(json.dumps(header, separators=(",", ":")).encode()) > MAX_HEADER
        return
    parsed, rest = parse_binary(frame)
    assert rest == payload and parsed["type"] == type_
