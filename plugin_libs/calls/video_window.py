"""The Support Manager's video window: the cameras of the others in a video call.

``VideoWindow`` (used by the agent's calls, agent_calls.py) runs the window as its own small program
(``python -m plugin_libs.calls.video_window``), so Tk never shares a thread with the event loop, and feeds
it JSON lines on stdin: {"id", "name", "png": base64} for a new picture of a member, {"id", "gone": true}
when that member's picture stopped. Pictures are scaled down to a small tile (at most 320x240) and sent
a few times a second; a picture still being encoded when the next one arrives is skipped.
"""
from __future__ import annotations

import asyncio
import base64
import json
import logging
import sys

from agent.window_process import close_window, poll_lines, stdin_lines

log = logging.getLogger("support_manager.video_window")
TITLE = "Support Manager - video"
TILE_W, TILE_H = 320, 240


def encode_tile(image) -> str:
    """A BGR picture -> base64 PNG, scaled down to fit a tile (runs in a worker thread)."""
    import cv2
    h, w = image.shape[:2]
    scale = min(1.0, TILE_W / w, TILE_H / h)
    if scale < 1.0:
        image = cv2.resize(image, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    ok, png = cv2.imencode(".png", image)
    return base64.b64encode(png.tobytes()).decode() if ok else ""


class VideoWindow:
    def __init__(self, names=None):
        self.names = names or (lambda key: key)
        self.proc: asyncio.subprocess.Process | None = None
        self.busy: set[str] = set()
        self.lock = asyncio.Lock()
        self.shown = 0
        self.closed = False

    def show(self, key: str, image) -> None:
        if key in self.busy:
            return
        self.busy.add(key)
        asyncio.ensure_future(self._show(key, image))

    def gone(self, key: str) -> None:
        asyncio.ensure_future(self._write({"id": key, "gone": True}))

    async def _show(self, key: str, image) -> None:
        try:
            png = await asyncio.get_running_loop().run_in_executor(None, encode_tile, image)
            if png:
                await self._write({"id": key, "name": str(self.names(key))[:60], "png": png})
                self.shown += 1
        finally:
            self.busy.discard(key)

    async def _write(self, message: dict) -> None:
        async with self.lock:
            if self.closed:          # a picture encoded while the Support Manager stopped: no new window
                return
            try:
                if self.proc is None or self.proc.returncode is not None:
                    if message.get("gone"):
                        return
                    self.proc = await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "plugin_libs.calls.video_window", stdin=asyncio.subprocess.PIPE)
                self.proc.stdin.write((json.dumps(message) + "\n").encode())
                await self.proc.stdin.drain()
            except (ConnectionError, RuntimeError, OSError) as exc:
                log.warning("video window: %s", exc)

    async def close(self) -> None:
        async with self.lock:
            self.closed = True
            await close_window(self.proc)


def main() -> int:
    import tkinter as tk
    lines = stdin_lines()
    root = tk.Tk(className="SupportManagerVideo")
    root.title(TITLE)
    root.geometry(f"+{sys.argv[1] if len(sys.argv) > 1 else 20}+{sys.argv[2] if len(sys.argv) > 2 else 20}")
    tiles: dict[str, dict] = {}

    def tile(key: str) -> dict:
        t = tiles.get(key)
        if t is None:
            frame = tk.Frame(root)
            picture = tk.Label(frame, width=TILE_W, height=TILE_H, bg="black")
            name = tk.Label(frame, text="")
            picture.pack()
            name.pack()
            frame.pack(side="left", padx=4, pady=4)
            t = tiles[key] = {"frame": frame, "picture": picture, "name": name, "photo": None}
        return t

    def show(msg: dict) -> None:
        key = str(msg.get("id"))
        if msg.get("gone"):
            t = tiles.pop(key, None)
            if t is not None:
                t["frame"].destroy()
            return
        t = tile(key)
        photo = tk.PhotoImage(data=msg["png"])
        t["picture"].configure(image=photo, width=photo.width(), height=photo.height())
        t["photo"] = photo          # Tk shows it only while Python holds it
        t["name"].configure(text=msg.get("name", ""))
    poll_lines(root, lines, show, 40, ignored=(ValueError, KeyError, tk.TclError))
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
