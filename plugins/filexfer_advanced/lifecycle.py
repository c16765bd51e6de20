"""A transfer's life on the host, either way: its record (session events, audit log, the table
advanced_transfers), the progress everyone concerned sees, its stall watchdog and its end (done, failed or
cancelled), after which nothing of a failed transfer is kept.

Also the plugin's shared helpers: its file store, the group commit of small files, work off the loop."""
from __future__ import annotations

import asyncio
import logging
import time
import weakref

from host import api

from .checks import transfer_of
from .group_commit import GroupCommit
from .protocol import PLUGIN
from .settings import max_file_bytes, stall_seconds
from .state import Transfer, state_of
from .storage import TransferStore


log = logging.getLogger("supporthost.filexfer_advanced")
PROGRESS_EVERY = 0.25   # seconds between progress messages to the rep

_background: set = set()   # strong references to tasks running on their own
_stores: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()      # app -> its TransferStore
_committers: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # app -> its GroupCommit

_TRANSFER_COLUMNS = ("id", "session_id", "site_id", "direction", "name", "path", "size", "sha256", "stored_name",
                     "rep_id", "rep_name", "agent_id", "status", "error", "started_at", "finished_at")
# plain SQL (sqlite_utils' upsert looks the table up on every call): insert, or update every column but
# the id (and deleted_at, which only the cleanup sets)
_UPSERT_TRANSFER = (f"insert into advanced_transfers ({', '.join(_TRANSFER_COLUMNS)}) "
                    f"values ({', '.join(':' + c for c in _TRANSFER_COLUMNS)}) on conflict(id) do update set "
                    + ", ".join(f"{c} = excluded.{c}" for c in _TRANSFER_COLUMNS[1:]))


def in_background(coro) -> None:
    task = asyncio.create_task(coro)
    _background.add(task)
    task.add_done_callback(_background_done)


def _background_done(task: asyncio.Task) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("file transfer task failed", exc_info=task.exception())


def file_store(app) -> TransferStore:
    store = _stores.get(app)
    if store is None:
        # the data folder's filexfer_advanced/ (where files were kept before api.plugin_data_dir existed;
        # moving them would orphan the copies reps may still download)
        store = _stores[app] = TransferStore(api.config(app).data_dir)
    return store


def group_commit(app) -> GroupCommit:
    committer = _committers.get(app)
    if committer is None:
        committer = _committers[app] = GroupCommit(file_store(app))
    return committer


