"""Application sharing: the customer picks one window in the real consent dialog (clicked with xdotool);
only that window's pixels reach the rep, even where another window covers it; input outside it is refused."""
from __future__ import annotations

import asyncio
import sys

import numpy as np

from agent.consent_dialog import centre, layout
from agent_harness import InputSpy, start_agent, stop_agent
from plugins.appshare import windows
from test_desktop_sharing import Viewer
from xscreen import Recorder, xscreen  # noqa: F401  (fixture)

COVER = """
import sys, tkinter as tk
root = tk.Tk(); root.title(sys.argv[1]); root.geometry(sys.argv[2]); root.configure(background=sys.argv[3])
root.mainloop()
"""
MAGENTA, CYAN = (255, 0, 255), (0, 255, 255)


async def test_only_the_chosen_window_is_sent_and_input_stays_inside(host, xscreen, tmp_path):
    app = Recorder(xscreen, tmp_path / "rec.jsonl")        # 520x320 at 0,0
    ready = await app.ready()
    xscreen.spawn([sys.executable, "-c", COVER, "Cover", "200x150+400+200", "#ff00ff"])   # over the app
    xscreen.spawn([sys.executable, "-c", COVER, "Beside", "200x150+560+0", "#00ffff"])    # next to it
    await xscreen.wait_window("^Cover$")
    await xscreen.wait_window("^Beside$")
    await asyncio.sleep(0.5)
    titles = [w["title"] for w in windows.list_windows()]
    assert "Recorder test app" in titles and "Cover" in titles
    windows.close()

    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    inputs = InputSpy()
    agent, task = await start_agent(host, s["number"], consent="real", extra=[("input-spy", inputs)])
    try:
        await rep_ws.expect(lambda m: m.get("type") == "appshare.state" and m["agents"])
        reply = await rep_ws.request({"type": "appshare.request", "level": "control"})
        assert reply["type"] == "appshare.requested", reply
        dialog = await xscreen.wait_window("permission request")
        await asyncio.sleep(0.4)
        places = layout(len(titles))
        await xscreen.click_in_window(dialog, *centre(places["choices"][titles.index("Recorder test app")]))
        await xscreen.click_in_window(dialog, *centre(places["allow"]))

        viewer = Viewer(rep_ws)
        await viewer.pump(lambda v: v.frames >= 1 and v.seen("appshare.answer"))
        assert viewer.seen("appshare.answer")[0]["allow"] is True
        await asyncio.sleep(0.5)
        try:
            await viewer.pump(lambda v: False, timeout=1.0)
        except TimeoutError:
            pass
        shown = viewer.canvas
        assert shown.shape[:2] == (320, 520)                   # exactly the window
        colours = {tuple(c) for c in shown.reshape(-1, 3)[::7]}
        assert MAGENTA not in colours and CYAN not in colours
        assert (np.abs(shown[200:320, 400:520].astype(int) - (40, 40, 40)).max()) <= 2   # covered: blanked
        screen = xscreen.grab()[:320, :400, 2::-1].astype(int)
        assert np.abs(shown[:, :400].astype(int)[:320] - screen).mean() < 2             # the rest: the app

        aid = agent.me["id"]
        bx, by, bw, bh = ready["button"]
        cx, cy = bx + bw // 2, by + bh // 2
        await rep_ws.send({"type": "appshare.input", "agent": aid, "events": [
            {"t": "move", "x": cx, "y": cy}, {"t": "button", "b": "left", "down": True, "x": cx, "y": cy},
            {"t": "button", "b": "left", "down": False, "x": cx, "y": cy}]})
        await app.wait_for(lambda evs: [e for e in evs if e["event"] == "click"])
        await rep_ws.send({"type": "appshare.input", "agent": aid, "id": "out",
                           "events": [{"t": "button", "b": "left", "down": True, "x": 600, "y": 50}]})
        await viewer.pump(lambda v: [m for m in v.texts if m.get("re") == "out"])
        err = [m for m in viewer.texts if m.get("re") == "out"][0]
        assert err["type"] == "error" and "outside the shared screen" in err["error"]
        assert len([c for c in inputs.calls if c[0] == "button"]) == 2
        rows = await host.db_read(lambda db: [r["kind"] for r in db["session_events"].rows_where(
            "session_id = ? and kind like 'appshare.%'", [s["id"]])])
        assert "appshare.requested" in rows and "appshare.granted" in rows
    finally:
        await stop_agent(agent, task)
