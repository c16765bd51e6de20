"""The invite plugin's HTTP routes (mounted under /s/{site}/p/invite): the rep's invite API, and the
link another rep follows to log in and join as assisting rep."""
from __future__ import annotations

from aiohttp import web

from host import api
from host.api import form_with_csrf, json_error, render, require_user, site_of, site_url

from . import service
from .channels import InviteError, group_number


async def list_channels(request):
    site, _user, _row, _live = await api.rep_in_session(request, request.match_info["sid"])
    channels = await service.channels_for(request.app, site)
    return web.json_response({"channels": [c.public() for c in channels.values()]})


async def list_invites(request):
    _site, _user, _row, live = await api.rep_in_session(request, request.match_info["sid"])
    rows = await api.database(request.app).read(lambda db: list(db["invites"].rows_where(
        "session_id = ?", [live.id], order_by="id")))
    return web.json_response({"invites": [service.public(r) for r in rows]})


async def _result(row: dict) -> web.Response:
    if row["status"] == "failed":
        raise json_error(502, f"Not delivered: {row['error']}. The invite is kept; you can retry it.",
                         "not_delivered", invite=service.public(row))
    return web.json_response({"invite": service.public(row)}, status=201)


async def send_invite(request):
    site, _user, rep, live = await api.rep_in_session(request, request.match_info["sid"])
    form = await form_with_csrf(request)
    channels = await service.channels_for(request.app, site)
    channel = channels.get(str(form.get("channel", "")))
    if channel is None:
        raise json_error(400, f"unknown invite channel; choose one of {', '.join(channels)}")
    try:
        to, name = service.check_recipient(channel, form.get("to"), form.get("name"))
    except InviteError as exc:
        raise json_error(400, str(exc)) from None
    invite = await service.create(request.app, site, live, rep, channel, to, name)
    row = await service.deliver(request.app, site, live, invite, channel, site_url(request, site))
    return await _result(row)


async def retry_invite(request):
    site, _user, _rep, live = await api.rep_in_session(request, request.match_info["sid"])
    await form_with_csrf(request)
    try:
        iid = int(request.match_info["iid"])
    except ValueError:
        raise json_error(404, "No such invite in this session.") from None
    invite = await api.database(request.app).read(lambda db: next(db["invites"].rows_where(
        "id = ? and session_id = ?", [iid, live.id]), None))
    if invite is None:
        raise json_error(404, "No such invite in this session.")
    if invite["status"] != "failed":
        raise json_error(409, "Only an invite that was not delivered can be retried.")
    channel = (await service.channels_for(request.app, site)).get(invite["channel"])
    if channel is None:
        raise json_error(409, f"The {invite['channel']} channel is not available any more.")
    row = await service.deliver(request.app, site, live, invite, channel, site_url(request, site))
    return await _result(row)


# -- the link another rep follows ------------------------------------------------------------------
async def _rep_invite(request, site):
    th = api.token_hash(request.match_info["token"][:100])
    invite = await api.database(request.app).read(lambda db: next(db["invites"].rows_where(
        "token_hash = ? and kind = 'rep'", [th]), None))
    now = api.now(request.app)
    if invite is None or invite["site_id"] != site.id:
        return None, "This invitation link is not valid (it may have been replaced by a newer one)."
    if invite["used_at"] is not None:
        return None, "This invitation link has been used already."
    if invite["expires_at"] is not None and invite["expires_at"] < now:
        return None, "This invitation link has expired. Ask the rep for a new one."
    live = await api.sessions(request.app).get(invite["session_id"])
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
    now = api.now(request.app)

    def write(db):
        fresh = db["invites"].get(invite["id"])
        if fresh["used_at"] is not None:
            return "used"
        db["invites"].update(invite["id"], {"used_at": now, "used_by": user["id"]})
        if api.rep_participant(db, live.id, user["id"]):
            return "already"
        row = api.add_participant(db, live, "assisting_rep", user["display_name"], now, user_id=user["id"])
        api.add_event(db, live.id, now, "rep_added", row["id"], {"name": user["display_name"],
                                                                 "by_invite": invite["id"]})
        api.audit_row(db, site.id, f"user:{user['id']}", "rep_joined_by_invite", f"session:{live.id}",
                      {"invite": invite["id"], "invited_by": invite["by_user"]}, now)
        return row
    row = await api.database(request.app).write(write)
    if row == "used":
        return await render(request, "invite/rep_join.html", status=410, site=site, user=user,
                            page="invite_rep_join", error="This invitation link has been used already.",
                            invite=None, number="")
    if isinstance(row, dict):
        await api.sessions(request.app).added(live, row)
    raise web.HTTPFound(f"{site.prefix}/console")


def register_routes(register):
    register("GET", "/sessions/{sid}/channels", list_channels)
    register("GET", "/sessions/{sid}/invites", list_invites)
    register("POST", "/sessions/{sid}/invites", send_invite)
    register("POST", "/sessions/{sid}/invites/{iid}/retry", retry_invite)
    register("GET", "/rep/{token}", rep_link_page)
    register("POST", "/rep/{token}", rep_link_join)
