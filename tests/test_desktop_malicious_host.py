"""A fake, malicious host: it speaks the host's protocol to a real Support Manager but sends capture and
input commands the person at the computer never allowed. The agent captures and injects nothing, tells
its person, and reports each refusal to the host."""
from __future__ import annotations

import asyncio

from agent.consent import Answer
from agent_harness import CaptureSpy, InputSpy, ScriptedConsent
from agent.app import SupportManager
from agent.plugin_manager import make_plugin_manager
from agent.status import TerminalStatus
from evil_host import evil  # noqa: F401  (fixture)
from xscreen import Recorder, xscreen  # noqa: F401  (fixture)


async def test_agent_refuses_capture_and_input_without_local_approval(evil, xscreen, tmp_path):
    app = Recorder(xscreen, tmp_path / "rec.jsonl")
    ready = await app.ready()
    capture, inputs = CaptureSpy(), InputSpy()
    consent = ScriptedConsent(Answer(False), Answer(True), Answer(True))
    agent = SupportManager(f"{evil.base}/s/evil", "123456789", "Carla", consent=consent,
                           pm=make_plugin_manager(extra=[("capture-spy", capture), ("input-spy", inputs)]),
                           status=TerminalStatus(lambda: None))
    task = asyncio.create_task(agent.run())
    try:
        await evil.connected.wait()
        await evil.wait_for(lambda m: m["type"] == "desktop.agent_hello")
        bx, by, bw, bh = ready["button"]
        click = [{"t": "move", "x": bx + 5, "y": by + 5}, {"t": "button", "b": "left", "down": True, "x": bx + 5, "y": by + 5},
                 {"t": "button", "b": "left", "down": False, "x": bx + 5, "y": by + 5}]
        # 1. commands without any grant
        await evil.send({"type": "desktop.start"})
        await evil.send({"type": "desktop.refresh"})
        await evil.send({"type": "desktop.input", "from": "rep", "events": click})
        await evil.send({"type": "desktop.monitor", "from": "rep", "monitor": 1})
        refusals = await evil.wait_for(lambda m: m["type"] == "desktop.violation")
        await asyncio.sleep(0.5)
        refusals = [m for m in evil.received if m["type"] == "desktop.violation"]
        assert {m["command"] for m in refusals} == {"desktop.start", "desktop.refresh", "desktop.input",
                                                    "desktop.monitor"}
        assert any("control your mouse and keyboard" in r for r in agent.reports)
        assert any("capture your screen" in r for r in agent.reports)

        # 2. the person denies a request: still nothing
        await evil.send({"type": "desktop.consent_request", "request_id": "r1", "level": "control",
                         "viewers": [{"id": "rep", "name": "Mallory"}]})
        denied = await evil.wait_for(lambda m: m["type"] == "desktop.consent" and m["request_id"] == "r1")
        assert denied[0]["allow"] is False
        await evil.send({"type": "desktop.input", "from": "rep", "events": click})
        await evil.wait_for(lambda m: m["type"] == "desktop.violation" and m["what"].startswith("control")
                            and len([x for x in evil.received if x["type"] == "desktop.violation"]) >= 5)
        await asyncio.sleep(0.3)
        assert capture.grabs == 0 and evil.binary == 0
        assert inputs.calls == []

        # 3. view is allowed for "rep": input from it (or anybody) is still refused; bad input is an error
        await evil.send({"type": "desktop.consent_request", "request_id": "r2", "level": "view",
                         "viewers": [{"id": "rep", "name": "Mallory"}]})
        await evil.wait_for(lambda m: m["type"] == "desktop.consent" and m["request_id"] == "r2" and m["allow"])
        await evil.send({"type": "desktop.input", "from": "rep", "events": click})
        await evil.send({"type": "desktop.input", "from": "someone-else", "events": click})
        await evil.wait_for(lambda m: m["type"] == "desktop.violation"
                            and len([x for x in evil.received if x["type"] == "desktop.violation"]) >= 7)
        assert inputs.calls == []
        assert capture.grabs >= 1          # viewing was allowed: capture started only now
        await asyncio.sleep(0.5)
        assert not [e for e in app.events() if e["event"] in ("click", "press")]

        # 4. with a control grant, malformed or out-of-range input is still ignored with an error
        await evil.send({"type": "desktop.consent_request", "request_id": "r3", "level": "control",
                         "viewers": [{"id": "rep", "name": "Mallory"}]})
        await evil.wait_for(lambda m: m["type"] == "desktop.consent" and m["request_id"] == "r3" and m["allow"])
        await evil.send({"type": "desktop.input", "from": "rep", "events": [{"t": "move", "x": 99999, "y": 5}]})
        await evil.send({"type": "desktop.input", "from": "rep", "events": [{"t": "key", "down": True}]})
        await evil.send({"type": "desktop.input", "from": "rep", "events": "click"})
        errors = await evil.wait_for(lambda m: m["type"] == "desktop.input_error"
                                     and len([x for x in evil.received if x["type"] == "desktop.input_error"]) >= 3)
        assert "outside the shared screen" in errors[0]["error"]
        assert inputs.calls == []
        await evil.send({"type": "desktop.input", "from": "rep", "events": click})
        await app.wait_for(lambda evs: [e for e in evs if e["event"] == "click"])
        assert len([c for c in inputs.calls if c[0] == "button"]) == 2
    finally:
        await agent.link.stop()
        await asyncio.wait_for(task, 5)


