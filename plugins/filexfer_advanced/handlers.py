"""Advanced file transfer on the host: requests and grants, browsing, and the transfers both ways.

The host is the second lock (the agent is the first): it forwards no listing, read or write to a
Support Manager for a rep without a grant its person gave, and drops everything of a transfer once the
grant is gone. Files from the customer are streamed to a temp file under the data folder, checked
against the SHA-256 the agent computed, and only then renamed and offered to the rep.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
import uuid
import weakref

from host import session_store as store
from host.appkeys import CONFIG, DB, HUB, SITES
from host.api import publish_grants
from host.audit import audit_row
from host.options import CUSTOMER_ROLES
from host.router import MessageError, make_binary

from .group_commit import GroupCommit, IntegrityError, SmallFile
from .ordered_writer import OrderedWriter
from .protocol import BLOCK, CHUNK, MAX_ENTRIES, P, WINDOW
from .settings import max_file_bytes
from .state import FileAgent, Transfer, state_of
from .storage import TransferStore

log = logging.getLogger("supporthost.filexfer_advanced")
PROGRESS_EVERY = 0.25   # seconds between progress messages to the rep
MAX_IN_FLIGHT = 100     # transfers at once in one session


def register_all(register) -> None:
    for verb, fn in (("request", request), ("list", list_folder), ("fetch", fetch), ("cancel", cancel),
                     ("state", get_state), ("revoke", revoke), ("agent_hello", agent_hello), ("consent", consent),
                     ("listing", listing), ("file_info", file_info), ("sent", sent), ("failed", failed),
                     ("ready", ready), ("progress", progress), ("received", received),
                     ("violation", violation), ("agent_command", agent_command)):
        register(f"{P}.{verb}", fn)
    register(f"{P}.chunk", chunk, binary=True)
    register(f"{P}.whole_file", whole_file, binary=True)


_background: set = set()   # strong references to tasks running on their own


def in_background(coro) -> None:
    task = asyncio.create_task(coro)
    _background.add(task)
    task.add_done_callback(_background_done)


def _background_done(task: asyncio.Task) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("file transfer task failed", exc_info=task.exception())


_stores: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()      # app -> its TransferStore
_committers: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # app -> its GroupCommit


def file_store(app) -> TransferStore:
    store = _stores.get(app)
    if store is None:
        store = _stores[app] = TransferStore(app[CONFIG].data_dir)
    return store


def group_commit(app) -> GroupCommit:
    committer = _committers.get(app)
    if committer is None:
        committer = _committers[app] = GroupCommit(file_store(app))
    return committer


async def _run(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


# -- record keeping --------------------------------------------------------------------------------
async def record(app, live, actor_pid: str | None, kind: str, details: dict, also=None) -> None:
    """Into the session's events and the site's audit log (and ``also(db)``), in one transaction."""
    now = app[CONFIG].clock()
    actor = f"participant:{actor_pid}" if actor_pid else "host"

    def write(db):
        if also is not None:
            also(db)
        store.add_event(db, live.id, now, kind, actor_pid, details)
        audit_row(db, live.site_id, actor, kind, f"session:{live.id}", details, now)
    await app[DB].write(write)


def _name(live, pid: str) -> str:
    p = live.participants.get(pid)
    return p.name if p else "someone"


def public_state(live) -> dict:
    state = state_of(live)
    return {"type": f"{P}.state",
            "agents": [{"id": a.id, "name": a.name, "root": a.root,
                        "online": bool(live.participants.get(a.id) and live.participants[a.id].conn)}
                       for a in state.agents.values()],
            "grants": [{"agent": a, "rep": r, "rep_name": n} for (a, r), n in state.grants.items()],
            "pending": [{"request_id": k, "agent": a, "rep": r} for k, (a, r) in state.pending.items()],
            "transfers": [t.public() for t in state.transfers.values()]}


def announce(app, live) -> None:
    app[HUB].broadcast(live, public_state(live))
    state = state_of(live)     # the customer page's consent panel: each rep's access ends alone
    publish_grants(app, live, P, [
        {"holders": [r], "what": f"browse and copy files in {state.agents[a].root}" if a in state.agents
         else "browse and copy files", "revoke": {"type": f"{P}.revoke", "rep": r}}
        for (a, r) in state.grants])


def _progress(app, live, t: Transfer, force: bool = False) -> None:
    """Progress to the rep and the customer's page, at most every PROGRESS_EVERY seconds; what a skipped
    call would have said follows at the end of the interval (a transfer that stalls shows where it is)."""
    now = time.monotonic()
    if not force and now - t.last_progress < PROGRESS_EVERY:
        if t.trailing is None:
            def trailing():
                t.trailing = None
                if state_of(live).transfers.get(t.id) is t:
                    _progress(app, live, t, force=True)
            t.trailing = asyncio.get_running_loop().call_later(PROGRESS_EVERY - (now - t.last_progress), trailing)
        return
    t.last_progress = now
    msg = {"type": f"{P}.progress", **t.public()}
    hub = app[HUB]
    hub.send(live, t.rep, msg)
    for p in live.participants.values():   # the customer's page shows it too
        if p.role in CUSTOMER_ROLES and p.id != t.agent:
            hub.send(live, p.id, msg)


def _transfer_row(live, t: Transfer, **changes):
    """The transfer's row in advanced_transfers, as a write to run in a transaction."""
    row = {"id": t.id, "session_id": live.id, "site_id": live.site_id, "direction": t.direction, "name": t.name,
           "path": t.path, "size": t.size, "sha256": t.sha256 or None, "stored_name": t.stored_name or None,
           "rep_id": t.rep, "rep_name": t.rep_name, "agent_id": t.agent, "status": t.status, "error": None,
           "started_at": t.started_at, "finished_at": None, **changes}
    return lambda db: db.conn.execute(_UPSERT_TRANSFER, row)


