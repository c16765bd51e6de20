"""The results table, as Markdown (printed by the benchmark and pasted into docs/performance.md)."""
from __future__ import annotations


def _fmt(v, digits=1):
    return "–" if v is None else f"{v:.{digits}f}"


def cpu_us_per_message(m: dict):
    """Host CPU time per chat message sent (its commit, its ack and its delivery to the peer)."""
    if not m.get("send_rate_per_s") or m.get("host_cpu_pct") is None:
        return None
    return m["host_cpu_pct"] / 100 * 1e6 / m["send_rate_per_s"]


def table(points: list[dict]) -> str:
    head = ("| N | sessions | msgs/s | send→ack p50 | send→ack p99 | send→peer p50 | send→peer p99 | "
            "host CPU | CPU per msg | host RSS | generator CPU | other CPU | missing |")
    rule = "|" + "---:|" * 13
    rows = [head, rule]
    for p in points:
        m = p["median"]
        rows.append(
            f"| {p['participants']} | {p['sessions']} | {_fmt(m['send_rate_per_s'], 0)} | "
            f"{_fmt(m['ack_p50_ms'], 2)} ms | {_fmt(m['ack_p99_ms'], 2)} ms | {_fmt(m['peer_p50_ms'], 2)} ms | "
            f"{_fmt(m['peer_p99_ms'], 2)} ms | {_fmt(m['host_cpu_pct'])} % | {_fmt(cpu_us_per_message(m), 0)} µs | "
            f"{_fmt(m['host_rss_mb'])} MB | {_fmt(m['generators_cpu_pct'])} % | {_fmt(m.get('other_cpu_pct'))} % | "
            f"{m['missing']} |")
    return "\n".join(rows)


def windows_table(points: list[dict]) -> str:
    """Every measuring window on its own, to show how much the windows of one N differ."""
    rows = ["| N | window | msgs | ack p50 | ack p99 | ack max | peer p99 | send lag p99 | fsync p99 | host CPU | "
            "event loop CPU | other CPU |", "|" + "---:|" * 12]
    for p in points:
        for i, w in enumerate(p["windows"], 1):
            rows.append(f"| {p['participants']} | {i} | {w['sent']} | {_fmt(w['ack']['p50_ms'], 2)} | "
                        f"{_fmt(w['ack']['p99_ms'], 2)} | {_fmt(w['ack']['max_ms'], 1)} | "
                        f"{_fmt(w['peer']['p99_ms'], 2)} | {_fmt(w['generator_lag']['p99_ms'], 2)} | "
                        f"{_fmt(w.get('fsync', {}).get('p99_ms'), 2)} | "
                        f"{_fmt(w['host_cpu_pct'])} % | {_fmt(w.get('host_event_loop_cpu_pct'))} % | "
                        f"{_fmt(w.get('other_cpu_pct'))} % |")
    return "\n".join(rows)
