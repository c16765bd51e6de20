"""Co-browse benchmark: the same busy page shared two ways, co-browse and desktop sharing, in one run.

One run: a 1280x800 Xvfb screen; a real host on loopback; the company's page on another loopback origin
(bench/cobrowse_page.py: typing into a field, an order list that updates, scrolling; one change every 50 ms,
each stamped with a counter and its time); the customer's Chromium in kiosk mode on the Xvfb screen (the
page fills the screen), driven over CDP. The customer clicks the page's "Get help", is routed by WebACD to
the rep, who takes the offer; the rep's side is a session socket (as the console's). The Support Manager
(a subprocess, consent answered on its terminal) joins the same session with a second customer number.

Phases, taking turns ``--repeat`` times (a busy moment of the shared machine hits all alike):
- *none*: nothing shared (the browser's own cost of the busy page);
- *cobrowse*: Co-browse View (the site starts view without asking); the counter's arrival is read from the
  ``data-n`` attribute in the rrweb events relayed to the rep;
- *desktop*: desktop sharing (Standard) of the screen showing the page; the rep's socket draws every frame as
  the dashboard does and reads the counter from the colour of the block at the top left; it acks each frame.
Per phase: change-to-rep latency p50/p95 (each change's page time to the first message that shows it or a
later one), bytes per second to the rep (every message on the rep's socket), CPU of the customer's browser
(all of Chromium's processes, from /proc via psutil) and of the Support Manager.
Then the snapshot: the customer's tab opens a page of 10,000 elements (co-browse follows it); the rep asks
for a fresh full snapshot (``cobrowse.resync``) and times its arrival, and stops and starts co-browse again
(start -> snapshot). ``python -m bench.cobrowse`` or ``run([...])``; results in bench/results/.
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
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp
import numpy as np
import psutil

from .cobrowse_page import BLOCK, start_shop
from .process_usage import machine
from .screen_pipeline import free_port, median_of, percentile, start_xvfb

HERE = Path(__file__).parent
SITE = "bench"
TOKEN = "bench-cobrowse-rep-token"
PHASES = ("none", "cobrowse", "desktop")
MARK = re.compile(r'"data-n":"(\d+)"')
EVENTS = '{"type":"cobrowse.events","e":['      # how the host starts a relayed batch
FULL = '{"type":2,"data":{"node"'                 # an rrweb full snapshot in it
TARGETS = {"cobrowse_p95_ms": 100, "bytes_ratio": 0.1, "snapshot_s": 1.0}


def parse_args(args=None) -> argparse.Namespace:
    if isinstance(args, argparse.Namespace):
        return args
    p = argparse.ArgumentParser(prog="python -m bench.cobrowse", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=6.0, help="measuring window per phase")
    p.add_argument("--warmup", type=float, default=1.5, help="seconds after a phase starts before its window")
    p.add_argument("--repeat", type=int, default=3, help="rounds of the three phases; medians reported")
    p.add_argument("--period-ms", type=int, default=50, help="the page changes this often")
    p.add_argument("--size", default="1280x800")
    p.add_argument("--snapshots", type=int, default=5, help="fresh full snapshots of the 10,000-element page")
    p.add_argument("--out", help="results file (default bench/results/cobrowse-<UTC time>.json)")
    return p.parse_args(args or [])


def _ms(v):
    return None if v is None else round(v * 1000, 1)


# -- the host ------------------------------------------------------------------------------------------------
class Host:
    """A real host in this process with the bench site: one rep (logged in by a seeded auth session), a WebACD
    queue, co-browse allowed from the shop's origin with view starting without asking."""

    async def start(self, shop_origin: str) -> None:
        from aiohttp import web

        from host.app import create_app
        from host.appkeys import DB, SITES
        from host.config import Config
        from host.session_store import token_hash
        from host.sites import create_site, create_user
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-cobrowse-"))
        self.app = create_app(Config(data_dir=self.tmp))
        db = self.app[DB].sync()
        now = time.time()
        with db.atomic():
            site_id = create_site(db, SITE, "Co-browse benchmark")
            uid = create_user(db, site_id, "rep", "Bench Rep", secrets.token_urlsafe(12))
            db["auth_sessions"].insert({"token_hash": token_hash(TOKEN), "user_id": uid, "site_id": site_id,
                                        "csrf": "x", "created_at": now, "expires_at": now + 86400})
            fields = json.dumps({"email": "off", "phone": "off", "company": "off", "problem": "required"})
            self.queue = db["acd_queues"].insert({
                "site_id": site_id, "name": "Shop", "mode": "most_idle", "offer_timeout": 600.0, "escalate_after": 0.0,
                "overflow_queue_id": None, "timezone": "UTC", "hours": None, "fields": fields, "start_options": "{}",
                "created_at": now}).last_pk
            db["acd_members"].insert({"queue_id": self.queue, "user_id": uid})
            db["acd_agents"].insert({"user_id": uid, "site_id": site_id, "status": "available", "since": now})
            for key, value in (("allowed_origins", shop_origin), ("view_without_asking", True)):
                db["site_settings"].insert({"site_id": site_id, "plugin": "cobrowse", "key": key,
                                            "value": json.dumps(value)})
        self.app[SITES].load(db)
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                          cookies={f"sh_auth_{SITE}": TOKEN})
        async with self.http.get(self.url("/console")) as r:
            self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', await r.text()).group(1)
        self.feed = await self.http.ws_connect(self.url("/ws/rep"), headers={"Origin": self.base}, max_msg_size=0)

    def url(self, path: str) -> str:
        return f"{self.base}/s/{SITE}{path}"

    async def next_offer(self, timeout: float = 30) -> str:
        async with asyncio.timeout(timeout):
            async for msg in self.feed:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    if data.get("type") == "webacd.offer":
                        return data["offer"]["entry_id"]
        raise RuntimeError("the rep's feed closed before an offer came")

    async def accept(self, entry_id: str) -> str:
        async with self.http.post(self.url(f"/p/webacd/api/offers/{entry_id}/accept"),
                                  headers={"X-CSRF-Token": self.csrf}) as r:
            body = await r.json()
            if r.status != 201:
                raise RuntimeError(f"the rep could not take the offer: {r.status} {body}")
        return body["session_id"]

    async def customer_number(self, sid: str) -> str:
        """A second customer number for the session (what the invite plugin hands out), for the Support Manager."""
        from host.api import config, new_join_number
        from host.appkeys import DB
        return await self.app[DB].write(lambda db: new_join_number(db, config(self.app), sid, time.time()))

    async def stop(self) -> None:
        await self.feed.close()
        await self.http.close()
        await self.runner.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)


