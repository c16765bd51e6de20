"""HTTP routes: the rep uploads a file for the customer's computer (resumable, relayed to the Support Manager
while it arrives: uploads.py), and downloads a file fetched from it."""
from __future__ import annotations

import json
import uuid
from urllib.parse import quote

from aiohttp import web

from host import session_store as store
from host.appkeys import CONFIG, DB, HUB
from host.web_common import CSRF_HEADER, csrf_ok, require_user, site_of

from . import handlers, uploads
from .paths import PathRefused, check_name, check_relative
from .settings import max_file_bytes
from .state import Transfer, state_of

async def _rep_in(request, sid: str):
    site = site_of(request)
    user = await require_user(request, site)
    rep = await request.app[DB].read(lambda db: store.rep_participant(db, sid, user["id"]))
    if rep is None or rep["site_id"] != site.id:
        raise web.HTTPForbidden(text="Only a rep in this session can do this.")
    return site, user, rep


def _error(text: str, status: int = 400):
    return web.json_response({"error": text}, status=status)


async def _rep_upload_target(request, sid: str):
    """The checks before an upload starts: a rep of this live session, CSRF, a grant, a sane folder and
    name. Returns (site, live, agent, rep, folder, name)."""
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
        raise _JSONError("the customer's Support Manager is not connected", 409)
    if (agent.id, rep["id"]) not in state.grants:
        raise _JSONError("the customer has not allowed you to access their files (request file access first)", 403)
    try:
        folder = "/".join(check_relative(q.get("dir", "")))
        name = check_name(q.get("name", ""))
    except PathRefused as exc:
        raise _JSONError(str(exc))
    return site, live, agent, rep, folder, name


class _JSONError(web.HTTPClientError):
    """A refusal to raise, whose body is {"error": text}, as the page shows it."""

    def __init__(self, text: str, status: int = 400):
        self.status_code = status
        super().__init__(text=json.dumps({"error": text}), content_type="application/json")


def _size_of(request, site, name: str, size) -> int:
    limit = max_file_bytes(request.app, site)
    if size is None:
        raise _JSONError("the upload needs the file's size", 411)
    if size > limit:
        raise _JSONError(f"{name} is larger than {limit // (1024 * 1024)} MB, the limit on this site", 413)
    return size


async def _new_upload(request, live, agent, rep, folder: str, name: str, size: int,
                      modified: int | None = None) -> Transfer:
    app = request.app
    t = Transfer(uuid.uuid4().hex, "to_customer", agent.id, rep["id"], rep["name"], name, folder, size=size,
                 started_at=app[CONFIG].clock())
    return await uploads.open_upload(app, live, t, modified)


async def create_upload(request):
    """POST /sessions/{sid}/uploads?agent=&dir=&name=&size=[&modified=]: a resumable upload (the rep's
    browser). The transfer starts at once; the bytes follow with PUT .../uploads/{tid}?offset=. ``modified``
    (the file's last-modified time, as the browser gives it) lets the page find the upload again after a
    reload, when the rep picks the same file."""
    site, live, agent, rep, folder, name = await _rep_upload_target(request, request.match_info["sid"])
    try:
        size = int(request.query.get("size", ""))
        if size < 0:
            raise ValueError
    except ValueError:
        return _error("the upload needs the file's size in bytes")
    try:
        modified = int(request.query["modified"]) if request.query.get("modified") else None
    except ValueError:
        return _error("modified must be the file's last-modified time in milliseconds")
    _size_of(request, site, name, size)
    t = await _new_upload(request, live, agent, rep, folder, name, size, modified)
    return web.json_response({"transfer": t.public(), "have": 0}, status=201)


async def _rep_transfer(request) -> tuple:
    sid, tid = request.match_info["sid"], request.match_info["tid"]
    _site, _user, rep = await _rep_in(request, sid)
    live = await request.app[HUB].get(sid)
    t = state_of(live).transfers.get(tid) if live is not None else None
    if t is None or t.upload is None or t.rep != rep["id"]:
        raise _JSONError("there is no such upload of yours in progress (it ended or was stopped)", 404)
    return live, t


async def put_upload(request):
    """PUT /sessions/{sid}/uploads/{tid}?offset=N: the file's bytes from N on (N = what the host has)."""
    if not csrf_ok(request, request.headers.get(CSRF_HEADER)):
        raise web.HTTPForbidden(text="This upload did not come from this site (CSRF check failed).")
    live, t = await _rep_transfer(request)
    try:
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        return _error("offset must be a number of bytes")
    try:
        state = await uploads.receive(request.app, live, t, request, offset,
                                      request.headers.get("X-Content-SHA256", ""))
    except uploads.UploadRefused as exc:
        return web.json_response({"error": str(exc), "have": t.upload.have if t.upload else 0}, status=exc.status)
    return web.json_response({**state, "transfer": t.public()})


async def upload_status(request):
    """GET /sessions/{sid}/uploads/{tid}: how much of the file the host has (to resume from there)."""
    _live, t = await _rep_transfer(request)
    return web.json_response({"have": t.upload.have, "size": t.size, "complete": t.upload.complete,
                              "transfer": t.public()})


async def upload(request):
    """POST /sessions/{sid}/send?agent=&dir=&name= with the whole file as the body (scripts, or a browser
    that does not resume): the same upload, opened and streamed in one request."""
    site, live, agent, rep, folder, name = await _rep_upload_target(request, request.match_info["sid"])
    size = _size_of(request, site, name, request.content_length)
    t = await _new_upload(request, live, agent, rep, folder, name, size)
    try:
        state = await uploads.receive(request.app, live, t, request, 0, request.headers.get("X-Content-SHA256", ""))
    except uploads.UploadRefused as exc:
        if t.status not in ("done", "failed"):   # a one-shot upload cannot be resumed: it ends here
            await handlers.finish(request.app, live, t, "failed", f"{exc}; nothing was kept", tell_agent=True)
        return _error(f"{name}: {exc}; nothing was sent", exc.status)
    if not state["complete"]:   # cannot happen with a whole body; never report such an upload as sent
        await handlers.finish(request.app, live, t, "failed", "the upload ended incomplete; nothing was kept",
                              tell_agent=True)
        return _error(f"{name}: the upload ended incomplete ({state['have']} of {size} bytes); nothing was sent")
    return web.json_response({"transfer": t.public(), "sha256": state["sha256"]}, status=202)


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
    path = handlers.file_store(app).path_of(row["stored_name"])
    ascii_name = row["name"].encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return web.FileResponse(path, headers={
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(row['name'])}",
        "X-Content-SHA256": row["sha256"] or "",
        "Cache-Control": "private, no-store",
    })
