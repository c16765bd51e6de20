"""The data folder is private to the host's own user: folders 0700, files 0600, whatever the umask.

The database (and the WAL and shared-memory files SQLite makes beside it with the database file's
mode), the secret key and the files of transfers all live under it. On start the folder and
everything already in it are tightened, so data written by an older version (or copied in) is not
left readable by others. Symbolic links are left alone (never followed)."""
from __future__ import annotations

import os
import stat
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: str | Path) -> Path:
    """Create ``path`` (and missing parents) as 0700 folders; an existing one is tightened to 0700."""
    path = Path(path)
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            pass
    _tighten(path, FOLDER_MODE)
    return path


def private_file(path: str | Path) -> None:
    """Make sure ``path`` exists as a 0600 file (an empty one is made when missing).

    An existing file is only chmod-ed, never opened: closing any descriptor of a file drops every POSIX
    lock this process holds on it, SQLite's included (a database open in this process would lose its
    locks, and its readers would see "disk I/O error")."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass
    _tighten(Path(path), FILE_MODE)


def open_private(path: str | Path, exclusive: bool = True):
    """Open a new file for writing in binary mode, created 0600 (``open(path, "xb")`` made 0644 files)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    return os.fdopen(os.open(path, flags, FILE_MODE), "wb")


def make_private(data_dir: str | Path) -> None:
    """Create the data folder and tighten everything under it (folders 0700, files 0600)."""
    root = private_folder(data_dir)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            _tighten(Path(dirpath, name), FOLDER_MODE)
        for name in filenames:
            _tighten(Path(dirpath, name), FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        return
    if stat.S_IMODE(st.st_mode) & ~mode:
        os.chmod(path, stat.S_IMODE(st.st_mode) & mode)
