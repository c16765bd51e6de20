"""Co-browse's table: the page keys it has seen, so a used key is refused (and audited) forever."""
from sqlite_utils.migrations import Migrations

migrations = Migrations("supporthost.cobrowse")


@migrations()
def m001_page_keys(db):
    # state: "live" (the key the page holds now) or "used" (rotated away: presenting it again is a replay)
    db["cobrowse_page_keys"].create({"key_hash": str, "site_id": int, "session_id": str, "state": str,
                                     "created_at": float, "used_at": float}, pk="key_hash")
    db["cobrowse_page_keys"].create_index(["session_id"])
