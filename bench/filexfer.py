"""``python -m bench.filexfer``: advanced file transfer throughput over loopback, side by side with `cp`.

The host runs as its own process (bench.host_runner); this process is the rep (real HTTP and WebSocket)
and the customer's Support Manager (the real agent, allowing file access as a person would). Measured:

- one large file (default 1 GiB of random bytes) from the customer's computer to the host (the rep's
  "Copy to me": streamed, hashed on both sides, fsynced, renamed), and back from the rep to a folder on
  the customer's computer (HTTP upload to the host, then relayed to the agent, fsynced, renamed);
- 10,000 small files (1 to 8 KiB) copied to the rep, 32 transfers in flight;
- the ceiling, in the same run on the same disk: `cp` of the same file, `cp` followed by `sync FILE`
  (the same durability the transfer gives), and `cp -r` of the small files.

No OpenSSH server is installed on these machines, so scp/rsync over loopback SSH are not measured.
Results go to bench/results/filexfer-<UTC time>.json and a table is printed (docs/performance.md).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import numpy as np

HERE = Path(__file__).parent
P = "filexfer_advanced"
PASSWORD = "bench file transfer password"
MB = 1024 * 1024


def parse_args(argv=None) -> argparse.Namespace:
    if isinstance(argv, argparse.Namespace):
        return argv
    p = argparse.ArgumentParser(prog="python -m bench.filexfer", description=__doc__.splitlines()[0])
    p.add_argument("--size-mb", type=int, default=1024, help="size of the large file (default 1024 MiB)")
    p.add_argument("--files", type=int, default=10_000, help="number of small files (default 10000)")
    p.add_argument("--parallel", type=int, default=32, help="small-file transfers in flight (default 32)")
    p.add_argument("--runs", type=int, default=1, help="repeat the large-file measurements, report medians")
    p.add_argument("--dir", help="where to make the files and the host's data (default: the system temp dir)")
    p.add_argument("--out", help="results file (default bench/results/filexfer-<UTC time>.json)")
    p.add_argument("--profile", metavar="FILE", help="cProfile the host process into FILE")
    return p.parse_args(argv)


# -- the files -------------------------------------------------------------------------------------
def make_large(path: Path, size: int) -> str:
    rng = np.random.default_rng(1)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            block = rng.bytes(min(16 * MB, left))
            h.update(block)
            f.write(block)
            left -= len(block)
    return h.hexdigest()


def make_small(folder: Path, count: int) -> list[str]:
    rng = np.random.default_rng(2)
    names = []
    for i in range(count):
        sub = folder / f"d{i // 100:03d}"
        if i % 100 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        rel = f"small/{sub.name}/f{i:05d}.bin"
        (folder.parent / rel).write_bytes(rng.bytes(int(rng.integers(1024, 8 * 1024))))
        names.append(rel)
    return names


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def drop_file(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


# -- the host and the people -----------------------------------------------------------------------
async def start_host(data: Path, profile: str | None = None):
    extra = ["--profile", profile] if profile else []
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.host_runner", "--data", str(data), "--reps", "1", "--password", PASSWORD, *extra,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=str(HERE.parent))
    line = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))
    return proc, f"http://127.0.0.1:{line['port']}/s/{line['site']}"


async def stop_host(proc) -> None:
    proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), 10)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()


class Rep:
    def __init__(self, http: aiohttp.ClientSession, site: str):
        self.http, self.site = http, site
        self.origin = re.match(r"https?://[^/]+", site).group(0)
        self.ws = None
        self.n = 0
        self.waiters: dict[str, asyncio.Future] = {}
        self.ends: dict[str, asyncio.Future] = {}
        self.reader = None

    async def token(self) -> str:
        async with self.http.get(f"{self.site}/login") as r:
            return re.search(r'name="csrf-token" content="([^"]+)"', await r.text()).group(1)

    async def login_and_start(self) -> dict:
        token = await self.token()
        async with self.http.post(f"{self.site}/login", data={"username": "rep0000", "password": PASSWORD,
                                                               "csrf_token": token}, allow_redirects=False) as r:
            assert r.status == 302, await r.text()
        token = await self.token()
        async with self.http.post(f"{self.site}/api/sessions", json={}, headers={"X-CSRF-Token": token}) as r:
            assert r.status == 201, await r.text()
            session = await r.json()
        self.ws = await self.http.ws_connect(f"{self.site.replace('http', 'ws', 1)}/ws/session/{session['id']}",
                                             headers={"Origin": self.origin}, max_msg_size=0)
        self.reader = asyncio.create_task(self._read())
        return session

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            m = json.loads(msg.data)
            fut = self.waiters.pop(m.get("re"), None) if m.get("re") else None
            if fut is not None and not fut.done():
                fut.set_result(m)
            if m.get("type") in (f"{P}.done", f"{P}.failed"):
                fut = self.ends.setdefault(m["id"], asyncio.get_running_loop().create_future())
                if not fut.done():
                    fut.set_result(m)
            if m.get("type") == f"{P}.state":
                fut = self.waiters.get("state")
                if fut is not None and m["agents"] and not fut.done():
                    fut.set_result(m)

    async def request(self, msg: dict) -> dict:
        self.n += 1
        mid = f"b{self.n}"
        fut = self.waiters[mid] = asyncio.get_running_loop().create_future()
        await self.ws.send_str(json.dumps({**msg, "id": mid}))
        reply = await asyncio.wait_for(fut, 120)
        if reply.get("type") == "error":
            raise RuntimeError(reply["error"])
        return reply

    async def end_of(self, tid: str) -> dict:
        fut = self.ends.setdefault(tid, asyncio.get_running_loop().create_future())
        m = await asyncio.wait_for(fut, 600)
        if m["type"] != f"{P}.done":
            raise RuntimeError(m.get("error"))
        return m

    async def fetch(self, path: str) -> dict:
        reply = await self.request({"type": f"{P}.fetch", "path": path})
        return await self.end_of(reply["transfer"]["id"])

    async def upload(self, sid: str, source: Path, folder: str, name: str) -> dict:
        token = await self.token()
        with open(source, "rb") as f:
            async with self.http.post(f"{self.site}/p/{P}/sessions/{sid}/send", data=f,
                                      params={"dir": folder, "name": name},
                                      headers={"X-CSRF-Token": token, "Content-Type": "application/octet-stream",
                                               "Content-Length": str(source.stat().st_size)}) as r:
                body = await r.json()
                assert r.status == 202, body
        return await self.end_of(body["transfer"]["id"])


class AllowFiles:
    """The person at the customer's computer, answering Allow (the benchmark measures transfers, not clicks)."""

    async def ask(self, request):
        from agent.consent import Answer
        return Answer(True)


