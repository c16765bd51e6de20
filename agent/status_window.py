"""The Support Manager's status window (run as ``python -m agent.status_window``).

Reads the state as JSON lines on stdin ({"text": ..., "sharing": bool, "buttons": [{"id", "label"}],
"identity": str, "grants": ["1. Rita Rep (primary rep) may see your screen", ...]}); shows a summary with
a Stop button that prints "stop" on stdout at once. Buttons plugins add (e.g. Mute during a call) print
"cmd <id>", which the agent runs as a typed command. Below: who is helping, and one line per permission
with a Revoke button that prints "cmd revoke <n>".
"""
from __future__ import annotations

import sys

from agent.window_process import poll_lines, stdin_lines

TITLE = "Support Manager"
WIDTH, HEIGHT = 360, 110
STOP_AT = (20, 64, 320, 34)
CONTROLS_TOP, CONTROL_W, CONTROL_H = 106, 104, 30


IDENTITY_H, ROW_H, REVOKE_W = 92, 34, 70
MAX_ROWS = 8


def control_at(i: int) -> tuple[int, int, int, int]:
    """Where the i-th plugin button is inside the window (x, y, width, height); tests click it."""
    return 20 + i * (CONTROL_W + 4), CONTROLS_TOP, CONTROL_W, CONTROL_H


def list_top(buttons: bool) -> int:
    """Where "who is helping" starts: below the plugin buttons when there are any."""
    return HEIGHT + (CONTROL_H + 10 if buttons else 0)


def revoke_at(i: int, buttons: bool = False) -> tuple[int, int, int, int]:
    """Where the Revoke button of the i-th permission (from 0) is inside the window; tests click it."""
    return WIDTH - 20 - REVOKE_W, list_top(buttons) + IDENTITY_H + i * ROW_H, REVOKE_W, ROW_H - 4


def window_height(buttons: bool, rows: int) -> int:
    return list_top(buttons) + IDENTITY_H + min(rows, MAX_ROWS) * ROW_H + 6


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
    rows: list = []
    rows_shown: list = []
    identity = tk.Label(root, text="", wraplength=WIDTH - 40, justify="left", anchor="nw", fg="#333")

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

    def set_grants(grants: list, buttons: bool) -> None:
        """One line per permission, each with its Revoke button (placed again when the buttons above change)."""
        top = list_top(buttons)
        identity.place(x=20, y=top + 2, width=WIDTH - 40, height=IDENTITY_H - 4)
        if grants != rows_shown:
            rows_shown[:] = grants
            for w in rows:
                w.destroy()
            rows.clear()
            for i, text in enumerate(grants[:MAX_ROWS]):
                line = tk.Label(root, text=str(text)[:160], wraplength=WIDTH - 60 - REVOKE_W, justify="left",
                                anchor="w")
                revoke = tk.Button(root, text="Revoke", command=lambda n=i + 1: print(f"cmd revoke {n}", flush=True))
                rows.extend([line, revoke])
        for i in range(len(rows) // 2):
            bx, by, bw, bh = revoke_at(i, buttons)
            rows[2 * i].place(x=20, y=by, width=bx - 24, height=bh)
            rows[2 * i + 1].place(x=bx, y=by, width=bw, height=bh)
        height = window_height(buttons, len(grants))
        top_y = max(0, min(y, root.winfo_screenheight() - height - 10))     # the whole list stays on screen
        root.geometry(f"{WIDTH}x{height}+{x}+{top_y}")

    def show(state: dict) -> None:
        label.configure(text=state.get("text", ""))
        button.configure(state="normal" if state.get("sharing") else "disabled")
        set_buttons(state.get("buttons") or [])
        identity.configure(text=str(state.get("identity", ""))[:400])
        set_grants([str(g) for g in state.get("grants") or []], bool(state.get("buttons")))
    poll_lines(root, lines, show, 50)
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
