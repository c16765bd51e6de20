"""Default backends: capture with mss, pointer position with python-xlib; input with pynput (mouse: XTest
on X11, SendInput on Windows, Quartz on macOS) and, on X11, keys through XTEST (agent/xtest_keyboard.py).

Each backend object is used from one worker thread only (mss and Xlib connections are not thread-safe);
the objects are created lazily in that thread.
"""
from __future__ import annotations

import select
import sys
import threading
import time

import numpy as np

from .hookspecs import hookimpl
from .keymap import IGNORED_KEYS, pynput_key
from .xtest_keyboard import XTestKeyboard

SETTLE = 0.003       # after the first damage event, wait this long so one update is one frame


class MssCapture:
    name = "mss"

    def __init__(self):
        self._local = threading.local()

    def _mss(self):
        grabber = getattr(self._local, "mss", None)
        if grabber is None:
            import mss
            grabber = self._local.mss = (getattr(mss, "MSS", None) or mss.mss)()
        return grabber

    def monitors(self) -> list[dict]:
        mons = self._mss().monitors
        return [{"index": i, "left": m["left"], "top": m["top"], "width": m["width"], "height": m["height"]}
                for i, m in enumerate(mons) if i > 0] or [
                {"index": 0, **{k: mons[0][k] for k in ("left", "top", "width", "height")}}]

    def grab(self, monitor: dict) -> np.ndarray:
        shot = self._mss().grab({k: monitor[k] for k in ("left", "top", "width", "height")})
        return np.frombuffer(shot.raw, dtype=np.uint8).reshape(shot.height, shot.width, 4)

    def changed(self) -> bool:
        """Whether anything was drawn since the last call (XDamage on the root window), so an idle screen
        is not even grabbed. True when the server has no DAMAGE extension."""
        try:
            state = getattr(self._local, "damage", None)
            if state is None:
                from Xlib import display as xdisplay
                d = xdisplay.Display()
                if not d.has_extension("DAMAGE"):
                    self._local.damage = False
                    return True
                d.damage_query_version()
                damage = d.screen().root.damage_create(3)          # DamageReportNonEmpty
                d.sync()
                state = self._local.damage = (d, damage)
                return True
            if state is False:
                return True
            d, damage = state
            seen = False
            while d.pending_events():
                d.next_event()
                seen = True
            if seen:
                d.damage_subtract(damage, 0, 0)
                d.sync()
            return seen
        except Exception:
            return True

    def damage(self, wait: float = 0.0):
        """The rectangles (x, y, w, h, screen coordinates) drawn since the last call, from XDamage raw
        rectangle events; waits up to ``wait`` seconds for the first drawing when there is none yet.
        None when the server has no DAMAGE extension (then anything may have changed)."""
        try:
            state = getattr(self._local, "raw_damage", None)
            if state is None:
                from Xlib import display as xdisplay
                d = xdisplay.Display()
                if not d.has_extension("DAMAGE"):
                    d.close()
                    self._local.raw_damage = False
                    return None
                d.damage_query_version()
                d.screen().root.damage_create(0)                   # DamageReportRawRectangles
                d.sync()
                self._local.raw_damage = d
                return None                                         # from now on: compare everything once
            if state is False:
                return None
            d = state
            if wait > 0 and not d.pending_events():
                ready, _, _ = select.select([d.fileno()], [], [], wait)
                if ready:
                    time.sleep(SETTLE)                              # let the burst of drawing finish
            rects = []
            while d.pending_events():
                area = getattr(d.next_event(), "area", None)
                if area is not None:
                    rects.append((area.x, area.y, area.width, area.height))
            return rects
        except Exception:
            return None

    def stop_damage(self) -> None:
        """Stop listening for drawing (no events pile up while nothing is shared)."""
        d = getattr(self._local, "raw_damage", None)
        if d:
            try:
                d.close()
            except Exception:
                pass
        self._local.raw_damage = None

    def cursor_shape(self):
        """The pointer's current image (XFixes): (serial, width, height, xhot, yhot, BGRA bytes), or None."""
        try:
            display = getattr(self._local, "xdisplay", None)
            if display is None:
                from Xlib import display as xdisplay
                display = self._local.xdisplay = xdisplay.Display()
            if not display.has_extension("XFIXES"):
                return None
            if not getattr(self._local, "xfixes_ready", False):
                display.xfixes_query_version()
                self._local.xfixes_ready = True
            img = display.xfixes_get_cursor_image(display.screen().root)
            pixels = np.array(img.cursor_image, dtype=np.uint32)     # ARGB, i.e. B, G, R, A in memory
            return img.cursor_serial, img.width, img.height, img.xhot, img.yhot, pixels.tobytes()
        except Exception:
            return None

    def cursor(self) -> tuple[int, int] | None:
        display = getattr(self._local, "xdisplay", None)
        try:
            if display is None:
                from Xlib import display as xdisplay
                display = self._local.xdisplay = xdisplay.Display()
            pointer = display.screen().root.query_pointer()
            return pointer.root_x, pointer.root_y
        except Exception:
            return None

    def close(self) -> None:
        grabber = getattr(self._local, "mss", None)
        if grabber is not None:
            grabber.close()
            self._local.mss = None
        display = getattr(self._local, "xdisplay", None)
        if display is not None:
            display.close()
            self._local.xdisplay = None
        damage = getattr(self._local, "damage", None)
        if damage:
            damage[0].close()
            self._local.damage = None
        self.stop_damage()


