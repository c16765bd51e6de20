"""Sessions nobody comes back to end by themselves, as "abandoned": a session with no connected
participant for Config.abandoned_after seconds (a rep who closed the console and went home, a customer
who vanished, a host restart after which nobody returned). Plugins see it end like any other session
(the session_ended hook: their transfers stop, their temp files go); its record says why it ended."""
from __future__ import annotations

import asyncio
import logging

from .appkeys import CONFIG, DB, HUB
from .audit import audit

log = logging.getLogger("supporthost.expiry")


async def expiry_loop(app) -> None:
    cfg = app[CONFIG]
    while True:
        await asyncio.sleep(cfg.expiry_check_every)
        try:
            await end_abandoned(app)
        except Exception:
            log.exception("looking for abandoned sessions failed")


async def end_abandoned(app) -> int:
    """End every session abandoned for longer than the limit; returns how many."""
    cfg, hub = app[CONFIG], app[HUB]
    cutoff = cfg.clock() - cfg.abandoned_after
    gone = [live for live in hub.sessions.values() if live.idle_since is not None and live.idle_since <= cutoff]

    def unloaded_and_quiet(db) -> list[str]:   # not in memory (e.g. after a restart), nothing happened since
        return [r["id"] for r in db.query(
            "select s.id from support_sessions s where s.state != 'ended' and coalesce("
            "(select max(e.at) from session_events e where e.session_id = s.id), s.created_at) <= ?", [cutoff])]
    for sid in await app[DB].read(unloaded_and_quiet):
        if sid not in hub.sessions:
            live = await hub.get(sid)
            if live is not None:
                gone.append(live)
    for live in gone:
        idle = "nobody came back after a restart" if live.idle_since is None or live.idle_since > cutoff \
            else f"nobody was connected for {int((cfg.clock() - live.idle_since) // 60)} minutes"
        await audit(app, live.site_id, "host", "session_abandoned", f"session:{live.id}", {"why": idle})
        await hub.end(live, None, reason="abandoned")
    return len(gone)