async def off_loop(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


async def record(app, live, actor_pid: str | None, kind: str, details: dict, also=None) -> None:
    """Into the session's events and the site's audit log (and ``also(db)``), in one transaction."""
    now = api.now(app)
    actor = f"participant:{actor_pid}" if actor_pid else "host"

    def write(db):
        if also is not None:
            also(db)
        api.event_and_audit(db, live, now, kind, actor_pid, details, actor=actor, action=kind,
                            target=f"session:{live.id}")
    await api.database(app).write(write)


def name_of(live, pid: str) -> str:
    p = live.participants.get(pid)
    return p.name if p else "someone"


def public_state(live) -> dict:
    state = state_of(live)
    return {"type": f"{PLUGIN}.state",
            "agents": [{"id": a.id, "name": a.name, "root": a.root,
                        "online": bool(live.participants.get(a.id) and live.participants[a.id].conn)}
                       for a in state.agents.values()],
            "grants": [{"agent": a, "rep": r, "rep_name": n} for (a, r), n in state.grants.items()],
            "pending": [{"request_id": k, "agent": a, "rep": r} for k, (a, r) in state.pending.items()],
            "transfers": [t.public() for t in state.transfers.values()]}


def announce(app, live) -> None:
    api.sessions(app).broadcast(live, public_state(live))
    state = state_of(live)     # the customer page's consent panel: each rep's access ends alone
    api.publish_grants(app, live, PLUGIN, [
        {"holders": [r], "what": f"browse and copy files in {state.agents[a].root}" if a in state.agents
         else "browse and copy files", "revoke": {"type": f"{PLUGIN}.revoke", "rep": r}}
        for (a, r) in state.grants])


def send_progress(app, live, t: Transfer, force: bool = False) -> None:
    """Progress to the rep and the customer's page, at most every PROGRESS_EVERY seconds; what a skipped
    call would have said follows at the end of the interval (a transfer that stalls shows where it is)."""
    now = time.monotonic()
    if not force and now - t.last_progress < PROGRESS_EVERY:
        if t.trailing is None:
            def trailing():
                t.trailing = None
                if state_of(live).transfers.get(t.id) is t:
                    send_progress(app, live, t, force=True)
            t.trailing = asyncio.get_running_loop().call_later(PROGRESS_EVERY - (now - t.last_progress), trailing)
        return
    t.last_progress = now
    msg = {"type": f"{PLUGIN}.progress", **t.public()}
    hub = api.sessions(app)
    hub.send(live, t.rep, msg)
    for p in live.participants.values():   # the customer's page shows it too
        if p.role in api.CUSTOMER_ROLES and p.id != t.agent:
            hub.send(live, p.id, msg)


def transfer_row(live, t: Transfer, **changes):
    """The transfer's row in advanced_transfers, as a write to run in a transaction."""
    row = {"id": t.id, "session_id": live.id, "site_id": live.site_id, "direction": t.direction, "name": t.name,
           "path": t.path, "size": t.size, "sha256": t.sha256 or None, "stored_name": t.stored_name or None,
           "rep_id": t.rep, "rep_name": t.rep_name, "agent_id": t.agent, "status": t.status, "error": None,
           "started_at": t.started_at, "finished_at": None, **changes}
    return lambda db: db.conn.execute(_UPSERT_TRANSFER, row)


async def finish(app, live, t: Transfer, status: str, error: str | None = None, actor: str | None = None,
                 tell_agent: bool = False) -> None:
    """A transfer ends (done, failed or cancelled): temp files go, everyone concerned is told."""
    state = state_of(live)
    if state.transfers.get(t.id) is not t or t.status in ("done", "failed"):
        return
    t.status = status
    if t.relay is not None and t.relay is not asyncio.current_task():
        t.relay.cancel()
    if t.watchdog is not None and t.watchdog is not asyncio.current_task():
        t.watchdog.cancel()
    t.acked.set()
    if status != "done" and t.direction == "to_rep":
        async with t.lock:
            if t.writer is not None:
                await t.writer.settle()   # no write may land after the descriptor is closed
            fd, t.fd = t.fd, -1
            await off_loop(TransferStore.discard, fd, t.temp)
            if t.stored_name:   # it failed (revoked) just as its check ended: its copy goes too
                await off_loop(TransferStore.discard, -1, file_store(app).path_of(t.stored_name))
    if t.upload is not None:   # the host's copy of a relayed upload is a buffer, never kept
        up = t.upload
        up.arrived.set()          # a relay waiting for more sees the end
        if t.relay is not None and t.relay is not asyncio.current_task():
            await asyncio.wait([t.relay])   # its descriptor closed: the space is free when the rep is told
        await up.writer.settle()  # no write may land after the descriptor is closed
        fd, up.fd = up.fd, -1
        await off_loop(TransferStore.discard, fd, up.temp)
    if tell_agent and status != "done":
        api.sessions(app).send(live, t.agent, {"type": f"{PLUGIN}.cancel", "tid": t.id})
    if t.started is not None:
        try:
            await t.started
        except Exception:
            log.exception("recording the start of transfer %s failed", t.id)
    now = api.now(app)
    details = {"transfer": t.id, "direction": t.direction, "name": t.name, "path": t.path, "size": t.size,
               "sha256": t.sha256 or None, "rep": t.rep_name}
    if error:
        details["error"] = error
    await record(app, live, actor or t.rep, f"{PLUGIN}.transfer_{status}", details,
                 also=transfer_row(live, t, status=status, error=error, finished_at=now))
    out = {"type": f"{PLUGIN}.{'done' if status == 'done' else 'failed'}", **t.public(), "sha256": t.sha256}
    if error:
        out["error"] = error
    if status == "done" and t.direction == "to_rep":
        site = api.site_by_id(app, live.site_id)
        out["url"] = f"{site.prefix}/p/{PLUGIN}/files/{t.id}" if site else None
    hub = api.sessions(app)
    hub.send(live, t.rep, out)
    for p in live.participants.values():
        if p.role in api.CUSTOMER_ROLES and p.id != t.agent:
            hub.send(live, p.id, out)
    if t.trailing is not None:
        t.trailing.cancel()
    del state.transfers[t.id]


def could_not_store(t: Transfer, exc: Exception) -> str:
    """What the rep and the customer read when the host's disk refused a file."""
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
    return f"the host could not store {t.name}: {detail}"


def watch(app, live, t: Transfer) -> None:
    """Start ``t``'s stall watchdog (the site's limit): a transfer never hangs, it ends as failed."""
    site = api.site_by_id(app, live.site_id)
    if site is not None:
        t.stall = stall_seconds(app, site)
    t.moved()
    t.watchdog = asyncio.create_task(_watch_stall(app, live, t))


async def _watch_stall(app, live, t: Transfer) -> None:
    """Fail ``t`` when no data moved for ``t.stall`` seconds (not counting its check at the end, which moves
    none): the Support Manager stopped sending or taking data, or the rep's upload stopped coming."""
    while state_of(live).transfers.get(t.id) is t and t.status not in ("done", "failed"):
        writing = t.upload.writer if t.upload is not None else t.writer
        if t.status == "checking" or (writing is not None and writing.queued):   # busy here, not stalled
            t.moved()
        idle = time.monotonic() - t.moved_at
        if idle >= t.stall:
            log.warning("transfer %s (%s) stalled: no data for %s s; it was %s at %s of %s bytes (upload: %s)",
                        t.id, t.direction, t.stall, t.status, t.done, t.size,
                        t.upload.have if t.upload is not None else "-")
            await finish(app, live, t, "failed", f"stalled: no data for {t.stall} s; nothing of it was kept",
                         tell_agent=True)
            return
        await asyncio.sleep(min(1.0, t.stall - idle))


async def refused_as_too_large(ctx, t: Transfer, size: int) -> bool:
    """True (and the transfer failed) when ``size`` is over the site's limit."""
    limit = max_file_bytes(ctx.app, ctx.site)
    if size <= limit:
        return False
    await finish(ctx.app, ctx.session, t, "failed",
                 f"{t.name} is larger than {limit // (1024 * 1024)} MB, the limit on this site", tell_agent=True)
    return True


async def cancel(ctx, message):
    state = state_of(ctx.session)
    t = state.transfers.get(message.get("transfer")) if isinstance(message.get("transfer"), str) else None
    if t is None or (t.rep != ctx.participant.id and ctx.participant.role not in api.CUSTOMER_ROLES):
        raise api.MessageError("there is no such transfer of yours")
    await finish(ctx.app, ctx.session, t, "failed", f"cancelled by {ctx.participant.name}",
                 actor=ctx.participant.id, tell_agent=True)
    return {"type": f"{PLUGIN}.cancelled", "re": message.get("id")}


async def failed(ctx, message):
    t = transfer_of(ctx, message.get("tid"))
    if t is None:
        return
    await finish(ctx.app, ctx.session, t, "failed", str(message.get("error") or "the transfer failed")[:300],
                 actor=ctx.participant.id)
