"""Application windows on Windows through the Win32 API (ctypes, no extra package): the list a person
picks from (visible, titled, not minimised or cloaked top-level windows, in z-order) and what of one
window is visible (its rectangle minus the windows above it), in virtual-screen coordinates as mss uses.

Not tested on Windows yet (no Windows machine here); README's platform table says so. The geometry is
shared with X11 (windows.visible_part) and tested there."""
from __future__ import annotations

import ctypes
from ctypes import wintypes

from .windows import OWN_TITLES, visible_part

GW_HWNDPREV = 3
DWMWA_CLOAKED = 14
SM_XVIRTUALSCREEN, SM_YVIRTUALSCREEN, SM_CXVIRTUALSCREEN, SM_CYVIRTUALSCREEN = 76, 77, 78, 79
MIN_SIZE = 20

_api = None


def _win32():
    """user32 and dwmapi with argument types set, loaded on first use (the module imports anywhere)."""
    global _api
    if _api is None:
        user32 = ctypes.WinDLL("user32", use_last_error=True)
        try:
            dwmapi = ctypes.WinDLL("dwmapi")
        except OSError:
            dwmapi = None
        user32.EnumWindows.argtypes = [ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.HWND, wintypes.LPARAM),
                                       wintypes.LPARAM]
        user32.GetWindowTextLengthW.argtypes = [wintypes.HWND]
        user32.GetWindowTextW.argtypes = [wintypes.HWND, wintypes.LPWSTR, ctypes.c_int]
        user32.GetWindowRect.argtypes = [wintypes.HWND, ctypes.POINTER(wintypes.RECT)]
        user32.IsWindowVisible.argtypes = [wintypes.HWND]
        user32.IsIconic.argtypes = [wintypes.HWND]
        user32.IsWindow.argtypes = [wintypes.HWND]
        user32.GetWindow.argtypes = [wintypes.HWND, wintypes.UINT]
        user32.GetWindow.restype = wintypes.HWND
        _api = (user32, dwmapi)
    return _api


def close() -> None:
    """Nothing to close: Win32 calls hold no connection (the X11 version closes its display)."""


def _title(user32, hwnd) -> str:
    n = user32.GetWindowTextLengthW(hwnd)
    if n <= 0:
        return ""
    buf = ctypes.create_unicode_buffer(n + 1)
    user32.GetWindowTextW(hwnd, buf, n + 1)
    return buf.value


def _cloaked(dwmapi, hwnd) -> bool:
    """Windows 10+ keeps some windows 'visible' but cloaked (other virtual desktops, suspended apps)."""
    if dwmapi is None:
        return False
    value = ctypes.c_int(0)
    ok = dwmapi.DwmGetWindowAttribute(hwnd, DWMWA_CLOAKED, ctypes.byref(value), ctypes.sizeof(value))
    return ok == 0 and value.value != 0


def _rect(user32, dwmapi, hwnd) -> tuple[int, int, int, int] | None:
    if not user32.IsWindowVisible(hwnd) or user32.IsIconic(hwnd) or _cloaked(dwmapi, hwnd):
        return None
    r = wintypes.RECT()
    if not user32.GetWindowRect(hwnd, ctypes.byref(r)):
        return None
    return r.left, r.top, r.right - r.left, r.bottom - r.top


def list_windows() -> list[dict]:
    """Application windows a person can pick: [{"id", "title", "x", "y", "width", "height"}], topmost first."""
    user32, dwmapi = _win32()
    found: list[dict] = []

    @ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.HWND, wintypes.LPARAM)
    def each(hwnd, _lparam):
        title = _title(user32, hwnd)
        rect = _rect(user32, dwmapi, hwnd)
        if title and rect and not title.startswith(OWN_TITLES) and rect[2] >= MIN_SIZE and rect[3] >= MIN_SIZE:
            found.append({"id": str(int(hwnd)), "title": title, "x": rect[0], "y": rect[1],
                          "width": rect[2], "height": rect[3]})
        return True
    user32.EnumWindows(each, 0)
    return found


def visible_region(window_id: int) -> dict | None:
    """The window's rectangle on the virtual screen and the rectangles (relative to it) windows above cover."""
    user32, dwmapi = _win32()
    hwnd = wintypes.HWND(int(window_id))
    if not user32.IsWindow(hwnd):
        return None
    rect = _rect(user32, dwmapi, hwnd)
    if rect is None:
        return None
    above = []
    other = user32.GetWindow(hwnd, GW_HWNDPREV)   # the next window up in z-order
    while other:
        r = _rect(user32, dwmapi, other)
        if r is not None:
            above.append(r)
        other = user32.GetWindow(other, GW_HWNDPREV)
    screen = tuple(user32.GetSystemMetrics(i) for i in (SM_XVIRTUALSCREEN, SM_YVIRTUALSCREEN,
                                                         SM_CXVIRTUALSCREEN, SM_CYVIRTUALSCREEN))
    return visible_part(int(window_id), rect, above, screen)
