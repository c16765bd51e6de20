"""One benchmark point (a fresh host, N participants, warm-up and measuring windows) and the sweep over N."""
from __future__ import annotations

import asyncio
import json
import math
import os
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .bench_site import SESSIONS_PER_REP
from .disk_probe import FsyncProbe
from .latency import median_of, summarize_us
from .process_usage import Usage, cpu_percent, machine_snapshot

PYTHON = sys.executable
ROOT = Path(__file__).resolve().parent.parent  # the repository: where ``python -m bench.…`` is found


@dataclass
class Plan:
    sizes: list[int]
    warmup: float = 3.0
    window: float = 10.0
    windows: int = 3
    rate: float = 2.0
    drain: float = 2.0
    generators: int = 1
    setup_timeout: float = 180.0
    profile_dir: str | None = None
    nice: int = -10
    gc_tuning: bool = True  # as `supporthost run`: start-up objects frozen out of the GC, fewer collections
    compress: int = 15  # the generators offer permessage-deflate like a browser (0: plain frames)
    data_parent: str | None = None  # where the host's data directory is made (None: the temp dir)


async def _read_json_line(proc, timeout: float, what: str) -> dict:
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout)
    except asyncio.TimeoutError:
        raise RuntimeError(f"{what} did not answer within {timeout:.0f} s") from None
    if not line:
        raise RuntimeError(f"{what} exited early (code {await proc.wait()})")
    return json.loads(line)


async def _stop(proc, timeout: float = 15) -> None:
    if proc.returncode is not None:
        return
    try:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout)
    except ProcessLookupError:
        pass
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if k < total % parts else 0) for k in range(parts)]


async def run_point(n: int, plan: Plan, log=print) -> dict:
    """Start a host, load it with ``n`` participants (n/2 sessions), measure, stop everything."""
    sessions = max(1, n // 2)
    reps = math.ceil(sessions / SESSIONS_PER_REP)
    password = secrets.token_urlsafe(12)
    procs = []
    probe = None
    with tempfile.TemporaryDirectory(prefix="supporthost-bench-", dir=plan.data_parent) as data:
        host_cmd = [PYTHON, "-m", "bench.host_runner", "--data", data, "--reps", str(reps), f"--password={password}",
                    f"--nice={plan.nice}"]
        if plan.gc_tuning:
            host_cmd.append("--gc-tuning")
        if plan.profile_dir:
            host_cmd += ["--profile", os.path.join(plan.profile_dir, f"host-{n}.prof")]
        host = await asyncio.create_subprocess_exec(*host_cmd, stdin=asyncio.subprocess.PIPE,
                                                    stdout=asyncio.subprocess.PIPE,
                                                    start_new_session=True, cwd=ROOT)
        procs.append(host)
        try:
            info = await _read_json_line(host, 60, "the host")
            rss_start = Usage(host.pid).rss_mb()
            base = f"http://127.0.0.1:{info['port']}"
            gens = []
            rep_from = 0
            for share in split(sessions, min(plan.generators, sessions)):
                rep_count = math.ceil(share / SESSIONS_PER_REP)
                cmd = [PYTHON, "-m", "bench.load_generator", "--base", base, f"--password={password}",
                       "--reps", f"{rep_from}-{rep_from + rep_count - 1}", "--sessions", str(share),
                       "--rate", str(plan.rate), "--warmup", str(plan.warmup), "--window", str(plan.window),
                       "--windows", str(plan.windows), "--drain", str(plan.drain), f"--nice={plan.nice}",
                       f"--compress={plan.compress}"]
                rep_from += rep_count
                gen = await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.PIPE,
                                                           stdout=asyncio.subprocess.PIPE, limit=2 ** 28,
                                                           start_new_session=True, cwd=ROOT)
                procs.append(gen)
                gens.append(gen)
            ready = await asyncio.gather(*(_read_json_line(g, plan.setup_timeout, "a load generator")
                                           for g in gens))
            setup_s = max(r["setup_s"] for r in ready)
            host_use = Usage(host.pid)
            gen_use = [Usage(g.pid) for g in gens]
            rss_idle = host_use.rss_mb()
            nice_now = host_use.proc.nice()
            log(f"  N={n}: {sum(r['participants'] for r in ready)} participants connected in {setup_s} s; "
                f"host RSS {rss_idle} MB; measuring")

            t0 = time.monotonic() + 0.2
            for g in gens:
                g.stdin.write(f"GO {t0:.9f}\n".encode())
                await g.stdin.drain()
            windows_cpu = []
            probe = FsyncProbe(data).start()
            mark = t0 + plan.warmup
            await asyncio.sleep(max(0.0, mark - time.monotonic()))
            before = (host_use.snapshot(), [u.snapshot() for u in gen_use], machine_snapshot(),
                      host_use.main_thread_snapshot())
            for _w in range(plan.windows):
                mark += plan.window
                await asyncio.sleep(max(0.0, mark - time.monotonic()))
                after = (host_use.snapshot(), [u.snapshot() for u in gen_use], machine_snapshot(),
                         host_use.main_thread_snapshot())
                host_pct = cpu_percent(before[0], after[0])
                gens_pct = round(sum(cpu_percent(b, a) for b, a in zip(before[1], after[1])), 1)
                windows_cpu.append({
                    "host_cpu_pct": host_pct, "generators_cpu_pct": gens_pct,
                    "host_event_loop_cpu_pct": cpu_percent(before[3], after[3]),
                    "fsync": summarize_us(probe.between(before[0][0], after[0][0])),
                    # everything else on the machine (other work competing for the two cores)
                    "other_cpu_pct": round(max(0.0, cpu_percent(before[2], after[2]) - host_pct - gens_pct), 1),
                    "host_rss_mb": host_use.rss_mb(),
                })
                before = after
            host.send_signal(signal.SIGUSR1)  # after the windows: time one full GC in the loaded host
            results = await asyncio.gather(*(_read_json_line(g, plan.drain + 60, "a load generator")
                                             for g in gens))
        finally:
            if probe is not None:
                probe.stop()
            for p in procs:
                await _stop(p)
        try:  # the host's last words: its garbage-collector pauses over the whole run
            gc_pauses = (await _read_json_line(host, 5, "the host")).get("gc")
        except (RuntimeError, ValueError):
            gc_pauses = None
    point = summarize_point(n, sessions, reps, plan, ready, results, windows_cpu, setup_s, rss_idle)
    point["host_nice"] = nice_now
    point["host_rss_start_mb"] = rss_start
    point["host_gc"] = gc_pauses
    return point