_TRANSFER_COLUMNS = ("id", "session_id", "site_id", "direction", "name", "path", "size", "sha256", "stored_name",
                     "rep_id", "rep_name", "agent_id", "status", "error", "started_at", "finished_at")
# plain SQL (sqlite_utils' upsert looks the table up on every call): insert, or update every column but
# the id (and deleted_at, which only the cleanup sets)
_UPSERT_TRANSFER = (f"insert into advanced_transfers ({', '.join(_TRANSFER_COLUMNS)}) "
                    f"values ({', '.join(':' + c for c in _TRANSFER_COLUMNS)}) on conflict(id) do update set "
                    + ", ".join(f"{c} = excluded.{c}" for c in _TRANSFER_COLUMNS[1:]))


async def finish(app, live, t: Transfer, status: str, error: str | None = None, actor: str | None = None,
                 tell_agent: bool = False) -> None:
    """A transfer ends (done, failed or cancelled): temp files go, everyone concerned is told."""
    state = state_of(live)
    if state.transfers.get(t.id) is not t or t.status in ("done", "failed"):
        return
    t.status = status
    if t.relay is not None and t.relay is not asyncio.current_task():
        t.relay.cancel()
    t.acked.set()
    if status != "done" and t.direction == "to_rep":
        async with t.lock:
            if t.writer is not None:
                await t.writer.settle()   # no write may land after the descriptor is closed
            fd, t.fd = t.fd, -1
            await _run(TransferStore.discard, fd, t.temp)
            if t.stored_name:   # it failed (revoked) just as its check ended: its copy goes too
                await _run(TransferStore.discard, -1, file_store(app).path_of(t.stored_name))
    if t.upload is not None:   # the host's copy of a relayed upload is a buffer, never kept
        up = t.upload
        up.arrived.set()          # a relay waiting for more sees the end
        if t.relay is not None and t.relay is not asyncio.current_task():
            await asyncio.wait([t.relay])   # its descriptor closed: the space is free when the rep is told
        await up.writer.settle()  # no write may land after the descriptor is closed
        fd, up.fd = up.fd, -1
        await _run(TransferStore.discard, fd, up.temp)
    if tell_agent and status != "done":
        app[HUB].send(live, t.agent, {"type": f"{P}.cancel", "tid": t.id})
    if t.started is not None:
        try:
            await t.started
        except Exception:
            log.exception("recording the start of transfer %s failed", t.id)
    now = app[CONFIG].clock()
    details = {"transfer": t.id, "direction": t.direction, "name": t.name, "path": t.path, "size": t.size,
               "sha256": t.sha256 or None, "rep": t.rep_name}
    if error:
        details["error"] = error
    await record(app, live, actor or t.rep, f"{P}.transfer_{status}", details,
                 also=_transfer_row(live, t, status=status, error=error, finished_at=now))
    out = {"type": f"{P}.{'done' if status == 'done' else 'failed'}", **t.public(), "sha256": t.sha256}
    if error:
        out["error"] = error
    if status == "done" and t.direction == "to_rep":
        site = app[SITES].by_id.get(live.site_id)
        out["url"] = f"{site.prefix}/p/{P}/files/{t.id}" if site else None
    hub = app[HUB]
    hub.send(live, t.rep, out)
    for p in live.participants.values():
        if p.role in CUSTOMER_ROLES and p.id != t.agent:
            hub.send(live, p.id, out)
    if t.trailing is not None:
        t.trailing.cancel()
    del state.transfers[t.id]


