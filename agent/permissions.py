"""Who may do what on this computer right now, gathered from the plugins' agent parts, and who is
helping: the site's name as the host gives it, the address this Support Manager connected to (called
verified only when HTTPS checked the host's certificate), and the reps with their roles.

A plugin's agent part takes part by having ``permissions()`` (a list of ``Permission``) and
``async revoke_permission(key)`` (ends that one grant here first, then tells the host), and by calling
``agent.permissions_changed()`` when its grants change. The status window and the terminal number the
list; ``revoke <n>`` ends one.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

ROLE_TEXT = {"primary_rep": "primary rep", "assisting_rep": "assisting rep", "customer": "customer",
             "secondary_customer": "customer"}


@dataclass(frozen=True)
class Permission:
    feature: str      # the key of the plugin's part in agent.features
    key: str          # which grant in that part (a rep's id, a call's kind)
    who: str          # the person (with their role), or the people
    what: str         # what they may do, in the person's words ("see your screen")

    def line(self) -> str:
        return f"{self.who} may {self.what}"


def gather(features: dict) -> list[Permission]:
    """Every grant of every plugin part, in a stable order (the numbers of ``revoke <n>``)."""
    found: list[Permission] = []
    for feature in features.values():
        listing = getattr(feature, "permissions", None)
        if listing is not None:
            found.extend(listing())
    return found


def describe(permissions: list[Permission]) -> str:
    if not permissions:
        return "Nobody can see your screen, reach your files or hear you now."
    return f"{len(permissions)} permission{'s' if len(permissions) > 1 else ''} given now (listed below)."


def numbered(permissions: list[Permission]) -> list[str]:
    return [f"{i}. {p.line()}" for i, p in enumerate(permissions, 1)]


class People:
    """The session's participants as the host announces them (session.hello, session.participants)."""

    def __init__(self):
        self.by_id: dict[str, dict] = {}

    def update(self, participants) -> None:
        if not isinstance(participants, list):
            return
        self.by_id = {p["id"]: {"name": str(p.get("name", ""))[:60], "role": str(p.get("role", ""))}
                      for p in participants[:200] if isinstance(p, dict) and isinstance(p.get("id"), str)}

    def who(self, pid: str, fallback: str = "someone") -> str:
        """'Rita Rep (primary rep)': the name the host gives, with the role in this session."""
        p = self.by_id.get(pid)
        if p is None:
            return fallback or "someone"
        role = ROLE_TEXT.get(p["role"])
        return f"{p['name'] or fallback} ({role})" if role else p["name"] or fallback

    def reps(self) -> list[str]:
        return [self.who(pid) for pid, p in self.by_id.items() if p["role"] in ("primary_rep", "assisting_rep")]


def identity(site_url: str, site_name: str | None, people: People) -> str:
    """Who is helping, in words: what of it is verified and what is only what the host says."""
    parts = urlsplit(site_url)
    where = parts.netloc
    if parts.scheme == "https":
        address = f"Connected to {where} (verified: its HTTPS certificate is valid for {parts.hostname})."
    else:
        address = f"Connected to {where} (not verified: plain http, no certificate)."
    name = f"Site: {site_name} (the name the host gives). " if site_name else ""
    reps = people.reps()
    helping = f"Helping you: {', '.join(reps)}." if reps else "No representative is connected."
    return f"{name}{address} {helping}"
