"""The invite plugin's HTTP routes (mounted under /s/{site}/p/invite): the rep's invite API, and the
link another rep follows to log in and join as assisting rep."""
from __future__ import annotations

from aiohttp import web

from host import session_store as store
from host.appkeys import CONFIG, DB, HUB
from host.audit import audit_row
from host.web_common import form_with_csrf, render, require_user, site_of, site_url

from . import service
from .channels import InviteError, group_number


async def _rep_in_session(request):
    """The logged-in rep and their participant row in the session of the URL (403 otherwise)."""
    site = site_of(request)
    user = await require_user(request, site)
    sid = request.match_info["sid"]
    row = await request.app[DB].read(lambda db: store.rep_participant(db, sid, user["id"]))
    if row is None or row["site_id"] != site.id:
        raise web.HTTPForbidden(text="You are not a rep in this session.")
    live = await request.app[HUB].get(sid)
    if live is None:
        raise web.HTTPGone(text="This session has ended.")
    return site, user, row, live


def _error(text: str, status: int = 400, **extra) -> web.Response:
    return web.json_response({"error": text, **extra}, status=status)


async def list_channels(request):
    site, _user, _row, _live = await _rep_in_session(request)
    channels = await service.channels_for(request.app, site)
    return web.json_response({"channels": [c.public() for c in channels.values()]})


async def list_invites(request):
    _site, _user, _row, live = await _rep_in_session(request)
    rows = await request.app[DB].read(lambda db: list(db["invites"].rows_where(
        "session_id = ?", [live.id], order_by="id")))
    return web.json_response({"invites": [service.public(r) for r in rows]})


async def _result(row: dict) -> web.Response:
    body = {"invite": service.public(row)}
    if row["status"] == "failed":
        return web.json_response({**body, "error": f"Not delivered: {row['error']}. The invite is kept; "
                                                   "you can retry it."}, status=502)
    return web.json_response(body, status=201)


async def send_invite(request):
    site, _user, rep, live = await _rep_in_session(request)
    form = await form_with_csrf(request)
    channels = await service.channels_for(request.app, site)
    channel = channels.get(str(form.get("channel", "")))
    if channel is None:
        return _error(f"unknown invite channel; choose one of {', '.join(channels)}")
    try:
        to, name = service.check_recipient(channel, form.get("to"), form.get("name"))
    except InviteError as exc:
        return _error(str(exc))
    invite = await service.create(request.app, site, live, rep, channel, to, name)
    row = await service.deliver(request.app, site, live, invite, channel, site_url(request, site))
    return await _result(row)


async def retry_invite(request):
    site, _user, _rep, live = await _rep_in_session(request)
    await form_with_csrf(request)
    try:
        iid = int(request.match_info["iid"])
    except ValueError:
        raise web.HTTPNotFound(text="No such invite.")
    invite = await request.app[DB].read(lambda db: next(db["invites"].rows_where(
        "id = ? and session_id = ?", [iid, live.id]), None))
    if invite is None:
        return _error("No such invite in this session.", 404)
    if invite["status"] != "failed":
        return _error("Only an invite that was not delivered can be retried.", 409)
    channel = (await service.channels_for(request.app, site)).get(invite["channel"])
    if channel is None:
        return _error(f"The {invite['channel']} channel is not available any more.", 409)
    row = await service.deliver(request.app, site, live, invite, channel, site_url(request, site))
    return await _result(row)


# -- the link another rep follows ------------------------------------------------------------------
async def _rep_invite(request, site):
    th = store.token_hash(request.match_info["token"][:100])
    invite = await request.app[DB].read(lambda db: next(db["invites"].rows_where(
        "token_hash = ? and kind = 'rep'", [th]), None))
    now = request.app[CONFIG].clock()
    if invite is None or invite["site_id"] != site.id:
        return None, "This invitation link is not valid (it may have been replaced by a newer one)."
    if invite["used_at"] is not None:
        return None, "This invitation link has been used already."
    if invite["expires_at"] is not None and invite["expires_at"] < now:
        return None, "This invitation link has expired. Ask the rep for a new one."
    live = await request.app[HUB].get(invite["session_id"])
    if live is None:
        return None, "This session has ended."
    return (invite, live), None


async def rep_link_page(request):
    site = site_of(request)
    user = await require_user(request, site)  # not logged in: the login page, then back here
    found, error = await _rep_invite(request, site)
    status = 200 if found else 410
    return await render(request, "invite/rep_join.html", status=status, site=site, user=user,
                        page="invite_rep_join", error=error, invite=found[0] if found else None,
                        number=group_number(found[1].number) if found else "")


async def rep_link_join(request):
    site = site_of(request)
    user = await require_user(request, site)
    await form_with_csrf(request)
    found, error = await _rep_invite(request, site)
    if not found:
        return await render(request, "invite/rep_join.html", status=410, site=site, user=user,
                            page="invite_rep_join", error=error, invite=None, number="")
    invite, live = found
    now = request.app[CONFIG].clock()

    def write(db):
        fresh = db["invites"].get(invite["id"])
        if fresh["used_at"] is not None:
            return "used"
        db["invites"].update(invite["id"], {"used_at": now, "used_by": user["id"]})
        if store.rep_participant(db, live.id, user["id"]):
            return "already"
        row = store.add_participant(db, {"id": live.id, "site_id": site.id}, "assisting_rep",
                                    user["display_name"], now, user_id=user["id"])
        store.add_event(db, live.id, now, "rep_added", row["id"], {"name": user["display_name"],
                                                                    "by_invite": invite["id"]})
        audit_row(db, site.id, f"user:{user['id']}", "rep_joined_by_invite", f"session:{live.id}",
                  {"invite": invite["id"], "invited_by": invite["by_user"]}, now)
        return row
    row = await request.app[DB].write(write)
    if row == "used":
        return await render(request, "invite/rep_join.html", status=410, site=site, user=user,
                            page="invite_rep_join", error="This invitation link has been used already.",
                            invite=None, number="")
    if isinstance(row, dict):
        await request.app[HUB].added(live, row)
    raise web.HTTPFound(f"{site.prefix}/console")


def register_routes(register):
    register("GET", "/sessions/{sid}/channels", list_channels)
    register("GET", "/sessions/{sid}/invites", list_invites)
    register("POST", "/sessions/{sid}/invites", send_invite)
    register("POST", "/sessions/{sid}/invites/{iid}/retry", retry_invite)
    register("GET", "/rep/{token}", rep_link_page)
    register("POST", "/rep/{token}", rep_link_join)
