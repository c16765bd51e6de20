"""What the fuzz tests (tests/test_fuzz_*.py) share: Hypothesis profiles, strategies of hostile input,
a watch on the logs for tracebacks, and a participant's socket that keeps reading.

Profiles: ``ci`` (the default: few examples, derandomized, no example database, so a run of the suite is
the same every time and writes nothing into the checkout) and ``fuzz`` (``make fuzz``: FUZZ_FACTOR times
as many examples, random, still no database). ``SUPPORTHOST_FUZZ=1`` selects ``fuzz``.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os

import aiohttp
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

FUZZ_FACTOR = 40   # make fuzz runs this many times the examples of make test
FUZZING = os.environ.get("SUPPORTHOST_FUZZ", "") not in ("", "0")

_COMMON = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.register_profile("ci", derandomize=True, **_COMMON)
settings.register_profile("fuzz", derandomize=False, **_COMMON)
settings.load_profile("fuzz" if FUZZING else "ci")


def examples(n: int, **more) -> settings:
    """Settings of a fuzz test that runs ``n`` examples in ``make test`` (FUZZ_FACTOR * n in ``make fuzz``)."""
    return settings(max_examples=n * FUZZ_FACTOR if FUZZING else n, **more)


def corpus(strategy, n: int) -> list:
    """``n`` values of ``strategy`` (FUZZ_FACTOR * n in ``make fuzz``), drawn up front. For a test against
    a stateful host: Hypothesis cannot replay an example there (the host remembers the earlier ones), so
    the test names the failing value itself instead of shrinking it."""
    out: list = []

    @settings(max_examples=n * FUZZ_FACTOR if FUZZING else n, phases=[Phase.generate])
    @given(strategy)
    def draw(value):
        out.append(value)
    draw()
    return out


# -- hostile values ----------------------------------------------------------------------------------
# Strings that broke or could break something: NUL, separators, "..", lone surrogates, right-to-left
# override, look-alike and compatibility forms (NFKC folds "．．" to ".." and "／" to "/"), long ones.
NASTY_STRINGS = [
    "", " ", "\x00", "a\x00b", "..", "../..", "../../etc/passwd", "/", "\\", "..\\..\\x", "/etc/passwd",
    "C:\\Windows", "\ud800", "a\udfffb", "\u202etxt.exe", "．．／．．／x", "ﬁle", "Å", "A\u030a",
    "\uff0e\uff0e", "%2e%2e%2f", "con", "nul.txt", "x" * 300, "é" * 5000, "y" * 20_000, "\n\r\t",
    "<script>alert(1)</script>", "' OR 1=1 --", "NaN", "-1", "1e999", "0001-01-01", "9999-12-31T23:59:59",
    "\u0000\u0001\u001f\u007f", "🙂" * 50, "\ufeff", "\u2028",
]
NASTY_NUMBERS = [0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**400, 1e308, -1e308, 0.5, float("inf"),
                 float("-inf"), float("nan")]

any_text = st.one_of(st.sampled_from(NASTY_STRINGS),
                     st.text(st.characters(exclude_categories=()), max_size=40))  # incl. lone surrogates
any_number = st.one_of(st.sampled_from(NASTY_NUMBERS), st.integers(), st.floats())
scalars = st.one_of(st.none(), st.booleans(), any_number, any_text)


MAX_MESSAGE = 64 * 1024   # the host's max_message_bytes: a larger message closes the socket (1009)


def fits(text: str) -> bool:
    return len(text.encode("utf-8", "surrogatepass")) <= MAX_MESSAGE


def json_values(max_leaves: int = 12):
    """Any JSON value (as Python parses it, incl. NaN, inf and integers beyond 64 bits)."""
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(any_text, inner, max_size=4)), max_leaves=max_leaves)


def deep(depth: int, kind: str = "list") -> str:
    """Nested JSON text ``depth`` levels deep (as a list or an object)."""
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def dumps(value) -> str:
    """JSON text of ``value`` as a browser could send it (lone surrogates become \\ud800 escapes)."""
    return json.dumps(value, ensure_ascii=True, allow_nan=True)


# -- the logs ----------------------------------------------------------------------------------------
class LogWatch(logging.Handler):
    """Collects every record at ERROR and above, and every one with a traceback, from all loggers."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.bad: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.bad.append(record)

    def __enter__(self):
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc):
        logging.getLogger().removeHandler(self)

    def take(self) -> list[str]:
        """The bad records since the last call, formatted with their tracebacks."""
        out = [logging.Formatter().format(r) for r in self.bad]
        self.bad.clear()
        return out


# -- a participant that keeps reading ----------------------------------------------------------------
class Peer:
    """A participant's WebSocket read all the time (a peer that stops reading is closed by the host as
    too slow). ``sync()`` round-trips a ``session.ping``: everything the host sent before its pong is in.
    ``connect`` is an async function that opens the socket; ``ready()`` opens a new one when the last one
    was closed (so one closed socket fails one example, not every later one)."""

    def __init__(self, connect):
        self.connect = connect
        self.ws = None
        self.got: list[dict] = []
        self.binary = 0
        self.closed: tuple | None = None
        self._n = 0
        self._pongs: dict[str, asyncio.Future] = {}
        self._task: asyncio.Task | None = None

    async def ready(self) -> "Peer":
        if self.ws is None or self.closed is not None:
            if self.ws is not None:
                await self.close()
            self.ws, self.closed, self.got = await self.connect(), None, []
            self._task = asyncio.create_task(self._read())
            await self.sync()   # what the host says on joining
            self.got = []
        return self

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(msg.data)
                if data.get("type") == "session.pong" and data.get("re") in self._pongs:
                    self._pongs.pop(data["re"]).set_result(None)
                    continue
                self.got.append(data)
            elif msg.type == aiohttp.WSMsgType.BINARY:
                self.binary += 1
        self.closed = (self.ws.close_code, self.ws.exception())
        for fut in self._pongs.values():
            fut.cancel()
        self._pongs.clear()

    async def send_raw(self, text: str) -> None:
        await self.ws.send_str(text)

    async def send(self, message: dict) -> None:
        await self.ws.send_str(dumps(message))

    async def send_bytes(self, frame: bytes) -> None:
        await self.ws.send_bytes(frame)

    async def sync(self, timeout: float = 10) -> list[dict]:
        """Wait until the host has handled everything sent before; returns (and forgets) what came."""
        assert self.closed is None, f"the host closed the socket: {self.closed}"
        self._n += 1
        ref = f"sync{self._n}"
        fut = asyncio.get_running_loop().create_future()
        self._pongs[ref] = fut
        try:
            await self.ws.send_str(json.dumps({"type": "session.ping", "id": ref}))
            await asyncio.wait_for(fut, timeout)
        except (asyncio.CancelledError, ConnectionError):
            raise AssertionError(f"the host closed the socket: {self.closed}") from None
        got, self.got = self.got, []
        return got

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            await self._task


def internal_errors(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m.get("type") == "error" and m.get("code") == "internal"]
