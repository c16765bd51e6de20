"""Log in and out. Wrong passwords lock a username for the address they came from (host/login_lockout.py);
too many tries from one address are refused. An account with a second factor (or on a site that requires
one) finishes logging in in host/views_second_step.py."""
from __future__ import annotations

import asyncio
import math
import secrets

from aiohttp import web

from . import login_lockout as lockout
from .appkeys import CONFIG, DB, LOGIN_LIMIT
from .audit import audit_row
from .login_lockout import LockoutPolicy
from .passwords import verify_password
from .session_store import token_hash
from .twofactor import second_step
from .web_common import auth_cookie, client_address, current_user, form_with_csrf, render, site_of

routes = web.RouteTableDef()


def _safe_next(site, target: str | None) -> str:
    if target and target.startswith(site.prefix + "/") and not target.startswith("//"):
        return target
    return f"{site.prefix}/console"


@routes.get("/s/{site}/login")
async def login_page(request: web.Request):
    site = site_of(request)
    user = await current_user(request, site)
    if user:
        raise web.HTTPFound(_safe_next(site, request.query.get("next")))
    return await render(request, "login.html", site=site, page="login", next=request.query.get("next", ""))


@routes.post("/s/{site}/login")
async def login(request: web.Request):
    site = site_of(request)
    form = await form_with_csrf(request)
    cfg = request.app[CONFIG]
    now = cfg.clock()
    address = client_address(request)
    username = str(form.get("username", "")).strip().lower()[:60]
    password = str(form.get("password", ""))[:500]
    next_url = str(form.get("next", ""))

    async def fail(text: str, status: int = 401):
        return await render(request, "login.html", status=status, site=site, page="login", error=text,
                            next=next_url, username=username)

    limiter = request.app[LOGIN_LIMIT]
    if limiter.blocked(address):
        return await fail("Too many login attempts from your address. Wait a minute and try again.", 429)
    limiter.hit(address)

    # Counted before the password is checked, per (username, address), the same for unknown usernames.
    db = request.app[DB]
    policy = _policy(cfg)

    def audit_failure(db, user: dict | None, why: str) -> None:   # never the password tried
        audit_row(db, site.id, f"address:{address}", "login_failed", f"user:{user['id']}" if user else "",
                  {"username": username, "address": address, "why": why}, now)

    def reserve(db):
        until = lockout.reserve(db, policy, site.id, username, address, now)
        user = next(db["users"].rows_where("site_id = ? and username = ?", [site.id, username]), None)
        if until:
            audit_failure(db, user, "locked")
        return until, user
    locked_until, user = await db.write(reserve)
    if locked_until:
        return await fail(_locked_text(locked_until - now), 423)
    # argon2 costs tens of milliseconds of CPU: verify off the event loop (against a dummy hash when the
    # username is unknown, so that costs the same time).
    verified = await asyncio.get_running_loop().run_in_executor(
        None, verify_password, user["password_hash"] if user else None, password)
    if not (verified and user["active"]):
        def record(db):
            audit_failure(db, user, "wrong username or password")
            return lockout.failed(db, policy, site.id, username, address, now, user and user["id"])
        locked_until = await db.write(record)
        if locked_until:
            return await fail(_locked_text(locked_until - now), 423)
        return await fail("Wrong username or password.")

    pending = await second_step(request, site, user, next_url, address)
    if pending is not None:      # the account has a second factor, or the site requires one
        await db.write(lambda db: lockout.released(db, site.id, username, address))
        raise pending
    response = web.HTTPFound(_safe_next(site, next_url))
    await issue_login(request, site, user, response, {"address": address})
    raise response


def _policy(cfg) -> LockoutPolicy:
    return LockoutPolicy(cfg.login_failures_before_lockout, cfg.lockout_seconds, cfg.lockout_max_seconds)


def count_failed_login(db, cfg, site, user_id: int, address: str, now: float) -> float:
    """One more failed login of an account from ``address`` (a wrong second factor after a right password);
    counts toward the same (username, address) lockout as wrong passwords. Returns when the lock ends
    (0.0: not locked). Runs in the writer thread."""
    username, policy = db["users"].get(user_id)["username"], _policy(cfg)
    locked_until = lockout.reserve(db, policy, site.id, username, address, now)
    return locked_until or lockout.failed(db, policy, site.id, username, address, now, user_id)


async def issue_login(request: web.Request, site, user: dict, response: web.StreamResponse,
                      details: dict) -> None:
    """Sign ``user`` in: a new login token, its cookie set on ``response``, the "login" audit row; the
    failed tries of this username from this address are forgotten."""
    cfg = request.app[CONFIG]
    now = cfg.clock()
    address = details.get("address", "")
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(16)

    def start(db):
        lockout.succeeded(db, site.id, user["username"], address)
        db["auth_sessions"].insert({"token_hash": token_hash(token), "user_id": user["id"], "site_id": site.id,
                                    "csrf": csrf, "created_at": now, "expires_at": now + cfg.auth_session_ttl,
                                    "last_seen_at": now})
        audit_row(db, site.id, f"user:{user['id']}", "login", "", details, now)
    await request.app[DB].write(start)
    response.set_cookie(auth_cookie(site), token, path=site.prefix, httponly=True, samesite="Lax",
                        secure=cfg.secure_cookies, max_age=int(cfg.auth_session_ttl))


def _locked_text(seconds: float) -> str:
    """The one answer to a locked try: the same for every username, existing or not."""
    minutes = max(1, math.ceil(seconds / 60))
    return (f"Too many failed logins: this account is locked for {minutes} minute{'s' if minutes != 1 else ''} "
            "at your address. Try again then, or ask an admin to unlock it.")


@routes.post("/s/{site}/logout")
async def logout(request: web.Request):
    site = site_of(request)
    await form_with_csrf(request)
    token = request.cookies.get(auth_cookie(site))
    if token:
        th = token_hash(token)
        address, now = client_address(request), request.app[CONFIG].clock()

        def end(db):
            row = next(db.query("select user_id from auth_sessions where token_hash = ? and site_id = ?",
                                [th, site.id]), None)
            db.execute("delete from auth_sessions where token_hash = ?", [th])
            if row is not None:
                audit_row(db, site.id, f"user:{row['user_id']}", "logout", "", {"address": address}, now)
        await request.app[DB].write(end)
    response = web.HTTPFound(f"{site.prefix}/login")
    response.del_cookie(auth_cookie(site), path=site.prefix)
    raise response
