"""Audio/video benchmark: call set-up time, host CPU for signalling, agent CPU per media stream.

    .venv/bin/python -m bench.rtc [--calls 50] [--window 10] [--setups 10] [--agent-window 8] [--skip ...]
    (or from Python: bench.rtc.run(["--calls", "50"]) -> results dict; also printed as JSON)

One host runs as its own process (bench.host_runner) on a loopback port.

1. setup: call set-up time in real Chromium (fake camera/microphone), rep and customer in two
   contexts: from the customer's "Accept" click until audio bytes flow both ways on the customer's
   peer connection (start -> media flowing), repeated --setups times (the rep ends VoIP and starts it
   again between runs); p50 and p90.
2. signalling: --calls concurrent calls, each a rep and a customer on real WebSockets (Python
   clients) in their own session; every call renegotiates once a second (an offer and an answer of
   realistic size and 8 ICE candidates each way, all checked and relayed by the host). Reported: host
   CPU (% of one core) over --window seconds, relayed messages per second, offer -> answer p50/p99.
3. agent: the Support Manager's media (plugin_libs/calls/media/, aiortc) in this process joins a
   Chromium rep's call as the customer. CPU of this process (% of one core) is measured over
   --agent-window seconds in each phase: joined, no media (baseline); audio both ways (Opus encode
   of the PyAudio microphone, decode and PyAudio playback; PulseAudio sandbox when pulseaudio is
   installed); plus the agent's 1280x720 camera (a synthetic OpenCV capture at the site's maximum of
   15 fps, VP8 encode) to the rep, whose camera is off. Per stream = the phase minus the one before.
   Also agent_setup_ms: from the agent's join until the first audio from the browser is decoded.
No pass/fail: the machine is shared; the numbers are medians of one run.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

from .bench_site import SITE, rep_name
from .process_usage import cpu_percent

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--use-fake-ui-for-media-stream",
                 "--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required"]
PC_SPY = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();
"""
# In the page: click Accept, then wait until audio flows both ways; milliseconds.
ACCEPT_AND_TIME = """
async () => {
  const t0 = performance.now();
  document.querySelector(".audio-accept").click();
  while (performance.now() - t0 < 20000) {
    for (const pc of window.__pcs) {
      if (pc.connectionState !== "connected") continue;
      let inB = 0, outB = 0;
      (await pc.getStats()).forEach((s) => {
        if (s.kind !== "audio") return;
        if (s.type === "inbound-rtp") inB += s.bytesReceived || 0;
        if (s.type === "outbound-rtp") outB += s.bytesSent || 0;
      });
      if (inB > 0 && outB > 0) return performance.now() - t0;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return null;
}
"""


def pct(values, q):
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))], 1)


# -- the host and plain HTTP/WebSocket people ------------------------------------------------------
class HostProcess:
    def __init__(self, reps: int):
        self.dir = tempfile.mkdtemp(prefix="bench-rtc-")
        self.password = secrets.token_urlsafe(12)
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.host_runner", "--data", self.dir, "--reps",
                                      str(reps), "--password", self.password], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, cwd=str(Path(__file__).parent.parent))
        info = json.loads(self.proc.stdout.readline())
        self.pid = info["pid"]
        self.base = f"http://127.0.0.1:{info['port']}"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Person:
    def __init__(self, base: str):
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def csrf(self) -> str:
        async with self.http.get(f"{self.base}/s/{SITE}/") as r:
            return re.search(r'name="csrf-token" content="([^"]+)"', await r.text()).group(1)

    async def login(self, username: str, password: str) -> None:
        data = {"username": username, "password": password, "csrf_token": await self.csrf()}
        async with self.http.post(f"{self.base}/s/{SITE}/login", data=data, allow_redirects=False) as r:
            assert r.status == 302, await r.text()

    async def start_session(self) -> dict:
        async with self.http.post(f"{self.base}/s/{SITE}/api/sessions", json={},
                                  headers={"X-CSRF-Token": await self.csrf()}) as r:
            assert r.status == 201, await r.text()
            return await r.json()

    async def join(self, number: str, name: str) -> str:
        data = {"number": number, "name": name, "csrf_token": await self.csrf()}
        async with self.http.post(f"{self.base}/s/{SITE}/join", data=data, allow_redirects=False) as r:
            assert r.status == 302, await r.text()
            return r.headers["Location"].rsplit("/", 1)[1]

    async def ws(self, sid: str):
        ws = await self.http.ws_connect(f"{self.base}/s/{SITE}/ws/session/{sid}", headers={"Origin": self.base},
                                        max_msg_size=0)
        while True:
            m = json.loads((await ws.receive()).data)
            if m["type"] == "session.hello":
                return ws, m["you"]["id"]

    async def close(self):
        await self.http.close()


