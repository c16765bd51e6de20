"""The invite plugin's table: every invitation sent, with how it went."""
from sqlite_utils.migrations import Migrations

migrations = Migrations("supporthost.invite")


@migrations()
def m001_invites(db):
    db["invites"].create({
        "id": int, "session_id": str, "site_id": int, "created_at": float,
        "by_participant": str, "by_user": int, "by_name": str,
        "channel": str, "kind": str, "recipient": str, "recipient_name": str, "number": str,
        "status": str, "error": str, "detail": str, "attempts": int, "last_attempt_at": float,
        "delivered_at": float,
        # invitations of another rep: a one-use link (only its hash is kept)
        "token_hash": str, "expires_at": float, "used_at": float, "used_by": int,
    }, pk="id")
    db["invites"].create_index(["session_id"])
    db["invites"].create_index(["token_hash"])
