"""The API tokens page: every rep and admin makes and revokes their own personal API tokens here (an admin
also revokes any token of the site from the admin page). A new token is shown once, on the page that
the form redirects to (post/redirect/get: reloading that page makes no second token, and the token is in
no address: the redirect carries a random key good once, for this user); only its hash is kept
(host/api_tokens.py)."""
from __future__ import annotations

import secrets

from aiohttp import web

from .api_tokens import MAX_DAYS, ROLE_SCOPES, SCOPES, TokenRequestError, create_token, parse_token_request, \
    revoke_token, tokens_of
from .appkeys import ADMIN_NOTICES, CONFIG, DB
from .web_common import form_with_csrf, render, require_user, site_of

routes = web.RouteTableDef()


async def _page(request, site, user, status: int = 200, **context) -> web.Response:
    tokens = await request.app[DB].read(lambda db: tokens_of(db, site.id, user["id"]))
    scopes = {name: text for name, text in SCOPES.items() if name in ROLE_SCOPES.get(user["role"], ())}
    return await render(request, "tokens.html", status=status, site=site, user=user, page="tokens", tokens=tokens,
                        scopes=scopes, max_days=MAX_DAYS, now=request.app[CONFIG].clock(), **context)


SHOW_FOR = 300.0   # seconds the page a new token redirects to may take to be fetched


@routes.get("/s/{site}/tokens")
async def tokens_page(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    made = request.app[ADMIN_NOTICES].pop(f"token:{request.query.get('made', '')}", None)
    if made is not None and made[0] == user["id"] and request.app[CONFIG].clock() - made[2] <= SHOW_FOR:
        token_id, token, name = made[1]
        response = await _page(request, site, user, new_token=token, new_token_id=token_id,
                               message=f"Token {name!r} made. Copy it now: it is shown only this once.")
        response.headers["Cache-Control"] = "no-store"
        return response
    return await _page(request, site, user)


@routes.post("/s/{site}/tokens")
async def make_token(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    form = await form_with_csrf(request)
    now = request.app[CONFIG].clock()
    try:
        name, scopes, expires_at = parse_token_request(form, user["role"], now)
        token_id, token = await request.app[DB].write(
            lambda db: create_token(db, site.id, user, name, scopes, expires_at, now))
    except TokenRequestError as exc:
        return await _page(request, site, user, 422, error=str(exc), form=form)
    notices = request.app[ADMIN_NOTICES]
    for key in [k for k, (_, _, at) in notices.items() if k.startswith("token:") and now - at > SHOW_FOR]:
        del notices[key]
    key = secrets.token_urlsafe(16)
    notices[f"token:{key}"] = (user["id"], (token_id, token, name), now)
    raise web.HTTPSeeOther(f"{site.prefix}/tokens?made={key}")


@routes.post("/s/{site}/tokens/{token_id}/revoke")
async def revoke(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    form = await form_with_csrf(request)
    raw = request.match_info["token_id"]
    now = request.app[CONFIG].clock()
    done = raw.isdigit() and await request.app[DB].write(lambda db: revoke_token(db, site.id, int(raw), user, now))
    if not done:
        return await _page(request, site, user, 404, error="There is no such token of yours to revoke.")
    back = "admin" if form.get("back") == "admin" and user["role"] == "admin" else "tokens"
    raise web.HTTPSeeOther(f"{site.prefix}/{back}")
