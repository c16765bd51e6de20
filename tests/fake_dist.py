"""A real installed distribution for a test: a ``<name>-<version>.dist-info`` folder with METADATA and
entry_points.txt, plus the modules it ships, in a folder the test puts on sys.path (or PYTHONPATH).
importlib.metadata then finds it exactly as it finds one that pip installed."""
from __future__ import annotations

import textwrap
from pathlib import Path


def make_dist(folder: Path, name: str, version: str, entry_points: dict[str, dict[str, str]],
              files: dict[str, str] | None = None) -> Path:
    """Write the distribution ``name`` into ``folder`` (created) and return ``folder``.

    ``entry_points`` is {group: {entry point name: "module[:attribute]"}}; ``files`` is {relative path:
    source}, e.g. {"squat_chat/__init__.py": "..."}."""
    info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{ep} = {value}\n" for ep, value in eps.items()) + "\n"
        for group, eps in entry_points.items()))
    for path, source in (files or {}).items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(source))
    return folder
