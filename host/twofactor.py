"""Two-factor sign-in: which second factors an account has, the site's "require two-factor" setting, and
logins waiting for their second step.

After the right password, an account with a second factor (or any account, on a site that requires one)
gets no login cookie yet: it gets a *pending login* (a random cookie of its own, kept as a sha256, good
for a few minutes and a few wrong codes) and is sent to give its code or key (``/login/verify``) or, with
no factor yet on a site that requires one, to set one up (``/login/enrol``). A pending login opens no other
page: every other page asks for the login cookie, which only the finished second step gives."""
from __future__ import annotations

import secrets

from aiohttp import web

from . import login_lockout as lockout
from . import twofactor_recovery as recovery
from .appkeys import CONFIG, DB
from .audit import audit_row
from .options import Setting
from .session_store import token_hash
from .web_common import client_address

CORE = "core"   # the site_settings "plugin" of the host's own settings
REQUIRED = Setting("require_2fa", "Require two-factor sign-in", type="bool", default=False,
                   help="Every rep and admin must sign in with an authenticator app or a security key.",
                   plugin=CORE)
PENDING_TTL = 300.0          # seconds to give the second step after the password
MAX_STEP_FAILURES = 5        # wrong codes or keys one pending login may take before the password is asked again


def pending_cookie(site) -> str:
    return f"sh_2fa_{site.slug}"


def required(site) -> bool:
    return bool(site.setting(CORE, REQUIRED))


def factors_of(db, user_id: int) -> dict:
    """What second factors an account has: the app (on), its security keys, unused recovery codes."""
    app = next(db["totp_secrets"].rows_where("user_id = ? and confirmed_at is not null", [user_id]), None)
    return {"totp": app is not None, "keys": db["webauthn_keys"].count_where("user_id = ?", [user_id]),
            "recovery": recovery.remaining(db, user_id)}


def has_factor(factors: dict) -> bool:
    return factors["totp"] or factors["keys"] > 0


async def second_step(request: web.Request, site, user: dict, next_url: str, address: str):
    """The hand-off after a right password: None when the account signs in at once, else the redirect
    (with the pending login's cookie) to give the second factor or to set one up."""
    factors = await request.app[DB].read(lambda db: factors_of(db, user["id"]))
    if not has_factor(factors) and not required(site):
        return None
    purpose = "verify" if has_factor(factors) else "enrol"
    token = secrets.token_urlsafe(32)
    now = request.app[CONFIG].clock()

    def write(db):
        db.execute("delete from pending_logins where expires_at <= ?", [now])
        db["pending_logins"].insert({"token_hash": token_hash(token), "user_id": user["id"], "site_id": site.id,
                                     "purpose": purpose, "next_url": next_url[:500], "challenge": None,
                                     "failures": 0, "created_at": now, "expires_at": now + PENDING_TTL})
        audit_row(db, site.id, f"user:{user['id']}", "login_second_step_asked", "",
                  {"address": address, "step": purpose}, now)
    await request.app[DB].write(write)
    response = web.HTTPFound(f"{site.prefix}/login/{purpose}")
    response.set_cookie(pending_cookie(site), token, path=site.prefix, httponly=True, samesite="Strict",
                        secure=request.app[CONFIG].secure_cookies, max_age=int(PENDING_TTL))
    return response


async def pending_login(request: web.Request, site, purpose: str) -> dict | None:
    """The pending login of this browser for ``purpose`` ("verify" or "enrol"), with its account's row
    under "user"; None when there is none, it expired, or the account was switched off or locked."""
    token = request.cookies.get(pending_cookie(site))
    if not token or len(token) > 200:
        return None
    now = request.app[CONFIG].clock()
    th = token_hash(token)
    address = client_address(request)

    def lookup(db):
        row = next(db["pending_logins"].rows_where(
            "token_hash = ? and site_id = ? and purpose = ? and expires_at > ?", [th, site.id, purpose, now]), None)
        if row is None:
            return None
        user = next(db["users"].rows_where("id = ? and active = 1", [row["user_id"]]), None)
        if user is None or lockout.locked_until(db, site.id, user["username"], address, now):
            return None
        return {**row, "user": user}
    return await request.app[DB].read(lookup)


def end_pending(db, token_hash_: str) -> None:
    db.execute("delete from pending_logins where token_hash = ?", [token_hash_])


def count_step_failure(db, token_hash_: str) -> int:
    """One more wrong code or key for a pending login; at MAX_STEP_FAILURES it ends. Returns the count."""
    row = next(db["pending_logins"].rows_where("token_hash = ?", [token_hash_]), None)
    if row is None:
        return MAX_STEP_FAILURES
    failures = (row["failures"] or 0) + 1
    if failures >= MAX_STEP_FAILURES:
        end_pending(db, token_hash_)
    else:
        db["pending_logins"].update(token_hash_, {"failures": failures})
    return failures


def remove_all_factors(db, user_id: int) -> dict:
    """Take away every second factor of an account (an admin's reset); returns what it had."""
    had = factors_of(db, user_id)
    for table in ("totp_secrets", "webauthn_keys", "recovery_codes", "pending_logins", "webauthn_challenges"):
        db.execute(f"delete from {table} where user_id = ?", [user_id])
    return had


def accounts_overview(db, site_id: int) -> dict:
    """For the admin page: each account's second factors, by account id."""
    rows = db.query("select u.id, (select count(*) from totp_secrets t where t.user_id = u.id and "
                    "t.confirmed_at is not null) as totp, (select count(*) from webauthn_keys k where "
                    "k.user_id = u.id) as keys from users u where u.site_id = ?", [site_id])
    return {r["id"]: {"totp": bool(r["totp"]), "keys": r["keys"]} for r in rows}