# -- the rep's session socket ----------------------------------------------------------------------------------
class Rep:
    """The rep's session socket: keeps every message's arrival; relayed co-browse events are searched for the
    page's counter; desktop frames are drawn (as the dashboard's viewer does) and the counter read from the
    block's colour, then acked."""

    def __init__(self, ws, size: tuple[int, int]):
        self.ws = ws
        self.canvas = np.zeros((size[1], size[0], 3), np.uint8)
        self.window = None                        # while measuring: {"bytes", "marks": [(t, n or n mod 4096)]}
        self.waiters: list[tuple] = []
        self.snapshots: list[tuple[float, int]] = []   # (arrival, bytes) of relayed full snapshots
        self.last_snapshot = ""
        self.task = asyncio.create_task(self._read())

    async def send(self, message: dict) -> None:
        await self.ws.send_str(json.dumps(message))

    async def ask(self, message: dict, pred, timeout: float = 30) -> dict:
        """Sends a message and waits for the first one that ``pred`` accepts (watched from before sending)."""
        answer = self.wait(pred, timeout)
        await self.send(message)
        return await answer

    def wait(self, pred, timeout: float = 30):
        fut = asyncio.get_running_loop().create_future()
        self.waiters.append((pred, fut))
        return asyncio.wait_for(fut, timeout)

    async def _read(self) -> None:
        from host.router import parse_binary
        async for msg in self.ws:
            now = time.time()
            if msg.type == aiohttp.WSMsgType.TEXT:
                if self.window is not None:
                    self.window["bytes"] += len(msg.data.encode())
                if msg.data.startswith(EVENTS):      # not parsed here: a snapshot is megabytes of JSON
                    data = {"type": "cobrowse.events"}
                    if FULL in msg.data:
                        self.snapshots.append((now, len(msg.data.encode())))
                        self.last_snapshot = msg.data
                    if self.window is not None:
                        marks = MARK.findall(msg.data)
                        if marks:
                            self.window["marks"].append((now, max(map(int, marks))))
                else:
                    data = json.loads(msg.data)
            elif msg.type == aiohttp.WSMsgType.BINARY:
                if self.window is not None:
                    self.window["bytes"] += len(msg.data)
                header, payload = parse_binary(msg.data)
                data = header
                if header["type"].endswith(".frame"):
                    draw(self.canvas, payload)
                    if header.get("c", 0) == header.get("n", 1) - 1:
                        if self.window is not None:
                            self.window["marks"].append((now, read_block(self.canvas)))
                        await self.send({"type": "desktop.ack", "agent": header["from"], "seq": header["seq"]})
            else:
                break
            for pred, fut in list(self.waiters):
                if not fut.done() and pred(data):
                    fut.set_result(data)
                    self.waiters.remove((pred, fut))


