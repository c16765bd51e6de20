"""Scripted screen workloads for the screen-pipeline benchmark (run on an X display):

  python -m bench.screen_workload MODE [PERIOD_MS]   (idle | typing | scrolling | dragging | video)

Prints "t <unix time>" on stdout for each change it makes (to measure change-to-viewer latency).
Changes come every PERIOD_MS (default 16 ms, about 60 per second: faster than the 30 frames per second
a pipeline has to reach, so what is measured is the pipeline, not the workload). The video workload
loops over pictures made before it starts, so it needs the X server's copy only, not CPU of its own.
"""
from __future__ import annotations

import sys
import time
import tkinter as tk

PERIOD_MS = 16
PICTURES = 12            # the video workload's looping clip
WORDS = ("support session screen desktop viewer tile encoder frame latency bandwidth customer rep "
         "window application keyboard mouse agent host plugin consent allow deny control").split()


def stamp() -> None:
    sys.stdout.write(f"t {time.time():.6f}\n")
    sys.stdout.flush()


def main(mode: str, period_ms: int = PERIOD_MS) -> None:
    global PERIOD_MS
    PERIOD_MS = period_ms
    root = tk.Tk(className="BenchWorkload")
    w, h = root.winfo_screenwidth(), root.winfo_screenheight()
    root.geometry(f"{w}x{h}+0+0")
    root.configure(background="#eef1f5")
    if mode in ("typing", "scrolling", "idle"):
        text = tk.Text(root, font=("DejaVu Sans Mono", 13), wrap="word", background="#ffffff",
                       foreground="#1d2330", borderwidth=0)
        text.place(x=40, y=40, width=w - 80, height=h - 80)
        if mode in ("scrolling", "idle"):
            for i in range(3000):
                line = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(12 + i % 9))
                text.insert("end", f"{i:5d}  {line}\n")
        n = [0]

        def type_one() -> None:
            n[0] += 1
            word = WORDS[n[0] // 6 % len(WORDS)]
            ch = word[n[0] % len(word)] if n[0] % 6 else " "
            text.insert("end", ch if n[0] % 480 else "\n")
            text.see("end")
            stamp()
            root.after(PERIOD_MS, type_one)

        def scroll_one() -> None:
            text.yview_scroll(1, "units")
            stamp()
            root.after(PERIOD_MS, scroll_one)
        if mode == "typing":
            root.after(500, type_one)
        elif mode == "scrolling":
            root.after(500, scroll_one)
    elif mode == "dragging":
        # a window-like frame (title bar and text) moved across the screen, as a dragged window is
        win = tk.Frame(root, background="#3a5f8f", borderwidth=0)
        tk.Label(win, text="Dragged window", background="#3a5f8f", foreground="#ffffff",
                 anchor="w").place(x=0, y=0, width=640, height=24)
        inner = tk.Text(win, font=("DejaVu Sans", 12), background="#fffbe8", borderwidth=0)
        inner.insert("end", "\n".join(" ".join(WORDS[(i + k) % len(WORDS)] for k in range(8)) for i in range(40)))
        inner.place(x=0, y=24, width=640, height=456)
        pos = [100, 100, 8, 5]

        def drag() -> None:
            pos[0] += pos[2]
            pos[1] += pos[3]
            if not 0 < pos[0] < w - 700:
                pos[2] = -pos[2]
            if not 0 < pos[1] < h - 500:
                pos[3] = -pos[3]
            win.place(x=pos[0], y=pos[1], width=640, height=480)
            stamp()
            root.after(PERIOD_MS, drag)
        win.place(x=100, y=100, width=640, height=480)
        root.after(500, drag)
    elif mode == "video":
        # a looping clip: PICTURES full-screen pictures (smooth colour waves plus noise, like video), made
        # before it starts so that showing one costs the X server's copy only, not this process's CPU
        import numpy as np
        canvas = tk.Label(root, borderwidth=0)
        canvas.place(x=0, y=0, width=w, height=h)
        vw, vh = w // 2, h // 2
        yy, xx = np.mgrid[0:vh, 0:vw].astype(np.float32)
        pictures = []
        for i in range(PICTURES):
            t = 0.15 * (i + 1)
            r = 128 + 127 * np.sin(xx / 37.0 + t)
            g = 128 + 127 * np.sin(yy / 23.0 - t * 1.3)
            b = 128 + 127 * np.sin((xx + yy) / 51.0 + t * 0.7)
            noise = np.random.default_rng(i).integers(0, 24, (vh, vw), dtype=np.uint8)
            img = np.dstack([r, g, b]).astype(np.uint8) + noise[:, :, None]
            small = tk.PhotoImage(width=vw, height=vh)
            small.configure(data=b"P6 %d %d 255\n" % (vw, vh) + img.tobytes(), format="ppm")
            pictures.append(small.zoom(2, 2))
        n = [0]

        def frame() -> None:
            n[0] += 1
            canvas.configure(image=pictures[n[0] % PICTURES])
            stamp()
            root.after(PERIOD_MS, frame)
        root.after(100, frame)
    root.mainloop()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "idle", int(sys.argv[2]) if len(sys.argv) > 2 else PERIOD_MS)
