"""WebACD routing benchmark: routing latency and entries per second as the queue grows.

    .venv/bin/python -m bench.webacd_routing [--sizes 100,1000,5000] [--reps 200] [--probes 60]
    (or from Python: bench.webacd_routing.run(["--sizes", "100,1000"]) -> results dict)

One host runs as its own process (``--serve``, started by the benchmark) on a loopback port, with a
site of 200 single-session reps, all with their console feed (WebSocket) open and available:
180 serve the queue "Backlog", 20 the queue "Front". For each size N:

1. entries/s: customers send the entry form (real HTTP, CSRF, validation, SQLite commit, routing,
   positions) into Backlog, 16 at a time, until N wait there. The first 180 are offered at once and
   hold their rep (offer timeout 1 h), the rest wait in line.
2. routing latency, form -> offer: one probe customer at a time sends the form to Front; the time
   until the offer arrives on a Front rep's console feed. The probe then leaves the queue (its offer
   is withdrawn, the rep is free for the next). Every probe is routed by the engine holding N waiting
   customers and 200 reps.
3. routing latency, rep free -> offer: a Backlog rep goes away and available again; the time from the
   request until the head-of-line customer's offer arrives on the rep's feed (a dispatch of Backlog
   with N waiting). Only when N is larger than the 180 Backlog reps; below, every customer is offered
   at once and this shows as None.
4. the routing engine alone (no HTTP, no SQLite, in this process) in the same shape, in microseconds:
   what routing itself costs as N grows, apart from the web server, the database and a noisy machine.
Reported: p50/p99 of the latencies, entries/s, host RSS, per N. No pass/fail: the machine is shared.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

SITE = "acd"
TOKEN = "bench-acd-token-{}"
FRONT = 20


# -- the host process ----------------------------------------------------------------------------------
def serve(data_dir: str, reps: int) -> None:
    import logging

    from aiohttp import web

    from host.app import create_app
    from host.config import Config
    from host.session_store import token_hash
    from host.sites import create_site, create_user

    logging.basicConfig(level=logging.WARNING)
    app = create_app(Config(data_dir=Path(data_dir)))
    from host.appkeys import DB, SITES
    db = app[DB].sync()
    now = time.time()
    with db.atomic():
        site_id = create_site(db, SITE, "WebACD benchmark")
        first = create_user(db, site_id, "rep0000", "Rep 0", "bench password 0123")
        row = {k: v for k, v in db["users"].get(first).items() if k != "id"}
        db["users"].insert_all({**row, "username": f"rep{i:04d}", "display_name": f"Rep {i}"} for i in range(1, reps))
        ids = [r["id"] for r in db.query("select id from users where site_id = ? order by id", [site_id])]
        db["auth_sessions"].insert_all({"token_hash": token_hash(TOKEN.format(i)), "user_id": uid, "site_id": site_id,
                                        "csrf": "x", "created_at": now, "expires_at": now + 86400}
                                       for i, uid in enumerate(ids))
        fields = json.dumps({"email": "required", "phone": "off", "company": "off", "problem": "required"})
        for name, members in (("Backlog", ids[:-FRONT]), ("Front", ids[-FRONT:])):
            qid = db["acd_queues"].insert({"site_id": site_id, "name": name, "mode": "most_idle",
                                           "offer_timeout": 3600.0, "escalate_after": 0.0, "overflow_queue_id": None,
                                           "timezone": "UTC", "hours": None, "fields": fields, "start_options": "{}",
                                           "created_at": now}).last_pk
            db["acd_members"].insert_all({"queue_id": qid, "user_id": u} for u in members)
        db["acd_agents"].insert_all({"user_id": u, "site_id": site_id, "status": "available", "since": now} for u in ids)
        # the per-address limit of the entry form would stop one load generator: lifted for the benchmark
        db["site_settings"].insert({"site_id": site_id, "plugin": "webacd", "key": "entries_per_minute",
                                    "value": json.dumps(10 ** 9)})
        # the customers of the benchmark keep no waiting page open: they must not be dropped as gone
        db["site_settings"].insert({"site_id": site_id, "plugin": "webacd", "key": "abandon_after",
                                    "value": json.dumps(10 ** 9)})
    app[SITES].load(db)

    async def main():
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        print(json.dumps({"port": port, "pid": os.getpid(), "users": ids}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the benchmark goes
        await runner.cleanup()
    profile = os.environ.get("WEBACD_BENCH_PROFILE")  # a file name: the host runs under cProfile
    if profile:
        import cProfile
        cProfile.runctx("asyncio.run(main())", globals(), {"main": main, "asyncio": asyncio}, profile)
    else:
        asyncio.run(main())


# -- the benchmark ----------------------------------------------------------------------------------------
def pct(values: list[float], q: float):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, max(0, int(round(q / 100 * len(values) + 0.5)) - 1))], 2)


class Bench:
    def __init__(self, base: str, users: list[int]):
        self.base = base
        self.users = users
        self.waiters: dict = {}           # (user id or None) -> future of the next offer
        self.offers_by_entry: dict[str, asyncio.Future] = {}
        self.feeds = []
        self.rep_http: dict[int, tuple[aiohttp.ClientSession, str]] = {}
        self.early: dict[str, float] = {}

    def url(self, path: str) -> str:
        return f"{self.base}/s/{SITE}{path}"

    async def open_feeds(self) -> None:
        async def one(i, uid):
            http = aiohttp.ClientSession(cookies={f"sh_auth_{SITE}": TOKEN.format(i)})
            ws = await http.ws_connect(self.url("/ws/rep"), headers={"Origin": self.base}, max_msg_size=0)
            self.feeds.append((http, ws))
            asyncio.create_task(self.read_feed(uid, ws))
        await asyncio.gather(*(one(i, uid) for i, uid in enumerate(self.users)))

    async def read_feed(self, uid: int, ws) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if data.get("type") == "webacd.offer":
                now = time.perf_counter()
                eid = data["offer"]["entry_id"]
                fut = self.offers_by_entry.get(eid)
                if fut is not None and not fut.done():
                    fut.set_result((now, uid))
                elif data["offer"]["queue"] == "Front":
                    self.early[eid] = now     # the offer beat the answer to the form
                fut = self.waiters.pop(uid, None)
                if fut is not None and not fut.done():
                    fut.set_result((now, eid))

    async def customer(self) -> tuple[aiohttp.ClientSession, str]:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        async with http.get(self.url("/p/webacd/q/1")) as r:
            csrf = re.search(r'name="csrf-token" content="([^"]+)"', await r.text()).group(1)
        return http, csrf

    async def enter(self, http, csrf, queue_id: int, name: str) -> str:
        http.cookie_jar.clear(lambda c: c.key.startswith("shq_"))   # each submit is a new customer
        form = {"csrf_token": csrf, "name": name, "email": "c@example.com", "problem": "bench",
                "ref": "https://shop.example.com/"}
        async with http.post(self.url(f"/p/webacd/q/{queue_id}"), data=form, allow_redirects=False) as r:
            if r.status != 302:
                raise RuntimeError(f"entry refused: {r.status} {(await r.text())[:200]}")
            return r.headers["Location"].rsplit("/", 1)[1]

    async def fill(self, target: int, have: int, concurrency: int = 16) -> float:
        """Send entry forms into Backlog until `target` wait there; entries per second."""
        todo = target - have
        if todo <= 0:
            return 0.0
        clients = [await self.customer() for _ in range(concurrency)]
        counter = iter(range(todo))

        async def worker(http, csrf):
            for i in counter:
                await self.enter(http, csrf, 1, f"Backlog {have + i}")
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(h, c) for h, c in clients))
        took = time.perf_counter() - t0
        for h, _c in clients:
            await h.close()
        return todo / took

    async def probe_front(self, count: int) -> list[float]:
        http, csrf = await self.customer()
        out = []
        for i in range(count):
            fut = asyncio.get_running_loop().create_future()
            t0 = time.perf_counter()
            eid = await self.enter(http, csrf, 2, f"Probe {i}")
            self.offers_by_entry[eid] = fut
            got = await asyncio.wait_for(self._early(eid, fut), 30)
            out.append((got - t0) * 1000)
            async with http.post(self.url(f"/p/webacd/wait/{eid}/leave"), data={"csrf_token": csrf}) as r:
                assert r.status == 200, r.status
            self.offers_by_entry.pop(eid, None)
        await http.close()
        return out

    async def _early(self, eid, fut):
        if eid in self.early:
            return self.early.pop(eid)
        return (await fut)[0]

    async def rep_client(self, index: int):
        if index not in self.rep_http:
            http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                         cookies={f"sh_auth_{SITE}": TOKEN.format(index)})
            async with http.get(self.url("/console")) as r:
                csrf = re.search(r'name="csrf-token" content="([^"]+)"', await r.text()).group(1)
            self.rep_http[index] = (http, csrf)
        return self.rep_http[index]

    async def set_status(self, index: int, status: str) -> None:
        http, csrf = await self.rep_client(index)
        async with http.post(self.url("/p/webacd/api/status"), json={"status": status},
                             headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 200, await r.text()

    async def probe_backlog(self, count: int) -> list[float]:
        out = []
        for k in range(count):
            index = k % (len(self.users) - FRONT)
            uid = self.users[index]
            await self.set_status(index, "away")
            fut = asyncio.get_running_loop().create_future()
            self.waiters[uid] = fut
            t0 = time.perf_counter()
            await self.set_status(index, "available")
            got, _eid = await asyncio.wait_for(fut, 30)
            out.append((got - t0) * 1000)
        return out

    async def close(self):
        for http, ws in self.feeds:
            await ws.close()
            await http.close()
        for http, _c in self.rep_http.values():
            await http.close()


def engine_only(n: int, reps: int, samples: int = 200) -> dict:
    """The routing engine alone (no HTTP, no SQLite), same shape: N waiting in Backlog held by all but
    20 reps, probes into Front. Microseconds per routing decision."""
    from plugins.webacd.engine import Agent, Entry, Rule, RoutingEngine
    now = [0.0]
    eng = RoutingEngine(lambda: now[0])
    backlog, front = list(range(1, reps - FRONT + 1)), list(range(reps - FRONT + 1, reps + 1))
    eng.set_rule(Rule(1, 1, "Backlog", tuple(backlog), "most_idle", 3600))
    eng.set_rule(Rule(2, 1, "Front", tuple(front), "most_idle", 3600))
    for uid in backlog + front:
        eng.set_agent(Agent(uid, 1, f"rep{uid}", "available", 1, 0, 0.0))
    for i in range(n):
        now[0] += 0.001
        eng.add(Entry(f"b{i}", 1, 1, f"b{i}", now[0]))
    adds, frees = [], []
    for i in range(samples):
        now[0] += 0.001
        t0 = time.perf_counter()
        events = eng.add(Entry(f"p{i}", 1, 2, f"p{i}", now[0]))
        adds.append((time.perf_counter() - t0) * 1e6)
        assert any(e[0] == "offer" for e in events)
        eng.cancel(f"p{i}")
        if n > len(backlog):
            uid = backlog[i % len(backlog)]
            eng.set_status(uid, "away")
            t0 = time.perf_counter()
            events = eng.set_status(uid, "available")
            frees.append((time.perf_counter() - t0) * 1e6)
    return {"engine_offer_p50_us": pct(adds, 50), "engine_offer_p99_us": pct(adds, 99),
            "engine_rep_free_p50_us": pct(frees, 50), "engine_rep_free_p99_us": pct(frees, 99)}


def rss_mb(pid: int):
    try:
        import psutil
        return round(psutil.Process(pid).memory_info().rss / 2 ** 20, 1)
    except Exception:
        return None


async def bench(opts) -> dict:
    data = tempfile.mkdtemp(prefix="webacd-bench-")
    proc = subprocess.Popen([sys.executable, "-m", "bench.webacd_routing", "--serve", data, "--reps", str(opts.reps)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=Path(__file__).parent.parent)
    line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
    info = json.loads(line)
    b = Bench(f"http://127.0.0.1:{info['port']}", info["users"])
    results = {"reps": opts.reps, "front_reps": FRONT, "points": [], "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        await b.open_feeds()
        have = 0
        for n in opts.sizes:
            rate = await b.fill(n, have)
            have = n
            front = await b.probe_front(opts.probes)
            # with fewer customers than Backlog reps nobody waits for a rep: nothing to measure there
            backlog = await b.probe_backlog(opts.probes) if n > len(b.users) - FRONT else []
            point = {"waiting": n, "entries_per_s": round(rate, 1),
                     "form_to_offer_p50_ms": pct(front, 50), "form_to_offer_p99_ms": pct(front, 99),
                     "rep_free_to_offer_p50_ms": pct(backlog, 50), "rep_free_to_offer_p99_ms": pct(backlog, 99),
                     "host_rss_mb": rss_mb(info["pid"]), "probes": opts.probes, **engine_only(n, opts.reps)}
            results["points"].append(point)
            print(f"  N={n:>5}: {point['entries_per_s']:>7} entries/s | form->offer p50 {point['form_to_offer_p50_ms']} ms"
                  f" p99 {point['form_to_offer_p99_ms']} ms | rep free->offer p50 {point['rep_free_to_offer_p50_ms']} ms"
                  f" p99 {point['rep_free_to_offer_p99_ms']} ms | host RSS {point['host_rss_mb']} MB | engine alone:"
                  f" offer p50 {point['engine_offer_p50_us']} us, rep free p50 {point['engine_rep_free_p50_us']} us",
                  flush=True)
    finally:
        await b.close()
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return results


def table(results: dict) -> str:
    rows = ["| waiting | entries/s | form->offer p50 / p99 (ms) | rep free->offer p50 / p99 (ms) | host RSS (MB) "
            "| engine alone: offer p50 / p99 (us) | engine alone: rep free p50 / p99 (us) |",
            "|---:|---:|---:|---:|---:|---:|---:|"]
    for p in results["points"]:
        rows.append(f"| {p['waiting']} | {p['entries_per_s']} | {p['form_to_offer_p50_ms']} / {p['form_to_offer_p99_ms']} "
                    f"| {p['rep_free_to_offer_p50_ms']} / {p['rep_free_to_offer_p99_ms']} | {p['host_rss_mb']} "
                    f"| {p['engine_offer_p50_us']} / {p['engine_offer_p99_us']} "
                    f"| {p['engine_rep_free_p50_us']} / {p['engine_rep_free_p99_us']} |")
    return "\n".join(rows)


def parse(argv) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.webacd_routing", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="100,1000,5000", help="customers waiting, comma separated")
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--probes", type=int, default=60, help="latency samples per size and kind")
    p.add_argument("--out", help="write the results as JSON here")
    p.add_argument("--serve", metavar="DATA_DIR", help=argparse.SUPPRESS)
    opts = p.parse_args(argv)
    opts.sizes = sorted(int(s) for s in str(opts.sizes).split(",") if s.strip())
    return opts


def run(args=None) -> dict:
    """Run the benchmark and print its table; returns the results.

    ``args``: a list of command-line arguments (see parse()), None for the defaults, or an argparse
    Namespace from another front end (bench/__main__.py): there only ``webacd_sizes``, ``webacd_reps``,
    ``webacd_probes``, ``webacd_out`` and ``quick`` (sizes 100,1000 with 20 probes) are read."""
    if isinstance(args, argparse.Namespace):
        argv = ["--sizes", "100,1000", "--probes", "20"] if getattr(args, "quick", False) else []
        for name in ("sizes", "reps", "probes", "out"):
            value = getattr(args, f"webacd_{name}", None)
            if isinstance(value, (list, tuple)):
                value = ",".join(map(str, value))
            if value is not None:
                argv += [f"--{name}", str(value)]
        args = argv
    opts = parse(args or [])
    if opts.serve:
        serve(opts.serve, opts.reps)
        return {}
    print(f"WebACD routing: {opts.reps} reps ({FRONT} on the Front queue), sizes {opts.sizes}", flush=True)
    results = asyncio.run(bench(opts))
    print(table(results))
    if opts.out:
        Path(opts.out).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    run(sys.argv[1:])
