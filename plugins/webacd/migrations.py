"""The webacd plugin's tables: queues, members, agent status, queue entries, offers, transfers."""
from sqlite_utils.migrations import Migrations

migrations = Migrations("supporthost.webacd")


@migrations()
def m001_queues_entries_offers(db):
    db["acd_queues"].create({
        "id": int, "site_id": int, "name": str, "mode": str, "offer_timeout": float, "escalate_after": float,
        "overflow_queue_id": int, "timezone": str, "hours": str, "fields": str, "start_options": str,
        "created_at": float,
    }, pk="id")
    db["acd_queues"].create_index(["site_id"])
    db["acd_members"].create({"queue_id": int, "user_id": int}, pk=("queue_id", "user_id"))
    db["acd_agents"].create({"user_id": int, "site_id": int, "status": str, "since": float}, pk="user_id")
    db["acd_entries"].create({
        "id": str, "site_id": int, "queue_id": int, "kind": str, "state": str, "token_hash": str,
        "name": str, "email": str, "problem": str, "fields": str, "ref_url": str, "address": str,
        "created_at": float, "escalated": int, "target_user_id": int, "exclude_user_id": int,
        "session_id": str, "note": str, "from_user_id": int, "from_name": str, "accepted_by": int,
        "accepted_by_name": str, "accepted_at": float, "ended_at": float, "closed_at": float,
    }, pk="id")
    db["acd_entries"].create_index(["state"])
    db["acd_entries"].create_index(["queue_id", "ended_at"])
    db["acd_entries"].create_index(["session_id"])
    db["acd_offers"].create({"id": int, "entry_id": str, "user_id": int, "via_queue_id": int,
                             "offered_at": float, "expires_at": float, "state": str, "closed_at": float}, pk="id")
    db["acd_offers"].create_index(["entry_id", "user_id"])
    db["acd_offers"].create_index(["state"])
    db["acd_transfers"].create({"id": int, "site_id": int, "session_id": str, "entry_id": str,
                                "from_user_id": int, "from_name": str, "to_kind": str, "to_id": int,
                                "to_name": str, "note": str, "at": float, "accepted_by": int,
                                "accepted_at": float}, pk="id")
    db["acd_transfers"].create_index(["session_id"])


@migrations()
def m002_page_key(db):
    # the hash of the page key the snippet made in the customer's page (co-browse finds the session by it)
    db["acd_entries"].add_column("page_key_hash", str)
