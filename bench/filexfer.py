"""``python -m bench.filexfer``: advanced file transfer throughput over loopback, side by side with scp
and rsync over loopback SSH (the peer) and with `cp`.

The host runs as its own process (bench.host_runner); this process is the rep (real HTTP and WebSocket)
and the customer's Support Manager (the real agent, allowing file access as a person would). Measured in
every run (``--runs``; medians are reported):

- one large file (default 1 GiB of random bytes) from the customer's computer to the host (the rep's
  "Copy to me": streamed, hashed on both sides, fsynced, renamed), and back from the rep to a folder on
  the customer's computer (HTTP upload to the host, then relayed to the agent, fsynced, renamed);
- 10,000 small files (1 to 8 KiB) copied to the rep, 32 transfers in flight;
- the peer, in the same run on the same disk: `scp` and `rsync` of the large file to a new file, `scp -r`
  and `rsync -a` of the small files' folder, through a private sshd this benchmark starts on a free
  loopback port (its own config, host key and client key in the temp dir; Debian's openssh-server);
- as context: `cp` of the large file, `cp` followed by `sync FILE` (the durability the transfer gives),
  `cp -r` of the small files (and then `sync -f`).

The ceiling for the target (half of it for the large file) is the better of scp and rsync; without an
OpenSSH server (or scp/rsync) it is plain `cp`, and the output says why the peer was not measured.
Results go to bench/results/filexfer-<UTC time>.json and a table is printed (docs/performance.md).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import os
import pwd
import re
import shlex
import socket
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
    p.add_argument("--runs", type=int, default=1, help="repeat every measurement, report medians")
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
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def drop_file(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


# -- the peer: scp and rsync through a private sshd on loopback -------------------------------------
SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
SSH_PROGRAMS = ("sshd", "ssh", "ssh-keygen")
PEERS = ("scp", "rsync")


def find_program(name: str) -> str | None:
    """Absolute path of a program (sshd must be started by its absolute path), also from sbin folders
    a non-root PATH often lacks."""
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(SBIN_DIRS))
    return os.path.abspath(found) if found else None


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PeerUnavailable(Exception):
    """scp/rsync over loopback SSH cannot be measured; the message says why."""


class LoopbackSSH:
    """A private sshd on 127.0.0.1 for one benchmark run, as the current user: its own sshd_config, host
    key, client key, authorized_keys, known_hosts, pid file and log, all in ``folder``. No PAM, no
    password, only this run's client key; the client reads no user or system ssh config."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.programs = {name: find_program(name) for name in SSH_PROGRAMS + PEERS}
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def missing(self) -> list[str]:
        return [name for name, path in self.programs.items() if path is None]

    def peers(self) -> list[str]:
        """The peer tools this run can measure (none without sshd, ssh and ssh-keygen)."""
        if any(self.programs[name] is None for name in SSH_PROGRAMS):
            return []
        return [name for name in PEERS if self.programs[name]]

    def versions(self) -> dict:
        out = {}
        if self.programs["ssh"]:
            out["ssh"] = subprocess.run([self.programs["ssh"], "-V"], capture_output=True, text=True).stderr.strip()
        if self.programs["rsync"]:
            first = subprocess.run([self.programs["rsync"], "--version"], capture_output=True, text=True).stdout
            out["rsync"] = first.splitlines()[0].strip() if first else ""
        return out

    def _keygen(self, path: Path) -> str:
        subprocess.run([self.programs["ssh-keygen"], "-q", "-t", "ed25519", "-N", "", "-C", "bench-filexfer",
                        "-f", str(path)], check=True, stdin=subprocess.DEVNULL, capture_output=True)
        return path.with_suffix(".pub").read_text().strip()

    def start(self, timeout: float = 15.0) -> None:
        if not self.peers():
            raise PeerUnavailable("not installed: " + ", ".join(self.missing()))
        f = self.folder
        f.mkdir(parents=True, exist_ok=True)
        host_pub = self._keygen(f / "host_key")
        (f / "authorized_keys").write_text(self._keygen(f / "client_key") + "\n")
        self.port = free_loopback_port()
        (f / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {host_pub}\n")
        (f / "sshd_config").write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {f / 'host_key'}", f"PidFile {f / 'sshd.pid'}",
            f"AuthorizedKeysFile {f / 'authorized_keys'}", f"AllowUsers {self.user}",
            "UsePAM no", "StrictModes no", "PubkeyAuthentication yes", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password", "PrintMotd no",
            "Subsystem sftp internal-sftp", "LogLevel INFO", ""]))
        if os.getuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)   # sshd's privilege separation folder
        command = [self.programs["sshd"], "-D", "-f", str(f / "sshd_config"), "-E", str(f / "sshd.log")]
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise PeerUnavailable(f"sshd exited with {self.proc.returncode} as user {self.user}: {self._log()}")
            probe = subprocess.run([self.programs["ssh"], *self.ssh_options(), f"{self.user}@127.0.0.1", "true"],
                                   capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if probe.returncode == 0:
                return
            if "Permission denied" in probe.stderr or time.monotonic() > deadline:
                raise PeerUnavailable(f"ssh to the private sshd as {self.user} failed: {probe.stderr.strip()} "
                                      f"(sshd log: {self._log()})")
            time.sleep(0.2)

    def _log(self) -> str:
        text = ""
        if self.proc is not None and self.proc.stderr is not None and self.proc.poll() is not None:
            text = self.proc.stderr.read().decode(errors="replace")
        log = self.folder / "sshd.log"
        if log.exists():
            text += log.read_text(errors="replace")
        last = list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))[-3:]
        return " / ".join(last) or "no message"

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None

    def ssh_options(self) -> list[str]:
        f = self.folder
        return ["-F", "none", "-o", f"Port={self.port}", "-o", f"IdentityFile={f / 'client_key'}",
                "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={f / 'known_hosts'}",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR"]

    def remote(self, path: Path) -> str:
        return f"{self.user}@127.0.0.1:{path}"

    def scp(self, source: Path, target: Path, recursive: bool = False) -> list[str]:
        return [self.programs["scp"], "-q", *(["-r"] if recursive else []), *self.ssh_options(), str(source),
                self.remote(target)]

    def rsync(self, source: Path, target: Path, folder: bool = False) -> list[str]:
        shell = shlex.join([self.programs["ssh"], *self.ssh_options()])
        if folder:   # `rsync -a` of the folder's contents into a new folder
            return [self.programs["rsync"], "-a", "-e", shell, f"{source}/", self.remote(target) + "/"]
        return [self.programs["rsync"], "-e", shell, str(source), self.remote(target)]


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
            async with self.http.post(f"{self.site}/p/{P}/sessions/{sid}/send", data=_blocks(f),
                                      params={"dir": folder, "name": name},
                                      headers={"X-CSRF-Token": token, "Content-Type": "application/octet-stream",
                                               "Content-Length": str(source.stat().st_size)}) as r:
                body = await r.json()
                assert r.status == 202, body
        return await self.end_of(body["transfer"]["id"])


async def _blocks(f, size: int = 4 * MB):
    """The file as the rep's browser sends it: large reads off the event loop (aiohttp's own file payload
    reads 64 KiB per worker call, which made the client the slowest part of the measurement)."""
    loop = asyncio.get_running_loop()
    while True:
        block = await loop.run_in_executor(None, f.read, size)
        if not block:
            return
        yield block


class AllowFiles:
    """The person at the customer's computer, answering Allow (the benchmark measures transfers, not clicks)."""

    async def ask(self, request):
        from agent.consent import Answer
        return Answer(True)


def start_peer(ssh: LoopbackSSH) -> dict:
    """Start the private sshd; what the JSON says about the peer (which tools run, or why none do)."""
    info = {"measured": [], "missing": ssh.missing(), "user": ssh.user, **ssh.versions(), "error": None}
    try:
        ssh.start()
        info["measured"], info["port"] = ssh.peers(), ssh.port
    except (PeerUnavailable, OSError, subprocess.CalledProcessError) as e:
        info["error"] = str(e) or type(e).__name__
        ssh.stop()
    return info


def settle(folder: Path) -> None:
    """Write back what the previous copy left in the page cache, so the next one starts clean (untimed)."""
    subprocess.run(["sync", "-f", str(folder)], check=True)


async def copy_large(ssh: LoopbackSSH, peers: list[str], source: Path, base: Path, size: int) -> dict:
    """The large file copied by cp, cp + sync, scp and rsync, each to a new file on the same disk."""
    target = base / "copy.bin"
    commands = {"cp_s": ["cp", str(source), str(target)],
                "cp_sync_s": ["sh", "-c", f"cp {shlex.quote(str(source))} {shlex.quote(str(target))} && "
                                          f"sync {shlex.quote(str(target))}"]}
    if "scp" in peers:
        commands["scp_s"] = ssh.scp(source, target)
    if "rsync" in peers:
        commands["rsync_s"] = ssh.rsync(source, target)
    times = {}
    for key, cmd in commands.items():
        times[key] = await asyncio.to_thread(timed, cmd)
        assert target.stat().st_size == size, f"{key}: the copy has the wrong size"
        drop_file(target)
        await asyncio.to_thread(settle, base)
    return times


async def copy_small(ssh: LoopbackSSH, peers: list[str], source: Path, base: Path, count: int) -> dict:
    """The small files' folder copied by cp -r, cp -r + sync, scp -r and rsync -a, each to a new folder."""
    target = base / "copy-small"
    q = shlex.quote
    commands = {"cp_r_s": ["cp", "-r", str(source), str(target)],
                "cp_r_sync_s": ["sh", "-c", f"cp -r {q(str(source))} {q(str(target))} && sync -f {q(str(base))}"]}
    if "scp" in peers:
        commands["scp_r_s"] = ssh.scp(source, target, recursive=True)
    if "rsync" in peers:
        commands["rsync_a_s"] = ssh.rsync(source, target, folder=True)
    times = {}
    for key, cmd in commands.items():
        times[key] = await asyncio.to_thread(timed, cmd)
        assert await asyncio.to_thread(count_files, target) == count, f"{key}: files missing in the copy"
        await asyncio.to_thread(drop_file, target)
        await asyncio.to_thread(settle, base)
    return times


def empty_folder(folder: Path) -> None:
    for p in folder.iterdir():
        p.unlink()


async def measure(args) -> dict:
    from agent.app import SupportManager
    from agent.status import TerminalStatus
    base = Path(tempfile.mkdtemp(prefix="bench-filexfer-", dir=args.dir))
    root = base / "customer"
    (root / "inbox").mkdir(parents=True)
    size = args.size_mb * MB
    ssh = LoopbackSSH(base / "ssh")
    proc = http = agent = task = None
    out: dict = {"size_mb": args.size_mb, "files": args.files, "runs": []}
    try:
        print(f"making a {args.size_mb} MiB file and {args.files} small files in {base} ...", flush=True)
        digest = await asyncio.to_thread(make_large, root / "large.bin", size)
        small = await asyncio.to_thread(make_small, root / "small", args.files)
        out["small_bytes"] = sum((root / s).stat().st_size for s in small)
        out["peer"] = await asyncio.to_thread(start_peer, ssh)
        peers = out["peer"]["measured"]
        if out["peer"]["error"]:
            print(f"scp/rsync over loopback SSH NOT measured: {out['peer']['error']}; the ceiling is plain cp",
                  flush=True)
        else:
            print(f"peer: {', '.join(peers)} over a private sshd on 127.0.0.1:{ssh.port} as {ssh.user}"
                  + (f" (not installed: {', '.join(out['peer']['missing'])})" if out["peer"]["missing"] else ""),
                  flush=True)
        proc, site = await start_host(base / "data", args.profile)
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
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
        limit = asyncio.Semaphore(args.parallel)

        async def one_file(rel):
            async with limit:
                await rep.fetch(rel)

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
            await asyncio.to_thread(empty_folder, files_dir)
            await asyncio.to_thread(settle, base)
            one.update(await copy_large(ssh, peers, root / "large.bin", base, size))
            t = time.perf_counter()
            await asyncio.gather(*(one_file(rel) for rel in small))
            one["small_to_rep_s"] = time.perf_counter() - t
            await asyncio.to_thread(empty_folder, files_dir)
            await asyncio.to_thread(settle, base)
            one.update(await copy_small(ssh, peers, root / "small", base, args.files))
            out["runs"].append(one)
            print(f"run {run + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in one.items()), flush=True)
    finally:
        if agent is not None:
            await agent.link.stop()
            try:
                await asyncio.wait_for(task, 10)
            except Exception:
                task.cancel()
        if http is not None:
            await http.close()
        if proc is not None:
            await stop_host(proc)
        await asyncio.to_thread(ssh.stop)
        await asyncio.to_thread(shutil.rmtree, base, True)
    return summarise(out)


def _median(values):
    values = sorted(values)
    return values[len(values) // 2]


LARGE_KEYS = ("to_rep", "to_customer", "scp", "rsync", "cp", "cp_sync")
SMALL_KEYS = ("small_to_rep", "scp_r", "rsync_a", "cp_r", "cp_r_sync")
TARGET = 0.5   # of the ceiling, for the large file


def median_rates(runs: list[dict], keys, amount: float) -> dict:
    """key -> amount / median seconds, for the keys every run measured."""
    return {k: amount / _median([r[f"{k}_s"] for r in runs]) for k in keys if all(f"{k}_s" in r for r in runs)}


def summarise(out: dict) -> dict:
    mb = out["size_mb"] * MB / 1e6   # MB (10^6 bytes) per second, as cp users read it
    runs, files = out["runs"], out["files"]
    large = median_rates(runs, LARGE_KEYS, mb)
    small = median_rates(runs, SMALL_KEYS, files)
    out["large"] = {f"{k}_MBps": round(v, 1) for k, v in large.items()}
    for mine in ("to_rep", "to_customer"):
        out["large"].update({f"{mine}_vs_{ref}": round(large[mine] / large[ref], 2)
                             for ref in ("scp", "rsync", "cp", "cp_sync") if ref in large})
    out["small"] = {f"{k.removeprefix('small_')}_files_per_s": round(v, 1) for k, v in small.items()}
    out["small"].update({f"to_rep_vs_{ref}": round(small["small_to_rep"] / small[ref], 3)
                         for ref in ("scp_r", "rsync_a", "cp_r", "cp_r_sync") if ref in small})
    peers = [k for k in ("scp", "rsync") if k in large]
    best = max(peers, key=large.get) if peers else "cp"
    small_best = max([k for k in ("scp_r", "rsync_a") if k in small], key=small.get, default="cp_r")
    def per_run_median(mine: str) -> float:   # each run's rate over that run's better peer (or cp)
        return round(_median([min(r[f"{k}_s"] for k in (peers or ["cp"])) / r[f"{mine}_s"] for r in runs]), 2)
    out["ceiling"] = {
        "what": best, "why": f"better of {' and '.join(peers)} over loopback SSH" if peers else
        "plain cp: scp/rsync over loopback SSH not measured (" + (out.get("peer", {}).get("error") or "?") + ")",
        "MBps": round(large[best], 1), "target": TARGET,
        **{f"{mine}_ratio": round(large[mine] / large[best], 2) for mine in ("to_rep", "to_customer")},
        **{f"{mine}_met": large[mine] / large[best] >= TARGET for mine in ("to_rep", "to_customer")},
        **{f"{mine}_ratio_median_of_runs": per_run_median(mine) for mine in ("to_rep", "to_customer")},
        "small": {"what": small_best, "files_per_s": round(small[small_best], 1),
                  "to_rep_ratio": round(small["small_to_rep"] / small[small_best], 3)},
    }
    return out


def _cell(section: dict, key: str, unit: str) -> str:
    return f"{section[key]} {unit}" if key in section else "n/a"


def table(out: dict) -> str:
    L, S, C = out["large"], out["small"], out["ceiling"]
    size = f"{out['size_mb']} MiB file"
    lines = [
        "| What | advanced transfer | scp | rsync | cp | cp + sync |",
        "|---|---|---|---|---|---|",
        f"| {size}, customer -> rep | " + " | ".join(_cell(L, f"{k}_MBps", "MB/s") for k in
                                                    ("to_rep", "scp", "rsync", "cp", "cp_sync")) + " |",
        f"| {size}, rep -> customer (upload + relay) | {_cell(L, 'to_customer_MBps', 'MB/s')} | (same) | (same) "
        "| (same) | (same) |",
        f"| {out['files']} small files, customer -> rep (scp -r, rsync -a, cp -r) | " + " | ".join(
            _cell(S, f"{k}_files_per_s", "files/s") for k in ("to_rep", "scp_r", "rsync_a", "cp_r", "cp_r_sync"))
        + " |",
        "",
        "| Ratio of the advanced transfer to | scp | rsync | cp | cp + sync |",
        "|---|---|---|---|---|",
    ]
    for label, section, mine, refs in (
            (f"{size}, customer -> rep", L, "to_rep", ("scp", "rsync", "cp", "cp_sync")),
            (f"{size}, rep -> customer", L, "to_customer", ("scp", "rsync", "cp", "cp_sync")),
            (f"{out['files']} small files, customer -> rep", S, "to_rep", ("scp_r", "rsync_a", "cp_r", "cp_r_sync"))):
        lines.append(f"| {label} | " + " | ".join(str(section.get(f"{mine}_vs_{ref}", "n/a")) for ref in refs) + " |")
    verdict = {True: "met", False: "NOT met"}
    lines += ["", f"Ceiling: {C['what']} ({C['why']}), {C['MBps']} MB/s. Target: at least {C['target']} of it for the "
              f"large file: customer -> rep {C['to_rep_ratio']} ({verdict[C['to_rep_met']]}; median of per-run "
              f"ratios {C['to_rep_ratio_median_of_runs']}), rep -> customer {C['to_customer_ratio']} "
              f"({verdict[C['to_customer_met']]}; {C['to_customer_ratio_median_of_runs']}). "
              f"Small files: {C['small']['to_rep_ratio']} of "
              f"{C['small']['what'].replace('_', ' -')}."]
    return "\n".join(lines)


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
