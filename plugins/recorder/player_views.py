"""The player's HTTP endpoints: the player page, a recording's index (parts, files, chapters, length), its files
(segments checked against their SHA-256 before they are served), and the WebM export as a download.

Access is rec-core's (access.recording_for: a rep the recordings of their sessions, an admin the site's, 404
for anybody else); every playback and download is written to the audit log.
"""
from __future__ import annotations

import asyncio
import os
import tempfile

from aiohttp import web

from host.api import audit, database, form_with_csrf, json_error, plugin_data_dir, render
from plugin_libs.rrweb import replay_frame

from .access import recording_for
from .export import export_webm
from .player_exports import exports_of
from .reader import RecordingDamaged, chapters_in, check_file, clock, load_index, read_segment

PLUGIN = "recorder"
MEDIA_TYPES = {".webm": "video/webm", ".ogg": "audio/ogg", ".opus": "audio/ogg", ".mp4": "video/mp4"}
_CHAPTER_CACHE: dict[tuple, tuple[list, list]] = {}        # closed files never change: read them once
_VERIFIED: dict[str, tuple[int, int]] = {}                  # media file -> (size, mtime) its SHA-256 matched
CACHE_RECORDINGS = 32
STREAM_CHUNK = 256 * 1024


async def _index(request):
    site, user, row = await recording_for(request, request.match_info["rid"])
    root = plugin_data_dir(request.app, PLUGIN)
    index = await database(request.app).read(lambda db: load_index(db, root, row["id"], site.id))
    if index is None:
        raise json_error(404, "No such recording.")
    return site, user, index


def chapters_and_damage(index) -> tuple[list, list]:
    """Chapters of the whole recording and the damage found reading it (every file checked)."""
    key = (str(index.folder), tuple((s.name, s.sha256, s.bytes) for s in index.segments))
    if key in _CHAPTER_CACHE and all(s.closed for s in index.segments):
        return _CHAPTER_CACHE[key]
    found, damage = [], []
    for f in index.segments:
        try:
            found += chapters_in(read_segment(f))
        except RecordingDamaged as exc:
            damage.append(str(exc))
    for f in index.media:
        try:
            check_file(f)
        except RecordingDamaged as exc:
            damage.append(str(exc))
    if len(_CHAPTER_CACHE) >= CACHE_RECORDINGS:
        _CHAPTER_CACHE.pop(next(iter(_CHAPTER_CACHE)))
    _CHAPTER_CACHE[key] = (found, damage)
    return found, damage


async def player_page(request):
    site, user, index = await _index(request)
    return await render(request, "recorder/player.html", site=site, user=user, page="recorder_player",
                        recording=index.row, length=clock(index.duration_ms))


async def index_json(request):
    site, user, index = await _index(request)
    found, damage = await asyncio.to_thread(chapters_and_damage, index)
    await audit(request.app, site.id, f"user:{user['id']}", "recording.played", f"recording:{index.id}",
                {"session": index.row["session_id"]})
    base = f"{site.prefix}/p/{PLUGIN}/api/recordings/{index.id}"
    return web.json_response({
        "id": index.id, "session_id": index.row["session_id"], "status": index.row["status"],
        "started_at": index.row["started_at"], "duration_ms": index.duration_ms,
        "parts": [{"part": p["part"], "started_ms": p["started_ms"], "ended_ms": p["ended_ms"]} for p in index.parts],
        "segments": [{"name": s.name, "first_ms": s.first_ms, "last_ms": s.last_ms, "closed": s.closed,
                      "url": f"{base}/files/{s.name}"} for s in index.segments],
        "media": [{"name": m.name, "first_ms": m.first_ms, "kind": _media_kind(m.name),
                   "url": f"{base}/files/{m.name}"} for m in index.media],
        "chapters": _with_parts(found, index.parts), "damaged": damage, "export_url": f"{base}/export.webm",
    })


def _with_parts(found: list[dict], parts: list[dict]) -> list[dict]:
    """The chapters, with where each later part begins (the recording was stopped and started again there:
    the time between is not in it)."""
    marks = [{"t": p["started_ms"] or 0, "label": f"Recording resumed (part {p['part']})", "type": "part"}
             for p in parts if p["part"] > 1]
    return sorted(found + marks, key=lambda c: c["t"])


def _media_kind(name: str) -> str:
    return "video" if name.startswith("media-video") else "audio"


