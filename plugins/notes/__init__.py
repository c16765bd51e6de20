"""Notes: the rep's notes on a session, autosaved on the server as they type (debounced in the page,
committed before the save is acknowledged) and part of the CSR activity report."""
from __future__ import annotations

from host.api import DashboardOption, MessageError, Setting, hookimpl

from .migrations import migrations as notes_migrations

__version__ = "0.1.0"
PLUGIN = "notes"


@hookimpl
def migrations():
    return notes_migrations


@hookimpl
def dashboard_options():
    return [DashboardOption("notes.panel", "Notes", tab="tools", icon="\U0001F4DD", order=30)]


@hookimpl
def site_settings():
    return [Setting("max_length", "Longest note (characters)", "int", 20000, min=1000, max=200000)]


@hookimpl
def register_message_handlers(register):
    register("notes.load", load)
    register("notes.save", save)


def _me(ctx):
    me = ctx.participant
    if not me.is_rep or me.user_id is None:
        raise MessageError("only the session's reps take notes")
    return me


def _public(row: dict | None) -> dict:
    if row is None:
        return {"text": "", "revision": 0, "updated_at": None, "saved_at": None}
    return {k: row[k] for k in ("text", "revision", "updated_at", "saved_at")}


async def load(ctx, message):
    me = _me(ctx)
    sid = ctx.session.id
    row = await ctx.db.read(lambda db: next(db["session_notes"].rows_where(
        "session_id = ? and user_id = ?", [sid, me.user_id]), None))
    return {"type": "notes.note", "re": message.get("id"), "note": _public(row)}


async def save(ctx, message):
    """Autosave (final false) or "save to the report" (final true); acknowledged after COMMIT."""
    me = _me(ctx)
    text = message.get("text")
    if not isinstance(text, str):
        raise MessageError("a note is text")
    limit = ctx.setting("max_length", 20000)
    if len(text) > limit:
        raise MessageError(f"a note is at most {limit} characters; nothing was saved")
    final = bool(message.get("final"))
    sid, now = ctx.session.id, ctx.now()

    def write(db):
        table = db["session_notes"]
        old = next(table.rows_where("session_id = ? and user_id = ?", [sid, me.user_id]), None)
        row = {"session_id": sid, "user_id": me.user_id, "author": me.name, "text": text,
               "revision": (old["revision"] if old else 0) + 1, "created_at": old["created_at"] if old else now,
               "updated_at": now, "saved_at": now if final else (old["saved_at"] if old else None)}
        table.upsert(row, pk=("session_id", "user_id"))
        return row
    row = await ctx.db.write(write)
    if final:
        await ctx.event("notes_saved", {"length": len(text)})
    return {"type": "notes.saved", "re": message.get("id"), "note": _public(row)}


@hookimpl
def session_record(session, db):
    rows = list(db["session_notes"].rows_where("session_id = ? and text != ''", [session.id],
                                               order_by="created_at"))
    if len(rows) > 1:
        text = "\n\n".join(f"{r['author']}: {r['text']}" for r in rows)
    else:
        text = rows[0]["text"] if rows else ""
    return {"notes": text, "shown_as": {"notes": "notes"}}
