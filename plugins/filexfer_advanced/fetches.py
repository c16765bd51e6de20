"""Copies from the customer's computer to the host (for the rep): the Support Manager streams the file,
the host writes it to a temp file in order (hashing on the way), checks size and SHA-256 and only then
gives it its final name; small files come whole in one frame and are written in group commits. A dropped
link resumes from what the host has."""
from __future__ import annotations

import asyncio
import hashlib
import uuid

from host import api

from .checks import granted, transfer_of
from .group_commit import IntegrityError, SmallFile
from .lifecycle import (could_not_store, file_store, finish, group_commit, in_background, off_loop, record,
                        refused_as_too_large, send_progress, transfer_row, watch)
from .ordered_writer import OrderedWriter
from .protocol import BLOCK, PLUGIN, new_part
from .state import Transfer, state_of
from .storage import TransferStore


MAX_IN_FLIGHT = 100     # transfers at once in one session


async def fetch(ctx, message):
    """The rep copies a file from the customer's computer: the agent streams it to the host."""
    agent = granted(ctx, message)
    path = message.get("path")
    if not isinstance(path, str) or not path or len(path) > 4096:
        raise api.MessageError("say which file (its path in the shared folder)")
    state = state_of(ctx.session)
    if len(state.transfers) >= MAX_IN_FLIGHT:
        raise api.MessageError(f"at most {MAX_IN_FLIGHT} transfers at once; wait for some to finish")
    tid = uuid.uuid4().hex
    t = Transfer(tid, "to_rep", agent.id, ctx.participant.id, ctx.participant.name,
                 path.rstrip("/").split("/")[-1][:200] or "file", path, started_at=ctx.now())
    # the temp file is made when the data comes: streamed files at file_info, a small file sent whole
    # in one frame with the files that finish at the same time (whole_file)
    state.transfers[tid] = t
    watch(ctx.app, ctx.session, t)
    # written while the file already flows (finish() waits for it, so the rows stay in order)
    details = {"transfer": tid, "direction": "to_rep", "path": path, "rep": ctx.participant.name}
    t.started = asyncio.create_task(record(ctx.app, ctx.session, ctx.participant.id, f"{PLUGIN}.transfer_started",
                                           details, also=transfer_row(ctx.session, t)))
    ctx.send_to(agent.id, {"type": f"{PLUGIN}.send_file", "tid": tid, "from": ctx.participant.id, "path": path,
                           "offset": 0, "stall": t.stall})
    send_progress(ctx.app, ctx.session, t, force=True)
    return {"type": f"{PLUGIN}.started", "re": message.get("id"), "transfer": t.public()}


async def resume_fetch(ctx, t: Transfer) -> None:
    """The receiver (the host) reports what it has; the agent goes on from there."""
    async with t.lock:
        if t.writer is None:   # nothing came yet: from the start
            t.status = "running"
            ctx.send_to(t.agent, {"type": f"{PLUGIN}.send_file", "tid": t.id, "from": t.rep, "path": t.path,
                                  "offset": 0, "stall": t.stall})
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
    ctx.send_to(t.agent, {"type": f"{PLUGIN}.send_file", "tid": t.id, "from": t.rep, "path": t.path,
                          "offset": t.done, "expect": t.expect, "stall": t.stall})


async def file_info(ctx, message):
    t = transfer_of(ctx, message.get("tid"), "to_rep")
    if t is None:
        return
    size = message.get("size")
    if not isinstance(size, int) or size < 0:
        raise api.MessageError("file_info needs the size")
    if await refused_as_too_large(ctx, t, size):
        return
    if t.expect is None:
        t.expect = {"size": size, "mtime_ns": message.get("mtime_ns")}
        t.size = size
        t.name = str(message.get("name") or t.name)[:200]
    if t.writer is None and not await _open_temp(ctx.app, ctx.session, t):
        return
    t.moved()
    send_progress(ctx.app, ctx.session, t, force=True)


async def _open_temp(app, live, t: Transfer) -> bool:
    """The temp file the stream is written to; False if the transfer ended meanwhile (or cannot be stored)."""
    try:
        temp, fd = await off_loop(file_store(app).open_temp, t.id)
    except OSError as exc:
        await finish(app, live, t, "failed", could_not_store(t, exc), tell_agent=True)
        return False
    if state_of(live).transfers.get(t.id) is not t or t.status in ("done", "failed") or t.writer is not None:
        await off_loop(TransferStore.discard, fd, temp)   # it ended while the file was being made
        return False
    t.temp, t.fd = temp, fd
    t.writer = OrderedWriter(fd, hashlib.sha256())
    return True


async def chunk(ctx, header, payload):
    """A piece of a file from the customer's computer, at offset o: appended in order, hashed on the way."""
    t = transfer_of(ctx, header.get("tid"), "to_rep")
    if t is None or t.status != "running" or (t.agent, t.rep) not in state_of(ctx.session).grants:
        return
    if t.writer is None:
        return   # no file_info yet: nothing to append to
    payload = new_part(header.get("o"), payload, t.done)
    if payload is None:
        return   # nothing new (a frame from before a resume)
    if t.size is not None and t.done + len(payload) > t.size:
        await finish(ctx.app, ctx.session, t, "failed", "more data came than the file's size", tell_agent=True)
        return
    t.buffer.add(payload)
    t.done += len(payload)
    t.moved()
    if len(t.buffer) >= BLOCK:
        data = t.buffer.take()
        t.writer.submit(data)       # written and hashed on a worker thread, in order
        try:
            await t.writer.wait()   # waits only when too much is queued
        except OSError as exc:
            await finish(ctx.app, ctx.session, t, "failed", could_not_store(t, exc), tell_agent=True)
            return
    send_progress(ctx.app, ctx.session, t)


async def sent(ctx, message):
    """The agent read the whole file: check size and SHA-256, then give it its final name. Done in the
    background, so the Support Manager's other transfers go on meanwhile (fsync takes a while)."""
    t = transfer_of(ctx, message.get("tid"), "to_rep")
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
    t = transfer_of(ctx, header.get("tid"), "to_rep")
    if t is None or t.status != "running" or (t.agent, t.rep) not in state_of(ctx.session).grants:
        return
    if t.writer is not None:
        return   # it is already being streamed
    size, sha = header.get("size"), header.get("sha256")
    if not isinstance(size, int) or size != len(payload) or not isinstance(sha, str):
        await finish(ctx.app, ctx.session, t, "failed", f"{t.name} arrived incomplete; nothing was kept",
                     tell_agent=True)
        return
    if await refused_as_too_large(ctx, t, size):
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
            await off_loop(store_.commit, fd, t.temp, t.stored_name)
        except (ValueError, OSError) as exc:
            error = str(exc) if isinstance(exc, ValueError) else could_not_store(t, exc)
            failed_t = t
        else:
            failed_t = None
    if failed_t is not None:
        await finish(ctx.app, ctx.session, t, "failed", error + "; nothing was kept")
        return
    await finish(ctx.app, ctx.session, t, "done", actor=ctx.participant.id)
