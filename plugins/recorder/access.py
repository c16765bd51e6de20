"""Who may list, play or delete a recording: a rep the recordings of sessions they were a rep in, an admin
every recording of their site; anybody else (customers, other sites, guessed ids) gets 404."""
from __future__ import annotations

from host.api import current_user, database, json_error, site_of

from .reader import RECORDING_ID


def may_see(user: dict, row: dict, db) -> bool:
    """On a database thread: whether ``user`` (of the recording's site) may see the recording ``row``."""
    if user["site_id"] != row["site_id"]:
        return False
    if user.get("role") == "admin":
        return True
    if row.get("rep_user_id") == user["id"]:
        return True
    return bool(db.execute("select 1 from participants where session_id = ? and user_id = ? limit 1",
                           [row["session_id"], user["id"]]).fetchone())


async def recording_for(request, recording_id: str) -> tuple:
    """``(site, user, row)`` of a recording the logged-in person may see, else a JSON 404 (the same for a
    recording that does not exist, is of another site or is somebody else's)."""
    site = site_of(request)
    user = await current_user(request, site)
    if user is None or not isinstance(recording_id, str) or not RECORDING_ID.match(recording_id):
        raise json_error(404, "No such recording.")

    def find(db):
        row = next(db.query("select * from recordings where id = ? and site_id = ?", [recording_id, site.id]), None)
        return row if row is not None and may_see(user, row, db) else None
    row = await database(request.app).read(find)
    if row is None:
        raise json_error(404, "No such recording.")
    return site, user, row


def visible_recordings(db, user: dict, limit: int = 500) -> list[dict]:
    """The recordings ``user`` may see, newest first (on a database thread)."""
    if user.get("role") == "admin":
        return list(db.query("select * from recordings where site_id = ? order by started_at desc limit ?",
                             [user["site_id"], limit]))
    return list(db.query(
        "select * from recordings r where site_id = ? and (rep_user_id = ? or exists (select 1 from participants p "
        "where p.session_id = r.session_id and p.user_id = ?)) order by started_at desc limit ?",
        [user["site_id"], user["id"], user["id"], limit]))
