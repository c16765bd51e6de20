"""What a customer sees: the site's front page, the join form, the customer page of a session."""
from __future__ import annotations

import re

from aiohttp import web

from . import session_store as store
from .appkeys import CONFIG, DB, HUB, JOIN_LIMIT, PLUGINS, SITES
from .web_common import client_address, form_with_csrf, render, site_of, site_url

routes = web.RouteTableDef()


def participant_cookie(session_id: str) -> str:
    return f"shp_{session_id}"


@routes.get("/")
async def host_index(request: web.Request):
    sites = sorted(request.app[SITES].by_slug.values(), key=lambda s: s.name)
    return await render(request, "host_index.html", sites=sites)


@routes.get("/s/{site}")
@routes.get("/s/{site}/")
@routes.get("/s/{site}/join")
async def join_page(request: web.Request):
    """A site's home is its join form (a number in ?n= is filled in)."""
    site = site_of(request)
    return await render(request, "join.html", site=site, page="join", number=request.query.get("n", ""))


@routes.get("/s/{site}/downloads")
async def downloads(request: web.Request):
    """How a customer (or a rep) installs the Support Manager, per platform."""
    site = site_of(request)
    return await render(request, "downloads.html", site=site, page="downloads",
                        site_address=site_url(request, site))


@routes.post("/s/{site}/join")
async def join(request: web.Request):
    site = site_of(request)
    form = await form_with_csrf(request)
    address = client_address(request)
    limiter = request.app[JOIN_LIMIT]
    number = re.sub(r"[\s-]", "", str(form.get("number", "")))[:40]
    name = " ".join(str(form.get("name", "")).split())[:60]

    async def fail(text: str, status: int = 400):
        return await render(request, "join.html", status=status, site=site, page="join", error=text,
                            number=number, name=name)

    # Counted before the look-up (reserve, then confirm or release), so a burst of simultaneous tries
    # cannot all be checked before the first of them counts.
    attempt = limiter.reserve(address)
    if attempt is None:
        return await fail(f"Too many tries from your address. Wait {limiter.retry_after(address)} seconds "
                          "and try again.", 429)
    if not name:
        attempt.release()
        return await fail("Please enter your name.")
    if not number.isdigit():
        attempt.confirm()
        return await fail("A session number is made of digits only.")
    cfg = request.app[CONFIG]
    now = cfg.clock()
    hub = request.app[HUB]
    # The session must be live before its new participant is written, or (after a host restart) it
    # would be loaded with the newcomer already in it and the join would go unannounced.
    code = await request.app[DB].read(lambda db: next(db["join_codes"].rows_where("code = ?", [number]), None))
    if code is not None:
        await hub.get(code["session_id"])
    try:
        session, participant, token = await request.app[DB].write(
            lambda db: store.join_by_code(db, site.id, number, name, now, address))
    except store.JoinError as exc:
        attempt.confirm()
        return await fail(str(exc), 404)
    attempt.release()
    live = await hub.get(session["id"])
    if live is not None and participant["id"] not in live.participants:
        await hub.added(live, participant)
    response = web.HTTPFound(f"{site.prefix}/session/{session['id']}")
    response.set_cookie(participant_cookie(session["id"]), token, path=site.prefix, httponly=True,
                        samesite="Lax", secure=cfg.secure_cookies)
    raise response


@routes.get("/s/{site}/session/{sid}")
async def customer_page(request: web.Request):
    site = site_of(request)
    sid = request.match_info["sid"]
    token = request.cookies.get(participant_cookie(sid), "")
    participant = token and await request.app[DB].read(lambda db: store.participant_by_token(db, sid, token))
    if not participant or participant["site_id"] != site.id:
        return await render(request, "join.html", status=403, site=site, page="join",
                            error="You are not in this session (or it has ended). Enter your session number.")
    options = [o.as_json() for o in request.app[PLUGINS].options_for(site.disabled, "customer",
                                                                      participant["role"])]
    return await render(request, "customer.html", site=site, page="customer", session_id=sid,
                        participant=participant, options=options)
