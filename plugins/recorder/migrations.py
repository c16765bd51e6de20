"""The recorder's tables (RECORDER.md, "Storage"): recordings, their parts and closed files, and which reps'
sessions are recorded automatically."""
from sqlite_utils.migrations import Migrations

migrations = Migrations("supporthost.recorder")


@migrations()
def m001_recordings(db):
    db["recordings"].create({
        "id": str, "site_id": int, "session_id": str, "rep_user_id": int, "started_at": float,
        "ended_at": float, "status": str, "reason": str, "automatic": int, "bytes": int, "duration_ms": int,
        "has_screen": int, "has_media": int,
    }, pk="id", not_null={"site_id", "session_id", "started_at", "status"})
    db["recordings"].create_index(["site_id", "started_at"])
    db["recordings"].create_index(["session_id"])
    db["recordings"].create_index(["status"])
    db["recording_parts"].create({
        "recording_id": str, "part": int, "started_ms": int, "ended_ms": int, "started_by": str,
        "stopped_by": str, "stop_reason": str,
    }, pk=("recording_id", "part"))
    db["recording_files"].create({
        "recording_id": str, "name": str, "kind": str, "first_ms": int, "last_ms": int, "bytes": int,
        "sha256": str, "records": int,
    }, pk=("recording_id", "name"))
    db["recorder_auto_reps"].create({
        "site_id": int, "user_id": int, "set_by": int, "set_at": float,
    }, pk=("site_id", "user_id"))