async def file_bytes(request):
    site, user, index = await _index(request)
    name = request.match_info["name"]
    f = next((f for f in index.segments + index.media if f.name == name), None)
    if f is None:
        raise json_error(404, "No such file in this recording.")
    if f.kind == "media" and f.closed:
        return await _media_file(f)
    try:
        data = await asyncio.to_thread(check_file, f)
    except RecordingDamaged as exc:
        raise json_error(409, str(exc)) from None
    return web.Response(body=data, content_type="application/octet-stream",
                        headers={"Cache-Control": "private, max-age=3600" if f.closed else "no-store"})


async def _media_file(f) -> web.StreamResponse:
    """A media track file, served with ranges (a <video> seeks in it); its SHA-256 is checked once per version
    of the file (size and modification time), not on every range the element asks for."""
    try:
        st = await asyncio.to_thread(os.stat, f.path)
        version = (st.st_size, st.st_mtime_ns)
        if _VERIFIED.get(str(f.path)) != version:
            await asyncio.to_thread(check_file, f)
            if len(_VERIFIED) > 4096:
                _VERIFIED.clear()
            _VERIFIED[str(f.path)] = version
    except FileNotFoundError:
        raise json_error(409, f"{f.name} is missing: the recording cannot be played from {clock(f.first_ms)} on") from None
    except RecordingDamaged as exc:
        raise json_error(409, str(exc)) from None
    kind = MEDIA_TYPES.get(os.path.splitext(f.name)[1], "application/octet-stream")
    return web.FileResponse(f.path, headers={"Content-Type": kind, "Cache-Control": "private, max-age=3600"})


async def export_job(request):
    """POST: start exporting the recording (or join the export under way); GET: how far it is."""
    site, user, index = await _index(request)
    exports = exports_of(request.app, plugin_data_dir(request.app, PLUGIN) / "exports")
    if request.method == "POST":
        await form_with_csrf(request)
        before = exports.get(index.id)
        job = exports.start(request.app, index)
        if job is not before:
            await audit(request.app, site.id, f"user:{user['id']}", "recording.exported", f"recording:{index.id}",
                        {"format": "webm", "session": index.row["session_id"]})
    else:
        job = exports.get(index.id)
    if job is None:
        return web.json_response({"state": "none", "progress": 0, "error": ""})
    return web.json_response(job.public())


async def export_download(request):
    """The WebM: the finished export of the player's job, else made now (short recordings, scripts)."""
    site, user, index = await _index(request)
    job = exports_of(request.app, plugin_data_dir(request.app, PLUGIN) / "exports").get(index.id)
    if job is not None and job.state == "done" and job.path.is_file():
        await audit(request.app, site.id, f"user:{user['id']}", "recording.downloaded", f"recording:{index.id}",
                    {"format": "webm", "session": index.row["session_id"]})
        return web.FileResponse(job.path, headers={
            "Content-Type": "video/webm", "Content-Disposition": f'attachment; filename="recording-{index.id}.webm"'})
    folder = plugin_data_dir(request.app, PLUGIN) / "exports"
    folder.mkdir(mode=0o700, exist_ok=True)
    fd, name = tempfile.mkstemp(suffix=".webm", dir=folder)
    os.close(fd)
    try:
        await asyncio.to_thread(export_webm, index, name)
        handle = open(name, "rb")
    except RecordingDamaged as exc:
        raise json_error(409, str(exc)) from None
    finally:
        os.unlink(name)                      # the open handle keeps the data until it is sent
    await audit(request.app, site.id, f"user:{user['id']}", "recording.downloaded", f"recording:{index.id}",
                {"format": "webm", "session": index.row["session_id"]})
    try:
        size = os.fstat(handle.fileno()).st_size
        response = web.StreamResponse(headers={
            "Content-Type": "video/webm", "Content-Length": str(size),
            "Content-Disposition": f'attachment; filename="recording-{index.id}.webm"'})
        await response.prepare(request)
        while chunk := await asyncio.to_thread(handle.read, STREAM_CHUNK):
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        handle.close()


def register_player_routes(register) -> None:
    register("GET", "/recordings/{rid}", player_page)
    register("GET", "/api/recordings/{rid}/index", index_json)
    register("GET", "/api/recordings/{rid}/files/{name}", file_bytes)
    register("GET", "/api/recordings/{rid}/export.webm", export_download)
    register("GET", "/api/recordings/{rid}/export", export_job)
    register("POST", "/api/recordings/{rid}/export", export_job)
    register("GET", "/frame", replay_frame)      # recorded co-browse replays in it (no script runs there)
