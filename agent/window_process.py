"""Both ends of the Support Manager's small Tk windows (status, video), each run as its own program.

The agent starts the window with ``python -m ...`` and feeds it JSON lines on stdin; Tk never shares a
thread with the event loop. In the window, a thread reads stdin into a queue and Tk polls that queue;
the end of stdin closes the window.
"""
from __future__ import annotations

import asyncio
import json
import os
import queue
import sys
import threading
from typing import Callable


def display_present() -> bool:
    """Whether this computer can show the Support Manager's windows (an X display is set)."""
    return bool(os.environ.get("DISPLAY"))


def stdin_lines() -> queue.Queue:
    """A queue of stdin's lines, filled by a daemon thread; None after the last one."""
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in sys.stdin:
            lines.put(line)
        lines.put(None)
    threading.Thread(target=read, daemon=True).start()
    return lines


def poll_lines(root, lines: queue.Queue, handle: Callable[[dict], None], every_ms: int,
               ignored: tuple = (ValueError,)) -> None:
    """Every ``every_ms``, hand each waiting line (parsed JSON) to ``handle`` in Tk's thread; destroy
    ``root`` at the end of stdin. A line that raises one of ``ignored`` ends this round, not the window."""
    def poll() -> None:
        try:
            while True:
                line = lines.get_nowait()
                if line is None:
                    root.destroy()
                    return
                handle(json.loads(line))
        except (queue.Empty, *ignored):
            pass
        root.after(every_ms, poll)
    root.after(every_ms, poll)


async def close_window(proc: asyncio.subprocess.Process | None) -> None:
    """End a window program: close its stdin, give it two seconds, then kill it."""
    if proc is not None and proc.returncode is None:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 2)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