def could_not_store(t: Transfer, exc: Exception) -> str:
    """What the rep and the customer read when the host's disk refused a file."""
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
    return f"the host could not store {t.name}: {detail}"


async def _refused_as_too_large(ctx, t: Transfer, size: int) -> bool:
    """True (and the transfer failed) when ``size`` is over the site's limit."""
    limit = max_file_bytes(ctx.app, ctx.site)
    if size <= limit:
        return False
    await finish(ctx.app, ctx.session, t, "failed",
                 f"{t.name} is larger than {limit // (1024 * 1024)} MB, the limit on this site", tell_agent=True)
    return True


async def drop_grants(app, live, agent: str | None = None, rep: str | None = None, by: str = "",
                      actor: str | None = None, tell_agent: bool = True) -> int:
    """Revoke grants (all of an agent's, or one rep's): transfers under them stop, temp files go."""
    state = state_of(live)
    gone = [(a, r) for (a, r) in state.grants if (agent is None or a == agent) and (rep is None or r == rep)]
    for key in gone:
        del state.grants[key]
    for t in list(state.transfers.values()):
        if (t.agent, t.rep) in gone or (agent is not None and t.agent == agent and rep is None):
            await finish(app, live, t, "failed", "file access was revoked; the transfer stopped and nothing "
                         "of it was kept", actor=actor, tell_agent=tell_agent)
    for k, (a, r) in list(state.pending.items()):
        if (agent is None or a == agent) and (rep is None or r == rep):
            del state.pending[k]
    if gone:
        if tell_agent:
            for a in {a for a, _ in gone}:
                app[HUB].send(live, a, {"type": f"{P}.revoked", "viewers": [r for aa, r in gone if aa == a]})
        await record(app, live, actor, f"{P}.revoked", {"by": by, "reps": [_name(live, r) for _, r in gone]})
    announce(app, live)
    return len(gone)


# -- the rep ----------------------------------------------------------------------------------------
def _agent_for(ctx, message) -> FileAgent:
    state = state_of(ctx.session)
    wanted = message.get("agent")
    if wanted is not None:
        agent = state.agents.get(wanted) if isinstance(wanted, str) else None
        if agent is None:
            raise MessageError("there is no such Support Manager in this session")
        return agent
    online = [a for a in state.agents.values()
              if ctx.session.participants.get(a.id) and ctx.session.participants[a.id].conn is not None]
    if not online:
        raise MessageError("the customer's Support Manager is not connected: ask them to run it "
                           "(the command is on their session page)")
    return online[0]


def _only_rep(ctx) -> None:
    if not ctx.participant.is_rep:
        raise MessageError("only a rep can do this")


def _granted(ctx, message) -> FileAgent:
    _only_rep(ctx)
    agent = _agent_for(ctx, message)
    if (agent.id, ctx.participant.id) not in state_of(ctx.session).grants:
        raise MessageError("the customer has not allowed you to access their files (request file access first)")
    return agent


async def request(ctx, message):
    _only_rep(ctx)
    state = state_of(ctx.session)
    agent = _agent_for(ctx, message)
    if (agent.id, ctx.participant.id) in state.grants:
        return {"type": f"{P}.requested", "re": message.get("id"), "agent": agent.id, "already": True}
    if any(v == (agent.id, ctx.participant.id) for v in state.pending.values()):
        raise MessageError("your earlier request is still waiting for an answer on the customer's computer")
    rid = state.new_id()
    state.pending[rid] = (agent.id, ctx.participant.id)
    ctx.send_to(agent.id, {"type": f"{P}.consent_request", "request_id": rid,
                           "viewer": {"id": ctx.participant.id, "name": ctx.participant.name}})
    await record(ctx.app, ctx.session, ctx.participant.id, f"{P}.requested",
                 {"request_id": rid, "by": ctx.participant.name, "agent": agent.id})
    announce(ctx.app, ctx.session)
    return {"type": f"{P}.requested", "re": message.get("id"), "agent": agent.id, "request_id": rid}


