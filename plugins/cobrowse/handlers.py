"""Co-browse's session messages (rep console and customer page <-> host, over the session socket).

rep: cobrowse.state, cobrowse.start {mode}, cobrowse.stop, cobrowse.resync (send me a fresh snapshot),
cobrowse.ctl {a, id, ...} (only while this rep holds the control grant; else dropped and audited).
customer: cobrowse.state, cobrowse.stop, cobrowse.revoke {what: view|control} (the consent panel's Revoke).
"""
from __future__ import annotations

from host.api import MessageError

from . import state

CONTROL_ACTIONS = {"click", "input", "key", "scroll", "pointer", "select"}
KEYS = {"Enter", "Tab", "Backspace", "Delete", "Escape", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight",
        "Home", "End", "PageUp", "PageDown", " "}
MAX_VALUE = 10_000


def _rep(ctx):
    if not ctx.participant.is_rep:
        raise MessageError("Only a rep can do this.")
    return ctx.participant


async def get_state(ctx, message):
    return {**state.state_message(ctx.session), "re": message.get("id")}


async def start(ctx, message):
    await state.start(ctx.app, ctx.session, _rep(ctx), message.get("mode"))
    return {**state.state_message(ctx.session), "re": message.get("id")}


async def stop(ctx, message):
    who = "The representative" if ctx.participant.is_rep else "The customer"
    await state.stop(ctx.app, ctx.session, ctx.participant.id, f"{who} stopped co-browse.")
    return {**state.state_message(ctx.session), "re": message.get("id")}


async def revoke(ctx, message):
    if ctx.participant.is_rep:
        raise MessageError("Only the customer can revoke co-browse.")
    what = message.get("what")
    if what == "control":
        await state.take_back(ctx.app, ctx.session, ctx.participant.id, "revoked in the consent panel")
    elif what == "view":
        st = state.of(ctx.session)
        if st.status != "off":
            await state.record(ctx.app, ctx.session, "revoked", ctx.participant.id, {"what": "view"})
        await state.stop(ctx.app, ctx.session, ctx.participant.id, "The customer revoked co-browse.")
    else:
        raise MessageError("what must be view or control")
    return {**state.state_message(ctx.session), "re": message.get("id")}


async def resync(ctx, message):
    st = state.of(ctx.session)
    state.mark_behind(ctx.app, ctx.session, st, _rep(ctx).id)


def control_event(message) -> dict | None:
    """The page's ctl message for a well-formed control event, else None."""
    a = message.get("a")
    if a not in CONTROL_ACTIONS:
        return None
    out = {"t": "ctl", "a": a}
    node = message.get("id")
    if a != "pointer":
        if not (type(node) is int and node >= 0) and not (a == "scroll" and node is None):
            return None
        out["id"] = node
    for name in ("x", "y"):
        if name in message:
            v = message[name]
            if type(v) not in (int, float) or not -1e6 < v < 1e6:
                return None
            out[name] = v
    if a in ("click", "pointer", "scroll") and not {"x", "y"} <= out.keys():
        return None
    if a in ("input", "select"):
        value = message.get("value")
        if not isinstance(value, (str, bool)) or (isinstance(value, str) and len(value) > MAX_VALUE):
            return None
        out["value"] = value
    if a == "key":
        key = message.get("key")
        if key not in KEYS:
            return None
        out["key"] = key
    return out


async def ctl(ctx, message):
    rep = _rep(ctx)
    st = state.of(ctx.session)
    if st.status != "on" or st.mode != "control" or st.controller != rep.id:
        await state.refused_control(ctx.app, ctx.session, rep, "no control grant")
        return None
    event = control_event(message)
    if event is None:
        raise MessageError("not a control event (a: click, input, key, scroll, pointer or select, with a node id)")
    if not state.to_page(st, event):
        raise MessageError("The customer's web page is not connected.")
    return None


def register(register) -> None:
    for verb, fn in (("state", get_state), ("start", start), ("stop", stop), ("revoke", revoke), ("resync", resync),
                     ("ctl", ctl)):
        register(f"cobrowse.{verb}", fn)
