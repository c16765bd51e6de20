"""Telling a full disk from other failures, so people hear "the server's disk is full", not "internal error"."""
from __future__ import annotations

import errno
import sqlite3

DISK_FULL = "The server's disk is full: nothing was saved. Try again later (an admin has to free space)."


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the disk, or the space allowed to us, is full."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, sqlite3.Error) and (getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
                                               or "database or disk is full" in str(exc)):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False