async def list_folder(ctx, message):
    agent = _granted(ctx, message)
    path = message.get("path", "")
    if not isinstance(path, str) or len(path) > 4096:
        raise MessageError("path must be a short text")
    state = state_of(ctx.session)
    req = state.new_id()
    state.listings[req] = (ctx.participant.id, message.get("id"))
    ctx.send_to(agent.id, {"type": f"{P}.list", "req": req, "from": ctx.participant.id, "path": path})


async def fetch(ctx, message):
    """The rep copies a file from the customer's computer: the agent streams it to the host."""
    agent = _granted(ctx, message)
    path = message.get("path")
    if not isinstance(path, str) or not path or len(path) > 4096:
        raise MessageError("say which file (its path in the shared folder)")
    state = state_of(ctx.session)
    if len(state.transfers) >= MAX_IN_FLIGHT:
        raise MessageError(f"at most {MAX_IN_FLIGHT} transfers at once; wait for some to finish")
    tid = uuid.uuid4().hex
    t = Transfer(tid, "to_rep", agent.id, ctx.participant.id, ctx.participant.name,
                 path.rstrip("/").split("/")[-1][:200] or "file", path, started_at=ctx.now())
    # the temp file is made when the data comes: streamed files at file_info, a small file sent whole
    # in one frame with the files that finish at the same time (whole_file)
    state.transfers[tid] = t
    # written while the file already flows (finish() waits for it, so the rows stay in order)
    t.started = asyncio.create_task(record(ctx.app, ctx.session, ctx.participant.id, f"{P}.transfer_started",
                                           {"transfer": tid, "direction": "to_rep", "path": path,
                                            "rep": ctx.participant.name}, also=_transfer_row(ctx.session, t)))
    ctx.send_to(agent.id, {"type": f"{P}.send_file", "tid": tid, "from": ctx.participant.id, "path": path,
                           "offset": 0})
    _progress(ctx.app, ctx.session, t, force=True)
    return {"type": f"{P}.started", "re": message.get("id"), "transfer": t.public()}


async def cancel(ctx, message):
    state = state_of(ctx.session)
    t = state.transfers.get(message.get("transfer")) if isinstance(message.get("transfer"), str) else None
    if t is None or (t.rep != ctx.participant.id and ctx.participant.role not in CUSTOMER_ROLES):
        raise MessageError("there is no such transfer of yours")
    await finish(ctx.app, ctx.session, t, "failed", f"cancelled by {ctx.participant.name}",
                 actor=ctx.participant.id, tell_agent=True)
    return {"type": f"{P}.cancelled", "re": message.get("id")}


async def agent_command(ctx, message):
    """A fresh join number for the customer's Support Manager (shown on the customer page)."""
    if ctx.participant.is_rep or ctx.participant.id in state_of(ctx.session).agents:
        raise MessageError("only the customer's page can ask for this")
    cfg = ctx.app[CONFIG]
    now = ctx.now()
    number = await ctx.db.write(lambda db: store.new_code(db, ctx.session.id, "secondary_customer", now,
                                                           cfg.number_ttl, cfg.number_digits))
    return {"type": f"{P}.agent_command", "re": message.get("id"), "number": number,
            "name": f"{ctx.participant.name} (Support Manager)"}


async def get_state(ctx, message):
    return {**public_state(ctx.session), "re": message.get("id")}


async def revoke(ctx, message):
    """The customer takes file access back: from the customer page, or from the Support Manager."""
    if ctx.participant.is_rep:   # a rep gives up their own access
        n = await drop_grants(ctx.app, ctx.session, rep=ctx.participant.id, by=ctx.participant.name,
                              actor=ctx.participant.id)
        return {"type": f"{P}.revoked_ok", "re": message.get("id"), "grants": n}
    state = state_of(ctx.session)
    rep = message.get("rep")          # one rep's access only (the consent panels); else everybody's
    if rep is not None and not isinstance(rep, str):
        raise MessageError("rep must be a participant id")
    if ctx.participant.id in state.agents:
        n = await drop_grants(ctx.app, ctx.session, agent=ctx.participant.id, rep=rep, by="Support Manager",
                              actor=ctx.participant.id, tell_agent=False)
    else:
        n = 0
        for agent in list(state.agents):
            n += await drop_grants(ctx.app, ctx.session, agent=agent, rep=rep, by=ctx.participant.name,
                                   actor=ctx.participant.id)
    return {"type": f"{P}.revoked_ok", "re": message.get("id"), "grants": n}


