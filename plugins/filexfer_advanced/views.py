"""HTTP routes: the rep uploads a file for the customer's computer (raw body, streamed to a temp file,
hashed, renamed; then relayed to the Support Manager), and downloads a file fetched from it."""
from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from urllib.parse import quote

from aiohttp import web

from host import session_store as store
from host.appkeys import CONFIG, DB, HUB
from host.web_common import CSRF_HEADER, csrf_ok, require_user, site_of

from . import handlers
from .ordered_writer import OrderedWriter
from .paths import PathRefused, check_name, check_relative
from .protocol import P
from .settings import max_file_bytes
from .state import Transfer, state_of
from .storage import TransferStore

SHA = re.compile(r"^[0-9a-f]{64}$")


async def _rep_in(request, sid: str):
    site = site_of(request)
    user = await require_user(request, site)
    rep = await request.app[DB].read(lambda db: store.rep_participant(db, sid, user["id"]))
    if rep is None or rep["site_id"] != site.id:
        raise web.HTTPForbidden(text="Only a rep in this session can do this.")
    return site, user, rep


def _error(text: str, status: int = 400):
    return web.json_response({"error": text}, status=status)


async def upload(request):
    """POST /sessions/{sid}/send?agent=&dir=&name= with the file as the body (the rep's browser)."""
    sid = request.match_info["sid"]
    site, user, rep = await _rep_in(request, sid)
    if not csrf_ok(request, request.headers.get(CSRF_HEADER)):
        raise web.HTTPForbidden(text="This upload did not come from this site (CSRF check failed).")
    app = request.app
    live = await app[HUB].get(sid)
    if live is None:
        raise web.HTTPGone(text="This session has ended.")
    state = state_of(live)
    q = request.query
    agent = state.agents.get(q.get("agent", "")) or next(iter(state.agents.values()), None)
    if agent is None:
        return _error("the customer's Support Manager is not connected", 409)
    if (agent.id, rep["id"]) not in state.grants:
        return _error("the customer has not allowed you to access their files (request file access first)", 403)
    try:
        folder = "/".join(check_relative(q.get("dir", "")))
        name = check_name(q.get("name", ""))
    except PathRefused as exc:
        return _error(str(exc))
    size = request.content_length
    limit = max_file_bytes(app, site)
    if size is None:
        return _error("the upload needs a Content-Length")
    if size > limit:
        return _error(f"{name} is larger than {limit // (1024 * 1024)} MB, the limit on this site", 413)
    loop = asyncio.get_running_loop()
    store_ = TransferStore(app[CONFIG].data_dir)
    tid = uuid.uuid4().hex
    temp, fd = await loop.run_in_executor(None, store_.open_temp, tid)
    writer = OrderedWriter(fd, hashlib.sha256())
    got = 0
    buf = bytearray()
    try:
        while True:
            data = await request.content.readany()
            if not data:
                break
            got += len(data)
            if got > size:
                raise ValueError("more data came than announced")
            buf += data
            if len(buf) >= 1024 * 1024:
                block, buf = bytes(buf), bytearray()
                writer.submit(block)
                await writer.wait()
        if buf:
            writer.submit(bytes(buf))
        await writer.drain()
        if got != size:
            raise ValueError(f"the upload stopped after {got} of {size} bytes")
        digest = writer.hasher.hexdigest()
        wanted = request.headers.get("X-Content-SHA256", "").lower()
        if wanted and wanted != digest:
            raise ValueError("the upload does not match its SHA-256")
        stored = uuid.uuid4().hex
        await loop.run_in_executor(None, store_.commit, fd, temp, stored)
        fd = -1
    except (ValueError, OSError, ConnectionError, asyncio.CancelledError) as exc:
        await writer.settle()
        await loop.run_in_executor(None, TransferStore.discard, fd, temp)
        if isinstance(exc, asyncio.CancelledError):
            raise
        return _error(f"{name}: {exc}; nothing was sent")
    if (agent.id, rep["id"]) not in state.grants:   # revoked while uploading
        await loop.run_in_executor(None, TransferStore.discard, -1, store_.path_of(stored))
        return _error("file access was revoked; nothing was sent", 403)
    t = Transfer(tid, "to_customer", agent.id, rep["id"], rep["name"], name, folder, size=size, sha256=digest,
                 stored_name=stored, started_at=app[CONFIG].clock())
    await handlers.start_upload(app, live, t)
    return web.json_response({"transfer": t.public(), "sha256": digest}, status=202)


async def download(request):
    """GET /files/{tid}: a file fetched from the customer's computer, for a rep of that session."""
    tid = request.match_info["tid"]
    app = request.app
    row = await app[DB].read(lambda db: db["advanced_transfers"].get(tid)
                             if db["advanced_transfers"].count_where("id = ?", [tid]) else None)
    site = site_of(request)
    if row is None or row["site_id"] != site.id or row["direction"] != "to_rep" or row["status"] != "done":
        raise web.HTTPNotFound(text="There is no such file.")
    user = await require_user(request, site)
    was_in = await app[DB].read(lambda db: db["participants"].count_where(
        "session_id = ? and user_id = ?", [row["session_id"], user["id"]]))
    if not was_in:   # a rep of that session, also after it ended (until the retention is over)
        raise web.HTTPForbidden(text="Only a rep of this session can download its files.")
    if row.get("deleted_at") is not None:
        raise web.HTTPGone(text="This file was deleted: the time the site keeps transferred files is over.")
    path = TransferStore(app[CONFIG].data_dir).path_of(row["stored_name"])
    ascii_name = row["name"].encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return web.FileResponse(path, headers={
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(row['name'])}",
        "X-Content-SHA256": row["sha256"] or "",
        "Cache-Control": "private, no-store",
    })
