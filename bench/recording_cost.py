"""What recording costs the host: CPU with and without recording, and bytes stored per hour, on the screen
benchmark's workloads (bench/screen_workload.py) at 1920x1080.

  python -m bench.recording_cost [--seconds 6] [--repeat 3] [--workloads idle,typing,scrolling,dragging,video]

One real host in this process (its plugins as installed, the recorder among them), the real Support Manager
sharing an Xvfb screen in Standard mode, a viewer socket that acks every frame. Per workload, windows with and
without recording take turns (Record / Stop are the rep's own messages, so each "on" window is a part of the
one recording); host CPU is this process's CPU time (the host, its database and recorder writer threads, and the
viewer socket, which costs the same in both) per second of the window. Bytes per hour: what the recording's
folder grew by during the "on" windows. Medians over the repeats; nothing is asserted.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from .screen_pipeline import HERE, WORKLOADS, OurSide, Stamps, start_xvfb


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir()) if folder.is_dir() else 0


class Recorded(OurSide):
    async def grant_view(self) -> None:
        await self.ws.send_str(json.dumps({"type": "desktop.set_mode", "mode": "standard"}))
        await self.ws.send_str(json.dumps({"type": "desktop.request", "level": "view"}))
        for _ in range(200):                                   # the Support Manager asks on its terminal
            if any("allow" in line.lower() for line in self.agent_out):
                break
            await asyncio.sleep(0.05)
        self.agent.stdin.write(b"a\n")
        self.agent.stdin.flush()
        await self._wait(lambda m: m.get("type") == "desktop.answer")

    async def pump(self, seconds: float) -> int:
        """Ack frames for ``seconds``; the number of whole frames."""
        from host.router import parse_binary
        loop = asyncio.get_running_loop()
        end, frames = loop.time() + seconds, 0
        while loop.time() < end:
            try:
                async with asyncio.timeout(max(0.01, end - loop.time())):
                    msg = await self.ws.receive()
            except TimeoutError:
                break
            if msg.type == aiohttp.WSMsgType.BINARY:
                header, _ = parse_binary(msg.data)
                if header["type"].endswith(".frame") and header.get("c", 0) == header.get("n", 1) - 1:
                    frames += 1
                    await self.ws.send_str(json.dumps({"type": "desktop.ack", "agent": header["from"],
                                                       "seq": header["seq"]}))
        return frames

    async def window(self, seconds: float, warmup: float, record: bool) -> dict:
        folder = None
        if record:
            await self.ws.send_str(json.dumps({"type": "recorder.start"}))
            rid = await self._wait(lambda m: m.get("type") == "recorder.started", lambda m: m.get("recording_id"))
            self.rid = rid or self.rid
        if getattr(self, "rid", None):
            from host.api import plugin_data_dir
            folder = next(plugin_data_dir(self.app, "recorder").glob(f"*/{self.rid}"), None)
        await self.pump(warmup)
        b0, cpu0, t0 = folder_bytes(folder) if folder else 0, time.process_time(), time.monotonic()
        frames = await self.pump(seconds)
        b1, cpu1, t1 = folder_bytes(folder) if folder else 0, time.process_time(), time.monotonic()
        if record:
            await self.ws.send_str(json.dumps({"type": "recorder.stop"}))
            await self._wait(lambda m: m.get("type") == "recorder.stopped")
        span = t1 - t0
        return {"cpu_percent": 100 * (cpu1 - cpu0) / span, "fps": frames / span,
                "bytes_per_hour": (b1 - b0) / span * 3600 if record else None}


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


async def _run(opts) -> dict:
    xvfb, display = start_xvfb("1920x1080")
    ours = Recorded(display)
    results = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "seconds": opts.seconds,
               "repeat": opts.repeat, "load_average_at_start": os.getloadavg(), "workloads": {}}
    try:
        await ours.start()
        await ours.grant_view()
        for workload in [w for w in opts.workloads.split(",") if w]:
            proc = subprocess.Popen([sys.executable, "-m", "bench.screen_workload", workload, "16"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=HERE.parent,
                                    env={**os.environ, "DISPLAY": display})
            Stamps(proc)                                      # drains its change stamps
            await ours.pump(2.0)
            runs = {"off": [], "on": []}
            try:
                for _ in range(opts.repeat):
                    for mode in ("off", "on"):
                        runs[mode].append(await ours.window(opts.seconds, opts.warmup, mode == "on"))
            finally:
                proc.terminate()
                proc.wait(5)
            off, on = (med([r["cpu_percent"] for r in runs[m]]) for m in ("off", "on"))
            row = {"cpu_off": off, "cpu_on": on, "cpu_extra": on - off,
                   "fps_off": med([r["fps"] for r in runs["off"]]), "fps_on": med([r["fps"] for r in runs["on"]]),
                   "bytes_per_hour": med([r["bytes_per_hour"] for r in runs["on"]]), "runs": runs}
            results["workloads"][workload] = row
            print(f"{workload:10} host CPU off {off:5.1f} %  on {on:5.1f} %  extra {on - off:+5.1f} %  "
                  f"fps {row['fps_off']:.1f}/{row['fps_on']:.1f}  {row['bytes_per_hour'] / 1e6:8.1f} MB/hour",
                  flush=True)
    finally:
        try:
            await ours.stop()
        finally:
            xvfb.kill()
            xvfb.wait()
    results["load_average_at_end"] = os.getloadavg()
    return results


def run(args=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m bench.recording_cost", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=6.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--out", help="write the results as JSON here too")
    opts = p.parse_args(args)
    results = asyncio.run(_run(opts))
    if opts.out:
        Path(opts.out).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    run(sys.argv[1:])