# -- every message the host can send the agent, with fuzzed fields ----------------------------------------
DEEP: list = ["deep"]
for _ in range(60):
    DEEP = [DEEP]
FUZZ = [None, True, -1, 2 ** 63, -2 ** 63, 1e308, "", "x" * 100_000, "control", "admin", "all", "view",
        "agentid", "rep", "other-customer", "../../../../etc/passwd", [], ["rep", {"id": "rep"}], [{"id": 1}],
        {"rep": "control"}, {"id": "rep", "name": "Mallory", "level": "control"}, DEEP]
SHARES = ("desktop", "appshare")
FILES = "filexfer_advanced"
CALLS = ("audio", "video")
# message type -> (a well-formed message the host might send, the fields fuzzed one by one)
TABLE: dict[str, tuple[dict, tuple[str, ...]]] = {"session.hello": (
    {"you": {"id": "agentid", "role": "customer", "name": "C"}, "session": {"id": "abc123"}}, ("you", "session")),
    "session.participants": ({"participants": [{"id": "rep", "name": "Mallory", "role": "primary_rep"}]},
                             ("participants",))}
for p in SHARES:
    TABLE.update({
        f"{p}.consent_request": ({"request_id": "r", "level": "view", "kind": "request",
                                  "viewers": [{"id": "rep", "name": "Mallory"}]},
                                 ("request_id", "level", "kind", "viewers")),
        f"{p}.revoked": ({"viewers": [], "downgrade": {"rep": "control"}, "level": "control"},
                         ("viewers", "downgrade", "level")),
        f"{p}.input": ({"from": "rep", "events": [{"t": "move", "x": 5, "y": 5}]}, ("from", "events")),
        f"{p}.ack": ({"seq": 1}, ("seq",)),
        f"{p}.refresh": ({"from": "rep"}, ("from",)),
        f"{p}.mode": ({"mode": "sampling"}, ("mode",)),
        f"{p}.monitor": ({"from": "rep", "monitor": 1}, ("from", "monitor")),
        **{f"{p}.{verb}": ({"from": "rep", "level": "control"}, ("from", "level"))
           for verb in ("start", "capture", "start_capture", "frame_request")},
    })
