"""The session's own controls (plugin "session"): transfer control, add a rep, new number, leave, end.

Part of the host, not of plugins/: it cannot be switched off. It uses the same hooks as any plugin.
"""
from __future__ import annotations

from . import session_store as store
from .appkeys import CONFIG
from .grants import get_grants
from .hookspecs import hookimpl
from .options import DashboardOption
from .router import MessageError

__version__ = "core"
JS = "/static/core/session_tools.js"


@hookimpl
def dashboard_options():
    return [
        DashboardOption("session.participants", "Participants", tab="session", icon="\U0001F465", order=10,
                        js_module=JS),
        DashboardOption("session.add_rep", "Add a rep", tab="session", icon="\u2795", order=20, js_module=JS,
                        roles=("primary_rep",)),
        DashboardOption("session.transfer_control", "Transfer control", tab="session", icon="\U0001F501",
                        order=30, js_module=JS, roles=("primary_rep",)),
        DashboardOption("session.end", "End session", tab="session", icon="\u23F9", order=90, js_module=JS,
                        roles=("primary_rep",)),
        DashboardOption("session.rep_leave", "Leave session", tab="session", icon="\U0001F6AA", order=90,
                        js_module=JS, roles=("assisting_rep",)),
        DashboardOption("session.customer_leave", "Leave", tab="session", icon="\u23CF", order=90, js_module=JS,
                        consoles=("customer",), roles=("customer", "secondary_customer")),
    ]


@hookimpl
def register_message_handlers(register):
    register("session.ping", ping)
    register("session.transfer_control", transfer_control)
    register("session.add_rep", add_rep)
    register("session.new_number", new_number)
    register("session.leave", leave)
    register("session.end", end)
    register("session.grants", get_grants)


def _require_primary(ctx) -> None:
    if ctx.participant.role != "primary_rep":
        raise MessageError("only the primary rep can do this")


async def ping(ctx, message):
    return {"type": "session.pong", "re": message.get("id")}


async def transfer_control(ctx, message):
    _require_primary(ctx)
    target = ctx.session.participants.get(str(message.get("to", "")))
    if target is None or not target.is_rep or target.id == ctx.participant.id:
        raise MessageError("control can only go to another rep in this session")
    await ctx.hub.transfer_control(ctx.session, ctx.participant, target)
    await ctx.audit("control_transferred", f"participant:{target.id}", {"session": ctx.session.id})
    return {"type": "session.ok", "re": message.get("id")}


async def add_rep(ctx, message):
    _require_primary(ctx)
    try:
        user_id = int(message.get("user_id"))
    except (TypeError, ValueError):
        raise MessageError("user_id must be a rep's id") from None
    live = ctx.session
    now = ctx.now()
    site_id = ctx.site.id

    def write(db):
        user = db["users"].get(user_id) if db["users"].count_where("id = ?", [user_id]) else None
        if not user or user["site_id"] != site_id or not user["active"]:
            return "unknown"
        if store.rep_participant(db, live.id, user_id):
            return "already"
        row = store.add_participant(db, {"id": live.id, "site_id": site_id}, "assisting_rep",
                                    user["display_name"], now, user_id=user_id)
        store.add_event(db, live.id, now, "rep_added", row["id"], {"name": user["display_name"]})
        return row
    row = await ctx.db.write(write)
    if row == "unknown":
        raise MessageError("there is no such rep on this site")
    if row == "already":
        raise MessageError("this rep is in the session already")
    await ctx.hub.added(live, row)
    await ctx.audit("rep_added", f"user:{user_id}", {"session": live.id})
    return {"type": "session.ok", "re": message.get("id"), "participant": row["id"]}


async def new_number(ctx, message):
    """A further session number, for a second customer to join the same session."""
    _require_primary(ctx)
    cfg = ctx.app[CONFIG]
    now = ctx.now()
    code = await ctx.db.write(lambda db: store.new_code(db, ctx.session.id, "secondary_customer", now,
                                                         cfg.number_ttl, cfg.number_digits))
    return {"type": "session.number", "re": message.get("id"), "number": code}


async def leave(ctx, message):
    me = ctx.participant
    if me.role == "primary_rep":
        others = [p for p in ctx.session.reps() if p.id != me.id]
        if others:
            raise MessageError("hand control to another rep first (Transfer control), or end the session")
        raise MessageError("you lead this session: end it, or hand control to another rep first")
    await ctx.hub.leave(ctx.session, me, "left")


async def end(ctx, message):
    _require_primary(ctx)
    await ctx.audit("session_ended", f"session:{ctx.session.id}")
    await ctx.hub.end(ctx.session, ctx.participant)
