"""The notes plugin's table: one note per rep per session, rewritten on every autosave."""
from sqlite_utils.migrations import Migrations

migrations = Migrations("supporthost.notes")


@migrations()
def m001_session_notes(db):
    db["session_notes"].create({
        "session_id": str, "user_id": int, "author": str, "text": str, "revision": int,
        "created_at": float, "updated_at": float, "saved_at": float,
    }, pk=("session_id", "user_id"))
