"""Remote typing reaches real X applications: Xt (xedit, xterm), Tk and GTK (zenity), without a window
manager (focus follows the pointer) and with one (openbox), through the Support Manager's default input
backend (XTEST). Letters, digits, shifted symbols, characters the keymap lacks (é, ă î ș ț, € on AltGr)
and shortcuts (ctrl+a, alt+f, ctrl+e, ctrl+u, ctrl+shift+x). The last test goes the whole way: a rep's
socket, the host, the Support Manager, xedit.
"""
from __future__ import annotations

import asyncio
import subprocess

import pytest

from agent.backends_x11 import XTestInput
from agent.consent import Answer
from agent.keymap import typed_char, x11_keysym
from agent_harness import ScriptedConsent, stop_agent
from test_desktop_sharing import Viewer, session_with_agent
from typing_apps import (key_events, keys_down, shortcut, start_openbox, start_xedit, start_xterm_cat,
                         start_zenity, wait_until)
from xscreen import Recorder, XScreen, xscreen  # noqa: F401  (fixture)

XEDIT_TYPED = 'Hi 12 !@#$%^&*()_+{}|:"<>? é'
XEDIT_SAVED = 'XHiY 12 !@#$%^&*()_+{}|:"<>? éZ\n'     # ctrl+a "X", alt+f "Y", ctrl+e "Z" Enter


def click(backend, point) -> None:
    backend.move(*point)
    backend.button("left", True)
    backend.button("left", False)


def inject(backend, events) -> None:
    for ev in events:
        backend.key(ev["code"], ev["key"], ev["down"])


def xedit_keys() -> list[dict]:
    return (key_events(XEDIT_TYPED) + shortcut("ControlLeft", "KeyA:a") + key_events("X")
            + shortcut("AltLeft", "KeyF:f") + key_events("Y") + shortcut("ControlLeft", "KeyE:e")
            + key_events("Z\n"))


def read_when(path, expected, timeout: float = 10):
    wait_until(lambda: path.exists() and path.read_bytes() == expected, timeout,
               what=f"{path.name} holding {expected!r} (it has {path.read_bytes() if path.exists() else None!r})")


