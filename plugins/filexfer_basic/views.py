"""Publishing (rep, multipart upload) and downloading (any participant of the session) files."""
from __future__ import annotations

import asyncio
import hashlib
import uuid
from urllib.parse import quote

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from host import api

from .storage import FileStore, clean_filename

PLUGIN = "filexfer_basic"
CHUNK = 256 * 1024
MB = 1024 * 1024
DRAIN_LIMIT = 512 * MB  # after a refusal the rest of an upload is read and dropped, up to this much


class Refused(Exception):
    """An upload that is refused as a whole: nothing of it is kept. ``status``: the HTTP answer."""

    def __init__(self, message: str, status: int = 413):
        super().__init__(message)
        self.status = status


BAD_PART = ("A file's name or part header is not valid (too long, or holding control characters). Nothing was "
            "published.")


def file_store(app) -> FileStore:
    # the data folder's filexfer_basic/ (where files were kept before api.plugin_data_dir existed; moving
    # them would orphan the published files of sessions still within their retention)
    return FileStore(api.config(app).data_dir)


def public(row: dict, site) -> dict:
    return {"id": row["id"], "name": row["name"], "size": row["size"], "sha256": row["sha256"],
            "uploaded_at": row["uploaded_at"], "by": row["uploaded_by_name"],
            "url": f"{site.prefix}/p/{PLUGIN}/files/{row['id']}"}


def site_usage(db, site_id: int) -> int:
    return next(db.query("select coalesce(sum(size), 0) as n from published_files "
                         "where site_id = ? and deleted_at is null", [site_id]))["n"]


def limits(app, site) -> tuple[int, int]:
    return (int(api.setting(app, site, PLUGIN, "max_file_mb") or 100) * MB,
            int(api.setting(app, site, PLUGIN, "site_total_mb") or 2000) * MB)


def _mb(n: int) -> str:
    return f"{n / MB:.0f} MB" if n % MB == 0 else f"{n / MB:.1f} MB"


async def _stage(request, reader, store_, max_file: int, room: int) -> list[dict]:
    """Stream every file part to its own temp file (hash and size on the way); refuse past a limit."""
    loop = asyncio.get_running_loop()
    staged: list[dict] = []
    try:
        while True:
            try:
                part = await reader.next()
            except BadHttpMessage:   # a header line over aiohttp's limit, or a NUL in it
                raise Refused(BAD_PART, 400) from None
            if part is None:
                break
            if part.name != "file" or not part.filename:
                await part.release()
                continue
            name = clean_filename(part.filename)
            path, f = await loop.run_in_executor(None, store_.new_temp)
            item = {"temp": path, "name": name, "size": 0}
            staged.append(item)
            digest = hashlib.sha256()
            try:
                while True:
                    chunk = await part.read_chunk(CHUNK)
                    if not chunk:
                        break
                    item["size"] += len(chunk)
                    if item["size"] > max_file:
                        raise Refused(f"{name} is larger than {_mb(max_file)}, the limit for one file on this "
                                      "site. Nothing was published.")
                    if sum(s["size"] for s in staged) > room:
                        raise Refused(f"Publishing {name} would go over the space this site allows for published "
                                      f"files ({_mb(room)} left). Nothing was published.")
                    digest.update(chunk)
                    await loop.run_in_executor(None, f.write, chunk)
                await loop.run_in_executor(None, store_.finish, f)
            except BaseException as exc:
                await loop.run_in_executor(None, store_.close_quietly, f)
                if isinstance(exc, Exception) and api.is_disk_full(exc):
                    raise Refused(api.DISK_FULL, 507) from None
                raise
            item["sha256"] = digest.hexdigest()
        return staged
    except BaseException:
        for item in staged:
            await loop.run_in_executor(None, store_.discard, item["temp"])
        raise


async def _drain(request) -> None:
    read = 0
    while read < DRAIN_LIMIT:
        chunk = await request.content.readany()
        if not chunk:
            return
        read += len(chunk)


