"""Setting up two-factor sign-in: the account's own security page (``/s/{site}/security``: the authenticator
app, security keys, recovery codes) and, on a site that requires a second factor, the page a pending login
without one is sent to (``/login/enrol``): the same setup, after which the login finishes. Every change is
audited. The admin's part is in host/views_twofactor_admin.py."""
from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from aiohttp import web

from . import twofactor_recovery as recovery
from . import twofactor_totp as totp
from . import twofactor_webauthn as keys
from .appkeys import ADMIN_NOTICES, CONFIG, DB
from .audit import audit_row
from .json_errors import json_error
from .passwords import verify_password
from .session_store import token_hash
from .twofactor import end_pending, factors_of, has_factor, pending_cookie, pending_login, required
from .views_auth import _safe_next, issue_login
from .web_common import auth_cookie, client_address, current_user, form_with_csrf, render, require_user, site_of

routes = web.RouteTableDef()
SHOW_FOR = 300.0            # seconds the page showing new recovery codes may take to be fetched
CHALLENGE_TTL = 300.0
MAX_KEYS = 10


@dataclass
class Enroller:
    """Who sets up a factor: a signed-in account, or a pending login that must set one up first."""
    user: dict
    owner: str                # keys this browser's WebAuthn challenge
    pending: dict | None      # the pending login (enrolment before the login finishes), else None

    @property
    def back(self) -> str:
        return "login/enrol" if self.pending else "security"


async def _enroller(request, site, as_json: bool = False) -> Enroller:
    user = await current_user(request, site)
    if user is not None:
        return Enroller(user, "auth:" + token_hash(request.cookies[auth_cookie(site)]), None)
    pending = await pending_login(request, site, "enrol")
    if pending is not None:
        return Enroller(pending["user"], "pending:" + pending["token_hash"], pending)
    if as_json:
        raise json_error(401, "Please log in.", redirect=f"{site.prefix}/login")
    raise web.HTTPFound(f"{site.prefix}/login")


def _load(db, user_id: int) -> dict:
    factors = factors_of(db, user_id)
    setup = next(db["totp_secrets"].rows_where("user_id = ? and confirmed_at is null", [user_id]), None)
    key_rows = list(db.query("select id, name, created_at, last_used_at from webauthn_keys where user_id = ? "
                             "order by id", [user_id]))
    return {"factors": factors, "setup_secret": setup["secret"] if setup else None, "keys": key_rows}


async def _page(request, site, who: Enroller, status: int = 200, **context) -> web.Response:
    state = await request.app[DB].read(lambda db: _load(db, who.user["id"]))
    setup = None
    if state["setup_secret"]:
        uri = totp.provisioning_uri(state["setup_secret"], who.user["username"], f"{site.name} ({site.slug})")
        setup = {"secret": state["setup_secret"], "uri": uri, "qr": totp.qr_svg_data_uri(uri)}
    response = await render(request, "security.html", status=status, site=site,
                            user=None if who.pending else who.user, account=who.user, page="security",
                            enrolling=who.pending is not None, required=required(site), setup=setup,
                            factors=state["factors"], keys=state["keys"], **context)
    response.headers["Cache-Control"] = "no-store"     # it may show a secret or recovery codes
    return response


