"""Copies from the rep to the customer's computer: the rep's upload (uploads.py) lands in the host's
temp file, and the relay sends it on to the Support Manager as it arrives, at most WINDOW bytes ahead of
the Support Manager's acknowledgements; it resumes from what the Support Manager has after a dropped link,
and the Support Manager checks the SHA-256 before the file gets its name."""
from __future__ import annotations

import asyncio
import os

from host import api

from .checks import transfer_of
from .lifecycle import finish, off_loop, record, send_progress, transfer_row, watch
from .protocol import BLOCK, CHUNK, PLUGIN, WINDOW
from .state import Transfer, state_of


def receive_command(t: Transfer) -> dict:
    return {"type": f"{PLUGIN}.receive_file", "tid": t.id, "from": t.rep, "dir": t.path, "name": t.name,
            "size": t.size, "sha256": t.sha256 or None, "stall": t.stall}


async def start_upload(app, live, t: Transfer) -> None:
    state_of(live).transfers[t.id] = t
    watch(app, live, t)
    details = {"transfer": t.id, "direction": "to_customer", "name": t.name, "folder": t.path, "size": t.size,
               "sha256": t.sha256, "rep": t.rep_name}
    await record(app, live, t.rep, f"{PLUGIN}.transfer_started", details, also=transfer_row(live, t))
    api.sessions(app).send(live, t.agent, receive_command(t))
    send_progress(app, live, t, force=True)


def stop_relay(t: Transfer) -> None:
    """The relay stops sending (at its next step at the latest; it sends nothing after this returns)."""
    if t.relay is not None:
        t.relay.cancel()   # (kept in t.relay: finish() waits for it to close its file)
    if t.status == "running":
        t.status = "paused"


async def ready(ctx, message):
    """The agent is ready to receive, and has `have` bytes already (resume): relay from there."""
    t = transfer_of(ctx, message.get("tid"), "to_customer")
    have = message.get("have")
    if t is None or not isinstance(have, int) or not 0 <= have <= (t.size or 0):
        return
    stop_relay(t)   # an earlier relay that is still waiting stops at its next step (_relay checks)
    t.done = have
    t.status = "running"
    t.moved()
    t.relay = asyncio.create_task(_relay(ctx.app, ctx.session, t, have))


async def _relay(app, live, t: Transfer, pos: int) -> None:
    """Send the rep's file on to the Support Manager from ``pos``, as fast as the upload brings it in and
    the agent acknowledges it (at most WINDOW bytes ahead); the last message carries the SHA-256.

    Only the newest relay of a transfer sends (``t.relay``): one that a resume replaced stops at its next
    step, even when its cancellation came while it was waking up. Nothing here waits with a timeout of its
    own: a Support Manager that stops acknowledging is the stall watchdog's to end."""
    me = asyncio.current_task()
    up = t.upload

    def mine() -> bool:
        return t.relay is me and t.status == "running" and (t.agent, t.rep) in state_of(live).grants

    fd = await off_loop(os.open, up.temp, os.O_RDONLY)
    try:
        while mine():
            if pos >= t.size and up.complete:
                end = {"type": f"{PLUGIN}.end", "tid": t.id, "sha256": t.sha256}
                if api.sessions(app).send(live, t.agent, end):
                    t.status = "checking"   # the Support Manager verifies and saves it; `received` ends it
                else:
                    t.status = "paused"     # resumes when the Support Manager is back (agent_hello)
                return
            if pos >= up.have:   # the relay caught up with the upload: wait for more (or its end)
                up.arrived.clear()
                await up.arrived.wait()
                continue
            if pos - t.done > WINDOW:   # wait for the agent's acknowledgements
                t.acked.clear()
                await t.acked.wait()
                continue
            block = await off_loop(os.pread, fd, min(BLOCK, up.have - pos), pos)
            agent = live.participants.get(t.agent)
            if not mine():
                return
            if agent is None or agent.conn is None:
                t.status = "paused"     # resumes when the Support Manager is back (agent_hello)
                return
            view = memoryview(block)
            for i in range(0, len(block), CHUNK):   # through the hub: the session's traffic observers see it
                if not api.sessions(app).send_bytes(live, t.agent, api.make_binary(
                        {"type": f"{PLUGIN}.put", "tid": t.id, "o": pos + i}, view[i:i + CHUNK])):
                    t.status = "paused"
                    return
            pos += len(block)
    finally:
        await off_loop(os.close, fd)


async def progress(ctx, message):
    t = transfer_of(ctx, message.get("tid"), "to_customer")
    have = message.get("have")
    if t is None or not isinstance(have, int) or not t.done <= have <= (t.size or 0):
        return
    t.done = have
    t.moved()
    t.acked.set()
    send_progress(ctx.app, ctx.session, t)


async def received(ctx, message):
    t = transfer_of(ctx, message.get("tid"), "to_customer")
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
