"""Application windows on X11 through python-xlib: the list a person picks from, and what of one window is
visible (its rectangle minus the windows stacked above it). Uses the window manager's _NET_CLIENT_LIST
when there is one, else the top-level windows of the X tree. One Xlib connection per thread.
On Windows the same functions come from windows_win32.py (Win32 API through ctypes)."""
from __future__ import annotations

import sys
import threading

_local = threading.local()
OWN_TITLES = ("Support Manager",)


def _display():
    d = getattr(_local, "display", None)
    if d is None:
        from Xlib import display
        d = _local.display = display.Display()
    return d


def close() -> None:
    d = getattr(_local, "display", None)
    if d is not None:
        d.close()
        _local.display = None


def _title(d, win) -> str:
    try:
        net = win.get_full_property(d.intern_atom("_NET_WM_NAME"), d.intern_atom("UTF8_STRING"))
        if net and net.value:
            value = net.value
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        name = win.get_wm_name()
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        return name or ""
    except Exception:
        return ""


def _top_level(d, win):
    """The child of the root that holds this window (its frame, under a window manager)."""
    root = d.screen().root
    while True:
        tree = win.query_tree()
        if tree.parent is None or tree.parent.id == root.id or tree.parent.id == 0:
            return win
        win = tree.parent


def _rect(d, win) -> tuple[int, int, int, int] | None:
    from Xlib import X
    try:
        if win.get_attributes().map_state != X.IsViewable:
            return None
        geo = win.get_geometry()
        pos = win.translate_coords(d.screen().root, 0, 0)
        return -pos.x, -pos.y, geo.width, geo.height
    except Exception:
        return None


def list_windows() -> list[dict]:
    """Application windows a person can pick: [{"id", "title", "x", "y", "width", "height"}]."""
    from Xlib import X
    d = _display()
    root = d.screen().root
    clients = root.get_full_property(d.intern_atom("_NET_CLIENT_LIST"), X.AnyPropertyType)
    ids = list(clients.value) if clients else [w.id for w in root.query_tree().children]
    found = []
    for wid in ids:
        win = d.create_resource_object("window", wid)
        title = _title(d, win)
        rect = _rect(d, win)
        if not title or rect is None or title.startswith(OWN_TITLES) or rect[2] < 20 or rect[3] < 20:
            continue
        found.append({"id": str(wid), "title": title, "x": rect[0], "y": rect[1], "width": rect[2],
                      "height": rect[3]})
    return found


def visible_region(window_id: int) -> dict | None:
    """The window's rectangle on the screen and the rectangles (relative to it) other windows cover."""
    d = _display()
    screen = d.screen()
    win = d.create_resource_object("window", int(window_id))
    rect = _rect(d, win)
    if rect is None:
        return None
    top = _top_level(d, win)
    siblings = screen.root.query_tree().children          # bottom to top
    ids = [c.id for c in siblings]
    above = []
    if top.id in ids:
        above = [r for r in (_rect(d, other) for other in siblings[ids.index(top.id) + 1:]) if r is not None]
    return visible_part(int(window_id), rect, above, (0, 0, screen.width_in_pixels, screen.height_in_pixels))


def visible_part(window_id, rect, above, screen) -> dict | None:
    """A window's rectangle (x, y, width, height) clipped to the screen's, and the parts of it (relative
    to its clipped top-left, as x0, y0, x1, y1) that the windows stacked above it cover. Shared by the
    X11 and Win32 window listings."""
    x, y, w, h = rect
    sx, sy, sw, sh = screen
    x0, y0 = max(sx, x), max(sy, y)
    x1, y1 = min(sx + sw, x + w), min(sy + sh, y + h)
    if x1 <= x0 or y1 <= y0:
        return None
    covered = []
    for r in above:
        ox0, oy0 = max(x0, r[0]), max(y0, r[1])
        ox1, oy1 = min(x1, r[0] + r[2]), min(y1, r[1] + r[3])
        if ox1 > ox0 and oy1 > oy0:
            covered.append((ox0 - x0, oy0 - y0, ox1 - x0, oy1 - y0))
    return {"index": window_id, "left": x0, "top": y0, "width": x1 - x0, "height": y1 - y0,
            "covered": covered}


if sys.platform == "win32":  # the same three functions through the Win32 API (windows_win32.py)
    from .windows_win32 import close, list_windows, visible_region  # noqa: E402,F401,F811