def draw(canvas: np.ndarray, payload: bytes) -> None:
    """One chunk of a desktop frame onto the rep's picture (RGB), as plugin_libs/screenshare/static/viewer.js
    draws it: solid fills, copies, raw-deflate RGB and JPEG rectangles."""
    import struct
    import zlib

    import cv2

    from plugin_libs.screenshare.pipeline import KIND_COPY, KIND_JPEG, KIND_SOLID, KIND_ZLIB, REC
    pos = 0
    while pos < len(payload):
        x, y, w, h, kind, scale, n = REC.unpack_from(payload, pos)
        data = payload[pos + REC.size:pos + REC.size + n]
        pos += REC.size + n
        if kind == KIND_SOLID:
            canvas[y:y + h, x:x + w] = np.frombuffer(data, np.uint8)
        elif kind == KIND_COPY:
            sx, sy = struct.unpack("<HH", data)
            canvas[y:y + h, x:x + w] = canvas[sy:sy + h, sx:sx + w].copy()
        elif kind == KIND_ZLIB:
            canvas[y:y + h, x:x + w] = np.frombuffer(zlib.decompress(data, -15), np.uint8).reshape(h, w, 3)
        elif kind == KIND_JPEG:
            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            if scale != 1:
                img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
            canvas[y:y + h, x:x + w] = img[:h, :w, ::-1]


