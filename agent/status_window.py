"""The Support Manager's status window (run as ``python -m agent.status_window``).

Reads the state as JSON lines on stdin ({"text": ..., "sharing": bool, "buttons": [{"id", "label"}]});
shows who is viewing or controlling, with a Stop button that prints "stop" on stdout at once. Buttons
plugins add (e.g. Mute during a call) print "cmd <id>", which the agent runs as a typed command.
"""
from __future__ import annotations

import sys

from agent.window_process import poll_lines, stdin_lines

TITLE = "Support Manager"
WIDTH, HEIGHT = 360, 110
STOP_AT = (20, 64, 320, 34)
CONTROLS_TOP, CONTROL_W, CONTROL_H = 106, 104, 30


def control_at(i: int) -> tuple[int, int, int, int]:
    """Where the i-th plugin button is inside the window (x, y, width, height); tests click it."""
    return 20 + i * (CONTROL_W + 4), CONTROLS_TOP, CONTROL_W, CONTROL_H


def main() -> int:
    import tkinter as tk
    lines = stdin_lines()
    root = tk.Tk(className="SupportManagerStatus")
    root.title(TITLE)
    x, y = (int(v) for v in (sys.argv[1:3] if len(sys.argv) > 2 else (900, 660)))
    root.geometry(f"{WIDTH}x{HEIGHT}+{x}+{y}")
    root.attributes("-topmost", True)
    label = tk.Label(root, text="Nobody sees your screen.", wraplength=WIDTH - 40, justify="left", anchor="w")
    label.place(x=20, y=8, width=WIDTH - 40, height=50)

    def stop() -> None:
        print("stop", flush=True)
    button = tk.Button(root, text="Stop sharing now", command=stop, state="disabled")
    button.place(x=STOP_AT[0], y=STOP_AT[1], width=STOP_AT[2], height=STOP_AT[3])
    root.protocol("WM_DELETE_WINDOW", stop)
    controls: list = []
    shown: list = []

    def set_buttons(buttons: list) -> None:
        if buttons == shown:
            return
        shown[:] = buttons
        for b in controls:
            b.destroy()
        controls.clear()
        for i, spec in enumerate(buttons[:3]):
            b = tk.Button(root, text=str(spec.get("label", ""))[:20],
                          command=lambda cmd=str(spec.get("id", "")): print(f"cmd {cmd}", flush=True))
            x_, y_, w_, h_ = control_at(i)
            b.place(x=x_, y=y_, width=w_, height=h_)
            controls.append(b)
        root.geometry(f"{WIDTH}x{HEIGHT + (CONTROL_H + 10 if buttons else 0)}")

    def show(state: dict) -> None:
        label.configure(text=state.get("text", ""))
        button.configure(state="normal" if state.get("sharing") else "disabled")
        set_buttons(state.get("buttons") or [])
    poll_lines(root, lines, show, 50)
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
