"""Personal API tokens: made and revoked by their owner on the API tokens page, sent by scripts as
``Authorization: Bearer <token>`` to the HTTP API (host/views_api.py, docs/http-api.md).

A token is shown once, when it is made; only its sha256 is stored, so it is found by an indexed lookup of
that hash (no comparison of secrets that could leak through timing). A token carries scopes, and a call
gets only the scopes its owner's role allows at the time of the call: an admin who becomes a rep loses
the ``admin`` scope of every token at once. A token is refused when it is revoked or expired, when its
account is switched off, and when the account's password changed after it was made.

Audit: creation, revocation and the first use of each token are audit rows; every use updates the token's
``last_used_at`` (written at most once a minute per token). The calls that change something write their
own audit rows and session events, naming the token.
"""
from __future__ import annotations

import hashlib
import secrets

from aiohttp import web

from .json_errors import json_error
from .api_caller import ApiCaller
from .appkeys import CONFIG, DB
from .audit import audit_row
from .ratelimit import RateLimiter
from .session_store import token_hash
from .sites import Site

TOKEN_PREFIX = "sht_"
SCOPES = {"sessions": "Start, list, read and end your support sessions",
          "reports": "Read the activity report",
          "admin": "Site-wide: every rep's sessions and reports (admins only)"}
ROLE_SCOPES = {"rep": frozenset({"sessions", "reports"}), "admin": frozenset(SCOPES)}
NAME_MAX = 60
MAX_DAYS = 366
MAX_TOKENS_PER_USER = 20
LAST_USED_EVERY = 60.0     # seconds between two writes of one token's last_used_at
API_LIMIT: web.AppKey[RateLimiter] = web.AppKey("api_limit", RateLimiter)


class TokenRequestError(ValueError):
    """A token request that cannot be granted; the text says why."""


def password_stamp(password_hash: str) -> str:
    """A short fingerprint of the account's password hash: a token made before a password change no longer matches."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def parse_token_request(form, role: str, now: float) -> tuple[str, list[str], float | None]:
    """(name, scopes, expires_at) from the token form, or TokenRequestError with a clear message."""
    name = " ".join(str(form.get("name", "")).split())
    if not 1 <= len(name) <= NAME_MAX:
        raise TokenRequestError(f"Give the token a name of 1 to {NAME_MAX} characters, e.g. the tool that uses it.")
    scopes = [s for s in SCOPES if form.get(f"scope_{s}")]
    if not scopes:
        raise TokenRequestError("Choose at least one scope.")
    refused = [s for s in scopes if s not in ROLE_SCOPES.get(role, frozenset())]
    if refused:
        raise TokenRequestError(f"Your account cannot have a token with the scope {refused[0]!r}.")
    days = str(form.get("expires_days", "")).strip()
    expires_at = None
    if days:
        if not days.isdigit() or not 1 <= int(days) <= MAX_DAYS:
            raise TokenRequestError(f"Expiry: a number of days from 1 to {MAX_DAYS}, or empty for no expiry.")
        expires_at = now + int(days) * 86400
    return name, scopes, expires_at


def create_token(db, site_id: int, user: dict, name: str, scopes: list[str], expires_at: float | None,
                 now: float) -> tuple[int, str]:
    """Store a new token (its hash) and audit it; returns (id, the token itself, to show once)."""
    live = db.execute("select count(*) from api_tokens where user_id = ? and revoked_at is null "
                      "and (expires_at is null or expires_at > ?)", [user["id"], now]).fetchone()[0]
    if live >= MAX_TOKENS_PER_USER:
        raise TokenRequestError(f"You have {MAX_TOKENS_PER_USER} tokens already: revoke one first.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = db["api_tokens"].insert({
        "site_id": site_id, "user_id": user["id"], "name": name, "token_hash": token_hash(token),
        "hint": token[-4:], "scopes": " ".join(scopes), "password_stamp": password_stamp(user["password_hash"]),
        "created_at": now, "expires_at": expires_at, "revoked_at": None, "revoked_by": None,
        "first_used_at": None, "last_used_at": None}).last_pk
    audit_row(db, site_id, f"user:{user['id']}", "api_token_created", f"api_token:{token_id}",
              {"name": name, "scopes": scopes, "expires_at": expires_at}, now)
    return token_id, token


def revoke_token(db, site_id: int, token_id: int, by: dict, now: float) -> bool:
    """Revoke a token of the site: its owner's own, or any when ``by`` is an admin. False when there is none."""
    row = next(db.query("select * from api_tokens where id = ? and site_id = ? and revoked_at is null",
                        [token_id, site_id]), None)
    if row is None or (row["user_id"] != by["id"] and by["role"] != "admin"):
        return False
    db["api_tokens"].update(token_id, {"revoked_at": now, "revoked_by": by["id"]})
    audit_row(db, site_id, f"user:{by['id']}", "api_token_revoked", f"api_token:{token_id}",
              {"name": row["name"], "owner": row["user_id"]}, now)
    return True


