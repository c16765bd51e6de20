"""Starting a support session for a rep: what the console's "Start session" button and the HTTP API's
POST /api/v1/sessions both do (one place for the rep's session limit, the hook and the console feed)."""
from __future__ import annotations

from . import session_store as store
from .appkeys import CONFIG, DB, HUB, PLUGINS


class SessionLimitReached(Exception):
    """The rep works in single-session mode, or has reached their maximum; the text says which."""


async def start_session(app, site, user: dict, meta: dict | None = None, address: str = "") -> dict:
    """Create a session with ``user`` as primary rep and tell plugins and the rep's consoles; returns its row.
    ``address``: where the rep asked from (for the audit log). Raises SessionLimitReached (nothing is
    written then)."""
    cfg = app[CONFIG]
    now = cfg.clock()

    def create(db):
        mine = store.sessions_of_user(db, user["id"])
        limit = 1 if user["mode"] == "single" else user["max_sessions"]
        if len(mine) >= limit:
            return None
        return store.create_session(db, site.id, user, now, cfg.number_ttl, cfg.number_digits, meta=meta,
                                    address=address)[0]
    session = await app[DB].write(create)
    if session is None:
        if user["mode"] == "single":
            raise SessionLimitReached("You work in single-session mode: end or hand over your current session first.")
        raise SessionLimitReached(f"You have reached your maximum of {user['max_sessions']} sessions.")
    live = await app[HUB].get(session["id"])
    await app[PLUGINS].call("session_started", site.disabled, app=app, session=live)
    app[HUB].notify_user(user["id"], {"type": "console.sessions_changed"})
    return session
