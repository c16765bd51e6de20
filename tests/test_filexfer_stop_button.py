"""With a display: the customer takes file access back with the "Stop file access" button in the Support
Manager's real Tk status window, clicked with a real pointer (xdotool) on a real Xvfb screen, while a large
file is on its way from the customer to the rep.

Everything is real: the host, the Support Manager (in the test's event loop, serving a temporary folder),
its consent dialog (Allow is clicked like a person would), its status window, and the rep's WebSocket.
The test checks what the people involved would notice: the rep's transfer fails saying access was revoked,
nobody holds file access any more, browsing is refused, the host keeps neither a partial nor a stored copy,
and the button is gone from the status window."""
from __future__ import annotations

import asyncio
import os
import shutil

import pytest

from agent.app import SupportManager
from agent.consent import DialogConsent
from agent.consent_dialog import centre, layout
from agent.plugin_manager import make_plugin_manager
from agent.status import WindowStatus
from agent.status_window import HEIGHT, WIDTH, control_at, window_height
from agent_harness import launch, stop_agent
from filexfer_advanced_helpers import P, RepSocket, sha256_of
from xscreen import xscreen  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(not shutil.which("xdotool"), reason="needs xdotool (scripts/setup.sh)")

SIZE = 400 * 1024 * 1024    # large enough to be still in flight when the click lands


def write_random(path, size: int) -> None:
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 << 20)
            f.write(os.urandom(n))
            left -= n


def geometry(xscreen, window: str) -> dict:
    out = xscreen.xdotool("getwindowgeometry", "--shell", window)
    return {k: int(v) for k, v in (line.split("=") for line in out.split()) if k in ("X", "Y", "WIDTH", "HEIGHT")}


async def until(check, what: str, timeout: float = 10):
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(what)


async def test_stop_file_access_button_revokes_access_during_a_transfer(host, xscreen, tmp_path):
    root = tmp_path / "home"
    root.mkdir()
    write_random(root / "big.bin", SIZE)
    original = sha256_of(root / "big.bin")

    rep = await host.rep()
    s = await rep.start_session()
    ws = RepSocket(await rep.ws(s["id"]))
    # The real Support Manager: with DISPLAY set it asks in its Tk dialog and shows its Tk status window.
    agent = SupportManager(f"{host.base}/s/demo", s["number"], "Carla", pm=make_plugin_manager(),
                           config={"files_root": str(root)})
    assert isinstance(agent.consent, DialogConsent) and isinstance(agent.status, WindowStatus)
    agent, task = await launch(agent)
    try:
        await ws.expect(lambda m: m.get("type") == f"{P}.state" and m["agents"])

        # The rep asks for file access; the customer clicks Allow in the real dialog.
        assert (await ws.request({"type": f"{P}.request"}))["type"] == f"{P}.requested"
        dialog = await xscreen.wait_window("permission request")
        await asyncio.sleep(0.5)
        await xscreen.click_in_window(dialog, *centre(layout(0)["allow"]))
        assert (await ws.expect(f"{P}.answer"))["allow"] is True
        await ws.expect(lambda m: m.get("type") == f"{P}.state" and m["grants"])

        # The status window shows who can reach the files, with the Stop file access button.
        window = await xscreen.wait_window("^Support Manager$")
        button = [{"id": "stop files", "label": "Stop file access"}]
        await until(lambda: agent.status.extra.get(P, ("", []))[1] == button, "no Stop file access button")
        await until(lambda: geometry(xscreen, window).get("HEIGHT", 0) > HEIGHT,
                    "the status window did not grow to show its button")
        assert geometry(xscreen, window)["WIDTH"] == WIDTH
        await asyncio.sleep(0.5)
        # The pointer rests on the button (the first plugin button) before the transfer starts, so the
        # click itself is instant once the transfer is known to be running.
        bx, by = centre(control_at(0))
        xscreen.xdotool("mousemove", "--window", window, str(bx), str(by))
        geo = geometry(xscreen, window)
        pointer = dict(kv.split(":") for kv in xscreen.xdotool("getmouselocation").split()[:2])
        assert (int(pointer["x"]), int(pointer["y"])) == (geo["X"] + bx, geo["Y"] + by), (pointer, geo)

        # A large file from the customer to the rep: wait until it is really flowing.
        started = await ws.request({"type": f"{P}.fetch", "path": "big.bin"})
        assert started["type"] == f"{P}.started", started
        tid = started["transfer"]["id"]
        running = await ws.expect(lambda m: m.get("type") == f"{P}.progress" and m["id"] == tid
                                  and m["done"] > 0, timeout=30)
        assert running["status"] == "running" and running["done"] < SIZE

        ws.seen.clear()                      # only what comes after the click counts
        xscreen.xdotool("click", "1")        # the customer clicks "Stop file access"

        # The rep: the transfer failed because access was revoked (it did not complete).
        end = await ws.expect(lambda m: m.get("type") in (f"{P}.failed", f"{P}.done") and m["id"] == tid,
                              timeout=20)
        assert end["type"] == f"{P}.failed", f"the transfer completed before the click took effect: {end}"
        assert "revoked" in end["error"], end
        assert end["done"] < SIZE

        # Nobody holds file access, and nothing is in flight.
        state = await ws.expect(lambda m: m.get("type") == f"{P}.state" and not m["grants"], timeout=10)
        assert not state["transfers"] and state["agents"]
        assert not (await ws.request({"type": f"{P}.state"}))["grants"]

        # Browsing is refused from now on, with a clear error.
        refused = await ws.request({"type": f"{P}.list", "path": ""})
        assert refused["type"] == "error", refused
        assert "not allowed you" in refused["error"], refused

        # The Support Manager dropped the grant and its sending task, and told the person.
        files = agent.features[P]
        await until(lambda: not files.grants and not files.senders, "the Support Manager still sends or grants")
        assert "File access stopped." in agent.reports

        # Nothing kept on the host: no partial file, no stored copy. The customer's file is untouched.
        assert not list(host.data_dir.joinpath(P, "tmp").glob("*.part"))
        files_dir = host.data_dir / P / "files"
        assert not files_dir.exists() or not list(files_dir.iterdir())
        assert sha256_of(root / "big.bin") == original
        assert not [p for p in root.rglob("*") if p.name.endswith(".part")]

        # The button is gone from the status window: the plugin's line and buttons are empty, and the real
        # window shrank back to its size without plugin buttons (and with no permission listed).
        assert agent.status.extra[P] == ("", [])
        await until(lambda: geometry(xscreen, window).get("HEIGHT") == window_height(False, 0),
                    "the status window still has room for the Stop file access button")

        # The Support Manager itself stays connected.
        assert agent.link.ws is not None and not agent.link.finished
    finally:
        await stop_agent(agent, task)
