"""Chat: instant messages between everybody in a session, or among its reps only.

A message is acknowledged to its sender only after it is committed, and the history is sent to
whoever (re)connects, so nothing said is lost across a reconnect or a host restart.
"""
from __future__ import annotations

from host.api import CONSOLES, REP_ROLES, ROLES, DashboardOption, MessageError, Setting, hookimpl

from .migrations import migrations as chat_migrations

__version__ = "0.1.0"
PLUGIN = "chat"
AUDIENCES = ("all", "reps")
COLUMNS = ("session_id", "at", "from_participant", "from_name", "from_role", "audience", "text")
INSERT = f"insert into chat_messages ({', '.join(COLUMNS)}) values ({', '.join('?' * len(COLUMNS))})"


@hookimpl
def migrations():
    return chat_migrations


@hookimpl
def dashboard_options():
    return [DashboardOption("chat.panel", "Chat", tab="tools", icon="\U0001F4AC", order=10,
                            consoles=CONSOLES, roles=ROLES)]


@hookimpl
def extra_page_context(page):
    """The chat panel's stylesheet, on the pages that show sessions."""
    if str(page).startswith(("console", "customer")):
        return {"css_urls": [f"/static/plugins/{PLUGIN}/chat.css"]}
    return None


@hookimpl
def site_settings():
    return [
        Setting("max_length", "Longest chat message (characters)", "int", 4000, min=100, max=20000),
        Setting("rep_chat", "Reps may chat among themselves", "bool", True),
    ]


@hookimpl
def register_message_handlers(register):
    register("chat.send", send)
    register("chat.history", history)


def _public(row: dict) -> dict:
    return {"id": row["id"], "at": row["at"], "from": row["from_participant"], "name": row["from_name"],
            "role": row["from_role"], "to": row["audience"], "text": row["text"]}


async def send(ctx, message):
    text = message.get("text")
    audience = message.get("to", "all")
    if not isinstance(text, str) or not text.strip():
        raise MessageError("a chat message needs some text")
    limit = ctx.setting("max_length", 4000)
    if len(text) > limit:
        raise MessageError(f"a chat message is at most {limit} characters")
    if audience not in AUDIENCES:
        raise MessageError("to must be 'all' or 'reps'")
    me = ctx.participant
    if audience == "reps" and (not me.is_rep or not ctx.setting("rep_chat", True)):
        raise MessageError("only reps can chat among reps" if not me.is_rep else
                           "chat among reps is switched off for this site")
    row = {"session_id": ctx.session.id, "at": ctx.now(), "from_participant": me.id, "from_name": me.name,
           "from_role": me.role, "audience": audience, "text": text}

    def write(db):  # plain SQL: this runs for every chat message, in the single writer thread
        row["id"] = db.conn.execute(INSERT, [row[c] for c in COLUMNS]).lastrowid
        return row
    await ctx.db.write(write)  # acknowledged only after COMMIT
    out = _public(row)
    ctx.broadcast({"type": "chat.message", "message": out},
                  roles=REP_ROLES if audience == "reps" else None, include_self=False)
    return {"type": "chat.ack", "re": message.get("id"), "message": out}


HISTORY_PAGE = 200


async def history(ctx, message):
    """The newest page of the session's chat (or the page before message id ``before``), oldest first,
    with ``more`` telling whether earlier messages exist. Pages keep every reply well under the
    clients' message size limits however long a session runs."""
    sid = ctx.session.id
    rep = ctx.participant.is_rep
    before = message.get("before")
    limit = message.get("limit", HISTORY_PAGE)
    if before is not None and (not isinstance(before, int) or isinstance(before, bool) or before < 1):
        raise MessageError("before must be a message id")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 500:
        raise MessageError("limit must be a whole number from 1 to 500")

    def read(db):
        where = "session_id = ?" + ("" if rep else " and audience = 'all'")
        args: list = [sid]
        if before is not None:
            where += " and id < ?"
            args.append(before)
        rows = list(db["chat_messages"].rows_where(where, args, order_by="id desc", limit=limit + 1))
        return [_public(r) for r in reversed(rows[:limit])], len(rows) > limit
    messages, more = await ctx.db.read(read)
    return {"type": "chat.history", "re": message.get("id"), "messages": messages, "more": more}


@hookimpl
def session_record(session, db):
    return {"chat_messages": db["chat_messages"].count_where("session_id = ?", [session.id])}
