"""The results table, as Markdown (printed by the benchmark and pasted into docs/performance.md)."""
from __future__ import annotations


def _fmt(v, digits=1):
    return "–" if v is None else f"{v:.{digits}f}"


def table(points: list[dict]) -> str:
    head = ("| N participants | sessions | msgs/s sent | send→ack p50 | send→ack p99 | send→peer p50 | "
            "send→peer p99 | host CPU | host RSS | generator CPU | other CPU | missing |")
    rule = "|" + "---:|" * 12
    rows = [head, rule]
    for p in points:
        m = p["median"]
        rows.append(
            f"| {p['participants']} | {p['sessions']} | {_fmt(m['send_rate_per_s'], 0)} | "
            f"{_fmt(m['ack_p50_ms'], 2)} ms | {_fmt(m['ack_p99_ms'], 2)} ms | {_fmt(m['peer_p50_ms'], 2)} ms | "
            f"{_fmt(m['peer_p99_ms'], 2)} ms | {_fmt(m['host_cpu_pct'])} % | {_fmt(m['host_rss_mb'])} MB | "
            f"{_fmt(m['generators_cpu_pct'])} % | {_fmt(m.get('other_cpu_pct'))} % | {m['missing']} |")
    return "\n".join(rows)
