"""The public API for plugins: the one module of the host a plugin imports.

Everything named in ``__all__`` is stable for supporthost 1.x (docs/plugins.md, section "API", lists it
with what each name does). Anything else in ``host`` is internal and may change in any release; a test
(tests/test_plugin_boundaries.py) reads every plugin under plugins/ and fails when one imports
something else from the host, or another plugin.

Naming: a live support session is a ``Session`` (``session`` in every hook and handler), a person in it
a ``Participant``; the app object that hooks receive is ``app``.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, TypeVar

from aiohttp import web

from . import session_store as _store
from .appkeys import CONFIG as _CONFIG
from .appkeys import DB as _DB
from .appkeys import HUB as _HUB
from .appkeys import PLUGINS as _PLUGINS
from .appkeys import SITES as _SITES
from .appkeys import SOCKETS as _SOCKETS
from .appkeys import BACKGROUND as _BACKGROUND
from .api_caller import ApiCaller
from .audit import audit, audit_row
from .body_limits import streams_body
from .config import Config
from .connection import Connection
from .db import Database
from .disk_full import DISK_FULL, is_disk_full
from .hookspecs import hookimpl, hookspec
from .json_errors import JSONError, json_error
from .hub import Hub as Sessions
from .hub import LiveParticipant as Participant
from .hub import LiveSession as Session
from .options import (CONSOLES, CUSTOMER_ROLES, REP_CONSOLES, REP_ROLES, ROLES, TABS, DashboardOption,
                      Setting)
from .private_files import open_private, private_folder
from .ratelimit import RateLimiter
from .records import collect_columns
from .router import MessageContext, MessageError, make_binary, parse_binary
from .session_store import add_event, token_hash
from .sites import Site
from .views_customer import participant_cookie
from .web_common import (CSRF_HEADER, client_address, csrf_ok, current_user, form_with_csrf, origin_allowed,
                         json_object, render, require_user, site_of, site_url)

__all__ = [
    # hooks and what plugins describe
    "hookimpl", "hookspec", "DashboardOption", "Setting", "TABS", "CONSOLES", "REP_CONSOLES", "ROLES",
    "REP_ROLES", "CUSTOMER_ROLES",
    # messages
    "MessageError", "MessageContext", "make_binary", "parse_binary",
    # the objects hooks receive
    "Session", "Participant", "Site", "Config", "Database", "Sessions", "Connection", "RateLimiter",
    # services of a running host
    "config", "database", "sessions", "sites", "now", "site_by_id", "setting", "call_hook", "track_socket",
    "plugin_data_dir", "private_folder", "open_private", "DISK_FULL", "is_disk_full", "plugin_state", "existing_plugin_state", "background_task", "report_columns",
    "live_session", "rep_online", "publish_grants",
    # storage helpers (run inside Database.write / Database.read)
    "add_event", "audit_row", "event_and_audit", "audit", "token_hash", "start_session", "add_participant",
    "rep_participant", "new_join_number",
    # HTTP
    "site_of", "site_url", "current_user", "require_user", "rep_in_session", "participant_of_request",
    "participant_cookie", "csrf_ok", "form_with_csrf", "CSRF_HEADER", "origin_allowed", "client_address",
    "render", "json_error", "JSONError", "streams_body",
    # the HTTP API for scripts (register_api_routes)
    "ApiCaller", "read_json_body",
]

log = logging.getLogger("supporthost.api")
T = TypeVar("T")


# -- services of a running host ---------------------------------------------------------------------
def config(app) -> Config:
    """The host's configuration (read it, never change it)."""
    return app[_CONFIG]


def database(app) -> Database:
    """The host's database: ``await database(app).write(fn)`` / ``.read(fn)`` run ``fn(sqlite_utils_db)``
    off the event loop (one writer, in a transaction)."""
    return app[_DB]


def sessions(app) -> Sessions:
    """The live sessions: ``await get(id)``, ``broadcast``, ``broadcast_bytes``, ``send``, ``send_bytes``,
    ``notify_user``."""
    return app[_HUB]


def sites(app):
    """The site directory: ``get(slug)`` and ``by_id[id]``."""
    return app[_SITES]


def site_by_id(app, site_id: int) -> Site | None:
    return app[_SITES].by_id.get(site_id)


def now(app) -> float:
    """The host's clock (tests replace it); use it instead of time.time() for anything stored."""
    return app[_CONFIG].clock()


def setting(app, site: Site, plugin: str, name: str, default: Any = None) -> Any:
    """A plugin's per-site setting: the admin's value, else the Setting's default, else ``default``."""
    for spec in app[_PLUGINS].settings.get(plugin, []):
        if spec.name == name:
            return site.setting(plugin, spec)
    return default