# -- the agent --------------------------------------------------------------------------------------
def _only_agent(ctx) -> FileAgent:
    agent = state_of(ctx.session).agents.get(ctx.participant.id)
    if agent is None:
        raise MessageError("only a Support Manager can do this")
    return agent


def _transfer_of(ctx, tid, direction: str | None = None) -> Transfer | None:
    """The Support Manager's transfer ``tid``, unless it has ended (a late message never revives it)."""
    t = state_of(ctx.session).transfers.get(tid) if isinstance(tid, str) else None
    if t is None or t.agent != ctx.participant.id or (direction and t.direction != direction) \
            or t.status in ("done", "failed"):
        return None
    return t


async def agent_hello(ctx, message):
    """A Support Manager (re)connected. Grants come back only as it says (its person's approval stands
    until revoked); interrupted transfers resume from what the receiver has."""
    me = ctx.participant
    if me.is_rep:
        raise MessageError("a Support Manager joins with a session number, not as a rep")
    pair = message.get("pair")
    pairs = getattr(ctx.session, "sharing_pairs", {}) or {}
    owner = ctx.session.participants.get(pairs.get(pair)) if isinstance(pair, str) and pair else None
    if owner is not None and owner.is_rep:
        return   # a rep's own Support Manager (for sharing their screen): no file access from it
    state = state_of(ctx.session)
    known = me.id in state.agents
    state.agents[me.id] = FileAgent(me.id, str(message.get("name") or me.name)[:60], str(message.get("root", ""))[:300])
    said = {item.get("viewer") for item in message.get("restore") or [] if isinstance(item, dict)}
    for (a, r) in list(state.grants):
        if a == me.id and r not in said:
            await drop_grants(ctx.app, ctx.session, agent=me.id, rep=r, by="reconnect", actor=me.id, tell_agent=False)
    for r in said:
        p = ctx.session.participants.get(r) if isinstance(r, str) else None
        if p is not None and p.is_rep and (me.id, r) not in state.grants and known:
            state.grants[(me.id, r)] = p.name
    if not known:
        await ctx.event(f"{P}.agent_connected", {"agent": me.id, "name": state.agents[me.id].name,
                                                 "root": state.agents[me.id].root})
    for t in list(state.transfers.values()):
        if t.agent != me.id:
            continue
        if (me.id, t.rep) not in state.grants:
            await finish(ctx.app, ctx.session, t, "failed", "file access ended", actor=me.id)
        elif t.direction == "to_rep" and t.status != "checking":
            await _resume_fetch(ctx, t)
        else:
            ctx.send_to(me.id, _receive_command(t))
    announce(ctx.app, ctx.session)


async def _resume_fetch(ctx, t: Transfer) -> None:
    """The receiver (the host) reports what it has; the agent goes on from there."""
    async with t.lock:
        if t.writer is None:   # nothing came yet: from the start
            t.status = "running"
            ctx.send_to(t.agent, {"type": f"{P}.send_file", "tid": t.id, "from": t.rep, "path": t.path,
                                  "offset": 0})
            return
        if t.buffer:
            data = t.buffer.take()
            t.writer.submit(data)
        try:
            await t.writer.drain()
        except OSError as exc:
            await finish(ctx.app, ctx.session, t, "failed", could_not_store(t, exc), tell_agent=True)
            return
    t.status = "running"
    ctx.send_to(t.agent, {"type": f"{P}.send_file", "tid": t.id, "from": t.rep, "path": t.path,
                          "offset": t.done, "expect": t.expect})


async def consent(ctx, message):
    agent = _only_agent(ctx)
    state = state_of(ctx.session)
    rid = str(message.get("request_id", ""))
    pending = state.pending.get(rid)
    if pending is None or pending[0] != agent.id:
        raise MessageError("no such request is waiting for an answer")
    del state.pending[rid]
    rep = pending[1]
    allow = message.get("allow") is True and rep in ctx.session.participants
    if allow:
        state.grants[(agent.id, rep)] = _name(ctx.session, rep)
    kind = f"{P}.granted" if allow else f"{P}.denied"
    await record(ctx.app, ctx.session, agent.id, kind, {"request_id": rid, "agent": agent.id,
                                                         "rep": _name(ctx.session, rep), "root": agent.root})
    ctx.send_to(rep, {"type": f"{P}.answer", "request_id": rid, "allow": allow, "agent": agent.id,
                      "root": agent.root})
    announce(ctx.app, ctx.session)


