"""A real X screen for desktop-sharing tests: Xvfb on a free display number, started and killed by PID,
plus helpers to run programs on it (the Tk recorder app, xdotool)."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def free_display() -> int:
    for n in range(70 + os.getpid() % 50, 400):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number")


class XScreen:
    def __init__(self, size: str = "1280x800x24"):
        self.size = size
        self.proc: subprocess.Popen | None = None
        self.display = ""
        self.children: list[subprocess.Popen] = []

    def start(self) -> "XScreen":
        for _ in range(5):
            n = free_display()
            self.proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", self.size, "-nolisten", "tcp",
                                          "-noreset"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if Path(f"/tmp/.X11-unix/X{n}").exists() and self.proc.poll() is None:
                    self.display = f":{n}"
                    return self
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
            self.proc.kill()
            self.proc.wait()
        raise RuntimeError("Xvfb did not start")

    @property
    def env(self) -> dict:
        return {**os.environ, "DISPLAY": self.display}

    def spawn(self, args: list[str], **kw) -> subprocess.Popen:
        proc = subprocess.Popen(args, env={**self.env, **kw.pop("env", {})}, **kw)
        self.children.append(proc)
        return proc

    def xdotool(self, *args: str) -> str:
        return subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True,
                              timeout=20).stdout.strip()

    async def wait_window(self, name: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.xdotool("search", "--name", name)
            if found:
                return found.split()[-1]
            await asyncio.sleep(0.1)
        raise AssertionError(f"no window named {name!r} appeared")

    async def click_in_window(self, window: str, x: int, y: int) -> None:
        """Click like a person: move the real pointer there and press button 1."""
        self.xdotool("mousemove", "--window", window, str(x), str(y))
        await asyncio.sleep(0.1)
        self.xdotool("click", "1")

    def grab(self):
        import mss
        import numpy as np
        with (getattr(mss, "MSS", None) or mss.mss)(display=self.display) as m:
            shot = m.grab(m.monitors[1])
            return np.frombuffer(shot.bgra, dtype=np.uint8).reshape(shot.height, shot.width, 4)

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.kill()
                child.wait()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()      # Xvfb removes its lock and socket files on SIGTERM (not on SIGKILL)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Recorder:
    """The Tk test application on the X screen: records clicks and keys into a JSON-lines file."""

    def __init__(self, screen: XScreen, log: Path, geometry: str = "520x320+0+0", animate: bool = False):
        self.log = log
        self.proc = screen.spawn([sys.executable, str(HERE / "tk_recorder.py"), str(log), geometry]
                                 + (["animate"] if animate else []))

    def events(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    async def ready(self, timeout: float = 20) -> dict:
        return await self.wait_for(lambda evs: [e for e in evs if e["event"] == "ready"], timeout)

    async def wait_for(self, pick, timeout: float = 20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = pick(self.events())
            if got:
                return got[0] if isinstance(got, list) else got
            await asyncio.sleep(0.1)
        raise AssertionError(f"the Tk app did not record that; it has: {self.events()}")


def _fixture():
    import pytest

    @pytest.fixture
    def xscreen(monkeypatch):
        screen = XScreen().start()
        monkeypatch.setenv("DISPLAY", screen.display)
        yield screen
        screen.stop()
    return xscreen


xscreen = _fixture()
