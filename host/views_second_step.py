"""The second step of a login (host/twofactor.py has the pending login it finishes): a code from the
authenticator app, a security key, or a recovery code. Every try counts toward the per-address login limit;
a wrong one counts toward the account's lockout too, and after a few the password is asked again. Each
success and failure is audited."""
from __future__ import annotations

import asyncio

from aiohttp import web

from . import twofactor_recovery as recovery
from . import twofactor_totp as totp
from . import twofactor_webauthn as keys
from .appkeys import CONFIG, DB, LOGIN_LIMIT
from .audit import audit_row
from .json_errors import json_error
from .twofactor import MAX_STEP_FAILURES, count_step_failure, end_pending, factors_of, pending_cookie, pending_login
from .views_auth import _locked_text, _safe_next, count_failed_login, issue_login
from .web_common import client_address, form_with_csrf, render, site_of

routes = web.RouteTableDef()
EXPIRED = "Your sign-in has expired or was ended. Please log in again."


async def _pending_or_login(request, site, purpose: str, as_json: bool = False) -> dict:
    pending = await pending_login(request, site, purpose)
    if pending is None:
        if as_json:
            raise json_error(401, EXPIRED, "login_expired", redirect=f"{site.prefix}/login")
        raise web.HTTPFound(f"{site.prefix}/login")
    return pending


async def _page(request, site, pending, status: int = 200, **context) -> web.Response:
    factors = await request.app[DB].read(lambda db: factors_of(db, pending["user_id"]))
    return await render(request, "second_step.html", status=status, site=site, page="second_step",
                        factors=factors, account=pending["user"], **context)


def _rate_limited(request) -> bool:
    limiter = request.app[LOGIN_LIMIT]
    address = client_address(request)
    if limiter.blocked(address):
        return True
    limiter.hit(address)
    return False


TOO_MANY = "Too many login attempts from your address. Wait a minute and try again."


async def _finish(request, site, pending, response, method: str) -> None:
    """The second step passed: the pending login ends and the account is signed in."""
    await request.app[DB].write(lambda db: end_pending(db, pending["token_hash"]))
    await issue_login(request, site, pending["user"], response,
                      {"address": client_address(request), "second_factor": method})
    response.del_cookie(pending_cookie(site), path=site.prefix)


async def _failed(request, site, pending, method: str, reason: str) -> tuple[str, int, bool]:
    """A wrong code or key: audited, counted (the pending login's tries, the account's lockout).
    Returns the message for the person, the status, and whether the login must start again."""
    cfg = request.app[CONFIG]
    now = cfg.clock()
    address = client_address(request)
    uid = pending["user_id"]

    def write(db):
        tries = count_step_failure(db, pending["token_hash"])
        locked = count_failed_login(db, cfg, site, uid, address, now)
        if locked:
            end_pending(db, pending["token_hash"])
        audit_row(db, site.id, f"user:{uid}", "login_second_step_failed", "",
                  {"address": address, "method": method, "reason": reason, "tries": tries}, now)
        return tries, locked
    tries, locked = await request.app[DB].write(write)
    if locked:
        return _locked_text(locked - now), 423, True
    if tries >= MAX_STEP_FAILURES:
        return "Too many wrong codes. Please log in again with your password.", 401, True
    return reason, 401, False


@routes.get("/s/{site}/login/verify")
async def verify_page(request: web.Request):
    site = site_of(request)
    pending = await _pending_or_login(request, site, "verify")
    return await _page(request, site, pending)


