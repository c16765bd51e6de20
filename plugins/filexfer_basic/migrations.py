"""The basic file transfer plugin's table: the files reps published into sessions."""
from sqlite_utils.migrations import Migrations

migrations = Migrations("supporthost.filexfer_basic")


@migrations()
def m001_published_files(db):
    db["published_files"].create({
        "id": str, "session_id": str, "site_id": int, "name": str, "size": int, "sha256": str,
        "stored_name": str, "uploaded_by": str, "uploaded_by_name": str, "uploaded_at": float,
        "downloads": int, "deleted_at": float, "delete_reason": str,
    }, pk="id")
    db["published_files"].create_index(["session_id"])
    db["published_files"].create_index(["site_id", "deleted_at"])