@routes.get("/s/{site}/security")
async def security_page(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    who = await _enroller(request, site)
    shown = request.app[ADMIN_NOTICES].pop(f"recovery:{request.query.get('codes', '')}", None)
    if shown is not None and shown[0] == user["id"] and request.app[CONFIG].clock() - shown[2] <= SHOW_FOR:
        codes, next_url = shown[1]
        return await _page(request, site, who, recovery_codes=codes, continue_to=next_url)
    return await _page(request, site, who)


@routes.get("/s/{site}/login/enrol")
async def enrol_page(request: web.Request):
    site = site_of(request)
    pending = await pending_login(request, site, "enrol")
    if pending is None:
        raise web.HTTPFound(f"{site.prefix}/login")
    who = Enroller(pending["user"], "pending:" + pending["token_hash"], pending)
    return await _page(request, site, who)


async def _factor_added(request, site, who: Enroller, codes: list | None, method: str,
                        as_json: bool = False) -> web.StreamResponse:
    """The answer after a factor was added: new recovery codes are shown once (on the page it leads to),
    and a pending login that waited for this enrolment finishes (its login cookie is set here)."""
    target = f"{site.prefix}/security"
    if codes:
        now = request.app[CONFIG].clock()
        notices = request.app[ADMIN_NOTICES]
        for key in [k for k, (_, _, at) in notices.items() if k.startswith("recovery:") and now - at > SHOW_FOR]:
            del notices[key]
        key = secrets.token_urlsafe(16)
        next_url = _safe_next(site, who.pending["next_url"]) if who.pending else ""
        notices[f"recovery:{key}"] = (who.user["id"], (codes, next_url), now)
        target = f"{site.prefix}/security?codes={key}"
    response = web.json_response({"redirect": target}) if as_json else web.HTTPSeeOther(target)
    if who.pending:
        await request.app[DB].write(lambda db: end_pending(db, who.pending["token_hash"]))
        await issue_login(request, site, who.user, response, {"address": client_address(request),
                                                              "second_factor": method, "enrolled": True})
        response.del_cookie(pending_cookie(site), path=site.prefix)
    return response


# -- the authenticator app ---------------------------------------------------------------------------
@routes.post("/s/{site}/security/totp/start")
async def totp_start(request: web.Request):
    site = site_of(request)
    await form_with_csrf(request)
    who = await _enroller(request, site)
    now = request.app[CONFIG].clock()
    uid = who.user["id"]

    def write(db):
        if db["totp_secrets"].count_where("user_id = ? and confirmed_at is not null", [uid]):
            return False
        db["totp_secrets"].upsert({"user_id": uid, "site_id": site.id, "secret": totp.new_secret(),
                                   "confirmed_at": None, "last_step": 0, "created_at": now}, pk="user_id")
        return True
    if not await request.app[DB].write(write):
        return await _page(request, site, who, 409, error="An authenticator app is on already.")
    raise web.HTTPSeeOther(f"{site.prefix}/{who.back}")


@routes.post("/s/{site}/security/totp/confirm")
async def totp_confirm(request: web.Request):
    """The first code from the app: it is on only once a current code proves the app has the secret."""
    site = site_of(request)
    form = await form_with_csrf(request)
    who = await _enroller(request, site)
    now = request.app[CONFIG].clock()
    uid = who.user["id"]

    def write(db):
        first = not has_factor(factors_of(db, uid))
        try:
            totp.use_code(db, uid, str(form.get("code", "")), now, confirmed=False)
        except totp.CodeRefused as exc:
            audit_row(db, site.id, f"user:{uid}", "twofactor_totp_setup_failed", f"user:{uid}",
                      {"reason": str(exc)}, now)
            return None, str(exc)
        db["totp_secrets"].update(uid, {"confirmed_at": now})
        codes = recovery.make_codes(db, uid, now) if first else None
        audit_row(db, site.id, f"user:{uid}", "twofactor_totp_enabled", f"user:{uid}",
                  {"recovery_codes_made": bool(codes)}, now)
        return codes, None
    codes, error = await request.app[DB].write(write)
    if error:
        return await _page(request, site, who, 400, error=error)
    raise await _factor_added(request, site, who, codes, "totp")


@routes.post("/s/{site}/security/totp/disable")
async def totp_disable(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    form = await form_with_csrf(request)
    who = await _enroller(request, site)
    if not await _password_ok(user, form):
        return await _refused(request, site, who, "totp_disable", "The password is not right. Nothing changed.")
    now = request.app[CONFIG].clock()
    uid = user["id"]
    code = str(form.get("code", ""))

    def write(db):
        factors = factors_of(db, uid)
        if not factors["totp"]:
            return 409, "No authenticator app is on."
        if required(site) and factors["keys"] == 0:
            return 409, ("This site requires two-factor sign-in: add a security key before you turn the app "
                         "off. Nothing changed.")
        try:
            totp.use_code(db, uid, code, now)
        except totp.CodeRefused as exc:
            if not recovery.use_code(db, uid, code, now):
                return 403, f"{exc} (or give an unused recovery code). Nothing changed."
        db.execute("delete from totp_secrets where user_id = ?", [uid])
        if factors["keys"] == 0:
            db.execute("delete from recovery_codes where user_id = ?", [uid])
        audit_row(db, site.id, f"user:{uid}", "twofactor_totp_disabled", f"user:{uid}", {}, now)
        return None
    refused = await request.app[DB].write(write)
    if refused:
        return await _refused(request, site, who, "totp_disable", refused[1], refused[0])
    return await _page(request, site, who, message="The authenticator app is off.")


async def _password_ok(user: dict, form: dict) -> bool:
    password = str(form.get("password", ""))[:500]
    return await asyncio.get_running_loop().run_in_executor(None, verify_password, user["password_hash"], password)


async def _refused(request, site, who: Enroller, action: str, error: str, status: int = 403) -> web.Response:
    uid = who.user["id"]
    now = request.app[CONFIG].clock()
    await request.app[DB].write(lambda db: audit_row(db, site.id, f"user:{uid}", f"twofactor_{action}_refused",
                                                     f"user:{uid}", {"reason": error}, now))
    return await _page(request, site, who, status, error=error)


# -- security keys -------------------------------------------------------------------------------------
@routes.post("/s/{site}/security/keys/options")
async def key_options(request: web.Request):
    """The WebAuthn creation options for a new key of this account (JSON), with a new challenge."""
    site = site_of(request)
    await form_with_csrf(request)
    who = await _enroller(request, site, as_json=True)
    uid = who.user["id"]
    known = await request.app[DB].read(lambda db: [r["credential_id"] for r in db["webauthn_keys"].rows_where(
        "user_id = ?", [uid])])
    if len(known) >= MAX_KEYS:
        raise json_error(409, f"An account may have at most {MAX_KEYS} security keys: remove one first.")
    options, challenge = keys.registration_options(keys.relying_party(site, request.scheme, request.host),
                                                   who.user, known)
    now = request.app[CONFIG].clock()

    def write(db):
        db.execute("delete from webauthn_challenges where expires_at <= ?", [now])
        db["webauthn_challenges"].upsert({"owner": who.owner, "user_id": uid, "expires_at": now + CHALLENGE_TTL,
                                          "challenge": keys.bytes_to_base64url(challenge)}, pk="owner")
    await request.app[DB].write(write)
    return web.json_response(options)


@routes.post("/s/{site}/security/keys")
async def key_register(request: web.Request):
    """A new key's answer (``{"name", "credential"}``): stored, or a JSON error that says why not."""
    site = site_of(request)
    body = await form_with_csrf(request)
    who = await _enroller(request, site, as_json=True)
    uid = who.user["id"]
    now = request.app[CONFIG].clock()
    name = " ".join(str(body.get("name", "")).split())[:60]

    def take_challenge(db):     # each challenge is answered once, right or wrong
        row = next(db["webauthn_challenges"].rows_where("owner = ? and expires_at > ?", [who.owner, now]), None)
        db.execute("delete from webauthn_challenges where owner = ?", [who.owner])
        return row["challenge"] if row else None
    challenge = await request.app[DB].write(take_challenge)
    try:
        if not name:
            raise keys.KeyRefused("Give the key a name (e.g. \"blue USB key\"), so you can tell your keys apart.")
        answer = keys.answer_of(body)
        if not challenge:
            raise keys.KeyRefused("There is no key registration waiting (or it expired): press \"Add a security "
                                  "key\" again.")
        rp = keys.relying_party(site, request.scheme, request.host)
        stored = await asyncio.get_running_loop().run_in_executor(
            None, keys.verify_registration, rp, answer, keys.base64url_to_bytes(challenge))
    except keys.KeyRefused as exc:
        reason = str(exc)
        await request.app[DB].write(lambda db: audit_row(db, site.id, f"user:{uid}", "twofactor_key_refused",
                                                         f"user:{uid}", {"reason": reason}, now))
        raise json_error(400, reason, "key_refused") from None

    def write(db):
        if db["webauthn_keys"].count_where("credential_id = ?", [stored["credential_id"]]):
            return None, "This security key is registered already."
        first = not has_factor(factors_of(db, uid))
        key_id = db["webauthn_keys"].insert({"site_id": site.id, "user_id": uid, "name": name, "created_at": now,
                                             **stored}).last_pk
        codes = recovery.make_codes(db, uid, now) if first else None
        audit_row(db, site.id, f"user:{uid}", "twofactor_key_added", f"user:{uid}",
                  {"key": key_id, "name": name, "recovery_codes_made": bool(codes)}, now)
        return codes, None
    codes, error = await request.app[DB].write(write)
    if error:
        raise json_error(409, error, "key_refused")
    return await _factor_added(request, site, who, codes, "security_key", as_json=True)


@routes.post("/s/{site}/security/keys/{key_id}/remove")
async def key_remove(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    form = await form_with_csrf(request)
    who = await _enroller(request, site)
    if not await _password_ok(user, form):
        return await _refused(request, site, who, "key_remove", "The password is not right. Nothing changed.")
    raw = request.match_info["key_id"]
    now = request.app[CONFIG].clock()
    uid = user["id"]

    def write(db):
        key = next(db["webauthn_keys"].rows_where("id = ? and user_id = ?", [int(raw), uid]), None) \
            if raw.isdigit() else None
        if key is None:
            return 404, "There is no such security key of yours."
        factors = factors_of(db, uid)
        last = not factors["totp"] and factors["keys"] == 1
        if required(site) and last:
            return 409, "This site requires two-factor sign-in: this is your last second factor. Nothing changed."
        db.execute("delete from webauthn_keys where id = ?", [key["id"]])
        if last:
            db.execute("delete from recovery_codes where user_id = ?", [uid])
        audit_row(db, site.id, f"user:{uid}", "twofactor_key_removed", f"user:{uid}",
                  {"key": key["id"], "name": key["name"]}, now)
        return None
    refused = await request.app[DB].write(write)
    if refused:
        return await _refused(request, site, who, "key_remove", refused[1], refused[0])
    return await _page(request, site, who, message="The security key was removed.")


# -- recovery codes ------------------------------------------------------------------------------------
@routes.post("/s/{site}/security/recovery")
async def new_recovery_codes(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    form = await form_with_csrf(request)
    who = await _enroller(request, site)
    if not await _password_ok(user, form):
        return await _refused(request, site, who, "recovery_codes", "The password is not right. Nothing changed.")
    now = request.app[CONFIG].clock()
    uid = user["id"]

    def write(db):
        if not has_factor(factors_of(db, uid)):
            return None
        codes = recovery.make_codes(db, uid, now)
        audit_row(db, site.id, f"user:{uid}", "twofactor_recovery_codes_made", f"user:{uid}", {}, now)
        return codes
    codes = await request.app[DB].write(write)
    if codes is None:
        return await _page(request, site, who, 409, error="Recovery codes come with a second factor: set up an "
                                                          "authenticator app or a security key first.")
    raise await _factor_added(request, site, who, codes, "")
