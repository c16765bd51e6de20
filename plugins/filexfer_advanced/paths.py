"""Paths from the other side, resolved under the allowed root on the customer's computer.

A path is a relative POSIX path ("" is the root itself). Refused with a clear error: absolute paths,
drive letters, ``..``, NUL and other control characters, and anything that (through a symlink) ends up
outside the root. A single file name (where to write) may hold no separator at all.
"""
from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

DRIVE = re.compile(r"^[A-Za-z]:")
MAX_PATH = 4096
MAX_NAME = 255


class PathRefused(Exception):
    """The path is refused; the text says why, for the person who sent it."""


def _no_control(text: str, what: str) -> None:
    if "\x00" in text:
        raise PathRefused(f"{what} contains a NUL character")
    try:
        text.encode()
    except UnicodeEncodeError:   # a lone surrogate: no file system takes it
        raise PathRefused(f"{what} is not valid Unicode text") from None
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise PathRefused(f"{what} contains control characters")


def check_relative(rel) -> list[str]:
    """The parts of a relative path, or PathRefused."""
    if not isinstance(rel, str):
        raise PathRefused("a path must be text")
    if len(rel) > MAX_PATH:
        raise PathRefused("the path is too long")
    _no_control(rel, "the path")
    if rel.startswith(("/", "\\")) or DRIVE.match(rel):
        raise PathRefused(f"absolute paths are not allowed ({rel!r}); paths are relative to the shared folder")
    if "\\" in rel:
        raise PathRefused("use / between folder names")
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise PathRefused("'..' is not allowed in a path")
    return parts


def check_name(name) -> str:
    """A file name to create: one name, no separator, not '.' or '..'."""
    if not isinstance(name, str) or not name.strip():
        raise PathRefused("a file name is needed")
    _no_control(name, "the file name")
    if "/" in name or "\\" in name:
        raise PathRefused(f"a file name cannot contain / or \\ ({name!r})")
    if name in (".", ".."):
        raise PathRefused(f"{name!r} is not a file name")
    if len(name.encode()) > MAX_NAME:
        raise PathRefused("the file name is too long")
    return name


class Root:
    """The folder the customer allowed; every path is resolved inside it."""

    def __init__(self, folder):
        self.path = Path(os.path.realpath(os.path.expanduser(str(folder))))

    def __str__(self) -> str:
        return str(self.path)

    def inside(self, real: str) -> bool:
        root = str(self.path)
        return real == root or real.startswith(root.rstrip(os.sep) + os.sep)

    def resolve(self, rel) -> Path:
        """The real path of rel, which must stay inside the root (symlinks followed)."""
        parts = check_relative(rel)
        real = os.path.realpath(os.path.join(str(self.path), *parts))
        if not self.inside(real):
            raise PathRefused(f"{rel!r} points outside the shared folder")
        return Path(real)

    def relative(self, real: Path) -> str:
        rel = os.path.relpath(str(real), str(self.path))
        return "" if rel == "." else rel.replace(os.sep, "/")