def read_block(canvas: np.ndarray) -> int:
    """The page's counter mod 4096 from the colour at the middle of its block (4 bits per channel, x17)."""
    r, g, b = (int(round(int(c) / 17)) for c in canvas[BLOCK // 2, BLOCK // 2])
    return (r << 8) | (g << 4) | b


def latencies(stamps: dict[int, float], marks: list[tuple[float, int]], modulo: int | None,
              t0: float, t1: float) -> list[float]:
    """Per change stamped in [t0, t1]: time to the first mark showing it or a later change. A mark read
    modulo 4096 (desktop) is the latest change with that residue stamped before the mark arrived."""
    shown: list[tuple[float, int]] = []
    order = sorted(stamps.items())
    for t, value in marks:
        if modulo is None:
            shown.append((t, value))
            continue
        best = None
        for n, ts in order:
            if ts > t:
                break
            if n % modulo == value:
                best = n
        if best is not None:
            shown.append((t, best))
    out = []
    for n, ts in order:
        if not t0 <= ts <= t1:
            continue
        hit = next((t for t, m in shown if m >= n and t >= ts), None)
        if hit is not None:
            out.append(hit - ts)
    return out


# -- the customer's browser -------------------------------------------------------------------------------------
class Browser:
    """Chromium on the Xvfb screen in kiosk mode (the page fills the screen), started here so that its
    processes are known; Playwright drives it over CDP."""

    def __init__(self, display: str, size: str):
        self.display, self.size = display, size

    async def start(self, playwright, url: str):
        self.profile = Path(tempfile.mkdtemp(prefix="bench-cobrowse-chromium-"))
        port = free_port()
        w, h = self.size.split("x")
        self.proc = subprocess.Popen(
            ["/usr/bin/chromium", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
             "--disable-background-networking", "--disable-component-update", "--disable-quic",
             "--disable-features=Translate", "--kiosk", f"--window-size={w},{h}", "--window-position=0,0",
             f"--user-data-dir={self.profile}", f"--remote-debugging-port={port}", url],
            env={**os.environ, "DISPLAY": self.display}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.ps = psutil.Process(self.proc.pid)
        deadline = time.time() + 30
        while True:
            try:
                self.cdp = await playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
                break
            except Exception:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise
                await asyncio.sleep(0.3)
        ctx = self.cdp.contexts[0]
        self.page = ctx.pages[0] if ctx.pages else await ctx.new_page()
        await self.page.wait_for_load_state()
        return self.page

    def cpu_seconds(self) -> dict[int, float]:
        """CPU seconds (user + system) of every process of this Chromium, by pid."""
        out = {}
        for p in [self.ps] + self.ps.children(recursive=True):
            try:
                t = p.cpu_times()
                out[p.pid] = t.user + t.system
            except psutil.Error:
                pass
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())


# -- the run ---------------------------------------------------------------------------------------------------
class Run:
    def __init__(self, opts):
        self.opts = opts
        self.size = tuple(int(v) for v in opts.size.split("x"))

    async def setup(self, playwright) -> None:
        self.xvfb, self.display = start_xvfb(self.opts.size)
        self.shop_config = {"host": "", "site": SITE, "queue": 0, "period": self.opts.period_ms}
        self.shop_runner, self.shop = await start_shop(self.shop_config)
        self.host = Host()
        await self.host.start(self.shop)
        self.shop_config.update(host=self.host.base, queue=self.host.queue)
        self.browser = Browser(self.display, self.opts.size)
        page = self.page = await self.browser.start(playwright, f"{self.shop}/busy")
        # the customer asks for help from the page; WebACD routes them to the rep, who takes the offer
        async with page.context.expect_page() as popup:
            await page.click("a.supporthost-get-help")
        entry = await popup.value
        await entry.wait_for_load_state()
        await entry.fill("input[name=name]", "Carla Customer")
        await entry.fill("textarea[name=problem]", "Where is my order?")
        await entry.click("form.acd-form button[type=submit]")
        self.sid = await self.host.accept(await self.host.next_offer())
        await entry.wait_for_url("**/session/*")
        await page.bring_to_front()
        ws = await self.host.http.ws_connect(self.host.url(f"/ws/session/{self.sid}"),
                                             headers={"Origin": self.host.base}, max_msg_size=0)
        self.rep = Rep(ws, self.size)
        await page.wait_for_function("() => window.SupportHostCobrowse && window.SupportHostCobrowse.state().connected",
                                     timeout=30000)       # page.js retries every 5 s while the customer waits
        # the Support Manager joins the same session with a second customer number
        number = await self.host.customer_number(self.sid)
        exe = Path(sys.executable).parent / "support-manager"
        joined = self.rep.wait(lambda m: m.get("type") == "desktop.state" and m.get("agents"))
        self.agent = subprocess.Popen([str(exe), "join", self.host.url(""), number, "--name", "Carla's computer",
                                       "--terminal"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, env={**os.environ, "DISPLAY": self.display})
        self.agent_ps = psutil.Process(self.agent.pid)
        self.agent_out: list[str] = []
        threading.Thread(target=lambda: [self.agent_out.append(line.decode(errors="replace"))
                                         for line in self.agent.stdout], daemon=True).start()
        state = await joined
        self.agent_id = state["agents"][0]["id"]
        self.answered = 0                    # consent prompts answered on the Support Manager's terminal

    async def start_phase(self, phase: str) -> None:
        if phase == "cobrowse":
            n = len(self.rep.snapshots)
            await self.rep.ask({"type": "cobrowse.start", "mode": "view"},
                                lambda m: len(self.rep.snapshots) > n)
        elif phase == "desktop":
            await self.rep.send({"type": "desktop.set_mode", "mode": "standard"})
            answer = asyncio.ensure_future(self.rep.wait(lambda m: m.get("type") == "desktop.answer"))
            await self.rep.send({"type": "desktop.request", "level": "view"})
            while not answer.done():                      # the Support Manager asks on its terminal
                if sum(line.count("Allow?") for line in self.agent_out) > self.answered:
                    self.answered += 1
                    self.agent.stdin.write(b"a\n")
                    self.agent.stdin.flush()
                await asyncio.wait([answer], timeout=0.05)
            await answer

    async def stop_phase(self, phase: str) -> None:
        if phase == "cobrowse":
            await self.rep.ask({"type": "cobrowse.stop"},
                                lambda m: m.get("type") == "cobrowse.state" and m.get("state") == "off")
        elif phase == "desktop":
            await self.rep.ask({"type": "desktop.release"},
                                lambda m: m.get("type") == "desktop.released")

    async def measure(self, phase: str) -> dict:
        await self.start_phase(phase)
        await asyncio.sleep(self.opts.warmup)
        self.rep.window = window = {"bytes": 0, "marks": []}
        cpu0, agent0, t0 = self.browser.cpu_seconds(), self.agent_ps.cpu_times(), time.time()
        await asyncio.sleep(self.opts.seconds)
        self.rep.window = None
        cpu1, agent1, t1 = self.browser.cpu_seconds(), self.agent_ps.cpu_times(), time.time()
        await asyncio.sleep(0.3)
        await self.stop_phase(phase)
        stamps = {i: v / 1000 for i, v in enumerate(await self.page.evaluate("window.__stamps")) if v}
        span = t1 - t0
        lat = latencies(stamps, window["marks"], 4096 if phase == "desktop" else None, t0, t1 - 0.3)
        changes = sum(1 for v in stamps.values() if t0 <= v <= t1)
        return {"changes_per_s": changes / span, "changes_seen": len(lat),
                "latency_ms_p50": _ms(percentile(lat, 50)), "latency_ms_p95": _ms(percentile(lat, 95)),
                "bytes_per_s": window["bytes"] / span, "messages_shown": len(window["marks"]),
                "browser_cpu_percent": 100 * cpu_used(cpu0, cpu1) / span,
                "agent_cpu_percent": 100 * ((agent1.user + agent1.system) - (agent0.user + agent0.system)) / span}

    async def snapshot_times(self) -> dict:
        """The 10,000-element page: a fresh full snapshot on the rep's request (resync), and co-browse
        started again (start -> snapshot), each from the rep's message to the snapshot's arrival."""
        await self.page.goto(f"{self.shop}/big")         # page.js connects again with the key it keeps
        await self.page.wait_for_function(
            "() => window.SupportHostCobrowse && window.SupportHostCobrowse.state().connected", timeout=30000)
        elements = await self.page.evaluate("document.getElementsByTagName('*').length")
        resync, start, sizes, browser_cpu = [], [], [], []
        for i in range(max(1, self.opts.snapshots // 2)):
            n = len(self.rep.snapshots)
            t = time.time()
            await self.rep.ask({"type": "cobrowse.start", "mode": "view"},
                                lambda m: len(self.rep.snapshots) > n, timeout=60)
            start.append(self.rep.snapshots[-1][0] - t)
            await asyncio.sleep(0.5)
            if i < self.opts.snapshots // 2 - 1:
                await self.stop_phase("cobrowse")
        for i in range(self.opts.snapshots):
            await asyncio.sleep(0.5)
            n = len(self.rep.snapshots)
            t = time.time()
            cpu0 = self.browser.cpu_seconds()
            await self.rep.ask({"type": "cobrowse.resync"},
                                lambda m: len(self.rep.snapshots) > n, timeout=60)
            resync.append(self.rep.snapshots[-1][0] - t)
            sizes.append(self.rep.snapshots[-1][1])
            await asyncio.sleep(0.3)
            browser_cpu.append(cpu_used(cpu0, self.browser.cpu_seconds()))
        await self.stop_phase("cobrowse")
        return {"elements": elements, "resync_s": [round(v, 3) for v in resync],
                "browser_cpu_s": [round(v, 3) for v in browser_cpu], "browser_cpu_s_median": median(browser_cpu),
                "host_cpu_s_median": median(host_cpu(self.rep.last_snapshot)),
                "start_s": [round(v, 3) for v in start], "resync_s_median": median(resync),
                "start_s_median": median(start), "snapshot_bytes": median(sizes)}

    async def teardown(self) -> None:
        for step in (lambda: self.agent.terminate(), lambda: self.agent.wait(5), lambda: self.browser.stop()):
            try:
                step()
            except Exception:
                pass
        for step in (lambda: self.rep.ws.close(), lambda: self.host.stop(), lambda: self.shop_runner.cleanup()):
            try:
                await step()
            except Exception:
                pass
        self.xvfb.kill()
        self.xvfb.wait()


def host_cpu(relayed: str, times: int = 5) -> list[float]:
    """CPU seconds the host spends on the page's snapshot frame before relaying it (parse, check, sanitise,
    encode: plugins/cobrowse/page_socket.parse_frame), measured here on the frame the page sent."""
    from plugins.cobrowse.page_socket import parse_frame
    frame = '{"t":"ev","e":[' + relayed[len(EVENTS):]
    out = []
    for _ in range(times):
        t = time.thread_time()
        parse_frame(frame)
        out.append(time.thread_time() - t)
    return out


def median(values):
    values = sorted(values)
    if not values:
        return None
    mid = len(values) // 2
    return round(values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2, 3)


async def _run(opts) -> dict:
    from playwright.async_api import async_playwright
    results: dict = {"when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
                     "screen": opts.size, "period_ms": opts.period_ms, "seconds": opts.seconds,
                     "repeat": opts.repeat, "load_average_at_start": os.getloadavg(), "targets": TARGETS}
    print(f"co-browse benchmark: {opts.size}, a change every {opts.period_ms} ms, {opts.repeat} x "
          f"{opts.seconds:g} s per phase; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    run = Run(opts)
    async with async_playwright() as pw:
        try:
            await run.setup(pw)
            runs: dict[str, list[dict]] = {p: [] for p in PHASES}
            loads = []
            for _ in range(max(1, opts.repeat)):
                for phase in PHASES:
                    runs[phase].append(await run.measure(phase))
                    loads.append(os.getloadavg()[0])
                    print(format_row(phase, runs[phase][-1]), flush=True)
            results["phases"] = {p: median_of(rs) for p, rs in runs.items()}
            results["runs"] = runs
            results["load_average_during"] = loads
            results["snapshot"] = await run.snapshot_times()
            print(f"snapshot of {results['snapshot']['elements']} elements: resync median "
                  f"{results['snapshot']['resync_s_median']} s, start median {results['snapshot']['start_s_median']} s, "
                  f"{results['snapshot']['snapshot_bytes']} bytes", flush=True)
        finally:
            await run.teardown()
    results["load_average_at_end"] = os.getloadavg()
    results["verdict"] = verdict(results)
    out = Path(opts.out) if opts.out else HERE / "results" / (
        "cobrowse-" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    results["file"] = str(out)
    return results


def verdict(results: dict) -> dict:
    co, desk = results["phases"]["cobrowse"], results["phases"]["desktop"]
    ratio = co["bytes_per_s"] / desk["bytes_per_s"] if desk["bytes_per_s"] else None
    snap = results["snapshot"]["resync_s_median"]
    return {"cobrowse_p95_ms": co["latency_ms_p95"], "bytes_ratio": None if ratio is None else round(ratio, 4),
            "snapshot_s": snap,
            "p95_met": co["latency_ms_p95"] is not None and co["latency_ms_p95"] < TARGETS["cobrowse_p95_ms"],
            "bytes_met": ratio is not None and ratio <= TARGETS["bytes_ratio"],
            "snapshot_met": snap is not None and snap < TARGETS["snapshot_s"]}


def _fmt(v, spec="{:.1f}"):
    return "-" if v is None else spec.format(v)


def format_row(phase: str, r: dict) -> str:
    return (f"{phase:8} changes/s {_fmt(r['changes_per_s'])}  latency p50/p95 ms {_fmt(r['latency_ms_p50'])}/"
            f"{_fmt(r['latency_ms_p95'])}  kB/s {_fmt(r['bytes_per_s'] / 1000, '{:.2f}')}  browser cpu% "
            f"{_fmt(r['browser_cpu_percent'])}  agent cpu% {_fmt(r['agent_cpu_percent'])}")


def markdown_table(results: dict) -> str:
    """The results as Markdown (docs/performance.md)."""
    ph = results["phases"]
    desk = ph["desktop"]
    out = ["| shared as | changes/s | change→rep p50 / p95 ms | kB/s to the rep | bytes vs desktop | customer's "
           "browser CPU % | Support Manager CPU % |", "|---|---:|---:|---:|---:|---:|---:|"]
    names = {"none": "nothing (baseline)", "cobrowse": "co-browse", "desktop": "desktop sharing (Standard)"}
    for phase in PHASES:
        r = ph[phase]
        ratio = "-" if phase == "none" or not desk["bytes_per_s"] else f"{r['bytes_per_s'] / desk['bytes_per_s']:.3f}x"
        lat = "-" if phase == "none" else f"{_fmt(r['latency_ms_p50'])} / {_fmt(r['latency_ms_p95'])}"
        out.append(f"| {names[phase]} | {_fmt(r['changes_per_s'])} | {lat} | {r['bytes_per_s'] / 1000:.2f} | {ratio} "
                   f"| {_fmt(r['browser_cpu_percent'], '{:.0f}')} | {_fmt(r['agent_cpu_percent'], '{:.0f}')} |")
    s = results.get("snapshot")
    if s:
        out.append("")
        out.append(f"Snapshot of the {s['elements']:,}-element page ({s['snapshot_bytes'] / 1e6:.2f} MB relayed): "
                   f"rep asks → snapshot at the rep, median {s['resync_s_median']} s ({s['resync_s']}); "
                   f"co-browse started → snapshot, median {s['start_s_median']} s ({s['start_s']}). CPU per snapshot: "
                   f"customer's browser {s['browser_cpu_s_median']} s, host (parse, check, sanitise, encode) "
                   f"{s['host_cpu_s_median']} s.")
    return "\n".join(out)


def run(args=None) -> dict:
    """Run the benchmark; ``args``: a list of command-line arguments (see parse_args) or a Namespace."""
    return asyncio.run(_run(parse_args(args)))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--table"]:          # print the table of an earlier run
        print(markdown_table(json.loads(Path(sys.argv[2]).read_text())))
    else:
        print(markdown_table(run(sys.argv[1:])))
