"""The benchmark machinery (``make bench``) at a tiny size: a real host process, a real load generator,
real chat over WebSockets. Checks that the numbers it reports are sane, never how fast they are."""
import json

from bench.__main__ import main


def test_bench_runs_at_tiny_size_and_reports_sane_numbers(tmp_path, capsys):
    out = tmp_path / "result.json"
    assert main(["--sizes", "10", "--warmup", "0.3", "--window", "1.5", "--windows", "1", "--drain", "1",
                 "--nice", "0", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| 10 | 5 |" in printed and str(out) in printed

    result = json.loads(out.read_text())
    assert result["machine"]["cpus"] >= 1
    (point,) = result["points"]
    assert point["participants"] == 10 and point["sessions"] == 5 and point["connected"] == 10
    assert point["errors"] == 0 and point["closed_early"] == 0
    (window,) = point["windows"]
    # 10 participants x 2 messages a second x 1.5 s, give or take the edges of the window
    assert 20 <= window["sent"] <= 40
    # every message sent in the window was acknowledged to its sender and reached its peer
    assert window["acks_missing"] == 0 and window["peers_missing"] == 0
    for kind in ("ack", "peer"):
        stats = window[kind]
        assert stats["count"] == window["sent"]
        assert 0 < stats["p50_ms"] <= stats["p99_ms"] <= stats["max_ms"] < 10_000
    assert 0 < window["host_cpu_pct"] < 400
    assert 10 < window["host_rss_mb"] < 4000
    median = point["median"]
    assert median["ack_p99_ms"] == window["ack"]["p99_ms"] and median["missing"] == 0
    # no target verdict without a measurement at 1000 participants
    assert result["verdict"] == {"target": {"participants": 1000, "p99_ms": 20.0}, "measured": False}