TABLE.update({
    f"{FILES}.consent_request": ({"request_id": "r", "viewer": {"id": "rep", "name": "Mallory"}},
                                 ("request_id", "viewer")),
    f"{FILES}.revoked": ({"viewers": ["rep"]}, ("viewers",)),
    f"{FILES}.list": ({"from": "rep", "path": "", "req": 1}, ("from", "path", "req")),
    f"{FILES}.send_file": ({"from": "rep", "tid": "t1", "path": "secret.txt", "offset": 0,
                            "expect": {"size": 6}}, ("from", "tid", "path", "offset", "expect")),
    f"{FILES}.receive_file": ({"from": "rep", "tid": "t2", "path": "", "name": "evil.sh", "size": 4,
                               "sha256": "0" * 64}, ("from", "tid", "path", "name", "size", "sha256")),
    f"{FILES}.end": ({"from": "rep", "tid": "t2", "sha256": "0" * 64}, ("from", "tid", "sha256")),
    f"{FILES}.cancel": ({"tid": "t1"}, ("tid",)),
})
for k in CALLS:
    TABLE.update({
        f"{k}.call": ({"active": True, "started_by": {"id": "rep", "name": "Mallory"}, "started_at": 1,
                       "reason": ""}, ("active", "started_by", "started_at", "reason")),
        f"{k}.members": ({"members": [{"id": "rep", "epoch": 1, "name": "Mallory"}]}, ("members",)),
        f"{k}.hung_up": ({"by": "Mallory"}, ("by",)),
        f"{k}.signal": ({"from": "rep", "epoch": 1, "to_epoch": 1,
                         "description": {"type": "offer", "sdp": "v=0"}},
                        ("from", "epoch", "to_epoch", "description", "candidate")),
        **{f"{k}.{verb}": ({"re": "agent-media-1", "epoch": 1, "members": []}, ("re", "epoch", "members"))
           for verb in ("joined", "left", "status_ok", "state")},
    })
TABLE["error"] = ({"re": "agent-media-1", "error": "no"}, ("re", "error"))
TABLE["recorder.state"] = ({"recording": True, "asking": False, "asking_by": "Mallory", "automatic": False,
                            "reason": "disk full"}, ("recording", "asking", "asking_by", "automatic", "reason"))


def fuzzed_messages():
    """Every (message type x field x fuzzed value), plus each well-formed message and one without the field."""
    for type_, (base, fields) in TABLE.items():
        yield {"type": type_, **base}
        for name in fields:
            yield {"type": type_, **{k: v for k, v in base.items() if k != name}}
            for value in FUZZ:
                yield {"type": type_, **base, name: value}


def fuzzed_frames():
    """Binary frames (the agent's only binary handler is file upload data): broken and mistyped headers."""
    from host.router import make_binary
    yield b""
    yield b"\xff" * 10
    yield b"\x00\x05{bad}"
    for value in FUZZ[:16]:
        yield make_binary({"type": f"{FILES}.put", "tid": value if not isinstance(value, str) else value[:50],
                           "o": value if not isinstance(value, str) else 0}, b"evil")


def test_the_table_names_every_message_type_the_agent_handles():
    """A new agent handler must be added to the table above (and so is fuzzed)."""
    from agent.app import SupportManager as SM
    agent = SM("http://127.0.0.1:9/s/evil", "123456789", "C", config={"files_root": "/nonexistent"},
               consent=ScriptedConsent(), status=TerminalStatus(lambda: None))
    assert set(agent.handlers) == set(TABLE)
    assert set(agent.binary_handlers) == {f"{FILES}.put"}


class PicksFirstWindow(ScriptedConsent):
    """The person's answers in turn; an Allow for an application picks the first window offered."""

    async def ask(self, request):
        answer = await super().ask(request)
        if answer.allow and request.choices:
            return Answer(True, choice=request.choices[0]["id"])
        return answer


