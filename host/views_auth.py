"""Log in and out. Failed logins lock the account for a while; too many tries from one address are refused.
An account with a second factor (or on a site that requires one) finishes logging in in host/views_second_step.py."""
from __future__ import annotations

import asyncio
import math
import secrets

from aiohttp import web

from .appkeys import CONFIG, DB, LOGIN_LIMIT
from .audit import audit_row
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
        if status in (401, 423):
            await _audit_failed_login(request, site, username, address, now, status)
        return await render(request, "login.html", status=status, site=site, page="login", error=text,
                            next=next_url, username=username)

    limiter = request.app[LOGIN_LIMIT]
    if limiter.blocked(address):
        return await fail("Too many login attempts from your address. Wait a minute and try again.", 429)
    limiter.hit(address)

    user = await request.app[DB].read(lambda db: next(db["users"].rows_where(
        "site_id = ? and username = ?", [site.id, username]), None))
    if user and user["locked_until"] and user["locked_until"] > now:
        minutes = max(1, math.ceil((user["locked_until"] - now) / 60))
        return await fail(f"This account is locked after too many failed logins. Try again in {minutes} "
                          f"minute{'s' if minutes != 1 else ''}, or ask an admin.", 423)
    # argon2 costs tens of milliseconds of CPU: verify off the event loop.
    verified = await asyncio.get_running_loop().run_in_executor(
        None, verify_password, user["password_hash"] if user else None, password)
    ok = verified and bool(user and user["active"])
    if not ok:
        if user:
            locked = await request.app[DB].write(
                lambda db: count_failed_login(db, cfg, site, user["id"], address, now))
            if locked:
                return await fail("Too many failed logins: this account is locked for "
                                  f"{int(cfg.lockout_seconds // 60)} minutes.", 423)
        return await fail("Wrong username or password.")

    pending = await second_step(request, site, user, next_url, address)
    if pending is not None:      # the account has a second factor, or the site requires one
        raise pending
    response = web.HTTPFound(_safe_next(site, next_url))
    await issue_login(request, site, user, response, {"address": address})
    raise response


def count_failed_login(db, cfg, site, user_id: int, address: str, now: float) -> float:
    """One more failed login of an account (a wrong password, or a wrong second factor); locks the
    account after too many. Returns when the lock ends (0.0: not locked). Runs in the writer thread."""
    # Counted from the stored value, so parallel guesses all count.
    stored = db["users"].get(user_id)
    if (stored["locked_until"] or 0) > now:  # a parallel guess locked it meanwhile
        return stored["locked_until"]
    failures = (stored["failed_logins"] or 0) + 1
    if failures < cfg.login_failures_before_lockout:
        db["users"].update(user_id, {"failed_logins": failures})
        return 0.0
    locked = now + cfg.lockout_seconds
    db["users"].update(user_id, {"failed_logins": 0, "locked_until": locked})
    audit_row(db, site.id, f"address:{address}", "account_locked", f"user:{user_id}", {"failures": failures}, now)
    return locked


async def issue_login(request: web.Request, site, user: dict, response: web.StreamResponse,
                      details: dict) -> None:
    """Sign ``user`` in: a new login token, its cookie set on ``response``, the "login" audit row."""
    cfg = request.app[CONFIG]
    now = cfg.clock()
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(16)

    def start(db):
        db["users"].update(user["id"], {"failed_logins": 0, "locked_until": 0.0})
        db["auth_sessions"].insert({"token_hash": token_hash(token), "user_id": user["id"], "site_id": site.id,
                                    "csrf": csrf, "created_at": now, "expires_at": now + cfg.auth_session_ttl})
        audit_row(db, site.id, f"user:{user['id']}", "login", "", details, now)
    await request.app[DB].write(start)
    response.set_cookie(auth_cookie(site), token, path=site.prefix, httponly=True, samesite="Lax",
                        secure=cfg.secure_cookies, max_age=int(cfg.auth_session_ttl))


async def _audit_failed_login(request, site, username: str, address: str, now: float, status: int) -> None:
    """Every failed login is an audit row: the username tried and the address, never the password.
    (The one place that writes it: each failing path ends in ``fail``.)"""
    def write(db):
        user = next(db.query("select id from users where site_id = ? and username = ?", [site.id, username]), None)
        audit_row(db, site.id, f"address:{address}", "login_failed", f"user:{user['id']}" if user else "",
                  {"username": username, "address": address, "why": "locked" if status == 423 else "refused"}, now)
    await request.app[DB].write(write)


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
