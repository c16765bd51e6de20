"""CPU and memory of processes over a measuring window (psutil)."""
from __future__ import annotations

import time

import psutil


class Usage:
    """Snapshots of one process tree: CPU seconds (user + system, threads included) and RSS."""

    def __init__(self, pid: int):
        self.proc = psutil.Process(pid)

    def cpu_seconds(self) -> float:
        t = self.proc.cpu_times()
        return t.user + t.system

    def rss_mb(self) -> float:
        return round(self.proc.memory_info().rss / 2 ** 20, 1)

    def snapshot(self) -> tuple[float, float]:
        return time.monotonic(), self.cpu_seconds()

    def main_thread_snapshot(self) -> tuple[float, float]:
        """CPU seconds of the main thread alone (the event loop: one core is all it can ever use)."""
        for t in self.proc.threads():
            if t.id == self.proc.pid:
                return time.monotonic(), t.user_time + t.system_time
        return time.monotonic(), 0.0


def machine_snapshot() -> tuple[float, float]:
    """Busy CPU seconds of the whole machine (all processes, all cores)."""
    t = psutil.cpu_times()
    return time.monotonic(), sum(t) - t.idle - getattr(t, "iowait", 0.0)


def cpu_percent(start: tuple[float, float], end: tuple[float, float]) -> float:
    """CPU used between two snapshots as a percentage of one core (200 = both cores of this machine)."""
    wall = end[0] - start[0]
    return round(100 * (end[1] - start[1]) / wall, 1) if wall > 0 else 0.0


def machine() -> dict:
    """What the benchmark ran on."""
    import platform
    freq = psutil.cpu_freq()
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return {"cpus": psutil.cpu_count(), "cpu_model": model, "cpu_mhz": round(freq.current) if freq else None,
            "memory_gb": round(psutil.virtual_memory().total / 2 ** 30, 1), "python": platform.python_version(),
            "platform": platform.platform()}


def filesystem_of(path: str) -> str:
    """The file system type a path lives on (ext4, tmpfs, ...): it decides what a COMMIT's fsync costs."""
    import os
    best, kind = "", "unknown"
    real = os.path.realpath(path)
    for part in psutil.disk_partitions(all=True):
        mp = part.mountpoint
        if (real == mp or real.startswith(mp.rstrip("/") + "/")) and len(mp) > len(best):
            best, kind = mp, part.fstype
    return kind
