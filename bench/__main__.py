"""``python -m bench`` (``make bench``): the chat round-trip benchmark over N participants.

Full run (default): N = 100, 500, 1000, 2000, each on a fresh host, 3 s warm-up then three 10 s
measuring windows; about 4 minutes. ``--quick``: N = 100 and 500, one 5 s window. Results go to
bench/results/<date>.json and a table is printed (the same table docs/performance.md shows).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path

from .process_usage import filesystem_of, machine
from .report import table, windows_table
from .sweep import Plan, run_point

HERE = Path(__file__).parent
TARGET = {"participants": 1000, "p99_ms": 20.0}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="N = 100, 500 with one 5 s window (under 2 minutes)")
    p.add_argument("--sizes", help="participant counts, comma separated (default 100,500,1000,2000)")
    p.add_argument("--warmup", type=float, help="seconds of load before measuring (default 3)")
    p.add_argument("--window", type=float, help="seconds per measuring window (default 10)")
    p.add_argument("--windows", type=int, help="measuring windows per N; medians are reported (default 3)")
    p.add_argument("--drain", type=float, help="seconds to wait for late replies after the last window "
                                               "(default 2)")
    p.add_argument("--rate", type=float, default=2.0, help="chat messages per participant per second")
    p.add_argument("--generators", type=int, default=1, help="load generator processes (default 1)")
    p.add_argument("--nice", type=int, default=-10,
                   help="nice value of the host and generators, ahead of other work on the machine when run "
                        "as root (default -10; 0 leaves it)")
    p.add_argument("--no-compression", action="store_true",
                   help="clients do not offer permessage-deflate (browsers do, so by default they offer it)")
    p.add_argument("--no-gc-tuning", action="store_true",
                   help="leave the garbage collector as Python sets it (by default the host tunes it as "
                        "`supporthost run` does: host.cli.tune_gc)")
    p.add_argument("--data-parent", metavar="DIR",
                   help="make the host's data directory (its SQLite database) in DIR; default: the system "
                        "temp dir. /dev/shm leaves the disk's fsync out of the round trip")
    p.add_argument("--out", help="results file (default bench/results/<UTC date and time>.json)")
    p.add_argument("--table", metavar="RESULTS_JSON", help="only print the tables of an earlier results file")
    p.add_argument("--profile", metavar="DIR", help="cProfile the host into DIR/host-<N>.prof")
    return p.parse_args(argv)


def make_plan(args) -> Plan:
    if args.quick:
        plan = Plan(sizes=[100, 500], warmup=2.0, window=5.0, windows=1)
    else:
        plan = Plan(sizes=[100, 500, 1000, 2000])
    if args.sizes:
        plan.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    for name in ("warmup", "window", "windows", "drain"):
        if getattr(args, name) is not None:
            setattr(plan, name, getattr(args, name))
    plan.rate = args.rate
    plan.generators = args.generators
    plan.profile_dir = args.profile
    plan.nice = args.nice
    plan.data_parent = args.data_parent
    plan.gc_tuning = not args.no_gc_tuning
    plan.compress = 0 if args.no_compression else 15
    if any(n < 2 for n in plan.sizes) or plan.window <= 0 or plan.windows < 1 or plan.rate <= 0:
        raise SystemExit("sizes must be at least 2, window and rate positive, at least one window")
    return plan


async def sweep(plan: Plan) -> list[dict]:
    points = []
    for n in plan.sizes:
        points.append(await run_point(n, plan, log=lambda text: print(text, flush=True)))
        m = points[-1]["median"]
        print(f"  N={n}: ack p50 {m['ack_p50_ms']} ms, p99 {m['ack_p99_ms']} ms; peer p99 {m['peer_p99_ms']} ms; "
              f"host CPU {m['host_cpu_pct']}%, RSS {m['host_rss_mb']} MB; other work on the machine "
              f"{m['other_cpu_pct']}% CPU, fsync p99 {m['fsync_p99_ms']} ms", flush=True)
    return points


def verdict(points: list[dict]) -> dict:
    at = next((p for p in points if p["participants"] == TARGET["participants"]), None)
    if at is None:
        return {"target": TARGET, "measured": False}
    worst = max(at["median"]["ack_p99_ms"] or 1e9, at["median"]["peer_p99_ms"] or 1e9)
    return {"target": TARGET, "measured": True, "p99_ms": worst, "met": worst < TARGET["p99_ms"]}


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.table:
        result = json.loads(Path(args.table).read_text())
        print(table(result["points"]))
        print()
        print(windows_table(result["points"]))
        return 0
    plan = make_plan(args)
    if plan.profile_dir:
        os.makedirs(plan.profile_dir, exist_ok=True)
    started = dt.datetime.now(dt.timezone.utc)
    print(f"bench: N = {', '.join(map(str, plan.sizes))}; {plan.warmup:g} s warm-up, {plan.windows} x "
          f"{plan.window:g} s windows, {plan.rate:g} msg/s per participant", flush=True)
    points = asyncio.run(sweep(plan))
    result = {
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "plan": {"sizes": plan.sizes, "warmup_s": plan.warmup, "window_s": plan.window, "windows": plan.windows,
                 "rate_per_participant": plan.rate, "generators": plan.generators, "nice": plan.nice,
                 "client_offers_deflate": bool(plan.compress), "host_gc_tuning": plan.gc_tuning,
                 "data_dir": plan.data_parent or tempfile.gettempdir(),
                 "data_filesystem": filesystem_of(plan.data_parent or tempfile.gettempdir())},
        "points": points,
        "verdict": verdict(points),
    }
    out = Path(args.out) if args.out else HERE / "results" / f"{started:%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print()
    print(table(points))
    print()
    print(windows_table(points))
    v = result["verdict"]
    if v["measured"]:
        print(f"\ntarget p99 < {TARGET['p99_ms']:g} ms at {TARGET['participants']} participants: "
              f"{'met' if v['met'] else 'NOT met'} (worst p99 {v['p99_ms']} ms)")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
