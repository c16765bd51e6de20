"""The consent dialog (run as ``python -m agent.consent_dialog '<json>'``): prints the answer as JSON.

Layout is fixed (buttons at known places) so that tests can click it with xdotool like a person would.
"""
from __future__ import annotations

import json
import sys

TITLE = "Support Manager - permission request"
WIDTH = 460
CHOICE_TOP, CHOICE_H = 80, 26


def layout(choices: int = 0) -> dict:
    """Where things are inside the window (x, y, width, height); tests click these like a person."""
    top = CHOICE_TOP + CHOICE_H * choices
    return {"choices": [(20, CHOICE_TOP + CHOICE_H * i, WIDTH - 40, CHOICE_H - 2) for i in range(choices)],
            "all": (20, top, WIDTH - 40, 44), "allow": (20, top + 56, 120, 36), "deny": (160, top + 56, 120, 36),
            "height": top + 106}


def centre(box) -> tuple[int, int]:
    return box[0] + box[2] // 2, box[1] + box[3] // 2


ALLOW_AT = layout(0)["allow"]
DENY_AT = layout(0)["deny"]
ALL_AT = layout(0)["all"]


def main(argv=None) -> int:
    import tkinter as tk
    spec = json.loads((argv or sys.argv[1:])[0])
    choices = spec.get("choices") or []
    places = layout(len(choices))
    root = tk.Tk(className="SupportManagerConsent")
    root.title(TITLE)
    root.geometry(f"{WIDTH}x{places['height']}+{spec.get('x', 780)}+{spec.get('y', 20)}")
    root.resizable(False, False)
    root.attributes("-topmost", True)
    answer = {"allow": False, "all": False, "choice": None}
    all_var = tk.BooleanVar(value=False)
    choice_var = tk.StringVar(value="")

    def done(allow: bool) -> None:
        if allow and choices and not choice_var.get():
            msg.configure(text="Pick a window first, then Allow (or Deny).")
            return
        answer.update(allow=allow, all=bool(all_var.get()) and allow, choice=choice_var.get() or None)
        root.destroy()

    msg = tk.Label(root, text=spec["question"], wraplength=WIDTH - 40, justify="left", anchor="w")
    msg.place(x=20, y=12, width=WIDTH - 40, height=60)
    for choice, (x, y, w, h) in zip(choices, places["choices"]):
        tk.Radiobutton(root, text=choice["title"], variable=choice_var, value=choice["id"], anchor="w").place(
            x=x, y=y, width=w, height=h)
    if spec.get("again"):     # "don't ask again", saying exactly what it covers (not offered: no box)
        x, y, w, h = places["all"]
        tk.Checkbutton(root, text=spec["again"], variable=all_var, anchor="w", justify="left",
                       wraplength=w - 30).place(x=x, y=y, width=w, height=h)
    x, y, w, h = places["allow"]
    tk.Button(root, text="Allow", command=lambda: done(True)).place(x=x, y=y, width=w, height=h)
    x, y, w, h = places["deny"]
    tk.Button(root, text="Deny", command=lambda: done(False)).place(x=x, y=y, width=w, height=h)
    root.protocol("WM_DELETE_WINDOW", lambda: done(False))
    root.after(int(float(spec.get("timeout", 120)) * 1000), lambda: done(False))
    root.mainloop()
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