def fake_sdp(kind_lines: int = 70) -> str:
    """An SDP of the size a browser sends for one audio m-line (about 3-4 KB)."""
    head = ["v=0", f"o=- {secrets.randbits(62)} 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
            "a=extmap-allow-mixed", "a=msid-semantic: WMS", "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
            "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0", f"a=ice-ufrag:{secrets.token_hex(2)}",
            f"a=ice-pwd:{secrets.token_hex(12)}", "a=ice-options:trickle",
            "a=fingerprint:sha-256 " + ":".join(secrets.token_hex(1).upper() for _ in range(32)),
            "a=setup:actpass", "a=mid:0", "a=sendrecv", "a=rtcp-mux", "a=rtpmap:111 opus/48000/2",
            "a=fmtp:111 minptime=10;useinbandfec=1"]
    extra = [f"a=extmap:{i} urn:ietf:params:rtp-hdrext:example-{i:02d}-{secrets.token_hex(8)}"
             for i in range(1, kind_lines - len(head))]
    return "\r\n".join(head + extra) + "\r\n"


def candidate(i: int) -> dict:
    return {"candidate": f"candidate:{1000 + i} 1 udp {2122260223 - i} 127.0.0.1 {50000 + i} typ host generation 0 "
                         f"ufrag abcd network-id 1", "sdpMid": "0", "sdpMLineIndex": 0}


# -- 2. host CPU for signalling -------------------------------------------------------------------
async def signalling_load(host: HostProcess, calls: int, window: float, warmup: float = 2.0) -> dict:
    reps_needed = math.ceil(calls / 10)
    reps = []
    for i in range(reps_needed):
        p = Person(host.base)
        await p.login(rep_name(2 + i), host.password)   # rep0000/rep0001 serve the Chromium parts
        reps.append(p)
    people, pairs = list(reps), []
    for i in range(calls):
        rep = reps[i // 10]
        s = await rep.start_session()
        cust = Person(host.base)
        people.append(cust)
        sid = await cust.join(s["number"], f"Customer {i}")
        (rws, rid), (cws, cid) = await rep.ws(sid), await cust.ws(sid)
        await rws.send_json({"type": "audio.start", "id": "s"})
        await cws.send_json({"type": "audio.join", "id": "j"})
        pairs.append((rws, rid, cws, cid))
    await asyncio.sleep(0.5)

    stats = {"relayed": 0, "rtt": [], "errors": 0}
    measuring = asyncio.Event()
    stop = asyncio.Event()
    sdp = fake_sdp()

    async def reader(ws, on_signal):
        async for m in ws:
            if m.type != aiohttp.WSMsgType.TEXT:
                break
            msg = json.loads(m.data)
            if msg["type"] == "audio.signal":
                if measuring.is_set():
                    stats["relayed"] += 1
                await on_signal(msg)
            elif msg["type"] == "error":
                stats["errors"] += 1

    async def call(rws, rid, cws, cid, offset):
        answered = asyncio.Event()

        async def rep_got(msg):
            if "description" in msg:
                answered.set()

        async def cust_got(msg):
            if "description" in msg:
                await cws.send_json({"type": "audio.signal", "to": rid,
                                     "description": {"type": "answer", "sdp": sdp.replace("actpass", "active")}})
                for k in range(8):
                    await cws.send_json({"type": "audio.signal", "to": rid, "candidate": candidate(k)})
        tasks = [asyncio.create_task(reader(rws, rep_got)), asyncio.create_task(reader(cws, cust_got))]
        await asyncio.sleep(offset)
        while not stop.is_set():
            started = time.perf_counter()
            answered.clear()
            await rws.send_json({"type": "audio.signal", "to": cid, "description": {"type": "offer", "sdp": sdp}})
            for k in range(8):
                await rws.send_json({"type": "audio.signal", "to": cid, "candidate": candidate(k)})
            try:
                await asyncio.wait_for(answered.wait(), 5)
                if measuring.is_set():
                    stats["rtt"].append((time.perf_counter() - started) * 1000)
            except asyncio.TimeoutError:
                stats["errors"] += 1
            await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - started)))
        for t in tasks:
            t.cancel()

    workers = [asyncio.create_task(call(*p, i / calls)) for i, p in enumerate(pairs)]
    await asyncio.sleep(warmup)
    usage = psutil.Process(host.pid)
    t = usage.cpu_times()
    start = (time.monotonic(), t.user + t.system)
    measuring.set()
    await asyncio.sleep(window)
    measuring.clear()
    t = usage.cpu_times()
    end = (time.monotonic(), t.user + t.system)
    stop.set()
    await asyncio.gather(*workers, return_exceptions=True)
    for rws, _, cws, _ in pairs:
        await rws.close()
        await cws.close()
    for p in people:
        await p.close()
    return {"calls": calls, "renegotiations_per_call_per_s": 1, "messages_per_renegotiation": 18,
            "host_cpu_percent": cpu_percent(start, end),
            "relayed_per_s": round(stats["relayed"] / window, 1),
            "offer_answer_ms_p50": pct(stats["rtt"], 50), "offer_answer_ms_p99": pct(stats["rtt"], 99),
            "errors": stats["errors"], "host_rss_mb": round(usage.memory_info().rss / 2 ** 20, 1)}