class PynputInput:
    """Injects input with pynput (Windows, macOS); created in the input thread (pynput needs DISPLAY at
    import on X11)."""
    name = "pynput"

    def __init__(self):
        self._mouse = self._keyboard = None

    def _mouse_controller(self):
        if self._mouse is None:
            from pynput import mouse
            self._mouse = mouse.Controller()
            self._buttons = {"left": mouse.Button.left, "middle": mouse.Button.middle,
                             "right": mouse.Button.right}
        return self._mouse

    def move(self, x: int, y: int) -> None:
        self._mouse_controller().position = (x, y)

    def button(self, name: str, down: bool) -> None:
        mouse = self._mouse_controller()
        (mouse.press if down else mouse.release)(self._buttons[name])

    def scroll(self, dx: int, dy: int) -> None:
        self._mouse_controller().scroll(dx, dy)

    def close(self) -> None:
        """Close the X connections now (in the input thread), not whenever the GC runs."""
        for controller in (self._mouse, self._keyboard):
            display = getattr(controller, "_display", None)
            if display is not None:
                try:
                    display.close()
                except Exception:
                    pass
                controller._display = _Closed()
        self._mouse = self._keyboard = None

    def key(self, code: str, key: str, down: bool) -> None:
        if key in IGNORED_KEYS:
            return
        if self._keyboard is None:
            from pynput import keyboard
            self._keyboard = keyboard.Controller()
        target = pynput_key(code, key)
        if target is None:
            raise ValueError(f"no key on this computer for {code!r} / {key!r}")
        (self._keyboard.press if down else self._keyboard.release)(target)


class XTestInput(PynputInput):
    """X11: the mouse through pynput (which uses XTest), keys through XTEST directly: pynput's X11
    keyboard sends synthetic events that Xt applications (xedit, xterm) ignore."""
    name = "xtest"

    def __init__(self):
        super().__init__()
        self.keys = XTestKeyboard()

    def key(self, code: str, key: str, down: bool) -> None:
        self.keys.key(code, key, down)

    def release_keys(self) -> None:
        """Release what the rep still holds down (control ended mid-shortcut) and restore the keymap."""
        self.keys.release_all()

    def close(self) -> None:
        try:
            self.keys.close()
        finally:
            super().close()


class _Closed:
    """Stands in for a closed X connection so pynput's __del__ has nothing left to close."""

    def close(self) -> None:
        pass


@hookimpl
def agent_capture_backend(config):
    return MssCapture()


def uses_x11() -> bool:
    return sys.platform not in ("win32", "darwin")


@hookimpl
def agent_input_backend(config):
    return XTestInput() if uses_x11() else PynputInput()
