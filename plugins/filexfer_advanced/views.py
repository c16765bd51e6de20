"""HTTP routes: the rep uploads a file for the customer's computer (resumable, relayed to the Support Manager
while it arrives: uploads.py), and downloads a file fetched from it."""
from __future__ import annotations

import uuid
from urllib.parse import quote

from aiohttp import web

from host import api

from . import uploads
from .lifecycle import file_store, finish
from .paths import PathRefused, check_name, check_relative
from .settings import max_file_bytes
from .state import Transfer, state_of

CSRF_REFUSED = "This upload did not come from this site (CSRF check failed)."


def _csrf(request) -> None:
    if not api.csrf_ok(request, request.headers.get(api.CSRF_HEADER)):
        raise api.json_error(403, CSRF_REFUSED, "csrf")


async def _rep_upload_target(request, sid: str):
    """The checks before an upload starts: a rep of this live session, CSRF, a grant, a sane folder and
    name. Returns (site, live, agent, rep, folder, name)."""
    site, _user, rep, live = await api.rep_in_session(request, sid)
    _csrf(request)
    state = state_of(live)
    q = request.query
    agent = state.agents.get(q.get("agent", "")) or next(iter(state.agents.values()), None)
    if agent is None:
        raise api.json_error(409, "the customer's Support Manager is not connected")
    if (agent.id, rep["id"]) not in state.grants:
        raise api.json_error(403, "the customer has not allowed you to access their files (request file access "
                             "first)")
    try:
        folder = "/".join(check_relative(q.get("dir", "")))
        name = check_name(q.get("name", ""))
    except PathRefused as exc:
        raise api.json_error(400, str(exc)) from None
    return site, live, agent, rep, folder, name


def _size_of(request, site, name: str, size) -> int:
    limit = max_file_bytes(request.app, site)
    if size is None:
        raise api.json_error(411, "the upload needs the file's size", "length_required")
    if size > limit:
        raise api.json_error(413, f"{name} is larger than {limit // (1024 * 1024)} MB, the limit on this site")
    return size


async def _new_upload(request, live, agent, rep, folder: str, name: str, size: int,
                      modified: int | None = None) -> Transfer:
    app = request.app
    t = Transfer(uuid.uuid4().hex, "to_customer", agent.id, rep["id"], rep["name"], name, folder, size=size,
                 started_at=api.now(app))
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
        raise api.json_error(400, "the upload needs the file's size in bytes") from None
    try:
        modified = int(request.query["modified"]) if request.query.get("modified") else None
    except ValueError:
        raise api.json_error(400, "modified must be the file's last-modified time in milliseconds") from None
    _size_of(request, site, name, size)
    t = await _new_upload(request, live, agent, rep, folder, name, size, modified)
    return web.json_response({"transfer": t.public(), "have": 0}, status=201)


async def _rep_transfer(request) -> tuple:
    sid, tid = request.match_info["sid"], request.match_info["tid"]
    _site, _user, rep, live = await api.rep_in_session(request, sid)
    t = state_of(live).transfers.get(tid)
    if t is None or t.upload is None or t.rep != rep["id"]:
        raise api.json_error(404, "there is no such upload of yours in progress (it ended or was stopped)")
    return live, t


async def put_upload(request):
    """PUT /sessions/{sid}/uploads/{tid}?offset=N: the file's bytes from N on (N = what the host has)."""
    _csrf(request)
    live, t = await _rep_transfer(request)
    try:
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        raise api.json_error(400, "offset must be a number of bytes") from None
    try:
        state = await uploads.receive(request.app, live, t, request, offset,
                                      request.headers.get("X-Content-SHA256", ""))
    except uploads.UploadRefused as exc:
        raise api.json_error(exc.status, str(exc), have=t.upload.have if t.upload else 0) from None
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
            await finish(request.app, live, t, "failed", f"{exc}; nothing was kept", tell_agent=True)
        raise api.json_error(exc.status, f"{name}: {exc}; nothing was sent") from None
    if not state["complete"]:   # cannot happen with a whole body; never report such an upload as sent
        await finish(request.app, live, t, "failed", "the upload ended incomplete; nothing was kept", tell_agent=True)
        raise api.json_error(400, f"{name}: the upload ended incomplete ({state['have']} of {size} bytes); "
                             "nothing was sent")
    return web.json_response({"transfer": t.public(), "sha256": state["sha256"]}, status=202)


async def download(request):
    """GET /files/{tid}: a file fetched from the customer's computer, for a rep of that session."""
    tid = request.match_info["tid"]
    app = request.app
    row = await api.database(app).read(lambda db: db["advanced_transfers"].get(tid)
                                       if db["advanced_transfers"].count_where("id = ?", [tid]) else None)
    site = api.site_of(request)
    if row is None or row["site_id"] != site.id or row["direction"] != "to_rep" or row["status"] != "done":
        raise web.HTTPNotFound(text="There is no such file.")
    user = await api.require_user(request, site)
    was_in = await api.database(app).read(lambda db: db["participants"].count_where(
        "session_id = ? and user_id = ?", [row["session_id"], user["id"]]))
    if not was_in:   # a rep of that session, also after it ended (until the retention is over)
        raise web.HTTPForbidden(text="Only a rep of this session can download its files.")
    if row.get("deleted_at") is not None:
        raise web.HTTPGone(text="This file was deleted: the time the site keeps transferred files is over.")
    path = file_store(app).path_of(row["stored_name"])
    ascii_name = row["name"].encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return web.FileResponse(path, headers={
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(row['name'])}",
        "X-Content-SHA256": row["sha256"] or "",
        "Cache-Control": "private, no-store",
    })
