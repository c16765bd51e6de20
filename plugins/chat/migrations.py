"""The chat plugin's tables."""
from sqlite_utils.migrations import Migrations

migrations = Migrations("supporthost.chat")


@migrations()
def m001_chat_messages(db):
    db["chat_messages"].create({"id": int, "session_id": str, "at": float, "from_participant": str,
                                "from_name": str, "from_role": str, "audience": str, "text": str}, pk="id")
    db["chat_messages"].create_index(["session_id", "id"])