async def listing(ctx, message):
    """A folder listing from the agent, in pages (each under the message limit): to the rep when complete."""
    _only_agent(ctx)
    state = state_of(ctx.session)
    req = str(message.get("req", ""))
    who = state.listings.get(req)
    if who is None:
        return
    rep, mid = who
    if (ctx.participant.id, rep) not in state.grants:
        state.listings.pop(req, None)
        state.listing_parts.pop(req, None)
        return
    if message.get("error"):
        state.listings.pop(req, None)
        state.listing_parts.pop(req, None)
        ctx.send_to(rep, {"type": "error", "code": "bad_request", "re": mid, "error": str(message["error"])[:300]})
        return
    entries = state.listing_parts.setdefault(req, [])
    page = message.get("entries") if isinstance(message.get("entries"), list) else []
    entries.extend(page[:MAX_ENTRIES - len(entries)])
    if message.get("last") is False:
        return
    state.listings.pop(req, None)
    state.listing_parts.pop(req, None)
    ctx.send_to(rep, {"type": f"{P}.listing", "re": mid, "agent": ctx.participant.id,
                      "path": str(message.get("path", "")), "entries": entries,
                      "truncated": bool(message.get("truncated"))})


async def file_info(ctx, message):
    t = _transfer_of(ctx, message.get("tid"), "to_rep")
    if t is None:
        return
    size = message.get("size")
    if not isinstance(size, int) or size < 0:
        raise MessageError("file_info needs the size")
    if await _refused_as_too_large(ctx, t, size):
        return
    if t.expect is None:
        t.expect = {"size": size, "mtime_ns": message.get("mtime_ns")}
        t.size = size
        t.name = str(message.get("name") or t.name)[:200]
    if t.writer is None and not await _open_temp(ctx.app, ctx.session, t):
        return
    _progress(ctx.app, ctx.session, t, force=True)


async def _open_temp(app, live, t: Transfer) -> bool:
    """The temp file the stream is written to; False if the transfer ended meanwhile (or cannot be stored)."""
    try:
        temp, fd = await _run(file_store(app).open_temp, t.id)
    except OSError as exc:
        await finish(app, live, t, "failed", could_not_store(t, exc), tell_agent=True)
        return False
    if state_of(live).transfers.get(t.id) is not t or t.status in ("done", "failed") or t.writer is not None:
        await _run(TransferStore.discard, fd, temp)   # it ended while the file was being made
        return False
    t.temp, t.fd = temp, fd
    t.writer = OrderedWriter(fd, hashlib.sha256())
    return True


async def chunk(ctx, header, payload):
    """A piece of a file from the customer's computer, at offset o: appended in order, hashed on the way."""
    t = _transfer_of(ctx, header.get("tid"), "to_rep")
    if t is None or t.status != "running" or (t.agent, t.rep) not in state_of(ctx.session).grants:
        return
    if t.writer is None:
        return   # no file_info yet: nothing to append to
    if header.get("o") != t.done:
        return   # a frame from before a resume
    if t.size is not None and t.done + len(payload) > t.size:
        await finish(ctx.app, ctx.session, t, "failed", "more data came than the file's size", tell_agent=True)
        return
    t.buffer.add(payload)
    t.done += len(payload)
    if len(t.buffer) >= BLOCK:
        data = t.buffer.take()
        t.writer.submit(data)       # written and hashed on a worker thread, in order
        try:
            await t.writer.wait()   # waits only when too much is queued
        except OSError as exc:
            await finish(ctx.app, ctx.session, t, "failed", could_not_store(t, exc), tell_agent=True)
            return
    _progress(ctx.app, ctx.session, t)


async def sent(ctx, message):
    """The agent read the whole file: check size and SHA-256, then give it its final name. Done in the
    background, so the Support Manager's other transfers go on meanwhile (fsync takes a while)."""
    t = _transfer_of(ctx, message.get("tid"), "to_rep")
    if t is None or t.status != "running":
        return
    if t.writer is None:
        await finish(ctx.app, ctx.session, t, "failed", f"{t.name} arrived incomplete (no data came); "
                     "nothing was kept", tell_agent=True)
        return
    t.status = "checking"
    in_background(_complete(ctx, t, message))


