"""Where published files live: <data>/filexfer_basic/files/<server-made name>, written first to
<data>/filexfer_basic/tmp, fsynced, then renamed, so a file is never seen half-written.

The blocking calls here run on worker threads (run_in_executor), never on the event loop."""
from __future__ import annotations

import os
import time
import unicodedata
import uuid
from pathlib import Path

from host import api


class FileStore:
    def __init__(self, data_dir: Path):
        self.root = Path(data_dir) / "filexfer_basic"
        self.tmp = self.root / "tmp"
        self.files = self.root / "files"

    def ensure(self) -> None:
        """The folders, private to the host's user (0700; the files in them are 0600)."""
        api.private_folder(self.tmp)
        api.private_folder(self.files)

    def new_temp(self):
        """A new temp file opened for writing (mode 0600): (path, file object)."""
        self.ensure()
        path = self.tmp / f"{uuid.uuid4().hex}.part"
        return path, api.open_private(path)

    def path_of(self, stored_name: str) -> Path:
        return self.files / stored_name

    def finish(self, f) -> None:
        """Flush and fsync a temp file, then close it."""
        f.flush()
        os.fsync(f.fileno())
        f.close()

    def close_quietly(self, f) -> None:
        """Close a temp file being given up (its buffered rest may not fit on a full disk: dropped)."""
        try:
            f.close()
        except OSError:
            pass

    def commit(self, temp: Path, stored_name: str) -> None:
        """Move a complete temp file to its final name, and make the rename itself durable."""
        os.replace(temp, self.files / stored_name)
        fd = os.open(self.files, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def discard(self, path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass

    def remove_stale_temps(self, older_than: float) -> int:
        """Temp files left by a crash or a dropped upload."""
        if not self.tmp.is_dir():
            return 0
        count = 0
        cutoff = time.time() - older_than
        for path in self.tmp.glob("*.part"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    count += 1
            except FileNotFoundError:
                pass
        return count


def clean_filename(raw: str | None) -> str:
    """The name shown for a file: its last path part, no control characters, at most 200 characters."""
    name = (raw or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:190] + dot + ext[:9]) if dot and len(ext) < 10 else name[:200]
    return name or "file"
