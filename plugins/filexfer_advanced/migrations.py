"""The advanced file transfer plugin's table: every transfer between a rep and a customer's computer."""
from sqlite_utils.migrations import Migrations

migrations = Migrations("supporthost.filexfer_advanced")


@migrations()
def m001_advanced_transfers(db):
    db["advanced_transfers"].create({
        "id": str, "session_id": str, "site_id": int, "direction": str, "name": str, "path": str, "size": int,
        "sha256": str, "stored_name": str, "rep_id": str, "rep_name": str, "agent_id": str, "status": str,
        "error": str, "started_at": float, "finished_at": float,
    }, pk="id")
    db["advanced_transfers"].create_index(["session_id"])


@migrations()
def m002_deleted_at(db):
    db["advanced_transfers"].add_column("deleted_at", float)
