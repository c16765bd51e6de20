"""Chapters of a recording, read from the session's traffic alone (no plugin knowledge beyond the host's own
session messages and common message shapes): people joining and leaving, control passing, session transfers
(any ``<plugin>.transfer...`` message naming whom the session goes ``to``, e.g. WebACD's transfer to a queue or
a colleague and the colleague taking it), grants given and ended (any ``<plugin>.state`` message with a
``grants`` list), chat lines, and files (any message naming a file with its size or SHA-256)."""
from __future__ import annotations

MAX_LABEL = 120


def _short(text, n: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[:n - 1] + "\u2026"


class Chapters:
    def __init__(self, live):
        self.live = live
        self.grants: dict[str, set] = {}       # "<plugin>" -> {(agent, viewer, level)}
        self.transferred_to = None             # the last transfer's target: its reply and broadcast make one chapter

    def _name(self, pid) -> str:
        p = self.live.participants.get(pid) if isinstance(pid, str) else None
        return p.name if p else "someone"

    def of(self, record) -> list[dict]:
        """The chapters a message starts (usually none)."""
        m = record.message
        if record.direction != "out" or not isinstance(m, dict):
            return []
        type_ = m.get("type")
        if not isinstance(type_, str):
            return []
        out = []
        if type_ == "session.joined":
            out.append(("join", f"{(m.get('participant') or {}).get('name', 'someone')} joined"))
        elif type_ == "session.left":
            out.append(("leave", f"{(m.get('participant') or {}).get('name', 'someone')} left"))
        elif type_ == "session.control_transferred":
            out.append(("transfer", f"Control passed from {(m.get('from') or {}).get('name', 'someone')} "
                                    f"to {(m.get('to') or {}).get('name', 'someone')}"))
        elif type_ == "chat.message" and isinstance(m.get("message"), dict):
            msg = m["message"]
            out.append(("chat", f"{msg.get('name') or self._name(msg.get('from'))}: {_short(msg.get('text', ''))}"))
        elif type_.partition(".")[2].startswith("transfer") and isinstance(m.get("to"), str):
            if m["to"] != self.transferred_to:
                self.transferred_to = m["to"]
                out.append(("transfer", f"Session transferred to {_short(m['to'])}"))
        elif type_.endswith(".state") and isinstance(m.get("grants"), list):
            out += self._grants(type_.split(".", 1)[0], m["grants"])
        out += [("file", label) for label in self._files(m)]
        return [{"type": kind, "label": _short(label, MAX_LABEL)} for kind, label in out]

    def _grants(self, plugin: str, grants: list) -> list:
        now = {(g.get("agent"), g.get("viewer"), g.get("level")) for g in grants if isinstance(g, dict)}
        before = self.grants.get(plugin, set())
        self.grants[plugin] = now
        what = "the shared application" if plugin == "appshare" else "the screen"
        out = []
        for agent, viewer, level in sorted(now - before, key=str):
            verb = "controls" if level == "control" else "sees"
            out.append(("grant", f"{self._name(viewer)} {verb} {what} of {self._name(agent)}"))
        for agent, viewer, level in sorted(before - now, key=str):
            if not any(a == agent and v == viewer for a, v, _ in now):
                out.append(("revoke", f"{self._name(viewer)} no longer sees {what} of {self._name(agent)}"))
        return out

    @staticmethod
    def _files(m: dict) -> list[str]:
        files = m.get("files") if isinstance(m.get("files"), list) else [m]
        out = []
        for f in files[:20]:
            if isinstance(f, dict) and isinstance(f.get("name"), str) and ("sha256" in f or "size" in f) \
                    and f.get("type", "").split(".")[-1] not in ("listing",):
                size = f.get("size")
                sha = f.get("sha256")
                detail = ", ".join(x for x in (f"{size} bytes" if isinstance(size, int) else "",
                                               f"SHA-256 {sha[:12]}\u2026" if isinstance(sha, str) else "") if x)
                out.append(f"File {f['name']}" + (f" ({detail})" if detail else ""))
        return out
