"""A small Tk application for desktop-sharing tests ("the customer's application"): it records every
click on its button and every key typed into its text field as JSON lines in a file.

Usage: python tk_recorder.py LOGFILE [GEOMETRY] [animate]
"""
import json
import sys
import tkinter as tk

log_path = sys.argv[1]
geometry = sys.argv[2] if len(sys.argv) > 2 else "520x320+0+0"
log = open(log_path, "a", buffering=1)


def record(**event):
    log.write(json.dumps(event) + "\n")


root = tk.Tk(className="RecorderApp")
root.title("Recorder test app")
root.geometry(geometry)
root.configure(background="#2050a0")
button = tk.Button(root, text="Press me", background="#f0c020", activebackground="#f0c020",
                   command=lambda: record(event="click", text=entry.get()))
button.place(x=40, y=40, width=160, height=60)
entry = tk.Entry(root, font=("DejaVu Sans", 16))
entry.place(x=40, y=140, width=400, height=40)
swatch = tk.Frame(root, background="#30a050")
swatch.place(x=260, y=40, width=180, height=60)


def on_key(e):
    record(event="key", keysym=e.keysym, char=e.char, state=e.state)


entry.bind("<KeyPress>", on_key)
entry.bind("<KeyRelease>", lambda e: None)
root.bind("<ButtonPress>", lambda e: record(event="press", widget=str(e.widget), button=e.num))


def ready():
    root.update_idletasks()
    entry.focus_force()
    record(event="ready", root=[root.winfo_rootx(), root.winfo_rooty()],
           button=[button.winfo_rootx(), button.winfo_rooty(), button.winfo_width(), button.winfo_height()],
           entry=[entry.winfo_rootx(), entry.winfo_rooty(), entry.winfo_width(), entry.winfo_height()],
           text_on_change=True)
    poll_text()


last = {"text": ""}


def poll_text():
    text = entry.get()
    if text != last["text"]:
        last["text"] = text
        record(event="text", text=text)
    root.after(50, poll_text)


def animate(step=[0]):
    step[0] += 1
    swatch.configure(background="#%02x%02x50" % ((step[0] * 37) % 256, (step[0] * 91) % 256))
    root.after(30, animate)


if "animate" in sys.argv[3:]:
    root.after(300, animate)
root.after(300, ready)
root.mainloop()