@api.streams_body
async def upload(request):
    """POST /sessions/{sid}/files (multipart): a rep of the live session publishes files into it."""
    sid = request.match_info["sid"]
    app = request.app
    site, user, rep, live = await api.rep_in_session(request, sid)
    check_csrf_header(request)
    if not (request.content_type or "").startswith("multipart/form-data"):
        raise api.json_error(400, "send the files as multipart/form-data")
    max_file, max_total = limits(app, site)
    used = await api.database(app).read(lambda db: site_usage(db, site.id))
    store_ = file_store(app)
    try:
        staged = await _stage(request, await request.multipart(), store_, max_file, max_total - used)
    except Exception as exc:
        refused = exc if isinstance(exc, Refused) else Refused(api.DISK_FULL, 507) if api.is_disk_full(exc) else None
        if refused is None:
            raise
        await _drain(request)
        raise api.json_error(refused.status, str(refused)) from None
    if not staged:
        raise api.json_error(400, "Choose at least one file to publish.")

    now = api.now(app)
    rows = [{"id": uuid.uuid4().hex, "session_id": sid, "site_id": site.id, "name": s["name"], "size": s["size"],
             "sha256": s["sha256"], "stored_name": uuid.uuid4().hex, "uploaded_by": rep["id"],
             "uploaded_by_name": rep["name"], "uploaded_at": now, "downloads": 0, "deleted_at": None,
             "delete_reason": None} for s in staged]
    loop = asyncio.get_running_loop()

    def write(db):
        if site_usage(db, site.id) + sum(r["size"] for r in rows) > max_total:  # another upload won the space
            raise Refused(f"These files would go over the space this site allows for published files "
                          f"({_mb(max_total)}). Nothing was published.")
        db["published_files"].insert_all(rows)
        for r in rows:
            api.add_event(db, sid, now, "file_published", rep["id"], {"name": r["name"], "size": r["size"],
                                                                      "sha256": r["sha256"]})
        api.audit_row(db, site.id, f"user:{user['id']}", "file_published", f"session:{sid}",
                  {"files": [{"name": r["name"], "size": r["size"], "sha256": r["sha256"]} for r in rows]}, now)
    try:
        for s, r in zip(staged, rows):   # final names first: a row never points at a missing file
            await loop.run_in_executor(None, store_.commit, s["temp"], r["stored_name"])
        await api.database(app).write(write)
    except Exception as exc:   # refused, or the disk filled up: nothing of the upload is kept
        for s, r in zip(staged, rows):
            await loop.run_in_executor(None, store_.discard, s["temp"])
            await loop.run_in_executor(None, store_.discard, store_.path_of(r["stored_name"]))
        if isinstance(exc, Refused):
            raise api.json_error(exc.status, str(exc)) from None
        if api.is_disk_full(exc):
            raise api.json_error(507, api.DISK_FULL) from None
        raise
    files = [public(r, site) for r in rows]
    api.sessions(app).broadcast(live, {"type": f"{PLUGIN}.added", "files": files})
    return web.json_response({"files": files}, status=201)


def check_csrf_header(request) -> None:
    """CSRF for a multipart upload: the token comes in the X-CSRF-Token header (the body is a stream)."""
    if not api.csrf_ok(request, request.headers.get(api.CSRF_HEADER)):
        raise api.json_error(403, "This upload did not come from this site (CSRF check failed). Reload the page "
                             "and try again.", "csrf")


async def download(request):
    """GET /files/{fid}: a published file, for the participants of its session (a file, not JSON)."""
    site = api.site_of(request)
    fid = request.match_info["fid"]
    app = request.app
    row = await api.database(app).read(lambda db: db["published_files"].get(fid)
                                       if db["published_files"].count_where("id = ?", [fid]) else None)
    if row is None or row["site_id"] != site.id:
        raise web.HTTPNotFound(text="There is no such file.")
    _site, user, participant = await api.participant_of_request(request, row["session_id"])
    if participant is None:
        raise web.HTTPForbidden(text="Only the participants of this session can download its files.")
    actor = f"user:{user['id']}" if user is not None else f"participant:{participant['id']}"
    if row["deleted_at"] is not None:
        raise web.HTTPGone(text="This file was deleted: the time the site keeps published files is over.")
    path = file_store(app).path_of(row["stored_name"])
    now = api.now(app)
    details = {"name": row["name"], "file": fid, "address": api.client_address(request)}

    def count(db):
        db.execute("update published_files set downloads = downloads + 1 where id = ?", [fid])
        api.event_and_audit(db, {"id": row["session_id"], "site_id": site.id}, now, "file_downloaded",
                            participant["id"], details, actor=actor, action="file_downloaded",
                            target=f"session:{row['session_id']}")
    await api.database(app).write(count)
    ascii_name = row["name"].encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return web.FileResponse(path, headers={
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(row['name'])}",
        "X-Content-SHA256": row["sha256"],
        "Cache-Control": "private, no-store",
    })