# -- Chromium people ----------------------------------------------------------------------------
async def rep_page(browser, host: HostProcess, username: str):
    ctx = await browser.new_context(base_url=host.base)
    ctx.set_default_timeout(20000)
    await ctx.add_init_script(PC_SPY)
    page = await ctx.new_page()
    await page.goto(f"/s/{SITE}/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", host.password)
    await page.click(".login-form button[type=submit]")
    await page.wait_for_url(f"**/s/{SITE}/console")
    await page.locator(".start-session").first.click()
    number = re.sub(r"\D", "", await page.locator(".session-number").first.text_content() or "")
    return page, number


# -- 1. call set-up time ---------------------------------------------------------------------------
async def setup_times(host: HostProcess, runs: int) -> dict:
    from playwright.async_api import async_playwright
    times = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        rep, number = await rep_page(browser, host, rep_name(0))
        ctx = await browser.new_context(base_url=host.base)
        ctx.set_default_timeout(20000)
        await ctx.add_init_script(PC_SPY)
        cust = await ctx.new_page()
        await cust.goto(f"/s/{SITE}/")
        await cust.fill("input[name=number]", number)
        await cust.fill("input[name=name]", "Bench customer")
        await cust.click(".join-form button[type=submit]")
        await cust.wait_for_url(re.compile(r"/session/[0-9a-f]+$"))
        await rep.locator('[data-open="audio.panel"]').first.click()
        for _ in range(runs):
            await rep.locator(".audio-start").click()
            await cust.locator(".audio-accept").wait_for()
            ms = await cust.evaluate(ACCEPT_AND_TIME)
            if ms is not None:
                times.append(ms)
            await rep.locator(".audio-end").click()
            await rep.locator(".audio-start").wait_for()
        await browser.close()
    return {"runs": runs, "measured": len(times), "setup_ms_p50": pct(times, 50), "setup_ms_p90": pct(times, 90),
            "what": "customer clicks Accept -> audio bytes flowing both ways (Chromium <-> Chromium, loopback)"}