@pytest.mark.parametrize("window_manager", [False, True], ids=["no-window-manager", "openbox"])
def test_typing_reaches_xt_tk_and_gtk_applications(tmp_path, monkeypatch, window_manager):
    screen = XScreen().start()
    monkeypatch.setenv("DISPLAY", screen.display)
    backend = XTestInput()
    try:
        if window_manager:
            start_openbox(screen)

        # Xt/Xaw: xedit (Latin-1 text; é is not on the US keymap: a spare keycode carries it)
        xedit = start_xedit(screen, tmp_path / "xedit.txt")
        click(backend, xedit["text"])
        inject(backend, xedit_keys())
        click(backend, xedit["save"])
        read_when(tmp_path / "xedit.txt", XEDIT_SAVED.encode("latin-1"))

        # Xt: xterm in UTF-8, which ignores synthetic key events; ctrl+u kills "zap" in the terminal line
        xterm = start_xterm_cat(screen, tmp_path / "xterm.txt")
        click(backend, xterm["text"])
        inject(backend, key_events("zap") + shortcut("ControlLeft", "KeyU:u") + key_events("Hi 12 ăîșț€ Ă\n")
               + shortcut("ControlLeft", "ShiftLeft", "KeyX:X") + shortcut("AltLeft", "KeyF:f")
               + key_events("\n") + shortcut("ControlLeft", "KeyD:d"))
        read_when(tmp_path / "xterm.txt", "Hi 12 ăîșț€ Ă\n\x18\x1bf\n".encode())

        # GTK: zenity's entry (before Tk: the Tk recorder takes the focus for good without a window manager); ctrl+a selects what was typed first, and the new text replaces it
        proc, zenity = start_zenity(screen)
        click(backend, zenity["text"])
        inject(backend, key_events("junk") + shortcut("ControlLeft", "KeyA:a") + key_events("Ab1! ăș€ț\n"))
        out, _ = proc.communicate(timeout=10)
        assert out.decode().strip() == "Ab1! ăș€ț"

        # Tk
        tk = Recorder(screen, tmp_path / "tk.jsonl", geometry="520x320+620+0")
        ready = wait_until(lambda: [e for e in tk.events() if e["event"] == "ready"], what="the Tk app")[0]
        ex, ey, ew, eh = ready["entry"]
        click(backend, (ex + 20, ey + eh // 2))
        inject(backend, key_events("Ab1! ăș€ț") + shortcut("ControlLeft", "ShiftLeft", "KeyX:X"))
        wait_until(lambda: [e for e in tk.events() if e["event"] == "text" and e["text"] == "Ab1! ăș€ț"],
                   what=f"the Tk entry holding the text ({tk.events()[-3:]})")
        combo = wait_until(lambda: [e for e in tk.events() if e["event"] == "key" and e["keysym"] == "X"])[0]
        assert combo["state"] & 0x5 == 0x5, combo          # Shift and Control held with the key

        assert not keys_down(screen.display), "a key was left held down"
        backend.close()
        assert not any(len(row.split()) > 3 for row in _spare_rows(screen)), "a spare keycode kept its binding"
    finally:
        backend.close()
        screen.stop()


def _spare_rows(screen: XScreen) -> list[str]:
    """The keymap rows of the keycodes a fresh Xvfb leaves empty (8, 93, 97, ...), as xmodmap prints them."""
    rows = subprocess.run(["xmodmap", "-pke"], env=screen.env, capture_output=True, text=True).stdout.splitlines()
    return [r for r in rows if r.split()[1] in EMPTY_ON_XVFB]


EMPTY_ON_XVFB = {"8", "93", "97", "103", "120", "132", "149", "154", "168", "178", "183", "184", "197", "202",
                 "217", "219", "222", "230", "248"}


def test_browser_key_events_map_to_keysyms():
    assert x11_keysym("Enter", "Enter") == (0xff0d, False)
    assert x11_keysym("AltRight", "AltGraph") == (0xfe03, False)       # ISO_Level3_Shift
    assert x11_keysym("AltRight", "Alt") == (0xffea, False)            # Alt_R
    assert x11_keysym("KeyA", "A") == (ord("A"), True)
    assert x11_keysym("BracketLeft", "ă") == (0x01000103, True)         # a Unicode keysym
    assert x11_keysym("KeyE", "€") == (0x20ac, True)                    # EuroSign
    assert typed_char("KeyF", "ƒ", shortcut=True) == "f"                # macOS alt+f
    assert typed_char("KeyQ", "a", shortcut=True) == "a"                # ctrl+a on AZERTY
    assert x11_keysym("Unidentified", "Unidentified") is None


async def test_rep_types_into_xedit_through_the_host(host, xscreen, tmp_path):
    """End to end: the rep's socket sends desktop.input key events, the host checks the control grant and
    relays them, the Support Manager types them into xedit, then clicks Save; held keys are let go when
    the customer stops control."""
    xedit = start_xedit(xscreen, tmp_path / "e2e.txt")
    rep, s, rep_ws, agent, task = await session_with_agent(host, ScriptedConsent(Answer(True)))
    try:
        await rep_ws.request({"type": "desktop.request", "level": "control"})
        viewer = Viewer(rep_ws)
        await viewer.pump(lambda v: v.frames >= 1 and v.seen("desktop.answer"))
        aid = agent.me["id"]

        def mouse(point):
            x, y = point
            return [{"t": "move", "x": x, "y": y}, {"t": "button", "b": "left", "down": True, "x": x, "y": y},
                    {"t": "button", "b": "left", "down": False, "x": x, "y": y}]

        events = mouse(xedit["text"]) + xedit_keys()
        for start in range(0, len(events), 40):            # as the viewer flushes: small batches
            await rep_ws.send({"type": "desktop.input", "agent": aid, "events": events[start:start + 40]})
        await rep_ws.send({"type": "desktop.input", "agent": aid, "events": mouse(xedit["save"])})
        path = tmp_path / "e2e.txt"
        await asyncio.to_thread(read_when, path, XEDIT_SAVED.encode("latin-1"))
        assert agent.features["desktop"].stats["input_errors"] == 0

        await rep_ws.send({"type": "desktop.input", "agent": aid, "events": [
            {"t": "key", "code": "ControlLeft", "key": "Control", "down": True}]})
        await asyncio.to_thread(wait_until, lambda: keys_down(xscreen.display), 10, "Ctrl held")
        await agent.features["desktop"].stop_all("stopped by the customer")
        await asyncio.to_thread(wait_until, lambda: not keys_down(xscreen.display), 10, "Ctrl let go")
    finally:
        await stop_agent(agent, task)