async def whole_file(ctx, header, payload):
    """A small file in one frame: its size, SHA-256 and all its data. Checked and written with the small
    files that finish at the same time (group commit), then recorded and offered to the rep."""
    t = _transfer_of(ctx, header.get("tid"), "to_rep")
    if t is None or t.status != "running" or (t.agent, t.rep) not in state_of(ctx.session).grants:
        return
    if t.writer is not None:
        return   # it is already being streamed
    size, sha = header.get("size"), header.get("sha256")
    if not isinstance(size, int) or size != len(payload) or not isinstance(sha, str):
        await finish(ctx.app, ctx.session, t, "failed", f"{t.name} arrived incomplete; nothing was kept",
                     tell_agent=True)
        return
    if await _refused_as_too_large(ctx, t, size):
        return
    t.expect = {"size": size, "mtime_ns": header.get("mtime_ns")}
    t.size = t.done = size
    t.name = str(header.get("name") or t.name)[:200]
    t.status = "checking"
    in_background(_complete_whole(ctx, t, payload, sha))


async def _complete_whole(ctx, t: Transfer, data: bytes, sha: str) -> None:
    async with t.lock:   # a revoke meanwhile waits, then removes the stored copy
        if t.status != "checking":
            return   # it ended (revoked, cancelled) before its turn came: nothing is written
        t.stored_name = uuid.uuid4().hex
        try:
            await group_commit(ctx.app).commit(SmallFile(t.id, t.stored_name, data, sha))
        except Exception as exc:   # noqa: BLE001 - whatever it was, the file was not kept
            t.stored_name = ""
            error = f"{t.name} {exc}" if isinstance(exc, IntegrityError) else \
                could_not_store(t, exc)
            failed_t = t
        else:
            t.sha256 = sha
            failed_t = None
    if failed_t is not None:
        await finish(ctx.app, ctx.session, t, "failed", error + "; nothing was kept")
        return
    await finish(ctx.app, ctx.session, t, "done", actor=ctx.participant.id)


async def _complete(ctx, t: Transfer, message: dict) -> None:
    store_ = file_store(ctx.app)
    async with t.lock:
        try:
            if t.buffer:
                data = t.buffer.take()
                t.writer.submit(data)
            await t.writer.drain()
            digest = t.writer.hasher.hexdigest()
            if t.done != message.get("size") or t.done != t.size:
                raise ValueError(f"{t.name} arrived incomplete ({t.done} of {t.size} bytes)")
            if digest != message.get("sha256"):
                raise ValueError(f"{t.name} does not match its SHA-256 (sent {message.get('sha256')}, got {digest})")
            t.sha256 = digest
            t.stored_name = uuid.uuid4().hex
            fd, t.fd = t.fd, -1
            await _run(store_.commit, fd, t.temp, t.stored_name)
        except (ValueError, OSError) as exc:
            error = str(exc) if isinstance(exc, ValueError) else could_not_store(t, exc)
            failed_t = t
        else:
            failed_t = None
    if failed_t is not None:
        await finish(ctx.app, ctx.session, t, "failed", error + "; nothing was kept")
        return
    await finish(ctx.app, ctx.session, t, "done", actor=ctx.participant.id)


async def failed(ctx, message):
    t = _transfer_of(ctx, message.get("tid"))
    if t is None:
        return
    await finish(ctx.app, ctx.session, t, "failed", str(message.get("error") or "the transfer failed")[:300],
                 actor=ctx.participant.id)


# -- rep -> customer: the relay ---------------------------------------------------------------------
def _receive_command(t: Transfer) -> dict:
    return {"type": f"{P}.receive_file", "tid": t.id, "from": t.rep, "dir": t.path, "name": t.name,
            "size": t.size, "sha256": t.sha256 or None}


async def start_upload(app, live, t: Transfer) -> None:
    state_of(live).transfers[t.id] = t
    await record(app, live, t.rep, f"{P}.transfer_started", {"transfer": t.id, "direction": "to_customer",
                                                           "name": t.name, "folder": t.path, "size": t.size,
                                                           "sha256": t.sha256, "rep": t.rep_name},
                 also=_transfer_row(live, t))
    app[HUB].send(live, t.agent, _receive_command(t))
    _progress(app, live, t, force=True)


async def ready(ctx, message):
    """The agent is ready to receive, and has `have` bytes already (resume): relay from there."""
    t = _transfer_of(ctx, message.get("tid"), "to_customer")
    have = message.get("have")
    if t is None or not isinstance(have, int) or not 0 <= have <= (t.size or 0):
        return
    if t.relay is not None:
        t.relay.cancel()
    t.done = have
    t.status = "running"
    t.relay = asyncio.create_task(_relay(ctx.app, ctx.session, t, have))