async def measure(args) -> dict:
    from agent.app import SupportManager
    from agent.status import TerminalStatus
    base = Path(tempfile.mkdtemp(prefix="bench-filexfer-", dir=args.dir))
    root = base / "customer"
    (root / "inbox").mkdir(parents=True)
    size = args.size_mb * MB
    print(f"making a {args.size_mb} MiB file and {args.files} small files in {base} ...", flush=True)
    digest = make_large(root / "large.bin", size)
    small = make_small(root / "small", args.files)
    small_bytes = sum((root / s).stat().st_size for s in small)
    proc, site = await start_host(base / "data", args.profile)
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    agent = task = None
    out: dict = {"size_mb": args.size_mb, "files": args.files, "small_bytes": small_bytes, "runs": []}
    try:
        rep = Rep(http, site)
        session = await rep.login_and_start()
        state = rep.waiters["state"] = asyncio.get_running_loop().create_future()
        agent = SupportManager(site, session["number"], "Bench customer", consent=AllowFiles(),
                               status=TerminalStatus(lambda: None), config={"files_root": str(root)})
        task = asyncio.create_task(agent.run())
        await asyncio.wait_for(state, 30)
        await rep.request({"type": f"{P}.request"})
        for _ in range(200):
            if agent.features[P].grants:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        files_dir = base / "data" / P / "files"
        for run in range(args.runs):
            one: dict = {}
            t = time.perf_counter()
            done = await rep.fetch("large.bin")
            one["to_rep_s"] = time.perf_counter() - t
            assert done["sha256"] == digest, "SHA-256 differs"
            t = time.perf_counter()
            done = await rep.upload(session["id"], files_dir / next(iter(sorted(os.listdir(files_dir)))), "inbox",
                                    f"copy{run}.bin")
            one["to_customer_s"] = time.perf_counter() - t
            assert done["sha256"] == digest
            drop_file(root / "inbox" / done["name"])
            for p in files_dir.iterdir():
                p.unlink()
            # the ceiling, same disk, same run
            one["cp_s"] = timed(["cp", str(root / "large.bin"), str(base / "cp.bin")])
            drop_file(base / "cp.bin")
            one["cp_sync_s"] = timed(["sh", "-c", f"cp '{root / 'large.bin'}' '{base / 'cp.bin'}' && sync '{base / 'cp.bin'}'"])
            drop_file(base / "cp.bin")
            out["runs"].append(one)
            print(f"run {run + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in one.items()), flush=True)
        # small files
        limit = asyncio.Semaphore(args.parallel)

        async def one_file(rel):
            async with limit:
                await rep.fetch(rel)
        t = time.perf_counter()
        await asyncio.gather(*(one_file(rel) for rel in small))
        out["small_to_rep_s"] = time.perf_counter() - t
        out["cp_r_s"] = timed(["cp", "-r", str(root / "small"), str(base / "cp-small")])
        drop_file(base / "cp-small")
        out["cp_r_sync_s"] = timed(["sh", "-c", f"cp -r '{root / 'small'}' '{base / 'cp-small'}' && sync -f '{base}'"])
    finally:
        if agent is not None:
            await agent.link.stop()
            try:
                await asyncio.wait_for(task, 10)
            except Exception:
                task.cancel()
        await http.close()
        await stop_host(proc)
        shutil.rmtree(base, ignore_errors=True)
    return summarise(out)


def _median(values):
    values = sorted(values)
    return values[len(values) // 2]


def summarise(out: dict) -> dict:
    mb = out["size_mb"] * MB / 1e6   # MB (10^6 bytes) per second, as cp users read it
    runs = out["runs"]
    rates = {k: mb / _median([r[f"{k}_s"] for r in runs]) for k in ("to_rep", "to_customer", "cp", "cp_sync")}
    small_rate = out["files"] / out["small_to_rep_s"]
    out["large"] = {**{f"{k}_MBps": round(v, 1) for k, v in rates.items()},
                    "to_rep_vs_cp_sync": round(rates["to_rep"] / rates["cp_sync"], 2),
                    "to_rep_vs_cp": round(rates["to_rep"] / rates["cp"], 2),
                    "to_customer_vs_cp_sync": round(rates["to_customer"] / rates["cp_sync"], 2)}
    out["small"] = {"to_rep_files_per_s": round(small_rate, 1),
                    "cp_r_files_per_s": round(out["files"] / out["cp_r_s"], 1),
                    "cp_r_sync_files_per_s": round(out["files"] / out["cp_r_sync_s"], 1),
                    "to_rep_vs_cp_r_sync": round(small_rate / (out["files"] / out["cp_r_sync_s"]), 3)}
    return out


def table(out: dict) -> str:
    L, S = out["large"], out["small"]
    return "\n".join([
        f"| What | advanced transfer | cp | cp + sync | ratio to cp + sync (to cp) |",
        "|---|---|---|---|---|",
        f"| {out['size_mb']} MiB file, customer -> rep | {L['to_rep_MBps']} MB/s | {L['cp_MBps']} MB/s | "
        f"{L['cp_sync_MBps']} MB/s | {L['to_rep_vs_cp_sync']} ({L['to_rep_vs_cp']}) |",
        f"| {out['size_mb']} MiB file, rep -> customer (upload + relay) | {L['to_customer_MBps']} MB/s | | | "
        f"{L['to_customer_vs_cp_sync']} |",
        f"| {out['files']} small files, customer -> rep | {S['to_rep_files_per_s']} files/s | "
        f"{S['cp_r_files_per_s']} files/s | {S['cp_r_sync_files_per_s']} files/s | {S['to_rep_vs_cp_r_sync']} |",
    ])


def run(args=None) -> dict:
    args = parse_args(args)
    out = asyncio.run(measure(args))
    out["when"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    out["cpus"] = os.cpu_count()
    path = Path(args.out) if args.out else HERE / "results" / f"filexfer-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(table(out))
    print(f"results: {path}")
    return out


if __name__ == "__main__":
    run()
