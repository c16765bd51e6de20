"""One session's co-browse: the customer's page socket, consent and grants, and the relay to the reps.

States: ``off`` -> ``asking`` (the customer's page shows the prompt) -> ``on`` (view or control) -> ``off``.
Every step is a session event and an audit row. The relay never waits for a rep: each rep's share of a batch
is put on their own connection's bounded queue; a rep whose queue is backed up misses batches until the page
sent a fresh full snapshot (asked for at most every SNAPSHOT_EVERY seconds), so a slow rep costs the
customer's page nothing.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from host.api import (REP_ROLES, Connection, MessageError, Session, database, event_and_audit, existing_plugin_state,
                      live_session, now, plugin_state, publish_grants, sessions, setting, site_by_id)

from . import page_keys
from .sanitize import starts_snapshot
from .settings import PLUGIN

UNAVAILABLE = "needs a session that came in from your web site"
LAG_ITEMS = 32          # a rep's connection holding this many unsent messages is behind
RESUME_ITEMS = 4        # ... and catches up again from a full snapshot once it holds no more than this
SNAPSHOT_EVERY = 2.0    # seconds between two requests for a fresh snapshot
PAGE_GONE_AFTER = 30.0  # seconds without a page socket (between two pages of the site) before co-browse stops
WHAT = {"view": "see the web page you asked for help from",
        "control": "click and type in the web page you asked for help from"}
CLOSE_ENDED, CLOSE_REPLACED = 4410, 4409
PAGE_STOPS = {   # why the customer's page stopped by itself (``{"t": "stop", "why": ...}``), in the rep's words
    "too_large": "The customer's page is too large to share: its snapshot is over the 8 MiB co-browse limit.",
    "no_recorder": "The co-browse recorder could not be loaded in the customer's page.",
}


@dataclass
class Page:
    conn: Connection
    url: str = ""
    title: str = ""
    address: str = ""


@dataclass
class Cobrowse:
    page: Page | None = None
    status: str = "off"           # off | asking | on
    mode: str | None = None       # view | control while on
    asking: dict | None = None    # {"mode", "rep"} while the customer is being asked
    viewers: set = field(default_factory=set)     # reps who get the relay (the grant's holders)
    controller: str | None = None                 # the rep who holds control
    behind: set = field(default_factory=set)      # reps waiting for a fresh full snapshot
    snapshot_asked: float = 0.0
    snapshot_timer: asyncio.TimerHandle | None = None
    refused_audited: float = 0.0
    leaving: bool = False         # the page said the customer goes off the site
    gone_timer: asyncio.TimerHandle | None = None
    relayed: int = 0
    dropped: int = 0
    reason: str = ""              # why co-browse last stopped (shown to the reps while it is off)


def of(session: Session) -> Cobrowse:
    return plugin_state(session, PLUGIN, Cobrowse)


def available(session: Session) -> bool:
    webacd = session.meta.get("webacd") or {}
    return session.kind == "inbound" and bool(webacd.get("page_key_hash"))


def state_message(session: Session) -> dict:
    if not available(session):
        return {"type": "cobrowse.state", "state": "unavailable", "mode": None, "reason": UNAVAILABLE}
    st = of(session)
    return {"type": "cobrowse.state", "state": st.status, "mode": st.mode,
            "asking": st.asking["mode"] if st.asking else None, "controller": st.controller,
            "page": st.page is not None, "url": st.page.url if st.page else "",
            "title": st.page.title if st.page else "", "reason": st.reason if st.status == "off" else ""}


def tell_reps(app, session: Session, message: dict | None = None) -> None:
    sessions(app).broadcast(session, message or state_message(session), roles=REP_ROLES)


def _publish_grants(app, session: Session, st: Cobrowse) -> None:
    grants = []
    if st.status == "on":
        grants.append({"holders": sorted(st.viewers), "what": WHAT["view"],
                       "revoke": {"type": "cobrowse.revoke", "what": "view"}})
        if st.mode == "control" and st.controller:
            grants.append({"holders": [st.controller], "what": WHAT["control"],
                           "revoke": {"type": "cobrowse.revoke", "what": "control"}})
    publish_grants(app, session, PLUGIN, grants)


def to_page(st: Cobrowse, message: dict) -> bool:
    return bool(st.page and st.page.conn.send(message))


async def record(app, session: Session, kind: str, participant_id: str | None, details: dict,
                 actor: str | None = None) -> None:
    """A co-browse step as a session event and an audit row (``cobrowse_<kind>``)."""
    at = now(app)
    await database(app).write(lambda db: event_and_audit(
        db, session, at, f"cobrowse.{kind}", participant_id, details, actor=actor, action=f"cobrowse_{kind}"))


def _name(session: Session, pid: str | None) -> str:
    p = session.participants.get(pid) if pid else None
    return p.name if p else "your representative"


# -- what a rep asks for --------------------------------------------------------------------------
async def start(app, session: Session, rep, mode: str) -> None:
    if mode not in ("view", "control"):
        raise MessageError("mode must be view or control")
    if not available(session):
        raise MessageError(f"Co-browse {UNAVAILABLE}.")
    st = of(session)
    if st.page is None:
        raise MessageError("The customer's web page is not connected (it may be closed, or still loading).")
    if st.status == "on" and (st.mode == mode or (mode == "view" and st.mode == "control")):
        st.viewers.add(rep.id)
        mark_behind(app, session, st, rep.id)
        _publish_grants(app, session, st)
        tell_reps(app, session)
        return
    if st.asking:
        raise MessageError("The customer is being asked already; wait for their answer.")
    site = site_by_id(app, session.site_id)
    if mode == "view" and setting(app, site, PLUGIN, "view_without_asking", False):
        await record(app, session, "started", rep.id, {"mode": "view", "asked": False, "rep": rep.name})
        _begin(app, session, st, "view", rep)
        return
    st.asking = {"mode": mode, "rep": rep.id}
    if st.status == "off":
        st.status = "asking"
    await record(app, session, "requested", rep.id, {"mode": mode, "rep": rep.name})
    to_page(st, {"t": "ask", "mode": mode, "rep": rep.name})
    tell_reps(app, session)


def _begin(app, session: Session, st: Cobrowse, mode: str, rep) -> None:
    was_on = st.status == "on"
    st.status, st.asking, st.reason = "on", None, ""
    if mode == "control":
        st.mode, st.controller = "control", rep.id if rep else st.controller
    elif st.mode != "control":
        st.mode = "view"
    st.viewers |= {p.id for p in session.reps()}
    st.behind = set(st.viewers)        # everybody starts from the full snapshot the page sends now
    st.leaving = False
    if was_on:
        to_page(st, {"t": "mode", "mode": st.mode})
    else:
        to_page(st, {"t": "start", "mode": st.mode, "rep": _name(session, rep.id if rep else None)})
    st.snapshot_asked = now(app)
    _publish_grants(app, session, st)
    tell_reps(app, session)


async def stop(app, session: Session, by: str | None, reason: str, actor: str | None = None) -> None:
    """Co-browse ends at once on both sides (a rep or the customer pressed Stop, the page left, ...)."""
    st = existing_plugin_state(session, PLUGIN)
    if st is None or st.status == "off":
        return
    st.status, st.mode, st.asking, st.controller, st.reason = "off", None, None, None, reason
    st.viewers.clear()
    st.behind.clear()
    to_page(st, {"t": "stop", "reason": reason})
    await record(app, session, "stopped", by, {"reason": reason}, actor=actor)
    _publish_grants(app, session, st)
    tell_reps(app, session, {"type": "cobrowse.ended", "reason": reason})
    tell_reps(app, session)


async def take_back(app, session: Session, by: str | None, how: str) -> None:
    """Control ends (the customer took it back or revoked it); the view goes on."""
    st = of(session)
    if st.status != "on" or st.mode != "control":
        return
    st.mode, st.controller = "view", None
    to_page(st, {"t": "mode", "mode": "view"})
    await record(app, session, "revoked", by, {"what": "control", "how": how}, actor=None if by else "customer page")
    _publish_grants(app, session, st)
    tell_reps(app, session)


# -- what the customer's page says ----------------------------------------------------------------------
async def consent(app, session: Session, mode, allow) -> None:
    st = of(session)
    if not st.asking or st.asking["mode"] != mode or not isinstance(allow, bool):
        return    # an answer to nothing (a stale prompt): ignored
    rep = session.participants.get(st.asking["rep"])
    customer = next((p.id for p in session.participants.values() if not p.is_rep), None)
    details = {"mode": mode, "rep": _name(session, st.asking["rep"])}
    if not allow or rep is None:
        st.asking = None
        if st.status == "asking":
            st.status, st.reason = "off", f"The customer said no to co-browse {mode}."
        await record(app, session, "denied", customer, {**details, "rep_left": rep is None}, actor="customer page")
        tell_reps(app, session, {"type": "cobrowse.ended", "reason": st.reason}
                  if st.status == "off" else {"type": "cobrowse.denied", "mode": mode})
        tell_reps(app, session)
        return
    await record(app, session, "granted", customer, details, actor="customer page")
    _begin(app, session, st, mode, rep)


def page_attached(app, session: Session, page: Page) -> Page | None:
    """A page's hello was accepted: it becomes the session's page (the one before, if any, is returned to be
    closed). While co-browse is on, the new page starts recording at once (navigation within the site)."""
    st = of(session)
    old, st.page = st.page, page
    if st.gone_timer:
        st.gone_timer.cancel()
        st.gone_timer = None
    st.leaving = False
    if st.status == "on":
        st.behind = set(st.viewers)
        page.conn.send({"t": "start", "mode": st.mode, "rep": _name(session, st.controller or next(iter(st.viewers), None))})
    elif st.status == "asking" and st.asking:
        page.conn.send({"t": "ask", "mode": st.asking["mode"], "rep": _name(session, st.asking["rep"])})
    tell_reps(app, session)
    return old


def page_detached(app, session: Session, page: Page) -> None:
    st = existing_plugin_state(session, PLUGIN)
    if st is None or st.page is not page:
        return
    st.page = None
    if st.status != "off":
        if st.leaving:
            asyncio.get_running_loop().create_task(
                stop(app, session, None, "The customer left the web site.", actor="customer page"))
        else:
            st.gone_timer = asyncio.get_running_loop().call_later(PAGE_GONE_AFTER, _page_gone, app, session.id)
    tell_reps(app, session)


def _page_gone(app, session_id: str) -> None:
    session = live_session(app, session_id)
    st = existing_plugin_state(session, PLUGIN) if session else None
    if st is not None and st.page is None:
        st.gone_timer = None
        asyncio.get_running_loop().create_task(
            stop(app, session, None, "The customer's web page closed.", actor="customer page"))


# -- the relay ---------------------------------------------------------------------------------------
def relay(app, session: Session, events: list, text: str) -> None:
    """A checked, sanitised batch (``text`` is its encoded cobrowse.events message) to every viewing rep.
    Sent through the host's sessions (not straight on the connections) so a traffic observer, e.g. the
    recorder, sees each batch once with the reps it went to."""
    st = of(session)
    if st.status != "on":
        return
    resume_at = None
    whole = []                 # reps who get the whole batch
    for pid in list(st.viewers):
        p = session.participants.get(pid)
        conn = p.conn if p else None
        if conn is None:
            st.behind.add(pid)
            continue
        if pid in st.behind:
            if resume_at is None:
                resume_at = starts_snapshot(events)
                resume_at = -1 if resume_at is None else resume_at
            if resume_at >= 0 and conn.backlog <= RESUME_ITEMS:
                if resume_at == 0:
                    whole.append(pid)
                else:
                    sessions(app).send(session, pid, {"type": "cobrowse.events", "e": events[resume_at:]})
                st.behind.discard(pid)
                st.relayed += 1
            continue
        if conn.backlog >= LAG_ITEMS:
            st.behind.add(pid)
            st.dropped += 1
            continue
        whole.append(pid)
        st.relayed += 1
    if whole:
        sessions(app).send_many(session, whole, {"type": "cobrowse.events", "e": events}, text)
    if st.behind:
        ask_snapshot(app, st)


def refresh(app, session: Session) -> None:
    """Somebody observing the session (the recorder at a key point) needs a full picture: while co-browse is
    on, the page is asked for a fresh full snapshot now."""
    st = existing_plugin_state(session, PLUGIN)
    if st is not None and st.status == "on" and st.page is not None:
        st.snapshot_asked = now(app)
        to_page(st, {"t": "snapshot"})


def ask_snapshot(app, st: Cobrowse) -> None:
    """Ask the page for a fresh full snapshot: now, or (asked a moment ago) once SNAPSHOT_EVERY has passed,
    unless nobody is behind by then."""
    t = now(app)
    if t - st.snapshot_asked >= SNAPSHOT_EVERY:
        st.snapshot_asked = t
        to_page(st, {"t": "snapshot"})
    elif st.snapshot_timer is None:
        def again():
            st.snapshot_timer = None
            if st.status == "on" and st.behind:
                ask_snapshot(app, st)
        st.snapshot_timer = asyncio.get_running_loop().call_later(SNAPSHOT_EVERY - (t - st.snapshot_asked), again)


def mark_behind(app, session: Session, st: Cobrowse, pid: str) -> None:
    """A rep (re)opened their view: they get the next full snapshot, asked for now."""
    if st.status == "on" and pid in st.viewers:
        st.behind.add(pid)
        st.snapshot_asked = 0.0
        ask_snapshot(app, st)


async def refused_control(app, session: Session, rep, why: str) -> None:
    """A control event the host drops; audited at most every few seconds per session."""
    st = of(session)
    t = now(app)
    if t - st.refused_audited >= 5.0:
        st.refused_audited = t
        await record(app, session, "control_refused", rep.id, {"why": why, "rep": rep.name})


# -- the session's life ---------------------------------------------------------------------------------
async def session_started(app, session: Session) -> None:
    """WebACD started an inbound session with a page key: remember the key's hash for the page's hello."""
    if session is None or not available(session):
        return
    key_hash, at = session.meta["webacd"]["page_key_hash"], now(app)
    await database(app).write(lambda db: page_keys.remember(db, key_hash, session.site_id, session.id, at))


def participant_joined(app, session: Session, participant) -> None:
    st = existing_plugin_state(session, PLUGIN)
    if st is not None and st.status == "on" and participant.is_rep:
        st.viewers.add(participant.id)
        mark_behind(app, session, st, participant.id)
        _publish_grants(app, session, st)


async def participant_left(app, session: Session, participant) -> None:
    st = existing_plugin_state(session, PLUGIN)
    if st is None or st.status == "off":
        return
    if not participant.is_rep:
        await stop(app, session, participant.id, "The customer left the session.")
        await _close_page(st, "The customer left the session.")
        return
    st.viewers.discard(participant.id)
    st.behind.discard(participant.id)
    if st.asking and st.asking["rep"] == participant.id:
        st.asking = None
        if st.status == "asking":
            st.status = "off"
        to_page(st, {"t": "stop", "reason": "The representative left."})
    if st.controller == participant.id:
        await take_back(app, session, None, "the rep left")
    if st.status == "on" and not st.viewers:
        await stop(app, session, None, "No representative is watching any more.")
        return
    _publish_grants(app, session, st)
    tell_reps(app, session)


async def session_ended(app, session: Session) -> None:
    at = now(app)
    await database(app).write(lambda db: page_keys.end(db, session.id, at))
    st = existing_plugin_state(session, PLUGIN)
    if st is None:
        return
    if st.gone_timer:
        st.gone_timer.cancel()
    if st.status != "off":
        await stop(app, session, None, "The support session ended.")
    await _close_page(st, "The support session ended.")


async def _close_page(st: Cobrowse, reason: str) -> None:
    page, st.page = st.page, None
    if page is not None:
        page.conn.send({"t": "stop", "reason": reason})
        await page.conn.close(CLOSE_ENDED, "session ended")

