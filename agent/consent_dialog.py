"""The consent dialog (run as ``python -m agent.consent_dialog '<json>'``): prints the answer as JSON.

Layout is fixed (buttons at known places) so that tests can click it with xdotool like a person would.
"""
from __future__ import annotations

import json
import sys

TITLE = "Support Manager - permission request"
WIDTH, HEIGHT = 460, 170
ALLOW_AT = (20, 120, 120, 36)      # x, y, width, height inside the window
DENY_AT = (160, 120, 120, 36)
ALL_AT = (20, 80, 400, 28)


def main(argv=None) -> int:
    import tkinter as tk
    spec = json.loads((argv or sys.argv[1:])[0])
    root = tk.Tk(className="SupportManagerConsent")
    root.title(TITLE)
    root.geometry(f"{WIDTH}x{HEIGHT}+{spec.get('x', 780)}+{spec.get('y', 20)}")
    root.resizable(False, False)
    root.attributes("-topmost", True)
    answer = {"allow": False, "all": False}
    all_var = tk.BooleanVar(value=False)

    def done(allow: bool) -> None:
        answer.update(allow=allow, all=bool(all_var.get()) and allow)
        root.destroy()

    msg = tk.Label(root, text=spec["question"], wraplength=WIDTH - 40, justify="left", anchor="w")
    msg.place(x=20, y=12, width=WIDTH - 40, height=60)
    tk.Checkbutton(root, text="Allow all requests for this session", variable=all_var,
                   anchor="w").place(x=ALL_AT[0], y=ALL_AT[1], width=ALL_AT[2], height=ALL_AT[3])
    tk.Button(root, text="Allow", command=lambda: done(True)).place(
        x=ALLOW_AT[0], y=ALLOW_AT[1], width=ALLOW_AT[2], height=ALLOW_AT[3])
    tk.Button(root, text="Deny", command=lambda: done(False)).place(
        x=DENY_AT[0], y=DENY_AT[1], width=DENY_AT[2], height=DENY_AT[3])
    root.protocol("WM_DELETE_WINDOW", lambda: done(False))
    root.after(int(float(spec.get("timeout", 120)) * 1000), lambda: done(False))
    root.mainloop()
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
