"""Console logins (the auth_sessions behind the login cookie) end when their account's password changes,
and when nobody used them for the site's idle timeout.

Password changes: the transaction that changes a password (the admin page, or `supporthost
reset-password` in another process) deletes every login of the account and writes a
``credential_changes`` row (``revoke_logins``). The running host polls that table every ``WATCH_EVERY``
seconds and closes the account's open sockets, so a change made by the CLI reaches them within a second.

Idle timeout (a per-site setting, ``IDLE_MINUTES``; 0 = off; besides the absolute ``auth_session_ttl``):
a login's activity is every authenticated request and every message on its sockets. It is kept in
memory and written to ``auth_sessions.last_seen_at`` at most once a minute per login (so a restart
loses at most a minute of it). A cookie whose login was idle too long is refused (and its login
deleted); an open socket of such a login is closed.
"""
from __future__ import annotations

import asyncio
import logging

from aiohttp import WSCloseCode, web

from .appkeys import CONFIG, DB, HUB, SITES
from .options import Setting

log = logging.getLogger("supporthost.logins")

SETTINGS_GROUP = "host"    # site_settings.plugin of the host's own site settings
IDLE_MINUTES = Setting("idle_minutes", "Idle timeout of consoles (minutes, 0 = off)", type="int", default=30,
                       min=0, max=24 * 60, plugin=SETTINGS_GROUP,
                       help="A rep's login ends after this many minutes without a request or a message from "
                            "their console; its open consoles are closed. 0 switches it off.")
LOGIN_WATCH: web.AppKey["LoginWatch"] = web.AppKey("login_watch")
WATCH_EVERY = 0.5      # seconds between two looks for password changes and idle sockets
WRITE_EVERY = 60.0     # seconds between two writes of one login's last_seen_at


def idle_seconds(site) -> float:
    """The site's idle timeout in seconds (0: none)."""
    return 60.0 * int(site.setting(SETTINGS_GROUP, IDLE_MINUTES) or 0)


def revoke_logins(db, site_id: int, user_id: int, why: str, now: float) -> int:
    """In the transaction that changes an account's password: end all its logins, and tell the running
    host (which closes the account's sockets). Returns how many logins ended."""
    ended = db.execute("delete from auth_sessions where user_id = ?", [user_id]).rowcount
    db["credential_changes"].insert({"site_id": site_id, "user_id": user_id, "at": now, "why": why})
    return ended


class LoginWatch:
    """The in-memory side: each login's last activity and open sockets, and the task that acts on them."""

    def __init__(self, app: web.Application):
        self.app = app
        self.seen: dict[str, float] = {}      # login (token hash) -> its last activity
        self.written: dict[str, float] = {}   # login -> the last_seen_at stored for it
        self.sockets: dict[str, tuple[int, set]] = {}   # login -> (site id, its open connections)
        self.last_change = 0                  # id of the newest credential_changes row acted on
        self.task: asyncio.Task | None = None

    # -- activity --------------------------------------------------------------------------------
    def last_activity(self, login: str, stored: float | None) -> float:
        return max(self.seen.get(login, 0.0), stored or 0.0)

    def is_idle(self, site, login: str, stored: float | None, now: float) -> bool:
        limit = idle_seconds(site)
        return bool(limit) and now - self.last_activity(login, stored) > limit

    def touch(self, login: str, now: float, stored: float | None = None) -> None:
        """The login was used now (a request, a message on one of its sockets)."""
        if login not in self.written and stored is not None:
            self.written[login] = stored
        if now > self.seen.get(login, 0.0):
            self.seen[login] = now

    def forget(self, login: str) -> None:
        self.seen.pop(login, None)
        self.written.pop(login, None)

    # -- sockets ---------------------------------------------------------------------------------
    def opened(self, login: str, site_id: int, conn) -> None:
        self.sockets.setdefault(login, (site_id, set()))[1].add(conn)

    def closed(self, login: str, conn) -> None:
        entry = self.sockets.get(login)
        if entry is not None:
            entry[1].discard(conn)
            if not entry[1]:
                del self.sockets[login]

    # -- the watching task -----------------------------------------------------------------------
    async def start(self) -> None:
        self.last_change = await self.app[DB].read(
            lambda db: db.execute("select coalesce(max(id), 0) from credential_changes").fetchone()[0])
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self._write_activity(everything=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY)
            try:
                await self.check()
            except Exception:
                log.exception("watching logins failed")

    async def check(self) -> None:
        """One look: password changes, idle sockets, activity due to be written."""
        await self._password_changes()
        await self._close_idle()
        await self._write_activity()

    async def _password_changes(self) -> None:
        last = self.last_change
        rows = await self.app[DB].read(lambda db: list(db.query(
            "select id, user_id from credential_changes where id > ? order by id", [last])))
        if not rows:
            return
        self.last_change = rows[-1]["id"]
        for user_id in dict.fromkeys(r["user_id"] for r in rows):
            await self.app[HUB].disconnect_user(user_id, "password changed: log in again")

    async def _close_idle(self) -> None:
        now = self.app[CONFIG].clock()
        sites = self.app[SITES].by_id
        idle = [login for login, (site_id, _) in self.sockets.items()
                if site_id in sites and self.is_idle(sites[site_id], login, None, now)]
        if not idle:
            return
        await self.app[DB].write(lambda db: db.conn.executemany(
            "delete from auth_sessions where token_hash = ?", [(login,) for login in idle]))
        conns = [conn for login in idle for conn in self.sockets.pop(login, (0, set()))[1]]
        for login in idle:
            self.forget(login)
        await asyncio.gather(*(c.close(WSCloseCode.POLICY_VIOLATION, "idle for too long: log in again")
                               for c in conns), return_exceptions=True)

    async def _write_activity(self, everything: bool = False) -> None:
        due = [(at, login) for login, at in self.seen.items()
               if at - self.written.get(login, 0.0) >= (0.0 if everything else WRITE_EVERY)]
        if due:
            await self.app[DB].write(lambda db: db.conn.executemany(
                "update auth_sessions set last_seen_at = ? where token_hash = ?", due))
            for at, login in due:
                self.written[login] = at
        # Logins unused for longer than any login lives are forgotten here (their rows expire anyway).
        cutoff = self.app[CONFIG].clock() - self.app[CONFIG].auth_session_ttl
        for login in [lg for lg, at in self.seen.items() if at < cutoff and lg not in self.sockets]:
            self.forget(login)