# -- 3. agent CPU per stream --------------------------------------------------------------------
async def agent_cpu(host: HostProcess, window: float) -> dict:
    from playwright.async_api import async_playwright

    from plugin_libs.calls.media.agent_media import AgentMedia
    from plugin_libs.calls.media.audio_tracks import PyAudioMicrophone, PyAudioSpeaker
    from plugin_libs.calls.media.video_tracks import OpenCVCamera
    from tests.media_samples import write_test_video       # test helpers, not part of the product
    from tests.pulse_sandbox import PulseSandbox
    import shutil

    pulse = None
    if shutil.which("pulseaudio"):
        pulse = PulseSandbox(mic_tone_hz=440).start()
        pulse.activate()
    me = psutil.Process()
    results: dict = {"sound": "PulseAudio sandbox (null sink, sine source)" if pulse else "none: audio not played"}
    tmp = tempfile.mkdtemp(prefix="bench-rtc-video-")
    video = write_test_video(os.path.join(tmp, "720p.avi"), 1280, 720, fps=15, seconds=2)

    def snap():
        t = me.cpu_times()
        return time.monotonic(), t.user + t.system

    async def measure() -> float:
        start = snap()
        await asyncio.sleep(window)
        return cpu_percent(start, snap())
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            rep, number = await rep_page(browser, host, rep_name(1))
            agent = Person(host.base)
            sid = await agent.join(number, "Bench agent")
            ws, me_id = await agent.ws(sid)
            calls = {"audio": asyncio.Event(), "video": asyncio.Event()}

            def on_event(m):
                if m["type"] in ("audio.call", "video.call") and m.get("active"):
                    calls[m["type"].split(".")[0]].set()
            media = AgentMedia(ws.send_json, me_id, microphone=PyAudioMicrophone if pulse else None,
                               speaker=PyAudioSpeaker(play=bool(pulse)),
                               camera=lambda limits: OpenCVCamera(video, **limits), on_event=on_event)
            runner = asyncio.create_task(media.run(ws))
            await asyncio.sleep(1)
            results["idle_cpu_percent"] = await measure()

            await rep.locator('[data-open="audio.panel"]').first.click()
            await rep.locator(".audio-start").click()
            await asyncio.wait_for(calls["audio"].wait(), 10)
            started = time.perf_counter()
            await media.join("audio")
            while not media.speaker.recent and time.perf_counter() - started < 20:
                await asyncio.sleep(0.005)
            results["agent_setup_ms"] = round((time.perf_counter() - started) * 1000, 1)
            await asyncio.sleep(2)
            results["audio_call_cpu_percent"] = await measure()

            await rep.locator('[data-open="video.panel"]').first.click()
            await rep.locator(".video-start").click()
            await asyncio.wait_for(calls["video"].wait(), 10)
            await rep.locator(".video-camera", has_text="Stop my camera").click()   # the rep's camera off
            await media.join("video", send_camera=True)
            await asyncio.sleep(3)
            results["audio_plus_720p_send_cpu_percent"] = await measure()
            results["video_frames_at_rep"] = await rep.evaluate(
                """() => [...document.querySelectorAll('.video-tile video')].map((v) => [v.videoWidth, v.videoHeight])""")
            await media.close()
            runner.cancel()
            await ws.close()
            await agent.close()
            await browser.close()
    finally:
        if pulse:
            pulse.stop()
    results["per_audio_stream_cpu_percent"] = round(results["audio_call_cpu_percent"] - results["idle_cpu_percent"], 1)
    results["per_720p_video_stream_cpu_percent"] = round(
        results["audio_plus_720p_send_cpu_percent"] - results["audio_call_cpu_percent"], 1)
    results["what"] = ("% of one core of the agent process; audio = Opus both ways + PyAudio capture/playback; "
                       "video = a 1280x720 OpenCV capture at 15 fps, VP8-encoded, sent to one browser")
    return results


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.rtc", description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=50, help="concurrent calls for the signalling load (default 50)")
    p.add_argument("--window", type=float, default=10, help="seconds of measured signalling load (default 10)")
    p.add_argument("--setups", type=int, default=10, help="call set-ups timed in Chromium (default 10)")
    p.add_argument("--agent-window", type=float, default=8, help="seconds per agent CPU phase (default 8)")
    p.add_argument("--skip", default="", help="comma separated parts to leave out: setup,signalling,agent")
    p.add_argument("--out", help="write the results JSON here too")
    return p.parse_args(argv)


async def main(args) -> dict:
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    host = HostProcess(reps=2 + math.ceil(args.calls / 10))
    results = {"benchmark": "rtc", "machine_cpus": psutil.cpu_count()}
    try:
        if "setup" not in skip:
            results["setup"] = await setup_times(host, args.setups)
        if "signalling" not in skip:
            results["signalling"] = await signalling_load(host, args.calls, args.window)
        if "agent" not in skip:
            results["agent"] = await agent_cpu(host, args.agent_window)
    finally:
        host.stop()
    return results


def run(argv=None) -> dict:
    args = parse_args(argv if argv is not None else [])
    results = asyncio.run(main(args))
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return results


if __name__ == "__main__":
    run(sys.argv[1:])
