"""Failed logins, counted per (site, username tried, address): a guesser locks only itself out.

After ``Config.login_failures_before_lockout`` wrong tries from one address at one username, that
username is locked for that address for ``Config.lockout_seconds``; each further lock lasts twice as
long as the one before (at most ``Config.lockout_max_seconds``); a successful login or an admin's
unlock forgets it all. The same rules hold for usernames that do not exist, so the answers (status,
text, time) never tell whether an account exists.

A try is counted *before* its password is verified (``reserve``), inside the database's one writer
thread, so a burst of parallel tries cannot verify more passwords than allowed: a try beyond the
allowance is refused as locked without being verified. Every function here takes the writer's ``db``.
"""
from __future__ import annotations

from dataclasses import dataclass

from .audit import audit_row

FORGET_AFTER = 24 * 3600.0   # a record without a running lock is forgotten this long after its last failure


@dataclass(frozen=True)
class LockoutPolicy:
    failures_allowed: int       # wrong tries before a lock
    first_lock: float           # seconds the first lock lasts; each further one lasts twice as long
    longest_lock: float

    def lock_seconds(self, locks: int) -> float:
        """How long the ``locks``-th lock (1, 2, ...) lasts."""
        return min(self.longest_lock, self.first_lock * 2 ** min(max(locks - 1, 0), 40))


def _row(db, site_id: int, username: str, address: str) -> dict | None:
    return next(db.query("select * from login_failures where site_id = ? and username = ? and address = ?",
                         [site_id, username, address]), None)


def reserve(db, policy: LockoutPolicy, site_id: int, username: str, address: str, now: float) -> float:
    """Count a try before its password is checked. Returns 0.0 when it may be checked, else the time
    until which the username is locked for this address (the try is then refused unchecked)."""
    db.execute("delete from login_failures where updated_at < ? and coalesce(locked_until, 0) < ?",
               [now - FORGET_AFTER, now])
    row = _row(db, site_id, username, address)
    if row is None:
        db["login_failures"].insert({"site_id": site_id, "username": username, "address": address,
                                     "failures": 1, "locks": 0, "locked_until": 0.0, "updated_at": now})
        return 0.0
    if (row["locked_until"] or 0) > now:
        return row["locked_until"]
    if row["failures"] >= policy.failures_allowed:
        # The allowed tries are all taken by tries still being checked: this one waits out their lock.
        return now + policy.lock_seconds(row["locks"] + 1)
    db.execute("update login_failures set failures = failures + 1, updated_at = ? "
               "where site_id = ? and username = ? and address = ?", [now, site_id, username, address])
    return 0.0


def failed(db, policy: LockoutPolicy, site_id: int, username: str, address: str, now: float,
           user_id: int | None) -> float:
    """A reserved try had a wrong password: lock when the allowance is used up. Returns the lock's end
    (0.0 when no lock started now)."""
    row = _row(db, site_id, username, address)
    if row is None or (row["locked_until"] or 0) > now or row["failures"] < policy.failures_allowed:
        return 0.0
    locks = row["locks"] + 1
    until = now + policy.lock_seconds(locks)
    db.execute("update login_failures set failures = 0, locks = ?, locked_until = ?, updated_at = ? "
               "where site_id = ? and username = ? and address = ?", [locks, until, now, site_id, username, address])
    audit_row(db, site_id, f"address:{address}", "account_locked", f"user:{user_id}" if user_id else "",
              {"username": username, "address": address, "failures": row["failures"], "lock": locks,
               "until": until}, now)
    return until


def released(db, site_id: int, username: str, address: str) -> None:
    """A reserved try had the right password but the login waits for its second factor: the try does not
    count, and the failures before it stay (re-entering the password never resets them)."""
    db.execute("update login_failures set failures = max(failures - 1, 0) "
               "where site_id = ? and username = ? and address = ?", [site_id, username, address])


def locked_until(db, site_id: int, username: str, address: str, now: float) -> float:
    """When the lock of this username at this address ends (0.0: not locked now)."""
    row = _row(db, site_id, username, address)
    return row["locked_until"] if row is not None and (row["locked_until"] or 0) > now else 0.0


def succeeded(db, site_id: int, username: str, address: str) -> None:
    """A right password: this address starts afresh at this username."""
    db.execute("delete from login_failures where site_id = ? and username = ? and address = ?",
               [site_id, username, address])


def unlock(db, site_id: int, username: str, address: str | None = None) -> int:
    """Forget the failures (and end the locks) of a username, from one address or from all; returns how
    many records went."""
    sql, args = "delete from login_failures where site_id = ? and username = ?", [site_id, username]
    if address is not None:
        sql += " and address = ?"
        args.append(address)
    return db.execute(sql, args).rowcount


def locks_of(db, site_id: int, now: float) -> list[dict]:
    """The running locks of a site, soonest ending first (for the admin page)."""
    return list(db.query("select username, address, locks, locked_until from login_failures "
                         "where site_id = ? and locked_until > ? order by locked_until", [site_id, now]))
