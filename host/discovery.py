"""Which plugins are installed, found through entry points, in a fixed order and with names nobody can squat.

The order: the plugins of the ``supporthost`` distribution itself (the built-ins) first, sorted by name,
then every other distribution's, sorted by name, then by distribution. A name belongs to one plugin: the
built-in names (and the core's, e.g. ``session``) are reserved, and of two third-party plugins with one name
the first in that order is loaded and the other is refused with a message naming both. The host and the
Support Manager both load their plugins through here, so both agree on who is who.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata
from typing import Iterable

BUILTIN_DISTRIBUTION = "supporthost"


@dataclass(frozen=True)
class Found:
    """One entry point of a plugin group."""

    name: str
    value: str          # the module (or module:attribute) it names
    distribution: str   # the distribution that declared it ("" when unknown)
    version: str
    builtin: bool
    entry_point: metadata.EntryPoint

    def describe(self) -> str:
        where = f"{self.distribution} {self.version}".strip() or "an unknown distribution"
        return f"{self.value} of {where}"

    def load(self):
        return self.entry_point.load()


@dataclass(frozen=True)
class Refused:
    found: Found
    reason: str


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _found(ep: metadata.EntryPoint) -> Found:
    dist = getattr(ep, "dist", None)
    dist_name = (dist.name or "") if dist is not None else ""
    return Found(name=ep.name, value=ep.value, distribution=dist_name, version=dist.version if dist else "",
                 builtin=_normal(dist_name) == BUILTIN_DISTRIBUTION, entry_point=ep)


def discover(group: str, reserved: Iterable[str] = ()) -> tuple[list[Found], list[Refused]]:
    """The plugins of ``group`` to load, in load order, and the ones refused for a name already taken.

    ``reserved`` are further names that are not free (the host's core plugins)."""
    found = sorted((_found(ep) for ep in metadata.entry_points(group=group)),
                   key=lambda f: (not f.builtin, f.name, _normal(f.distribution), f.value))
    taken: dict[str, Found | None] = {name: None for name in reserved}
    accepted, refused = [], []
    for item in found:
        if item.name not in taken:
            taken[item.name] = item
            accepted.append(item)
            continue
        owner = taken[item.name]
        by = ("by a core part of the host" if owner is None
              else f"by the built-in plugin {owner.describe()}" if owner.builtin
              else f"by {owner.describe()}, found first")
        refused.append(Refused(item, f"the plugin name {item.name!r} is taken ({by}): {item.describe()} is not "
                                     f"loaded; give its entry point another name"))
    return accepted, refused
