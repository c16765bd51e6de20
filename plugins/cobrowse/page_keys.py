"""The page key: how the customer's page proves which session it belongs to.

The WebACD snippet made the first key; its hash reached the session's ``meta["webacd"]["page_key_hash"]``.
Each accepted hello spends the key the page showed and hands it a new one (rotation): a spent key shown
again is a replay. The table ``cobrowse_page_keys`` remembers every key of a session (its hash only). The
functions taking ``db`` run in the database threads."""
from __future__ import annotations

import re
import secrets

from host.api import token_hash

KEY = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
LIVE, USED, ENDED = "live", "used", "ended"


def hash_of(key) -> str | None:
    """The stored hash of a well-formed key, else None."""
    return token_hash(key) if isinstance(key, str) and KEY.match(key) else None


def new_key() -> str:
    return secrets.token_urlsafe(32)


def remember(db, key_hash: str, site_id: int, session_id: str, now: float) -> None:
    """A session's first key (from WebACD), live until the page shows it."""
    db.execute("insert or ignore into cobrowse_page_keys (key_hash, site_id, session_id, state, created_at) "
               "values (?, ?, ?, ?, ?)", [key_hash, site_id, session_id, LIVE, now])


def find(db, key_hash: str) -> dict | None:
    return next(db["cobrowse_page_keys"].rows_where("key_hash = ?", [key_hash]), None)


def spend(db, key_hash: str, new_hash: str, site_id: int, session_id: str, now: float) -> bool:
    """Spend ``key_hash`` and make ``new_hash`` the session's live key, in one transaction; False when the
    key was spent already (a replay: two pages raced with one key, or an old one came back)."""
    row = find(db, key_hash)
    if row is not None and row["state"] != LIVE:
        return False
    db.execute("insert or replace into cobrowse_page_keys (key_hash, site_id, session_id, state, created_at, used_at) "
               "values (?, ?, ?, ?, ?, ?)", [key_hash, site_id, session_id, USED,
                                             row["created_at"] if row else now, now])
    db.execute("update cobrowse_page_keys set state = ?, used_at = ? where session_id = ? and state = ?",
               [USED, now, session_id, LIVE])
    db["cobrowse_page_keys"].insert({"key_hash": new_hash, "site_id": site_id, "session_id": session_id,
                                     "state": LIVE, "created_at": now, "used_at": None})
    return True


def end(db, session_id: str, now: float) -> None:
    """The session ended: its live key now says so (the page forgets it)."""
    db.execute("update cobrowse_page_keys set state = ?, used_at = ? where session_id = ? and state = ?",
               [ENDED, now, session_id, LIVE])