async def call_hook(app, name: str, site: Site | None = None, /, **kwargs) -> list[tuple[str, Any]]:
    """Call a hook on every plugin enabled for ``site`` (all when None); returns [(plugin, result)]
    without the Nones. One plugin's error is logged and skipped. ``app``, ``name`` and ``site`` are
    positional, so the hook's own arguments may have those names: ``call_hook(app, "x", site, app=app,
    site=site)``."""
    return await app[_PLUGINS].call(name, site.disabled if site is not None else frozenset(), **kwargs)


def track_socket(app, ws: web.WebSocketResponse) -> None:
    """Register a WebSocket a plugin opened itself, so the host closes it on shutdown."""
    app[_SOCKETS].add(ws)


def plugin_data_dir(app, plugin: str):
    """The folder under the data folder where ``plugin`` keeps its files (created, mode 0700)."""
    return private_folder(app[_CONFIG].data_dir / "plugins" / plugin)


def plugin_state(session: Session, plugin: str, factory: Callable[[], T]) -> T:
    """The one place a plugin keeps state of a live session: made by ``factory()`` on first use,
    gone with the session from memory."""
    state = session.plugin_state.get(plugin)
    if state is None:
        state = session.plugin_state[plugin] = factory()
    return state


def background_task(app, name: str, factory: Callable[[], Awaitable[None]]) -> asyncio.Task:
    """Run ``factory()`` as a task until the host stops (then it is cancelled and awaited). Call it from
    the ``startup`` hook. An exception in it is logged with its traceback."""
    async def run():
        try:
            await factory()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task %s failed", name)

    task = asyncio.get_running_loop().create_task(run(), name=f"supporthost:{name}")
    app[_BACKGROUND].append(task)
    return task


def report_columns(app, site: Site, row: dict, sync_db) -> tuple[dict, dict[str, str]]:
    """One session's record: its row (``support_sessions``) with the columns of every plugin enabled for
    ``site`` (the ``session_record`` hook), and which key fills each of the report's own columns
    (``{"notes": "notes", "queue": "webacd_queue", ...}``). Call it on a database thread (inside
    ``database(app).read``)."""
    impls = list(reversed(app[_PLUGINS].hook("session_record", site.disabled).get_hookimpls()))
    return collect_columns(app, impls, row, sync_db)


# -- storage helpers -----------------------------------------------------------------------------------
def event_and_audit(db, session: Session | dict, at: float, kind: str, participant_id: str | None,
                    details: dict | None = None, actor: str | None = None, action: str | None = None,
                    target: str = "") -> None:
    """Write a session event and, when ``action`` is given, its audit row in the same transaction
    (call it inside ``database(app).write``)."""
    sid = session.id if isinstance(session, Session) else session["id"]
    site_id = session.site_id if isinstance(session, Session) else session["site_id"]
    add_event(db, sid, at, kind, participant_id, details)
    if action:
        audit_row(db, site_id, actor or (f"participant:{participant_id}" if participant_id else "host"),
                  action, target or sid, details, at)


# -- HTTP ----------------------------------------------------------------------------------------------
async def rep_in_session(request: web.Request, session_id: str, live: bool = True):
    """The logged-in rep of the request's site who is a participant of ``session_id``.

    Returns ``(site, user, participant_row, session)``; ``session`` is the live Session (None when
    ``live`` is False). Raises 401 (not logged in), 403 (not a rep in this session, also once it ended: everybody
    left it then) or 410 (its live state is gone)."""
    site = site_of(request)
    user = await current_user(request, site)
    if user is None:
        raise json_error(401, "Please log in.")
    row = await request.app[_DB].read(lambda db: _store.rep_participant(db, session_id, user["id"]))
    if row is None or row["site_id"] != site.id:
        raise json_error(403, "Only a rep in this session can do this.")
    session = None
    if live:
        session = await request.app[_HUB].get(session_id)
        if session is None:
            raise json_error(410, "This session has ended.")
    return site, user, row, session


async def participant_of_request(request: web.Request, session_id: str) -> tuple[Site, dict | None, dict | None]:
    """Who is behind a request in a session: ``(site, rep_user, participant_row)``.

    A logged-in rep of the site who is in the session, else the customer whose participant cookie
    belongs to it; ``participant_row`` is None when neither."""
    site = site_of(request)
    user = await current_user(request, site)
    db = request.app[_DB]
    if user is not None:
        row = await db.read(lambda d: _store.rep_participant(d, session_id, user["id"]))
        if row is not None and row["site_id"] == site.id:
            return site, user, row
    token = request.cookies.get(participant_cookie(session_id))
    if token and len(token) < 200:
        row = await db.read(lambda d: _store.participant_by_token(d, session_id, token))
        if row is not None and row.get("site_id", site.id) == site.id:
            return site, None, row
    return site, None, None


