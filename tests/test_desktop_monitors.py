"""Two monitors on a real X server: Xvfb with two RandR 1.5 monitors (``xrandr --setmonitor``), which is
what mss reads on Linux. The rep picks the second monitor and gets only its pixels; input lands on that
monitor's coordinates, and input meant for the other monitor is refused."""
from __future__ import annotations

import asyncio
import subprocess
import sys

import mss
import numpy as np
import pytest

from agent.consent import Answer
from agent_harness import InputSpy, ScriptedConsent, start_agent, stop_agent
from test_desktop_sharing import Viewer
from xscreen import Recorder, XScreen

COVER = """
import sys, tkinter as tk
root = tk.Tk(); root.title(sys.argv[1]); root.geometry(sys.argv[2]); root.configure(background=sys.argv[3])
root.mainloop()
"""
MAGENTA = (255, 0, 255)


@pytest.fixture
def two_monitors(monkeypatch):
    screen = XScreen("1600x600x24").start()
    monkeypatch.setenv("DISPLAY", screen.display)
    for args in (["left", "800/200x600/150+0+0", "screen"], ["right", "800/200x600/150+800+0", "none"]):
        subprocess.run(["xrandr", "--setmonitor", *args], env=screen.env, check=True, capture_output=True, timeout=20)
    yield screen
    screen.stop()


def whole_screen(display: str) -> np.ndarray:
    with mss.MSS(display=display) as m:
        shot = m.grab(m.monitors[0])
        return np.frombuffer(shot.bgra, np.uint8).reshape(shot.height, shot.width, 4)[:, :, 2::-1]


async def settle(viewer: Viewer) -> None:
    await asyncio.sleep(0.5)
    try:
        await viewer.pump(lambda v: False, timeout=1.0)
    except TimeoutError:
        pass


async def test_rep_picks_the_second_monitor_sees_only_it_and_input_lands_there(host, two_monitors, tmp_path):
    screen = two_monitors
    screen.spawn([sys.executable, "-c", COVER, "Left", "800x600+0+0", "#ff00ff"])       # fills monitor 1
    app = Recorder(screen, tmp_path / "rec.jsonl", geometry="520x320+900+100")        # on monitor 2
    ready = await app.ready()
    await screen.wait_window("^Left$")
    inputs = InputSpy()
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    agent, task = await start_agent(host, s["number"], consent=ScriptedConsent(Answer(True)),
                                    extra=[("input-spy", inputs)])
    try:
        state = await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and m["agents"])
        monitors = state["agents"][0]["monitors"]
        assert [(m["left"], m["width"], m["height"]) for m in monitors] == [(0, 800, 600), (800, 800, 600)]
        aid = agent.me["id"]
        await rep_ws.request({"type": "desktop.request", "level": "control"})
        viewer = Viewer(rep_ws)
        await viewer.pump(lambda v: v.frames >= 1 and v.seen("desktop.answer"))
        first = monitors[0]["index"]
        assert viewer.monitors[0] == first and viewer.canvas.shape[:2] == (600, 800)

        second = monitors[1]["index"]
        bad = await rep_ws.request({"type": "desktop.pick_monitor", "agent": aid, "monitor": 7})
        assert bad["type"] == "error" and "no such monitor" in bad["error"]
        picked = await rep_ws.request({"type": "desktop.pick_monitor", "agent": aid, "monitor": second})
        assert picked["type"] == "desktop.monitor_picked"
        await viewer.pump(lambda v: second in v.monitors)
        await settle(viewer)
        assert viewer.canvas.shape[:2] == (600, 800)
        shown = viewer.canvas.astype(int)
        truth = whole_screen(screen.display).astype(int)
        assert np.abs(shown - truth[:, 800:1600]).mean() < 2                  # exactly monitor 2's pixels
        assert MAGENTA not in {tuple(c) for c in viewer.canvas.reshape(-1, 3)[::5]}   # nothing of monitor 1
        told = [m for m in viewer.seen("desktop.state") if m["agents"] and m["agents"][0]["monitor"] == second]
        assert told, "the dashboard is told which monitor is shown"

        # a click at the button as the rep sees it (monitor-relative) reaches the app on monitor 2
        bx, by, bw, bh = ready["button"]
        cx, cy = bx - 800 + bw // 2, by + bh // 2
        await rep_ws.send({"type": "desktop.input", "agent": aid, "events": [
            {"t": "move", "x": cx, "y": cy}, {"t": "button", "b": "left", "down": True, "x": cx, "y": cy},
            {"t": "button", "b": "left", "down": False, "x": cx, "y": cy}]})
        await app.wait_for(lambda evs: [e for e in evs if e["event"] == "click"])
        assert ("move", cx + 800, cy) in inputs.calls
        # a point beyond monitor 2's width (it would be on no monitor of the share) is refused
        await rep_ws.send({"type": "desktop.input", "agent": aid, "id": "out",
                           "events": [{"t": "button", "b": "left", "down": True, "x": 850, "y": 10}]})
        await viewer.pump(lambda v: [m for m in v.texts if m.get("re") == "out"])
        out = [m for m in viewer.texts if m.get("re") == "out"][0]
        assert out["type"] == "error" and "outside the shared screen" in out["error"]
        assert len([c for c in inputs.calls if c[0] == "button"]) == 2
    finally:
        await stop_agent(agent, task)


@pytest.mark.browser
async def test_dashboard_offers_the_monitors_and_shows_the_one_picked(host, browser, two_monitors, tmp_path):
    """The rep's dashboard in Chromium: a monitor picker appears for two monitors; picking the second one
    redraws the canvas with exactly that monitor's pixels."""
    from test_desktop_e2e import (canvas_pixels, rep_dashboard, request_carla_screen, spawn_support_manager,
                                  stop_support_manager)
    screen = two_monitors
    screen.spawn([sys.executable, "-c", COVER, "Left", "800x600+0+0", "#ff00ff"])
    app = Recorder(screen, tmp_path / "rec.jsonl", geometry="520x320+900+100")
    await app.ready()
    await screen.wait_window("^Left$")
    ctx, page, number = await rep_dashboard(browser, host)
    agent, log = spawn_support_manager(screen, ["join", f"{host.base}/s/demo", number, "--name", "Carla"],
                                       tmp_path / "agent.log")
    try:
        await request_carla_screen(page, screen, "desktop.request_view")
        viewer = page.locator(".desktop-viewer[data-plugin=desktop]")
        await viewer.locator("canvas[data-frames]").wait_for(timeout=15000)
        picker = viewer.locator("select.desktop-monitor")
        await picker.wait_for(state="visible", timeout=10000)
        options = await picker.locator("option").all_text_contents()
        assert len(options) == 2 and all("800x600" in o for o in options)
        await asyncio.sleep(1.0)
        assert (await canvas_pixels(page))[::9, ::9, :3].reshape(-1, 3).tolist().count([255, 0, 255]) > 1000

        await picker.select_option(index=1)
        for _ in range(60):                     # until the canvas shows the other monitor
            await asyncio.sleep(0.25)
            shown = (await canvas_pixels(page))[:, :, :3]
            if [255, 0, 255] not in shown[::9, ::9].reshape(-1, 3).tolist():
                break
        await asyncio.sleep(1.0)
        shown = (await canvas_pixels(page))[:, :, :3].astype(int)
        assert shown.shape[:2] == (600, 800)
        assert np.abs(shown - whole_screen(screen.display)[:, 800:1600].astype(int)).mean() < 2
    finally:
        await ctx.close()
        stop_support_manager(agent, log)
