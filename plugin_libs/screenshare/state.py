"""What the host knows about screen sharing in one live session: the Support Managers (agents) in it,
the grants the people at those computers gave, pending requests, and per-viewer frame pacing.

Kept in memory as the sharing plugin's state of the live session (``api.plugin_state``: it lives as long
as the session is live); every change of a grant is also written to session_events and the audit log by
the handlers.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from host.api import Session, plugin_state

PAIRS = "plugin_libs.screenshare"    # the pairing codes' state key: not a plugin name (those have no dot)


@dataclass
class AgentInfo:
    id: str
    name: str
    side: str                    # "customer": shows a customer's screen to reps; "rep": the other way
    owner: str | None = None     # the participant it was paired with (its person's browser), if any
    monitors: list = field(default_factory=list)
    monitor: int | None = None

    def size(self) -> tuple[int | None, int | None]:
        mon = next((m for m in self.monitors if m.get("index") == self.monitor), None)
        return (mon["width"], mon["height"]) if mon else (None, None)


@dataclass
class Pending:
    request_id: str
    agent: str
    viewers: list[str]
    level: str
    kind: str
    by: str


@dataclass
class Pace:
    """Frame pacing for one viewer of one agent: at most one frame in flight."""
    receiving: int | None = None   # seq of the frame it is being sent / has not acked yet
    missed: bool = False           # a frame was dropped for it: it needs a full refresh after its ack
    forwarded: int = 0
    dropped: int = 0


@dataclass
class SharingState:
    agents: dict[str, AgentInfo] = field(default_factory=dict)
    grants: dict[tuple[str, str], str] = field(default_factory=dict)     # (agent, viewer) -> level
    pending: dict[str, Pending] = field(default_factory=dict)
    pace: dict[tuple[str, str], Pace] = field(default_factory=dict)
    waiting: dict[str, tuple[int, set]] = field(default_factory=dict)    # agent -> (seq, viewers not acked)
    mode: str = "standard"
    mode_set: bool = False
    frames_in: int = 0

    def new_request_id(self) -> str:
        return secrets.token_hex(6)

    def viewers_of(self, agent: str) -> dict[str, str]:
        return {v: lvl for (a, v), lvl in self.grants.items() if a == agent}

    def controllers_of(self, agent: str) -> list[str]:
        return [v for v, lvl in self.viewers_of(agent).items() if lvl == "control"]

    def drop_grants(self, agent: str | None = None, viewer: str | None = None) -> list[tuple[str, str, str]]:
        gone = [(a, v, lvl) for (a, v), lvl in self.grants.items()
                if (agent is None or a == agent) and (viewer is None or v == viewer)]
        for a, v, _ in gone:
            del self.grants[(a, v)]
            self.pace.pop((a, v), None)
            seq_waiting = self.waiting.get(a)
            if seq_waiting:
                seq_waiting[1].discard(v)
        return gone


def state_of(session: Session, plugin: str) -> SharingState:
    """The sharing state of ``plugin`` (desktop, appshare) in a live session."""
    return plugin_state(session, plugin, SharingState)


def pairs_of(session: Session) -> dict[str, str]:
    """Pairing codes of the session (code -> the participant whose Support Manager it is), one set for
    desktop and appshare: the same Support Manager serves both."""
    return plugin_state(session, PAIRS, dict)
