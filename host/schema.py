"""The host's own tables, as sqlite-utils migrations (set "supporthost.core")."""
from sqlite_utils.migrations import Migrations

core_migrations = Migrations("supporthost.core")


@core_migrations()
def m001_sites_accounts(db):
    db["sites"].create({"id": int, "slug": str, "name": str, "public_url": str, "created_at": float}, pk="id")
    db["sites"].create_index(["slug"], unique=True)
    db["site_plugins"].create({"site_id": int, "plugin": str, "enabled": int}, pk=("site_id", "plugin"))
    db["site_settings"].create({"site_id": int, "plugin": str, "key": str, "value": str},
                               pk=("site_id", "plugin", "key"))
    db["users"].create({
        "id": int, "site_id": int, "username": str, "display_name": str, "password_hash": str,
        "role": str, "console": str, "mode": str, "max_sessions": int, "failed_logins": int,
        "locked_until": float, "active": int, "created_at": float,
    }, pk="id", not_null={"site_id", "username", "password_hash", "role"})
    db["users"].create_index(["site_id", "username"], unique=True)
    db["auth_sessions"].create({"token_hash": str, "user_id": int, "site_id": int, "csrf": str,
                                "created_at": float, "expires_at": float}, pk="token_hash")


@core_migrations()
def m002_support_sessions(db):
    db["support_sessions"].create({
        "id": str, "site_id": int, "number": str, "kind": str, "state": str, "created_by": int,
        "created_at": float, "started_at": float, "ended_at": float, "ended_by": str, "meta": str,
    }, pk="id")
    db["support_sessions"].create_index(["site_id", "state"])
    db["support_sessions"].create_index(["number"])
    db["join_codes"].create({"code": str, "session_id": str, "role": str, "created_at": float,
                             "expires_at": float, "used_at": float}, pk="code")
    db["participants"].create({
        "id": str, "session_id": str, "site_id": int, "role": str, "name": str, "user_id": int,
        "token_hash": str, "address": str, "joined_at": float, "left_at": float, "left_reason": str,
    }, pk="id")
    db["participants"].create_index(["session_id"])
    db["participants"].create_index(["user_id", "left_at"])
    db["session_events"].create({"id": int, "session_id": str, "at": float, "kind": str,
                                 "participant_id": str, "details": str}, pk="id")
    db["session_events"].create_index(["session_id"])


@core_migrations()
def m003_audit(db):
    db["audit_log"].create({"id": int, "site_id": int, "at": float, "actor": str, "action": str,
                            "target": str, "details": str}, pk="id")
    db["audit_log"].create_index(["site_id", "at"])


@core_migrations()
def m004_api_tokens(db):
    """Personal API tokens (host/api_tokens.py): only the sha256 of a token is stored."""
    db["api_tokens"].create({
        "id": int, "site_id": int, "user_id": int, "name": str, "token_hash": str, "hint": str,
        "scopes": str, "password_stamp": str, "created_at": float, "expires_at": float, "revoked_at": float,
        "revoked_by": int, "first_used_at": float, "last_used_at": float,
    }, pk="id", not_null={"site_id", "user_id", "token_hash", "scopes"})
    db["api_tokens"].create_index(["token_hash"], unique=True)
    db["api_tokens"].create_index(["site_id", "user_id"])


@core_migrations()
def m005_audit_chain(db):
    """The audit log becomes a hash chain per site (host/audit.py): the rows already there are chained once."""
    from .audit import chain_existing_rows
    for column, kind in (("seq", int), ("prev_hash", str), ("hash", str)):
        db["audit_log"].add_column(column, kind)
    db["audit_heads"].create({"chain": int, "seq": int, "hash": str}, pk="chain")
    chain_existing_rows(db)
    db["audit_log"].create_index(["site_id", "seq"], unique=True)


@core_migrations()
def m006_two_factor(db):
    """Two-factor sign-in (host/twofactor*.py): an authenticator app's secret, security keys, recovery
    codes (their sha256 only), and logins waiting for their second step (the sha256 of their cookie)."""
    db["totp_secrets"].create({
        "user_id": int, "site_id": int, "secret": str, "confirmed_at": float, "last_step": int,
        "created_at": float,
    }, pk="user_id", not_null={"site_id", "secret"})
    db["webauthn_keys"].create({
        "id": int, "site_id": int, "user_id": int, "name": str, "credential_id": str, "public_key": str,
        "sign_count": int, "transports": str, "created_at": float, "last_used_at": float,
    }, pk="id", not_null={"site_id", "user_id", "credential_id", "public_key"})
    db["webauthn_keys"].create_index(["credential_id"], unique=True)
    db["webauthn_keys"].create_index(["user_id"])
    db["recovery_codes"].create({"id": int, "user_id": int, "code_hash": str, "created_at": float,
                                 "used_at": float}, pk="id", not_null={"user_id", "code_hash"})
    db["recovery_codes"].create_index(["user_id"])
    db["pending_logins"].create({
        "token_hash": str, "user_id": int, "site_id": int, "purpose": str, "next_url": str, "challenge": str,
        "failures": int, "created_at": float, "expires_at": float,
    }, pk="token_hash", not_null={"user_id", "site_id", "purpose"})
    db["webauthn_challenges"].create({"owner": str, "user_id": int, "challenge": str, "expires_at": float},
                                     pk="owner")


@core_migrations()
def m007_login_lockout_and_activity(db):
    """Failed logins counted per (site, username tried, address) (host/login_lockout.py); a login's last
    activity, for the idle timeout (host/login_watch.py)."""
    db["login_failures"].create({"site_id": int, "username": str, "address": str, "failures": int, "locks": int,
                                 "locked_until": float, "updated_at": float},
                                pk=("site_id", "username", "address"), not_null={"failures", "locks"})
    db["login_failures"].create_index(["updated_at"])
    db["auth_sessions"].add_column("last_seen_at", float)
    # users.failed_logins and users.locked_until (m001) are no longer used: locks live in login_failures.
    db["auth_sessions"].create_index(["user_id"])