# -- the HTTP API (routes of the register_api_routes hook) ------------------------------------------
async def read_json_body(request: web.Request) -> dict:
    """An HTTP API call's JSON object body ({} when there is none), or a 422 JSON error."""
    if not request.can_read_body:
        return {}
    return await json_object(request, 422)


# -- per-session plugin state ---------------------------------------------------------------------------
def existing_plugin_state(session: Session, plugin: str):
    """The state ``plugin_state`` made for ``plugin`` in this session, or None when there is none yet
    (for hooks that only clean up: they need not make one)."""
    return session.plugin_state.get(plugin)



# -- sessions and participants written by a plugin -------------------------------------------------------
# Sessions and participants written by a plugin (WebACD starts sessions; invite adds reps and numbers).
# All of these run inside ``database(app).write``; after the write, make the live session learn it:
# ``await sessions(app).get(id)`` loads a new session, ``await sessions(app).added(session, row)`` adds a
# participant to a live one (and calls participant_joined).
def start_session(db, config: Config, site_id: int, user: dict, now: float, kind: str = "outbound",
                  meta: dict | None = None, active: bool = False) -> tuple[dict, dict]:
    """A new session led by ``user`` (its primary rep), with a customer number; returns
    ``(session_row, rep_participant_row)``. ``active=True``: it starts at once and its number is spent
    (the caller adds the customer itself, e.g. with ``add_participant``)."""
    session, rep = _store.create_session(db, site_id, user, now, config.number_ttl, config.number_digits,
                                         kind=kind, meta=meta)
    if active:
        db["join_codes"].update(session["number"], {"used_at": now})
        db["support_sessions"].update(session["id"], {"state": "active", "started_at": now})
        session = {**session, "state": "active", "started_at": now}
    return session, rep


def add_participant(db, session: Session | dict, role: str, name: str, now: float, user_id: int | None = None,
                    token_hash: str | None = None, address: str = "") -> dict:
    """A participant row added to a session (a rep: ``user_id``; a customer: the hash of the token their
    cookie holds, ``token_hash``). Returns the row; ``role`` is one of ROLES."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    ref = {"id": session.id, "site_id": session.site_id} if isinstance(session, Session) else session
    row = _store.add_participant(db, ref, role, name, now, user_id=user_id, address=address)
    if token_hash:
        db["participants"].update(row["id"], {"token_hash": token_hash})
        row["token_hash"] = token_hash
    return row


def rep_participant(db, session_id: str, user_id: int) -> dict | None:
    """The participant row of rep ``user_id`` in the session while they are in it, else None."""
    return _store.rep_participant(db, session_id, user_id)


def new_join_number(db, config: Config, session_id: str, now: float, role: str = "customer") -> str:
    """One more number that lets somebody join the session as ``role`` (once, within the host's
    number lifetime)."""
    return _store.new_code(db, session_id, role, now, config.number_ttl, config.number_digits)


def live_session(app, session_id: str) -> Session | None:
    """The session when it is live in memory now (never loads it; ``await sessions(app).get(id)`` does)."""
    return app[_HUB].sessions.get(session_id)


def rep_online(app, user_id: int) -> bool:
    """Whether the rep has a console open now (their feed of ``sessions(app).notify_user``)."""
    return bool(app[_HUB].rep_feeds.get(user_id))


# -- the customer's live consent panel ------------------------------------------------------------------
def publish_grants(app, session: Session, plugin: str, grants: list[dict]) -> None:
    """What ``plugin`` lets people do on the customer's computer now, for the live consent panel of the
    customer page (``session.grants``, host/grants.py). Each grant: ``{"holders": [participant ids],
    "what": "see the screen", "revoke": {the message of this plugin that ends it}}``. Publish the whole
    list each time it changes (an empty list when nothing is granted)."""
    from .grants import publish_grants as _publish
    _publish(app[_HUB], session, plugin, grants)


# -- added by rec-core --
from .traffic import TrafficRecord  # noqa: E402


def observe_traffic(app, session_id: str, observer: Callable[[TrafficRecord], None]) -> Callable[[], None]:
    """Call ``observer(record)`` (a plain function that must not block or await) for every message and
    binary frame of the live session: each one a participant sends the host ("in") and each one the host
    sends participants through ``sessions(app)`` or a handler's ``ctx`` ("out"). Returns ``unsubscribe()``;
    it ends by itself with the session. Raises LookupError when the session is not live. Nothing is built
    while a session has no observer."""
    from .traffic import observe
    live = app[_HUB].sessions.get(session_id)
    if live is None:
        raise LookupError(f"session {session_id} is not live")
    return observe(live, observer)


__all__ += ["TrafficRecord", "observe_traffic"]