def summarize_point(n, sessions, reps, plan, ready, results, windows_cpu, setup_s, rss_idle) -> dict:
    windows = []
    for w, cpu in enumerate(windows_cpu):
        ack = [v for r in results for v in r["windows"][w]["ack_us"]]
        peer = [v for r in results for v in r["windows"][w]["peer_us"]]
        lag = [v for r in results for v in r["windows"][w]["lag_us"]]
        sent = sum(r["windows"][w]["sent"] for r in results)
        windows.append({
            "sent": sent, "send_rate_per_s": round(sent / plan.window, 1),
            "ack": summarize_us(ack), "peer": summarize_us(peer), "generator_lag": summarize_us(lag),
            "acks_missing": sent - len(ack), "peers_missing": sent - len(peer),
            **cpu,
        })
    point = {
        "participants": n, "sessions": sessions, "rep_accounts": reps, "connected": sum(r["participants"] for r in ready),
        "setup_s": setup_s, "host_rss_idle_mb": rss_idle,
        "errors": sum(r["errors"] for r in results),
        "error_examples": [e for r in results for e in r["error_examples"]][:5],
        "closed_early": sum(r["closed_early"] for r in results),
        "windows": windows,
    }
    # medians over the measuring windows
    pick = lambda f: median_of([f(w) for w in windows])  # noqa: E731
    point["median"] = {
        "send_rate_per_s": pick(lambda w: w["send_rate_per_s"]),
        "ack_p50_ms": pick(lambda w: w["ack"]["p50_ms"]), "ack_p99_ms": pick(lambda w: w["ack"]["p99_ms"]),
        "peer_p50_ms": pick(lambda w: w["peer"]["p50_ms"]), "peer_p99_ms": pick(lambda w: w["peer"]["p99_ms"]),
        "ack_max_ms": pick(lambda w: w["ack"]["max_ms"]),
        "lag_p99_ms": pick(lambda w: w["generator_lag"]["p99_ms"]),
        "host_cpu_pct": pick(lambda w: w["host_cpu_pct"]),
        "host_event_loop_cpu_pct": pick(lambda w: w.get("host_event_loop_cpu_pct")),
        "generators_cpu_pct": pick(lambda w: w["generators_cpu_pct"]),
        "other_cpu_pct": pick(lambda w: w["other_cpu_pct"]),
        "host_rss_mb": pick(lambda w: w["host_rss_mb"]),
        "fsync_p99_ms": pick(lambda w: w.get("fsync", {}).get("p99_ms")),
        "missing": sum(w["acks_missing"] + w["peers_missing"] for w in windows),
    }
    return point