async def _relay(app, live, t: Transfer, pos: int) -> None:
    """Send the rep's file on to the Support Manager from ``pos``, as fast as the upload brings it in and
    the agent acknowledges it (at most WINDOW bytes ahead); the last message carries the SHA-256."""
    up = t.upload
    fd = await _run(os.open, up.temp, os.O_RDONLY)
    try:
        while True:
            if t.status != "running" or (t.agent, t.rep) not in state_of(live).grants:
                return
            if pos >= t.size and up.complete:
                app[HUB].send(live, t.agent, {"type": f"{P}.end", "tid": t.id, "sha256": t.sha256})
                return
            if pos >= up.have:   # the relay caught up with the upload: wait for more (or its end)
                up.arrived.clear()
                await up.arrived.wait()
                continue
            while pos - t.done > WINDOW:
                t.acked.clear()
                try:
                    await asyncio.wait_for(t.acked.wait(), 30)
                except asyncio.TimeoutError:
                    t.status = "paused"
                    return
                if t.status != "running":
                    return
            block = await _run(os.pread, fd, min(BLOCK, up.have - pos), pos)
            agent = live.participants.get(t.agent)
            if agent is None or agent.conn is None:
                t.status = "paused"     # resumes when the Support Manager is back (agent_hello)
                return
            view = memoryview(block)
            for i in range(0, len(block), CHUNK):
                if not agent.conn.send(make_binary({"type": f"{P}.put", "tid": t.id, "o": pos + i},
                                                   view[i:i + CHUNK])):
                    t.status = "paused"
                    return
            pos += len(block)
    finally:
        await _run(os.close, fd)


async def progress(ctx, message):
    t = _transfer_of(ctx, message.get("tid"), "to_customer")
    have = message.get("have")
    if t is None or not isinstance(have, int) or not t.done <= have <= (t.size or 0):
        return
    t.done = have
    t.acked.set()
    _progress(ctx.app, ctx.session, t)


async def received(ctx, message):
    t = _transfer_of(ctx, message.get("tid"), "to_customer")
    if t is None:
        return
    if message.get("sha256") != t.sha256:
        await finish(ctx.app, ctx.session, t, "failed", "the file on the customer's computer does not match "
                     "its SHA-256", actor=ctx.participant.id, tell_agent=True)
        return
    t.done = t.size or 0
    t.name = str(message.get("name") or t.name)[:200]
    t.path = str(message.get("path") or t.path)[:4096]
    await finish(ctx.app, ctx.session, t, "done", actor=ctx.participant.id)


async def violation(ctx, message):
    agent = _only_agent(ctx)
    what = str(message.get("what", ""))[:100]
    await record(ctx.app, ctx.session, agent.id, f"{P}.violation_refused",
                 {"agent": agent.id, "what": what, "command": str(message.get("command", ""))[:60]})
    ctx.broadcast({"type": f"{P}.notice", "agent": agent.id,
                   "text": f"The Support Manager refused to {what} without the customer's permission."})


# -- session events -----------------------------------------------------------------------------------
async def on_participant_left(app, live, participant, reason) -> None:
    state = getattr(live, "filexfer_advanced_state", None)
    if state is None:
        return
    if participant.id in state.agents:
        await drop_grants(app, live, agent=participant.id, by=f"{participant.name} left ({reason})",
                          actor=participant.id, tell_agent=False)
        for t in list(state.transfers.values()):
            if t.agent == participant.id:
                await finish(app, live, t, "failed", "the Support Manager left the session", actor=participant.id)
        del state.agents[participant.id]
    elif participant.is_rep:
        await drop_grants(app, live, rep=participant.id, by=f"{participant.name} left ({reason})",
                          actor=participant.id)
    for k, (a, r) in list(state.pending.items()):
        if participant.id in (a, r):
            del state.pending[k]
    if reason != "ended":
        announce(app, live)


async def on_session_ended(app, live) -> None:
    """Transfers still in flight stop; their temp files go. Grants end with the session."""
    state = getattr(live, "filexfer_advanced_state", None)
    if state is None:
        return
    for t in list(state.transfers.values()):
        await finish(app, live, t, "failed", "the session ended before the transfer was complete")
    if state.grants:
        await record(app, live, None, f"{P}.revoked", {"by": "the session ended",
                                                      "reps": [n for n in state.grants.values()]})
        state.grants.clear()