@routes.post("/s/{site}/login/verify")
async def verify_code(request: web.Request):
    """A code from the authenticator app (field ``code``) or a recovery code (``recovery_code``)."""
    site = site_of(request)
    form = await form_with_csrf(request)
    pending = await _pending_or_login(request, site, "verify")
    if _rate_limited(request):
        return await _page(request, site, pending, 429, error=TOO_MANY)
    now = request.app[CONFIG].clock()
    uid = pending["user_id"]
    code, recovery_code = str(form.get("code", "")), str(form.get("recovery_code", ""))
    if recovery_code.strip():
        method = "recovery_code"

        def spend(db):
            if not recovery.use_code(db, uid, recovery_code, now):
                return None
            left = recovery.remaining(db, uid)
            audit_row(db, site.id, f"user:{uid}", "twofactor_recovery_code_used", f"user:{uid}", {"left": left},
                      now)
            return left
        left = await request.app[DB].write(spend)
        reason = None if left is not None else "That recovery code is not right, or it was used already."
    elif code.strip():
        method = "totp"

        def spend(db):
            try:
                totp.use_code(db, uid, code, now)
            except totp.CodeRefused as exc:
                return str(exc)
            return None
        reason, left = await request.app[DB].write(spend), None
    else:
        return await _page(request, site, pending, 400, error="Type the code your authenticator app shows, "
                                                               "or one of your recovery codes.")
    if reason:
        message, status, start_over = await _failed(request, site, pending, method, reason)
        if start_over:
            return await render(request, "login.html", status=status, site=site, page="login", error=message)
        return await _page(request, site, pending, status, error=message)
    response = web.HTTPFound(_safe_next(site, pending["next_url"]))
    if left is not None and left <= 3:
        response = web.HTTPFound(f"{site.prefix}/security")   # few codes left: show where to make new ones
    await _finish(request, site, pending, response, method)
    raise response


@routes.post("/s/{site}/login/verify/key-options")
async def key_options(request: web.Request):
    """The WebAuthn request options for this sign-in: the account's keys and a new challenge."""
    site = site_of(request)
    await form_with_csrf(request)
    pending = await _pending_or_login(request, site, "verify", as_json=True)
    rp = keys.relying_party(site, request.scheme, request.host)
    key_ids = await request.app[DB].read(lambda db: [r["credential_id"] for r in db["webauthn_keys"].rows_where(
        "user_id = ?", [pending["user_id"]])])
    if not key_ids:
        raise json_error(409, "This account has no security key. Use your authenticator app or a recovery code.")
    options, challenge = keys.authentication_options(rp, key_ids)
    await request.app[DB].write(lambda db: db["pending_logins"].update(
        pending["token_hash"], {"challenge": keys.bytes_to_base64url(challenge)}))
    return web.json_response(options)


@routes.post("/s/{site}/login/verify/key")
async def key_answer(request: web.Request):
    """The browser's answer from the security key: signed in (``{"redirect": ...}``) or a JSON error."""
    site = site_of(request)
    body = await form_with_csrf(request)
    pending = await _pending_or_login(request, site, "verify", as_json=True)
    if _rate_limited(request):
        raise json_error(429, TOO_MANY)
    th, uid = pending["token_hash"], pending["user_id"]

    def take_challenge(db):     # each challenge is answered once
        row = next(db["pending_logins"].rows_where("token_hash = ?", [th]), None)
        db["pending_logins"].update(th, {"challenge": None})
        return row["challenge"] if row else None
    challenge = await request.app[DB].write(take_challenge)
    try:
        answer = keys.answer_of(body)
        if not challenge:
            raise keys.KeyRefused("There is no security key request waiting: press \"Use a security key\" again.")
        key = await request.app[DB].read(lambda db: next(db["webauthn_keys"].rows_where(
            "user_id = ? and credential_id = ?", [uid, answer["id"]]), None))
        if key is None:
            raise keys.KeyRefused("This security key is not registered for this account.")
        rp = keys.relying_party(site, request.scheme, request.host)
        count = await asyncio.get_running_loop().run_in_executor(
            None, keys.verify_authentication, rp, answer, keys.base64url_to_bytes(challenge), key)
    except keys.KeyRefused as exc:
        message, status, start_over = await _failed(request, site, pending, "security_key", str(exc))
        raise json_error(status, message, "key_refused",
                         **({"redirect": f"{site.prefix}/login"} if start_over else {})) from None
    now = request.app[CONFIG].clock()

    def spend(db):      # the counter must still be the one checked (a parallel answer with a copy loses)
        cursor = db.execute("update webauthn_keys set sign_count = ?, last_used_at = ? where id = ? and "
                            "sign_count = ?", [count, now, key["id"], key["sign_count"]])
        return cursor.rowcount == 1
    if not await request.app[DB].write(spend):
        message, status, start_over = await _failed(request, site, pending, "security_key", "The security key "
                                                    "was used for another sign-in at the same moment. Try again.")
        raise json_error(status, message, "key_refused",
                         **({"redirect": f"{site.prefix}/login"} if start_over else {}))
    response = web.json_response({"redirect": _safe_next(site, pending["next_url"])})
    await _finish(request, site, pending, response, "security_key")
    return response
