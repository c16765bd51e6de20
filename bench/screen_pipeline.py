"""Screen pipeline benchmark: our desktop sharing (Standard and Screen sampling) side by side with x11vnc.

One run: a 1920x1080 Xvfb screen; a real host on loopback; the real Support Manager (a subprocess,
consent answered on its terminal); a viewer socket that acks each frame as soon as it has it (as the
dashboard does after drawing); x11vnc (Debian package) on the same screen with a minimal RFB client
(bench/rfb_reader.py) asking for one incremental update at a time. Scripted workloads
(bench/screen_workload.py): idle, typing, scrolling, dragging a window, full-screen video-like change.

Per workload and pipeline: frames (updates) delivered per second, bytes per second, change-to-viewer
latency p50/p95 (from the workload's change to the first complete frame after it), for ours also
capture-to-viewer latency (grab time in the frame header, ms modulo 100 s), and the CPU of the capturing process
(our agent; x11vnc). Call ``run(["--seconds", "5"])`` or ``python -m bench.screen_pipeline``.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp
import psutil

HERE = Path(__file__).parent
WORKLOADS = ("idle", "typing", "scrolling", "dragging", "video")
PIPELINES = ("standard", "sampling", "x11vnc")


def parse_args(args=None) -> argparse.Namespace:
    if isinstance(args, argparse.Namespace):
        return args
    p = argparse.ArgumentParser(prog="python -m bench.screen_pipeline", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0, help="measuring window per workload and pipeline")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds before each window")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--size", default="1920x1080")
    p.add_argument("--period-ms", type=int, default=16, help="the workloads change the screen this often")
    p.add_argument("--repeat", type=int, default=3,
                   help="measure each workload this many times, the three pipelines taking turns; medians reported")
    p.add_argument("--out", help="results file (default bench/results/screen-<UTC time>.json)")
    return p.parse_args(args or [])


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(q / 100 * (len(values) - 1)))))
    return values[k]


def median_of(runs: list[dict]) -> dict:
    """Per metric, the median over repeated measurements (None where a run had no value)."""
    out = {}
    for key in runs[0]:
        values = sorted(r[key] for r in runs if r.get(key) is not None)
        out[key] = None if not values else (values[len(values) // 2] if len(values) % 2
                                            else (values[len(values) // 2 - 1] + values[len(values) // 2]) / 2)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_xvfb(size: str) -> tuple[subprocess.Popen, str]:
    for n in range(300 + os.getpid() % 100, 600):
        if Path(f"/tmp/.X{n}-lock").exists() or Path(f"/tmp/.X11-unix/X{n}").exists():
            continue
        proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", f"{size}x24", "-nolisten", "tcp", "-noreset"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                return proc, f":{n}"
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.kill()
    raise RuntimeError("Xvfb did not start")


class Stamps:
    """Reads the workload's change times from its stdout in a thread."""

    def __init__(self, proc: subprocess.Popen):
        self.times: list[float] = []
        threading.Thread(target=self._read, args=(proc.stdout,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            if line.startswith(b"t "):
                self.times.append(float(line[2:]))

    def between(self, a: float, b: float) -> list[float]:
        return [t for t in self.times if a <= t <= b]


def change_latency(changes: list[float], arrivals: list[float]) -> list[float]:
    out, j = [], 0
    arrivals = sorted(arrivals)
    for t in sorted(changes):
        while j < len(arrivals) and arrivals[j] < t:
            j += 1
        if j < len(arrivals):
            out.append(arrivals[j] - t)
    return out


def cpu_seconds(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


# -- our pipeline --------------------------------------------------------------------------------
class OurSide:
    def __init__(self, display: str):
        self.display = display
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-screen-"))

    async def start(self) -> None:
        from aiohttp import web

        from host.app import create_app
        from host.config import Config
        from host.db import connect
        from host.schema import core_migrations
        from host.sites import create_site, create_user
        data = self.tmp / "data"
        data.mkdir()
        db = connect(data / "supporthost.db")
        core_migrations.apply(db)
        self.password = secrets.token_urlsafe(12)
        with db.atomic():
            sid = create_site(db, "bench", "Bench support")
            create_user(db, sid, "rep", "Bench Rep", self.password)
        db.conn.close()
        self.app = create_app(Config(data_dir=data))
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.base = f"http://127.0.0.1:{port}"
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        token = await self._csrf("/s/bench/login")
        async with self.http.post(f"{self.base}/s/bench/login", allow_redirects=False,
                                  data={"username": "rep", "password": self.password, "csrf_token": token}) as r:
            assert r.status == 302, await r.text()
        token = await self._csrf("/s/bench/")
        async with self.http.post(f"{self.base}/s/bench/api/sessions", json={},
                                  headers={"X-CSRF-Token": token}) as r:
            session = await r.json()
        self.session = session
        self.ws = await self.http.ws_connect(f"{self.base}/s/bench/ws/session/{session['id']}",
                                             headers={"Origin": self.base}, max_msg_size=0)
        exe = Path(sys.executable).parent / "support-manager"
        self.agent = subprocess.Popen([str(exe), "join", f"{self.base}/s/bench", session["number"], "--name",
                                       "Bench", "--terminal"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, env={**os.environ, "DISPLAY": self.display})
        self.agent_ps = psutil.Process(self.agent.pid)
        self.agent_out: list[str] = []
        threading.Thread(target=self._agent_lines, daemon=True).start()
        self.agent_id = await self._wait(lambda m: m.get("type") == "desktop.state" and m["agents"],
                                         lambda m: m["agents"][0]["id"])
        self.allowed = False

    def _agent_lines(self) -> None:
        for line in self.agent.stdout:
            self.agent_out.append(line.decode(errors="replace"))

    async def _csrf(self, path: str) -> str:
        async with self.http.get(self.base + path) as r:
            text = await r.text()
        return re.search(r'name="csrf-token" content="([^"]+)"', text).group(1)

    async def _wait(self, pred, pick=lambda m: m, timeout: float = 20):
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.ws.receive()
                if msg.type == aiohttp.WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    if pred(data):
                        return pick(data)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    await self._ack(msg.data)
                else:
                    raise RuntimeError(f"viewer socket closed: {msg}")

    async def _ack(self, frame: bytes):
        from host.router import parse_binary
        header, _ = parse_binary(frame)
        if header["type"].endswith(".frame") and header.get("c", 0) == header.get("n", 1) - 1:
            await self.ws.send_str(json.dumps({"type": "desktop.ack", "agent": header["from"], "seq": header["seq"]}))
        return header

    async def measure(self, mode: str, stamps: Stamps, warmup: float, seconds: float) -> dict:
        from host.router import parse_binary
        await self.ws.send_str(json.dumps({"type": "desktop.set_mode", "mode": mode}))
        await self.ws.send_str(json.dumps({"type": "desktop.request", "level": "view"}))
        if not self.allowed:
            for _ in range(100):                       # the Support Manager asks on its terminal
                if any("Allow?" in line or "allow" in line for line in self.agent_out):
                    break
                await asyncio.sleep(0.05)
            self.agent.stdin.write(b"a\n")             # allow all requests for this session
            self.agent.stdin.flush()
            self.allowed = True
        await self._wait(lambda m: m.get("type") == "desktop.answer")
        loop = asyncio.get_running_loop()
        end_warm = loop.time() + warmup
        while loop.time() < end_warm:
            try:
                await self._wait(lambda m: False, timeout=max(0.01, end_warm - loop.time()))
            except TimeoutError:
                pass
        cpu0, host0, t0 = cpu_seconds(self.agent_ps), time.process_time(), time.time()
        arrivals, capture_lat, nbytes, head_bytes, text_bytes = [], [], 0, 0, 0
        end = loop.time() + seconds
        while loop.time() < end:
            try:
                async with asyncio.timeout(max(0.01, end - loop.time())):
                    msg = await self.ws.receive()
            except TimeoutError:
                break
            if msg.type == aiohttp.WSMsgType.BINARY:
                nbytes += len(msg.data)
                header, payload = parse_binary(msg.data)
                head_bytes += len(msg.data) - len(payload)
                if header["type"].endswith(".frame") and header.get("c", 0) == header.get("n", 1) - 1:
                    now = time.time()
                    arrivals.append(now)
                    # "t": the grab's wall-clock time in ms, modulo 100 s (short, for every frame)
                    capture_lat.append(((int(now * 1000) - header["t"]) % 100000) / 1000)
                    await self.ws.send_str(json.dumps({"type": "desktop.ack", "agent": header["from"],
                                                       "seq": header["seq"]}))
            elif msg.type == aiohttp.WSMsgType.TEXT:
                nbytes += len(msg.data)
                text_bytes += len(msg.data)
        t1 = time.time()
        cpu1, host1 = cpu_seconds(self.agent_ps), time.process_time()
        await self.ws.send_str(json.dumps({"type": "desktop.release"}))
        await self._wait(lambda m: m.get("type") == "desktop.released")
        lat = change_latency(stamps.between(t0, t1 - 0.2), arrivals)
        span = t1 - t0
        return {"fps": len(arrivals) / span, "bytes_per_s": nbytes / span,
                "changes_per_s": len(stamps.between(t0, t1)) / span,
                "frame_header_bytes_per_s": head_bytes / span, "text_message_bytes_per_s": text_bytes / span,
                "latency_ms_p50": _ms(percentile(lat, 50)), "latency_ms_p95": _ms(percentile(lat, 95)),
                "capture_to_viewer_ms_p50": _ms(percentile(capture_lat, 50)),
                "capture_to_viewer_ms_p95": _ms(percentile(capture_lat, 95)),
                "cpu_percent": 100 * (cpu1 - cpu0) / span, "host_and_viewer_cpu_percent": 100 * (host1 - host0) / span}

    async def stop(self) -> None:
        self.agent.terminate()
        try:
            self.agent.wait(5)
        except subprocess.TimeoutExpired:
            self.agent.kill()
        await self.ws.close()
        await self.http.close()
        await self.runner.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _ms(v):
    return None if v is None else round(v * 1000, 1)


# -- x11vnc ---------------------------------------------------------------------------------------
class VncSide:
    def __init__(self, display: str):
        self.display = display

    def start(self) -> None:
        if not shutil.which("x11vnc"):
            raise RuntimeError("x11vnc is not installed (Debian package x11vnc)")
        self.port = free_port()
        self.proc = subprocess.Popen(["x11vnc", "-display", self.display, "-rfbport", str(self.port), "-localhost",
                                      "-nopw", "-shared", "-forever", "-quiet", "-nocursorshape"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.ps = psutil.Process(self.proc.pid)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("x11vnc did not start")

    async def measure(self, stamps: Stamps, warmup: float, seconds: float) -> dict:
        from .rfb_reader import RFBReader
        client = RFBReader("127.0.0.1", self.port)
        await client.connect()
        stop = asyncio.Event()
        task = asyncio.create_task(client.run(stop))
        await asyncio.sleep(warmup)
        n0, b0, cpu0, t0 = len(client.updates), client.bytes, cpu_seconds(self.ps), time.time()
        await asyncio.sleep(seconds)
        n1, b1, cpu1, t1 = len(client.updates), client.bytes, cpu_seconds(self.ps), time.time()
        stop.set()
        task.cancel()
        await client.close()
        arrivals = [t for t in client.updates if t0 <= t <= t1]
        lat = change_latency(stamps.between(t0, t1 - 0.2), arrivals)
        span = t1 - t0
        return {"fps": (n1 - n0) / span, "bytes_per_s": (b1 - b0) / span,
                "changes_per_s": len(stamps.between(t0, t1)) / span,
                "latency_ms_p50": _ms(percentile(lat, 50)), "latency_ms_p95": _ms(percentile(lat, 95)),
                "cpu_percent": 100 * (cpu1 - cpu0) / span}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# -- the run --------------------------------------------------------------------------------------
async def _run(opts) -> dict:
    xvfb, display = start_xvfb(opts.size)
    ours, vnc = OurSide(display), VncSide(display)
    results: dict = {"when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "screen": opts.size,
                     "seconds": opts.seconds, "period_ms": opts.period_ms, "repeat": opts.repeat,
                     "load_average_at_start": os.getloadavg(), "cpus": os.cpu_count(),
                     "workloads": {}}
    print(f"screen pipeline benchmark: {opts.size}, {opts.seconds:g} s per window; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    try:
        await ours.start()
        vnc.start()
        for workload in [w for w in opts.workloads.split(",") if w]:
            proc = subprocess.Popen([sys.executable, "-m", "bench.screen_workload", workload, str(opts.period_ms)],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=HERE.parent,
                                    env={**os.environ, "DISPLAY": display})
            stamps = Stamps(proc)
            await asyncio.sleep(2.0)
            runs: dict[str, list[dict]] = {name: [] for name in PIPELINES}
            try:
                for _ in range(max(1, opts.repeat)):     # taking turns: a busy moment hits all three alike
                    for mode in ("standard", "sampling"):
                        runs[mode].append(await ours.measure(mode, stamps, opts.warmup, opts.seconds))
                    runs["x11vnc"].append(await vnc.measure(stamps, opts.warmup, opts.seconds))
            finally:
                proc.terminate()
                proc.wait(5)
            row = {name: median_of(rs) for name, rs in runs.items()}
            results["workloads"][workload] = row
            if opts.repeat > 1:
                results.setdefault("runs", {})[workload] = runs
            print(format_row(workload, row), flush=True)
    finally:
        try:
            await ours.stop()
        except Exception:
            pass
        vnc.stop() if hasattr(vnc, "proc") else None
        xvfb.kill()
        xvfb.wait()
    out = Path(opts.out) if opts.out else HERE / "results" / (
        "screen-" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    results["load_average_at_end"] = os.getloadavg()
    out.write_text(json.dumps(results, indent=2))
    results["file"] = str(out)
    return results


def _fmt(v, spec="{:.0f}"):
    return "-" if v is None else spec.format(v)


def format_row(workload: str, row: dict) -> str:
    lines = []
    for name in PIPELINES:
        r = row.get(name)
        if r is None:
            continue
        lines.append(f"{workload:9} {name:9} changes/s {_fmt(r.get('changes_per_s'), '{:5.1f}')}"
                     f"  fps {_fmt(r['fps'], '{:6.1f}')}  kB/s {_fmt(r['bytes_per_s'] / 1000, '{:8.1f}')}"
                     f"  latency p50/p95 ms {_fmt(r['latency_ms_p50'], '{:6.1f}')}/{_fmt(r['latency_ms_p95'], '{:6.1f}')}"
                     f"  capture->viewer p50/p95 ms {_fmt(r.get('capture_to_viewer_ms_p50'), '{:5.1f}')}/"
                     f"{_fmt(r.get('capture_to_viewer_ms_p95'), '{:5.1f}')}  cpu% {_fmt(r['cpu_percent'], '{:5.1f}')}")
    v, s = row.get("x11vnc"), row.get("standard")
    if v and s and v["fps"] > 0:
        byte_ratio = s["bytes_per_s"] / v["bytes_per_s"] if v["bytes_per_s"] else float("inf")
        lines.append(f"{workload:9} ratio standard/x11vnc: fps x{s['fps'] / v['fps']:.2f}, bytes x{byte_ratio:.2f}")
    return "\n".join(lines)


def markdown_table(results: dict) -> str:
    """The results as a Markdown table (docs/performance.md), with the ratios to x11vnc."""
    out = ["| workload | pipeline | changes/s | frames/s | kB/s | change→viewer p50 / p95 ms | agent CPU % "
           "| fps vs x11vnc | bytes vs x11vnc |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for workload, row in results["workloads"].items():
        v = row.get("x11vnc") or {}
        for name in PIPELINES:
            r = row.get(name)
            if r is None:
                continue
            fps_ratio = bytes_ratio = "-"
            if name != "x11vnc" and v:
                fps_ratio = f"{r['fps'] / v['fps']:.2f}x" if v["fps"] else ("same (0)" if not r["fps"] else "-")
                bytes_ratio = (f"{r['bytes_per_s'] / v['bytes_per_s']:.2f}x" if v["bytes_per_s"] >= 1
                               else f"{r['bytes_per_s']:.0f} vs {v['bytes_per_s']:.0f} B/s")
            lat = f"{_fmt(r['latency_ms_p50'], '{:.1f}')} / {_fmt(r['latency_ms_p95'], '{:.1f}')}"
            out.append(f"| {workload} | {name} | {_fmt(r.get('changes_per_s'), '{:.1f}')} | {r['fps']:.1f} "
                       f"| {r['bytes_per_s'] / 1000:.1f} | {lat} | {r['cpu_percent']:.0f} | {fps_ratio} "
                       f"| {bytes_ratio} |")
    return "\n".join(out)


def run(args=None) -> dict:
    """Run the benchmark; ``args``: a list of command-line arguments (see parse_args) or a Namespace."""
    return asyncio.run(_run(parse_args(args)))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--table"]:          # print the table of an earlier run
        print(markdown_table(json.loads(Path(sys.argv[2]).read_text())))
    else:
        print(markdown_table(run(sys.argv[1:])))
