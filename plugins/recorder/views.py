"""The recorder's HTTP routes: the Recordings page and its JSON list, deleting one, and the admin's
per-rep "record all sessions automatically" switches."""
from __future__ import annotations

from aiohttp import web

from host.api import audit, database, form_with_csrf, json_error, now, render, require_user, site_of

from .access import recording_for, visible_recordings
from .retention import delete_recording


SWITCH = {True: True, False: False, "true": True, "false": False, "on": True, "off": False, "1": True, "0": False}


def _public(row: dict, prefix: str) -> dict:
    return {"id": row["id"], "session_id": row["session_id"], "started_at": row["started_at"],
            "ended_at": row["ended_at"], "status": row["status"], "reason": row["reason"],
            "automatic": bool(row["automatic"]), "duration_ms": row["duration_ms"] or 0, "bytes": row["bytes"] or 0,
            "rep_user_id": row["rep_user_id"], "player": f"{prefix}/p/recorder/recordings/{row['id']}"}


async def recordings_page(request):
    site = site_of(request)
    user = await require_user(request, site)
    rows = await database(request.app).read(lambda db: visible_recordings(db, user))
    return await render(request, "recorder/recordings.html", site=site, user=user, page="recorder_recordings",
                        recordings=[_public(r, site.prefix) for r in rows], admin=user.get("role") == "admin")


async def recordings_json(request):
    site = site_of(request)
    user = await require_user(request, site)
    rows = await database(request.app).read(lambda db: visible_recordings(db, user))
    return web.json_response({"recordings": [_public(r, site.prefix) for r in rows]})


async def delete(request):
    site, user, row = await recording_for(request, request.match_info["rid"])
    await form_with_csrf(request)
    if row["status"] == "recording":
        raise json_error(409, "This recording is still going on: stop it first.")
    await delete_recording(request.app, row, f"user:{user['id']}", "deleted by " + user["display_name"])
    return web.json_response({"deleted": row["id"]})


async def auto_reps(request):
    """GET: the site's reps and whether each one's sessions are all recorded; POST {user_id, on}: set it."""
    site = site_of(request)
    admin = await require_user(request, site, role="admin")
    db = database(request.app)
    if request.method == "POST":
        body = await form_with_csrf(request)
        user_id = body.get("user_id")
        if isinstance(user_id, str) and user_id.isdigit() and len(user_id) < 12:
            user_id = int(user_id)
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            raise json_error(422, "user_id must be a rep's account id (a number).")
        on = SWITCH.get(body.get("on") if isinstance(body.get("on"), (bool, str)) else None)
        if on is None:
            raise json_error(422, "on must be true (record every session of this rep) or false.")
        exists = await db.read(lambda d: d.execute("select 1 from users where id = ? and site_id = ?",
                                                   [user_id, site.id]).fetchone())
        if not exists:
            raise json_error(404, "No such rep in this site.")
        at = now(request.app)

        def write(d):
            if on:
                d["recorder_auto_reps"].upsert({"site_id": site.id, "user_id": user_id, "set_by": admin["id"],
                                                "set_at": at}, pk=("site_id", "user_id"))
            else:
                d.execute("delete from recorder_auto_reps where site_id = ? and user_id = ?", [site.id, user_id])
        await db.write(write)
        await audit(request.app, site.id, f"user:{admin['id']}", "recording.automatic_" + ("on" if on else "off"),
                    f"user:{user_id}", {})
    rows = await db.read(lambda d: list(d.query(
        "select u.id, u.username, u.display_name, u.role, a.user_id is not null as automatic from users u "
        "left join recorder_auto_reps a on a.site_id = u.site_id and a.user_id = u.id where u.site_id = ? "
        "order by u.display_name", [site.id])))
    return web.json_response({"reps": [{**r, "automatic": bool(r["automatic"])} for r in rows]})


def register_views(register) -> None:
    register("GET", "/recordings", recordings_page)
    register("GET", "/api/recordings", recordings_json)
    register("POST", "/api/recordings/{rid}/delete", delete)
    register("GET", "/api/automatic", auto_reps)
    register("POST", "/api/automatic", auto_reps)
