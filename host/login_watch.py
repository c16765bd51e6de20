"""Console logins (the auth_sessions behind the login cookie) end when their account's password changes,
at logout, after their lifetime, and when nobody used them for the site's idle timeout; their open
sockets close with them.

A login ends by its auth_sessions row going: a password change (the admin page, or `supporthost
reset-password` in another process, ``revoke_logins``), a logout, the idle timeout. The running host
looks twice a second (``WATCH_EVERY``) whether the logins behind its open sockets still exist and are
unexpired, and closes the sockets of those that do not (1008), so a change made by the CLI reaches them
within a second.

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

from .appkeys import CONFIG, DB, SITES
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


def revoke_logins(db, user_id: int) -> int:
    """In the transaction that changes an account's password: end all its logins (the running host closes
    their sockets). Returns how many logins ended."""
    return db.execute("delete from auth_sessions where user_id = ?", [user_id]).rowcount


class LoginWatch:
    """The in-memory side: each login's last activity and open sockets, and the task that acts on them."""

    def __init__(self, app: web.Application):
        self.app = app
        self.seen: dict[str, float] = {}      # login (token hash) -> its last activity
        self.written: dict[str, float] = {}   # login -> the last_seen_at stored for it
        self.sockets: dict[str, tuple[int, set]] = {}   # login -> (site id, its open connections)
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
        """One look: ended logins, idle sockets, activity due to be written."""
        await self._close_ended()
        await self._close_idle()
        await self._write_activity()

    async def _close_ended(self) -> None:
        logins = list(self.sockets)
        if not logins:
            return
        now = self.app[CONFIG].clock()

        def alive(db) -> set[str]:
            found: set[str] = set()
            for i in range(0, len(logins), 500):
                chunk = logins[i:i + 500]
                found.update(r[0] for r in db.execute(
                    f"select token_hash from auth_sessions where expires_at > ? and token_hash in "
                    f"({','.join('?' * len(chunk))})", [now, *chunk]))
            return found
        living = await self.app[DB].read(alive)
        await self._close([login for login in logins if login not in living], "your login ended: log in again")

    async def _close(self, logins: list[str], reason: str) -> None:
        conns = [conn for login in logins for conn in self.sockets.pop(login, (0, set()))[1]]
        for login in logins:
            self.forget(login)
        await asyncio.gather(*(c.close(WSCloseCode.POLICY_VIOLATION, reason) for c in conns),
                             return_exceptions=True)

    async def _close_idle(self) -> None:
        now = self.app[CONFIG].clock()
        sites = self.app[SITES].by_id
        idle = [login for login, (site_id, _) in self.sockets.items()
                if site_id in sites and self.is_idle(sites[site_id], login, None, now)]
        if not idle:
            return
        await self.app[DB].write(lambda db: db.conn.executemany(
            "delete from auth_sessions where token_hash = ?", [(login,) for login in idle]))
        await self._close(idle, "idle for too long: log in again")

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
