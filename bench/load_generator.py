"""A load generator process: sets sessions up through the host's real HTTP API, then sends chat at a fixed rate.

    python -m bench.load_generator --base http://127.0.0.1:PORT --reps 0-9 --sessions 100 --password PW ...

Setup (reps log in, each starts up to ``SESSIONS_PER_REP`` sessions, a customer joins each by its number,
everybody opens the session WebSocket) happens first; then the process prints ``{"ready": ...}`` and waits
for ``GO <t0>`` on stdin, ``t0`` being a CLOCK_MONOTONIC time shared by every process of the benchmark.

From t0 on, every participant sends ``chat.send`` ``rate`` times a second, spread evenly over the period.
Each text starts with the send time (monotonic ns), so the sender's ``chat.ack`` (sent by the host after
COMMIT) and the peer's ``chat.message`` give two round trips without any bookkeeping: send -> ack and
send -> peer received. A sample belongs to the measuring window its *send* fell in. After the last window
the process waits ``drain`` seconds for late replies and prints one JSON line of results.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time

import aiohttp

from .bench_site import SESSIONS_PER_REP, SITE, rep_name
from .os_limits import raise_file_limit, set_priority

CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
FILLER = "hello, this is a benchmark chat message of a typical length"
monotonic_ns = time.monotonic_ns


class Setup:
    """The HTTP part: logins, session creation and joins, as a browser would do them."""

    def __init__(self, http: aiohttp.ClientSession, base: str, password: str, parallel: int = 16):
        self.http = http
        self.base = base
        self.prefix = f"{base}/s/{SITE}"
        self.password = password
        self.limit = asyncio.Semaphore(parallel)

    async def csrf(self, path: str, cookies: str = "") -> tuple[str, str]:
        """(raw cookie, form token) from a page of the site."""
        async with self.http.get(self.prefix + path, headers={"Cookie": cookies} if cookies else None) as r:
            text = await r.text()
            raw = r.cookies["sh_csrf"].value
        return raw, CSRF_META.search(text).group(1)

    async def login(self, username: str) -> str:
        """Cookie header of a logged-in rep (auth + CSRF cookie) and the CSRF token, joined by a newline."""
        async with self.limit:
            raw, token = await self.csrf("/login")
            async with self.http.post(self.prefix + "/login", allow_redirects=False,
                                      headers={"Cookie": f"sh_csrf={raw}"},
                                      data={"username": username, "password": self.password,
                                            "csrf_token": token}) as r:
                if r.status != 302 or f"sh_auth_{SITE}" not in r.cookies:
                    raise RuntimeError(f"login of {username} failed: {r.status} {await r.text()}")
                auth = r.cookies[f"sh_auth_{SITE}"].value
        return f"sh_auth_{SITE}={auth}; sh_csrf={raw}", token

    async def start_session(self, cookies: str, token: str) -> dict:
        async with self.limit:
            async with self.http.post(self.prefix + "/api/sessions", json={},
                                      headers={"Cookie": cookies, "X-CSRF-Token": token}) as r:
                if r.status != 201:
                    raise RuntimeError(f"starting a session failed: {r.status} {await r.text()}")
                return await r.json()

    async def join(self, number: str, name: str, csrf: tuple[str, str]) -> str:
        """Join by number as a customer; returns the participant's Cookie header."""
        raw, token = csrf
        async with self.limit:
            async with self.http.post(self.prefix + "/join", allow_redirects=False,
                                      headers={"Cookie": f"sh_csrf={raw}"},
                                      data={"number": number, "name": name, "csrf_token": token}) as r:
                if r.status != 302:
                    raise RuntimeError(f"joining {number} failed: {r.status} {await r.text()}")
                (morsel,) = [m for k, m in r.cookies.items() if k.startswith("shp_")]
        return f"{morsel.key}={morsel.value}"


class Participant:
    __slots__ = ("index", "role", "session_id", "cookies", "ws", "reader")

    def __init__(self, index: int, role: str, session_id: str, cookies: str):
        self.index = index
        self.role = role
        self.session_id = session_id
        self.cookies = cookies
        self.ws = None
        self.reader = None


class Recorder:
    """Latency samples (µs) per measuring window, and counts, filled by the socket readers."""

    def __init__(self, t0_ns: int, warmup: float, window: float, windows: int):
        self.start_ns = t0_ns + int(warmup * 1e9)
        self.window_ns = int(window * 1e9)
        self.windows = windows
        self.ack = [[] for _ in range(windows)]
        self.peer = [[] for _ in range(windows)]
        self.sent = [0] * windows
        self.lag = [[] for _ in range(windows)]
        self.errors = 0
        self.error_examples: list[str] = []
        self.closed = 0

    def window_of(self, sent_ns: int) -> int:
        w = (sent_ns - self.start_ns) // self.window_ns
        return w if 0 <= w < self.windows else -1


