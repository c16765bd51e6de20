"""The host under test, as its own process: seeds a site with rep accounts, serves on a free loopback port.

    python -m bench.host_runner --data DIR --reps 10 --password PW

Prints one JSON line ``{"port": ..., "pid": ..., "site": ...}`` when it is listening, then serves until
SIGTERM/SIGINT (or until stdin closes, so it never outlives the benchmark that started it).
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

from aiohttp import web

from host.app import create_app
from host.appkeys import DB, SITES
from host.cli import tune_gc
from host.config import Config
from host.sites import create_site, create_user

from .bench_site import SESSIONS_PER_REP, SITE, rep_name
from .os_limits import raise_file_limit, set_priority


def seed(db, reps: int, password: str) -> None:
    """The bench site and its reps. The password is hashed once (argon2id) and the hash reused, so
    seeding a hundred accounts takes milliseconds; logging in still verifies it for real."""
    if db["sites"].exists() and db["sites"].count_where("slug = ?", [SITE]):
        return
    with db.atomic():
        site_id = create_site(db, SITE, "Benchmark support")
        first = create_user(db, site_id, rep_name(0), "Rep 0", password, mode="multi",
                            max_sessions=SESSIONS_PER_REP)
        row = {k: v for k, v in db["users"].get(first).items() if k != "id"}
        db["users"].insert_all({**row, "username": rep_name(i), "display_name": f"Rep {i}"}
                               for i in range(1, reps))


class GcPauses:
    """Garbage-collector pauses in this process (they stop the event loop), per generation."""

    def __init__(self):
        self.count = [0, 0, 0]
        self.total = [0.0, 0.0, 0.0]
        self.longest = [0.0, 0.0, 0.0]
        self._start = 0.0
        self.probe = None
        gc.callbacks.append(self)

    def __call__(self, phase, info):
        if phase == "start":
            self._start = time.perf_counter()
        else:
            g, took = info["generation"], time.perf_counter() - self._start
            self.count[g] += 1
            self.total[g] += took
            self.longest[g] = max(self.longest[g], took)

    def summary(self) -> dict:
        out = {f"gen{g}": {"collections": self.count[g], "total_ms": round(self.total[g] * 1000, 1),
                           "longest_ms": round(self.longest[g] * 1000, 2)} for g in range(3)}
        out["full_collection_probe"] = self.probe
        return out

    def measure_full_collection(self) -> None:
        """On SIGUSR1 (sent after the last window, connections still open): how long one full
        collection stops the event loop at this size, and how many objects it has to look at."""
        objects = len(gc.get_objects())
        start = time.perf_counter()
        gc.collect()
        self.probe = {"tracked_objects": objects, "pause_ms": round((time.perf_counter() - start) * 1000, 2)}


async def serve(args) -> None:
    gc_pauses = GcPauses()
    config = Config(data_dir=Path(args.data), host="127.0.0.1", port=0,
                    # the benchmark logs its reps in from one address; this is not what it measures
                    login_attempts_per_minute_per_address=1_000_000,
                    join_attempts_per_minute=1_000_000)
    app = create_app(config)
    seed(app[DB].sync(), args.reps, args.password)
    app[SITES].load(app[DB].sync())
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port, backlog=4096)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    if args.gc_tuning:  # what `supporthost run` does
        tune_gc()
    print(json.dumps({"port": port, "pid": os.getpid(), "site": SITE}), flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, gc_pauses.measure_full_collection)
    # stdin closing (the parent died) also stops the host
    loop.add_reader(sys.stdin.fileno(), lambda: (os.read(sys.stdin.fileno(), 4096) or stop.set()))
    await stop.wait()
    loop.remove_reader(sys.stdin.fileno())
    await runner.cleanup()
    print(json.dumps({"gc": gc_pauses.summary()}), flush=True)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--password", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--profile", help="write a cProfile of the whole run to this file")
    p.add_argument("--nice", type=int, default=0, help="process priority (nice value), e.g. -10")
    p.add_argument("--gc-tuning", action="store_true",
                   help="experiment: freeze start-up objects out of the garbage collector, collect less often")
    args = p.parse_args(argv)
    set_priority(args.nice)
    logging.basicConfig(level=logging.WARNING, format="host: %(levelname)s %(name)s: %(message)s")
    raise_file_limit()
    if args.profile:
        import cProfile
        prof = cProfile.Profile()
        prof.enable()
        try:
            asyncio.run(serve(args))
        finally:
            prof.disable()
            prof.dump_stats(args.profile)
    else:
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
