"""Real applications to type into on an Xvfb screen (xedit and xterm: Xt; the Tk recorder; zenity: GTK),
an optional window manager (openbox), and what a rep's browser sends for a text (KeyboardEvent code/key).
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

from xscreen import XScreen

US_SHIFTED = dict(zip('~!@#$%^&*()_+{}|:"<>?', "`1234567890-=[]\\;',./"))
PUNCT_CODES = {"`": "Backquote", "-": "Minus", "=": "Equal", "[": "BracketLeft", "]": "BracketRight",
               "\\": "Backslash", ";": "Semicolon", "'": "Quote", ",": "Comma", ".": "Period", "/": "Slash",
               " ": "Space"}
# a rep with a Romanian (standard) keyboard: ă î ș ț on their own keys, € on AltGr+e
RO_CODES = {"ă": "BracketLeft", "î": "BracketRight", "ș": "Semicolon", "ț": "Quote", "â": "Backslash"}


def key_events(text: str) -> list[dict]:
    """The keydown/keyup events a rep's Chromium sends for ``text`` (input events, as the viewer queues)."""
    out = []

    def tap(code, key, mod=None):
        if mod:
            out.append({"t": "key", "code": mod[0], "key": mod[1], "down": True})
        out.extend([{"t": "key", "code": code, "key": key, "down": True},
                    {"t": "key", "code": code, "key": key, "down": False}])
        if mod:
            out.append({"t": "key", "code": mod[0], "key": mod[1], "down": False})

    for ch in text:
        if ch == "\n":
            tap("Enter", "Enter")
        elif ch == "€":
            tap("KeyE", "€", ("AltRight", "AltGraph"))
        elif ch.lower() in RO_CODES:
            tap(RO_CODES[ch.lower()], ch, ("ShiftLeft", "Shift") if ch.isupper() else None)
        elif ch.isascii() and ch.isalpha():
            tap("Key" + ch.upper(), ch, ("ShiftLeft", "Shift") if ch.isupper() else None)
        elif ch.isdigit():
            tap("Digit" + ch, ch)
        elif ch in US_SHIFTED:
            base = US_SHIFTED[ch]
            tap("Digit" + base if base.isdigit() else PUNCT_CODES[base], ch, ("ShiftLeft", "Shift"))
        else:
            tap(PUNCT_CODES.get(ch, "Unidentified"), ch)
    return out


def shortcut(*keys: str) -> list[dict]:
    """A shortcut as the browser sends it: "ControlLeft", "ShiftLeft", then the key ("KeyX:X")."""
    *mods, last = keys
    code, key = last.split(":")
    names = {"ControlLeft": "Control", "ShiftLeft": "Shift", "AltLeft": "Alt"}
    downs = [{"t": "key", "code": m, "key": names[m], "down": True} for m in mods]
    return downs + [{"t": "key", "code": code, "key": key, "down": True},
                    {"t": "key", "code": code, "key": key, "down": False}] + \
        [{**d, "down": False} for d in reversed(downs)]


def wait_until(check, timeout: float = 15, what: str = "it"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def window_of(screen: XScreen, *search: str) -> tuple[int, int, int, int]:
    """(x, y, width, height) on the screen of the first visible window the xdotool search finds."""
    def find():
        found = screen.xdotool("search", "--onlyvisible", *search).split()
        if not found:
            return None
        info = subprocess.run(["xwininfo", "-id", found[0]], env=screen.env, capture_output=True,
                              text=True).stdout       # (xdotool counts a window manager's frame twice)
        geo = dict(line.strip().split(":", 1) for line in info.splitlines() if line.count(":") == 1)
        return tuple(int(geo[k]) for k in ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height"))
    return wait_until(find, what=f"a window {search}")


def start_openbox(screen: XScreen) -> None:
    screen.spawn(["openbox", "--sm-disable"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: "window id" in subprocess.run(
        ["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], env=screen.env, capture_output=True, text=True).stdout,
        what="openbox starting")


def start_xedit(screen: XScreen, path: Path):
    screen.spawn(["xedit", "-geometry", "600x440+0+0", str(path)], env={"LC_ALL": "C"},
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    x, y, w, h = window_of(screen, "--class", "Xedit")
    return {"text": (x + 200, y + 250), "save": (x + 65, y + 14)}


def start_xterm_cat(screen: XScreen, path: Path):
    """xterm (UTF-8) running ``cat > path``: what is typed lands in the file line by line."""
    screen.spawn(["xterm", "-geometry", "60x8+0+460", "-xrm", "XTerm*metaSendsEscape: true", "-title",
                  "typing-xterm", "-e", "sh", "-c", f"stty -echo; cat > '{path}'"], env={"LC_ALL": "C.UTF-8"},
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    x, y, w, h = window_of(screen, "--name", "typing-xterm")
    return {"text": (x + w // 2, y + h // 2)}


def start_zenity(screen: XScreen):
    """A GTK entry dialog: prints the typed text on stdout when Enter is pressed."""
    proc = screen.spawn(["zenity", "--entry", "--title", "typing-zenity", "--text", "Type here"],
                        env={"LC_ALL": "C.UTF-8", "NO_AT_BRIDGE": "1", "GDK_BACKEND": "x11"},
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    x, y, w, h = window_of(screen, "--name", "typing-zenity")
    time.sleep(1.5)     # GTK drops keys for a moment after its window shows (xdotool's typing too)
    return proc, {"text": (x + w // 2, y + h // 2)}


def keys_down(display: str) -> set[int]:
    """Keycodes the X server holds down now."""
    from Xlib import display as xdisplay
    d = xdisplay.Display(display)
    try:
        bits = d.query_keymap()
    finally:
        d.close()
    return {i * 8 + b for i, byte in enumerate(bits) for b in range(8) if byte & (1 << b)}