async def read_loop(p: Participant, rec: Recorder) -> None:
    loads = json.loads
    async for msg in p.ws:
        if msg.type != aiohttp.WSMsgType.TEXT:
            continue
        now = monotonic_ns()
        data = loads(msg.data)
        kind = data.get("type")
        if kind == "chat.ack" or kind == "chat.message":
            sent = int(data["message"]["text"].partition(" ")[0])
            w = rec.window_of(sent)
            if w >= 0:
                (rec.ack if kind == "chat.ack" else rec.peer)[w].append((now - sent) // 1000)
        elif kind == "error":
            rec.errors += 1
            if len(rec.error_examples) < 5:
                rec.error_examples.append(msg.data[:200])
    rec.closed += 1


async def send_loop(people: list[Participant], rec: Recorder, t0_ns: int, rate: float, end_ns: int) -> None:
    """Participant j sends at t0 + k/rate + j/(n*rate): evenly spread, on an absolute schedule."""
    n = len(people)
    step_ns = int(1e9 / rate / n)
    i = 0
    while True:
        due = t0_ns + i * step_ns
        if due >= end_ns:
            return
        now = monotonic_ns()
        if due > now:
            await asyncio.sleep(max((due - now) / 1e9, 0.001))
            continue
        while due <= now and due < end_ns:
            p = people[i % n]
            sent = monotonic_ns()
            w = rec.window_of(sent)
            if w >= 0:
                rec.sent[w] += 1
                rec.lag[w].append((sent - due) // 1000)
            if not p.ws.closed:
                await p.ws.send_str(f'{{"type":"chat.send","id":{i},"text":"{sent} {p.index} {FILLER}"}}')
            i += 1
            due = t0_ns + i * step_ns


async def connect(http: aiohttp.ClientSession, base: str, p: Participant, limit: asyncio.Semaphore,
                  compress: int) -> None:
    async with limit:
        p.ws = await http.ws_connect(f"{base}/s/{SITE}/ws/session/{p.session_id}", autoping=True,
                                     headers={"Origin": base, "Cookie": p.cookies}, max_msg_size=0,
                                     compress=compress)
        hello = await p.ws.receive_json(timeout=30)
        if hello.get("type") != "session.hello":
            raise RuntimeError(f"expected session.hello, got {hello}")


def parse_range(text: str) -> range:
    first, _, last = text.partition("-")
    return range(int(first), int(last or first) + 1)


async def run(args) -> dict:
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as http:
        setup = Setup(http, args.base, args.password)
        reps = [rep_name(i) for i in parse_range(args.reps)]
        if args.sessions > len(reps) * SESSIONS_PER_REP:
            raise SystemExit("not enough reps for that many sessions")
        t_setup = time.monotonic()
        logins = await asyncio.gather(*(setup.login(r) for r in reps))
        owners = [logins[s % len(reps)] for s in range(args.sessions)]
        sessions = await asyncio.gather(*(setup.start_session(c, t) for c, t in owners))
        customer_csrf = await setup.csrf("/join")
        joined = await asyncio.gather(*(setup.join(s["number"], f"Customer {k}", customer_csrf)
                                        for k, s in enumerate(sessions)))
        people: list[Participant] = []
        for k, (s, (cookies, _token), cust_cookies) in enumerate(zip(sessions, owners, joined)):
            people.append(Participant(2 * k, "rep", s["id"], cookies))
            people.append(Participant(2 * k + 1, "customer", s["id"], cust_cookies))
        limit = asyncio.Semaphore(32)
        await asyncio.gather(*(connect(http, args.base, p, limit, args.compress) for p in people))
        setup_seconds = round(time.monotonic() - t_setup, 2)

        print(json.dumps({"ready": True, "participants": len(people), "setup_s": setup_seconds}), flush=True)
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        if not line.startswith("GO "):
            raise SystemExit("no GO received")
        t0_ns = int(float(line.split()[1]) * 1e9)
        rec = Recorder(t0_ns, args.warmup, args.window, args.windows)
        for p in people:
            p.reader = asyncio.create_task(read_loop(p, rec))
        end_ns = rec.start_ns + rec.window_ns * args.windows
        await send_loop(people, rec, t0_ns, args.rate, end_ns)
        await asyncio.sleep(max(0.0, (end_ns - monotonic_ns()) / 1e9) + args.drain)
        result = {
            "participants": len(people), "sessions": len(sessions), "setup_s": setup_seconds,
            "errors": rec.errors, "error_examples": rec.error_examples, "closed_early": rec.closed,
            "windows": [{"sent": rec.sent[w], "ack_us": rec.ack[w], "peer_us": rec.peer[w],
                         "lag_us": rec.lag[w]} for w in range(args.windows)],
        }
        for p in people:
            p.reader.cancel()
        return result


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True)
    p.add_argument("--reps", required=True, help="rep accounts to use, e.g. 0-9")
    p.add_argument("--sessions", type=int, required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--rate", type=float, default=2.0, help="messages per participant per second")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--window", type=float, default=10.0)
    p.add_argument("--windows", type=int, default=1)
    p.add_argument("--drain", type=float, default=2.0)
    p.add_argument("--nice", type=int, default=0, help="process priority (nice value), e.g. -10")
    p.add_argument("--compress", type=int, default=15,
                   help="offer permessage-deflate with this window size, as browsers do (0: do not)")
    args = p.parse_args(argv)
    set_priority(args.nice)
    raise_file_limit()
    result = asyncio.run(run(args))
    sys.stdout.write(json.dumps(result, separators=(",", ":")) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
