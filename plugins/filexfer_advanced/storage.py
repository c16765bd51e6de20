"""The host's copies of transferred files: <data>/filexfer_advanced/files/<server-made name>, written
first to <data>/filexfer_advanced/tmp/<id>.part, fsynced, then renamed (a file is never seen half-written).
Every function here blocks: call it on a worker thread (run_in_executor)."""
from __future__ import annotations

import os
from pathlib import Path


class TransferStore:
    def __init__(self, data_dir):
        self.root = Path(data_dir) / "filexfer_advanced"
        self.tmp = self.root / "tmp"
        self.files = self.root / "files"

    def ensure(self) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.files.mkdir(parents=True, exist_ok=True)

    def temp_path(self, tid: str) -> Path:
        return self.tmp / f"{tid}.part"

    def open_temp(self, tid: str) -> tuple[Path, int]:
        self.ensure()
        path = self.temp_path(tid)
        return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)

    def path_of(self, stored_name: str) -> Path:
        return self.files / stored_name

    @staticmethod
    def write(fd: int, data: bytes, hasher) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        hasher.update(data)

    def commit(self, fd: int, temp: Path, stored_name: str) -> None:
        """fsync and close the temp file, rename it to its final name, make the rename durable."""
        os.fsync(fd)
        os.close(fd)
        os.replace(temp, self.files / stored_name)
        dfd = os.open(self.files, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    @staticmethod
    def discard(fd: int, path: Path | None) -> None:
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass
        if path is not None:
            try:
                path.unlink()
            except FileNotFoundError:
                pass

    def remove_temps(self) -> int:
        """Temp files left by a crash (nothing can resume them after a restart)."""
        if not self.tmp.is_dir():
            return 0
        n = 0
        for p in self.tmp.glob("*.part"):
            p.unlink(missing_ok=True)
            n += 1
        return n
