"""The report's charts as inline SVG built on the server (no script, no inline style: the page's CSP holds).
Colours come from presentation attributes and the plugin's stylesheet."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

from markupsafe import Markup, escape

W, H = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 16, 40


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4
    return value


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def day_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).date().isoformat()


def sessions_per_day(rows: list[dict], days: list) -> Markup:
    counts = Counter(day_of(r["started"]) for r in rows)
    labels = [d.isoformat() for d in days]
    top = _nice_max(max([counts.get(d, 0) for d in labels] + [0]))
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    bar = max(slot * 0.7, 1)
    parts = [f'<svg class="chart chart-days" viewBox="0 0 {W} {H}" role="img" '
             f'aria-label="Sessions per day" xmlns="http://www.w3.org/2000/svg">',
             '<title>Sessions per day</title>']
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
                     f'{value:g}</text>')
    every = max(1, len(labels) // 10)
    for i, label in enumerate(labels):
        n = counts.get(label, 0)
        h = plot_h * n / top
        x = LEFT + i * slot + (slot - bar) / 2
        parts.append(f'<rect class="bar sessions" data-day="{label}" data-count="{n}" x="{x:.1f}" '
                     f'y="{TOP + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="#2b6cb0">'
                     f'<title>{label}: {n} session{"s" if n != 1 else ""}</title></rect>')
        if i % every == 0:
            parts.append(f'<text class="axis" x="{x + bar / 2:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle" '
                         f'font-size="11">{label[5:]}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def per_queue_averages(rows: list[dict]) -> list[dict]:
    groups: dict[str, dict] = {}
    for r in rows:
        g = groups.setdefault(r["queue"] or "(no queue)", {"waits": [], "durations": [], "n": 0})
        g["n"] += 1
        if r["wait"] is not None:
            g["waits"].append(r["wait"])
        if r["duration"] is not None:
            g["durations"].append(r["duration"])
    out = []
    for name in sorted(groups):
        g = groups[name]
        out.append({"queue": name, "sessions": g["n"],
                    "avg_wait": sum(g["waits"]) / len(g["waits"]) if g["waits"] else None,
                    "avg_duration": sum(g["durations"]) / len(g["durations"]) if g["durations"] else None})
    return out


def queue_chart(averages: list[dict]) -> Markup:
    label_w, row_h = 150, 44
    height = TOP + max(len(averages), 1) * row_h + 30
    top = _nice_max(max([a["avg_wait"] or 0 for a in averages] + [a["avg_duration"] or 0 for a in averages] + [0]))
    plot_w = W - label_w - RIGHT - 90
    parts = [f'<svg class="chart chart-queues" viewBox="0 0 {W} {height}" role="img" '
             f'aria-label="Average wait and duration per queue" xmlns="http://www.w3.org/2000/svg">',
             '<title>Average wait and duration per queue</title>']
    for i, a in enumerate(averages):
        y = TOP + i * row_h
        parts.append(f'<text class="label" x="{label_w - 8}" y="{y + 22}" text-anchor="end" font-size="12">'
                     f'{escape(a["queue"])}</text>')
        for j, (key, cls, colour, name) in enumerate((("avg_wait", "wait", "#dd6b20", "average wait"),
                                                     ("avg_duration", "duration", "#2b6cb0", "average duration"))):
            value = a[key]
            w = plot_w * (value or 0) / top
            by = y + 4 + j * 18
            text = _duration(value) if value is not None else "—"
            parts.append(f'<rect class="bar {cls}" data-queue="{escape(a["queue"])}" data-seconds="'
                         f'{"" if value is None else round(value)}" x="{label_w}" y="{by}" width="{w:.1f}" '
                         f'height="15" fill="{colour}"><title>{escape(a["queue"])}: {name} {text}</title></rect>')
            parts.append(f'<text class="value" x="{label_w + w + 6:.1f}" y="{by + 12}" font-size="11">{name[8:]} '
                         f'{text}</text>')
    legend_y = height - 12
    parts.append(f'<rect x="{label_w}" y="{legend_y - 10}" width="12" height="12" fill="#dd6b20"/>'
                 f'<text x="{label_w + 16}" y="{legend_y}" font-size="11">average wait</text>'
                 f'<rect x="{label_w + 120}" y="{legend_y - 10}" width="12" height="12" fill="#2b6cb0"/>'
                 f'<text x="{label_w + 136}" y="{legend_y}" font-size="11">average duration</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


duration_text = _duration