class Fence:
    """What the agent must never do without its person's Allow: a grant above what was given, a grab,
    an injected event, a file read, listed or written."""

    def __init__(self, agent, capture, inputs, files_root, evil):
        self.agent, self.capture, self.inputs, self.root, self.evil = agent, capture, inputs, files_root, evil
        self.tree = self._tree()

    def _tree(self):
        return sorted((str(p.relative_to(self.root)), p.stat().st_size) for p in self.root.rglob("*"))

    def check(self, given: dict[str, str], capturing: bool):
        for p in SHARES:
            grants = {vid: g["level"] for vid, g in self.agent.features[p].grants.items()}
            for vid, level in grants.items():
                assert vid in given.get(p, {}) and not (level == "control" and given[p][vid] == "view"), \
                    f"{p}: grant {vid}={level} was never given ({given.get(p)})"
        assert not self.agent.features[FILES].grants and not self.agent.features[FILES].receivers
        calls = self.agent.features["calls"]
        assert not any(calls.joined.values()) and (calls.media is None or calls.media._mic_track is None)
        assert self.inputs.calls == []
        if not capturing:
            assert self.capture.grabs == 0 and self.evil.binary == 0
        assert self._tree() == self.tree
        sent = [m["type"] for m in self.evil.received]
        assert not {f"{FILES}.file_info", f"{FILES}.sent", f"{FILES}.received"} & set(sent)
        assert not [m for m in self.evil.received if m["type"] == f"{FILES}.listing" and m.get("entries")]


async def test_every_host_message_with_fuzzed_fields_raises_nothing_and_logs_no_traceback(evil, xscreen, tmp_path,
                                                                                         caplog):
    import logging
    caplog.set_level(logging.INFO)
    files_root = tmp_path / "home"
    files_root.mkdir()
    (files_root / "secret.txt").write_text("secret")
    capture, inputs = CaptureSpy(), InputSpy()
    consent = PicksFirstWindow()          # the person says no to everything (until phase 2)
    agent = SupportManager(f"{evil.base}/s/evil", "123456789", "Carla", consent=consent,
                           config={"files_root": str(files_root)},
                           pm=make_plugin_manager(extra=[("capture-spy", capture), ("input-spy", inputs)]),
                           status=TerminalStatus(lambda: None))
    task = asyncio.create_task(agent.run())
    fence = Fence(agent, capture, inputs, files_root, evil)
    try:
        await evil.connected.wait()
        await evil.wait_for(lambda m: m["type"] == "desktop.agent_hello")
        sent = 0
        for message in fuzzed_messages():
            await evil.send(message)
            sent += 1
            if sent % 50 == 0:
                await asyncio.sleep(0.05)
                fence.check({}, capturing=False)
        for frame in fuzzed_frames():
            await evil.send_bytes(frame)
        await asyncio.sleep(1.0)
        fence.check({}, capturing=False)
        assert sent > 1000 and consent.asked          # the person was asked (and said no), never bypassed

        # the person allows one rep to view the screen and an application window: nothing the host sends
        # raises either to control
        await Recorder(xscreen, tmp_path / "rec.jsonl").ready()
        consent.answers += [Answer(True), Answer(True)]
        for p in SHARES:
            await evil.send({"type": f"{p}.consent_request", "request_id": "ok", "level": "view",
                             "viewers": [{"id": "rep", "name": "Mallory"}]})
            await evil.wait_for(lambda m: m["type"] == f"{p}.consent" and m["request_id"] == "ok" and m["allow"],
                                timeout=20)
        given = {p: {"rep": "view"} for p in SHARES}
        for message in fuzzed_messages():
            if message["type"] == "session.hello" or (message["type"].endswith(".revoked")
                                                       and message.get("viewers") != []):
                continue           # these end grants (allowed: they lower); this part watches the grant
            await evil.send(message)
            sent += 1
            if sent % 50 == 0:
                await asyncio.sleep(0.05)
                fence.check(given, capturing=True)
        await asyncio.sleep(1.0)
        fence.check(given, capturing=True)
        assert all(agent.features[p].grants["rep"]["level"] == "view" for p in SHARES)

        # still running and answering
        assert not task.done()
        await evil.send({"type": "appshare.consent_request", "request_id": "last", "level": "bogus",
                         "viewers": [{"id": "rep"}]})
        await evil.wait_for(lambda m: m["type"] == "appshare.consent" and m["request_id"] == "last")
    finally:
        await agent.link.stop()
        await asyncio.wait_for(task, 10)
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not tracebacks, "\n".join(f"{r.name}: {r.getMessage()[:200]} {r.exc_info and r.exc_info[1]!r}"
                                     for r in tracebacks[:10])
