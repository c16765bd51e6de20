"""The file transfer benchmark's machinery on a small load (8 MiB, 50 files): it runs end to end and its
numbers are sane. It never checks speed."""
from __future__ import annotations

import json

from bench import filexfer


def test_bench_filexfer_runs_and_reports(tmp_path):
    out = filexfer.run(["--size-mb", "8", "--files", "50", "--dir", str(tmp_path), "--out",
                        str(tmp_path / "result.json")])
    assert json.loads((tmp_path / "result.json").read_text())["files"] == 50
    large, small = out["large"], out["small"]
    assert large["to_rep_MBps"] > 0 and large["to_customer_MBps"] > 0 and large["cp_sync_MBps"] > 0
    assert small["to_rep_files_per_s"] > 0 and small["cp_r_files_per_s"] > 0
    assert "customer -> rep" in filexfer.table(out)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("bench-filexfer-")]   # cleaned up
