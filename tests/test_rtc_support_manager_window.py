"""With a display: `support-manager join` (a subprocess on a real Xvfb screen) asks in its real Tk consent
dialog when the rep starts VoIP or video; the test clicks Allow / Deny with xdotool like a person. Once in
the call, its status window has Mute and Leave call buttons, clicked the same way. The rep is a real
WebSocket client; sound goes through a private PulseAudio server started by the test."""
from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.consent_dialog import centre, layout
from agent.status_window import control_at
from pulse_sandbox import PulseSandbox
from xscreen import xscreen  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(not (shutil.which("pulseaudio") and shutil.which("xdotool")),
                                reason="needs pulseaudio and xdotool (scripts/setup.sh)")


async def test_consent_dialog_allows_voip_denies_video_and_status_window_mutes_and_leaves(host, xscreen, tmp_path):
    pulse = PulseSandbox(mic_tone_hz=660).start()
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    log_path = tmp_path / "agent.log"
    log = open(log_path, "w")
    agent = xscreen.spawn([str(Path(sys.executable).parent / "support-manager"), "join", f"{host.base}/s/demo",
                           s["number"], "--name", "Carla", "--camera", "/nonexistent/camera.avi"],
                          env={k: v for k, v in pulse.env().items() if k.startswith("PULSE_")},
                          stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        joined = await rep_ws.expect(lambda m: m.get("type") == "session.joined"
                                     and m["participant"]["name"] == "Carla", timeout=15)
        me = joined["participant"]["id"]

        # VoIP: the real dialog asks; Allow. The Support Manager is then in the call.
        await rep_ws.request({"type": "audio.start"})
        dialog = await xscreen.wait_window("permission request")
        await xscreen.click_in_window(dialog, *centre(layout(0)["allow"]))
        await rep_ws.expect(lambda m: m.get("type") == "audio.members" and any(x["id"] == me for x in m["members"]),
                            timeout=15)

        # Video: Deny. The Support Manager stays out of the video call and sends nothing.
        await rep_ws.request({"type": "video.start"})
        dialog = await xscreen.wait_window("permission request")
        await xscreen.click_in_window(dialog, *centre(layout(0)["deny"]))
        for _ in range(100):
            if "You declined the video call" in log_path.read_text():
                break
            await asyncio.sleep(0.1)
        assert "You declined the video call" in log_path.read_text()
        state = await rep_ws.request({"type": "video.state"})
        assert me not in [x["id"] for x in state["members"]]
        assert not [m for m in rep_ws.seen if m.get("type") == "video.signal"]

        # The status window: Mute, then Leave call.
        window = await xscreen.wait_window("^Support Manager$")
        await asyncio.sleep(0.5)
        await xscreen.click_in_window(window, *centre(control_at(0)))
        await rep_ws.expect(lambda m: m.get("type") == "audio.members"
                            and any(x["id"] == me and x["muted"] for x in m["members"]), timeout=10)
        await asyncio.sleep(0.3)
        await xscreen.click_in_window(window, *centre(control_at(1)))
        await rep_ws.expect(lambda m: m.get("type") == "audio.members"
                            and all(x["id"] != me for x in m["members"]), timeout=10)
    finally:
        agent.terminate()
        try:
            agent.wait(5)
        except subprocess.TimeoutExpired:
            agent.kill()
        log.close()
        pulse.stop()


async def test_two_support_managers_see_each_others_camera_in_their_video_windows(host, xscreen, tmp_path):
    import numpy as np

    from agent.consent import Answer
    from agent_harness import ScriptedConsent
    from media_samples import write_test_video
    from test_rtc_support_manager import members, run_agent, stop, until
    video_file = write_test_video(str(tmp_path / "camera.avi"), 640, 480, fps=15, seconds=2)
    pulse = PulseSandbox(mic_tone_hz=660).start()
    pulse.activate()
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    second = (await rep_ws.request({"type": "session.new_number"}))["number"]
    a, a_task = await run_agent(host, s["number"], ScriptedConsent(Answer(True)), name="Carla", camera=video_file)
    b, b_task = await run_agent(host, second, ScriptedConsent(Answer(True)), name="Carlos", camera=video_file)
    try:
        await rep_ws.request({"type": "video.start"})
        ids = {a.me["id"], b.me["id"]}
        await members(rep_ws, "video", lambda ms: {m["id"] for m in ms if m["camera"]} >= ids, within=15)
        ca, cb = a.features["calls"], b.features["calls"]
        await until(lambda: ca.media.video.frames.get(b.me["id"], 0) >= 5 and cb.media.video.frames.get(a.me["id"], 0) >= 5,
                    f"no pictures between the agents: {ca.media.stats()} {cb.media.stats()}", 30)
        await until(lambda: ca.window.shown >= 2 and cb.window.shown >= 2, "the video windows got no pictures", 10)
        window = await xscreen.wait_window("Support Manager - video")
        await asyncio.sleep(1.0)
        geo = dict(line.split("=") for line in xscreen.xdotool("getwindowgeometry", "--shell", window).split())
        x, y = int(geo["X"]), int(geo["Y"])
        tile = xscreen.grab()[y + 4:y + 4 + 240, x + 4:x + 4 + 320, :3].astype(int)   # B, G, R
        # The synthetic camera: green about 128 everywhere, blue a ramp across the picture.
        assert abs(np.median(tile[:, :, 1]) - 128) < 25, np.median(tile[:, :, 1])
        assert tile[:, :, 0].mean(axis=0).std() > 30
        assert {ca.media.legs["video"].members[b.me["id"]]["name"], cb.media.legs["video"].members[a.me["id"]]["name"]} \
            == {"Carla", "Carlos"}
    finally:
        await stop(a, a_task)
        await stop(b, b_task)
        pulse.stop()