def tokens_of(db, site_id: int, user_id: int | None = None) -> list[dict]:
    """The site's tokens (or one user's), newest first, without their hashes."""
    sql = ("select t.id, t.name, t.hint, t.scopes, t.created_at, t.expires_at, t.revoked_at, t.first_used_at, "
           "t.last_used_at, u.username from api_tokens t join users u on u.id = t.user_id where t.site_id = ?")
    args: list = [site_id]
    if user_id is not None:
        sql += " and t.user_id = ?"
        args.append(user_id)
    return list(db.query(sql + " order by t.id desc", args))


async def authenticate(request: web.Request, site: Site) -> ApiCaller:
    """The caller behind a request's bearer token, or a 401/403/429 JSON error. Cookies are never looked at."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise json_error(401, "Send an API token as 'Authorization: Bearer <token>' (make one on your API "
                              "tokens page). Cookies are not accepted here.", "token_missing")
    if len(token) > 200:
        raise json_error(401, "This API token is not valid.", "token_invalid")
    app = request.app
    now = app[CONFIG].clock()
    th = token_hash(token)
    row = await app[DB].read(lambda db: next(db.query(
        "select t.*, u.role, u.active, u.password_hash, u.username, u.display_name, u.mode, u.max_sessions, "
        "u.console from api_tokens t join users u on u.id = t.user_id where t.token_hash = ?", [th]), None))
    if row is None or row["revoked_at"] is not None:
        raise json_error(401, "This API token is not valid (unknown or revoked).", "token_invalid")
    if row["site_id"] != site.id:
        raise json_error(403, "This API token belongs to another site.", "wrong_site")
    if row["expires_at"] is not None and row["expires_at"] <= now:
        raise json_error(401, "This API token has expired.", "token_expired")
    if not row["active"]:
        raise json_error(401, "The account of this API token is switched off.", "account_disabled")
    if row["password_stamp"] != password_stamp(row["password_hash"]):
        raise json_error(401, "The account's password changed after this API token was made: make a new one.",
                         "token_invalid")
    limiter = app[API_LIMIT]
    key = str(row["id"])
    if limiter.blocked(key):
        error = json_error(429, f"Too many calls with this token: at most {limiter.limit} a minute.")
        error.headers["Retry-After"] = str(limiter.retry_after(key))
        raise error
    limiter.hit(key)
    await _note_use(app, row, now)
    user = {"id": row["user_id"], "site_id": row["site_id"], "username": row["username"],
            "display_name": row["display_name"], "role": row["role"], "mode": row["mode"],
            "max_sessions": row["max_sessions"], "console": row["console"]}
    scopes = frozenset(row["scopes"].split()) & ROLE_SCOPES.get(row["role"], frozenset())
    return ApiCaller(site, user, row["id"], scopes)


async def _note_use(app, row: dict, now: float) -> None:
    """last_used_at (at most once a minute), and an audit row at the first use."""
    first = row["first_used_at"] is None
    if not first and row["last_used_at"] is not None and now - row["last_used_at"] < LAST_USED_EVERY:
        return

    def write(db):
        if first:
            changed = db.execute("update api_tokens set first_used_at = ?, last_used_at = ? "
                                 "where id = ? and first_used_at is null", [now, now, row["id"]]).rowcount
            if changed:
                audit_row(db, row["site_id"], f"user:{row['user_id']}", "api_token_first_used",
                          f"api_token:{row['id']}", {"name": row["name"]}, now)
                return
        db.execute("update api_tokens set last_used_at = ? where id = ?", [now, row["id"]])
    await app[DB].write(write)
