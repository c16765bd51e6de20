"""Helpers every view uses: the site of a request, the logged-in user, CSRF, Origin, rendering."""
from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import re
import secrets
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from .appkeys import CONFIG, CSRF_NEW, CSRF_RAW, DB, JINJA, PLUGINS, SECRET, SITES, USER
from .json_errors import json_error
from .login_watch import LOGIN_WATCH
from .session_store import token_hash
from .sites import Site

CSRF_COOKIE = "sh_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def auth_cookie(site: Site) -> str:
    return f"sh_auth_{site.slug}"


def site_of(request: web.Request) -> Site:
    site = request.app[SITES].get(request.match_info.get("site", ""))
    if site is None:
        raise web.HTTPNotFound(text="No such support site.")
    return site


def site_url(request: web.Request, site: Site) -> str:
    """The address customers are told to open: the site's public URL, else this host's own."""
    if site.public_url:
        return site.public_url.rstrip("/")
    return f"{request.scheme}://{request.host}{site.prefix}"


# -- CSRF: a random cookie and an HMAC of it in every form (double submit, bound to our secret) -----
def csrf_token(request: web.Request) -> str:
    raw = request.get(CSRF_RAW) or request.cookies.get(CSRF_COOKIE)
    if not raw or len(raw) > 100:
        raw = secrets.token_urlsafe(24)
        request[CSRF_NEW] = raw
    request[CSRF_RAW] = raw
    return hmac.new(request.app[SECRET], raw.encode(), hashlib.sha256).hexdigest()


def csrf_ok(request: web.Request, submitted: str | None) -> bool:
    raw = request.cookies.get(CSRF_COOKIE)
    if not raw or not submitted:
        return False
    expected = hmac.new(request.app[SECRET], raw.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, submitted)


CSRF_FAILED = ("This form has expired or did not come from this site (CSRF check failed). Reload the page "
               "and try again.")


async def json_object(request: web.Request, status: int) -> dict:
    """A request's JSON object body, or a JSON error with ``status`` saying what is wrong with it."""
    try:
        data = await request.json()
    except ValueError:
        raise json_error(status, "The body is not valid JSON.") from None
    except RecursionError:
        raise json_error(status, "The body is not valid JSON: it is nested too deeply.") from None
    if not isinstance(data, dict):
        raise json_error(status, "The body must be a JSON object.")
    return data


async def form_with_csrf(request: web.Request) -> dict:
    """Read a POSTed form (or JSON body); 403 unless it carries the right CSRF token. A JSON body's errors
    are JSON errors (``{"error": {"code", "message"}}``), a form's are text.

    What can be checked without the body is checked first: a request without the CSRF cookie (or, for
    JSON, without the right header) is refused before a byte of its body is read."""
    is_json = request.content_type == "application/json"
    cookie = request.cookies.get(CSRF_COOKIE)
    if is_json:
        if not csrf_ok(request, request.headers.get(CSRF_HEADER)):
            raise json_error(403, CSRF_FAILED, "csrf")
        return await json_object(request, 400)
    header = request.headers.get(CSRF_HEADER)
    if not cookie or len(cookie) > 100 or (header is not None and not csrf_ok(request, header)):
        raise web.HTTPForbidden(text=CSRF_FAILED)
    try:
        data = dict(await request.post())
    except (ValueError, BadHttpMessage):   # not UTF-8, or a malformed multipart body
        raise web.HTTPBadRequest(text="The form could not be read (is its text UTF-8?). Reload the page and "
                                      "try again.") from None
    submitted = header or data.get(CSRF_FIELD)
    if not csrf_ok(request, submitted if isinstance(submitted, str) else None):
        raise web.HTTPForbidden(text=CSRF_FAILED)
    return data


# -- Origin ----------------------------------------------------------------------------------------
def origin_allowed(request: web.Request, site: Site) -> bool:
    origin = request.headers.get("Origin")
    if not origin:
        return False
    own = f"{request.scheme}://{request.host}"
    allowed = {own.lower()}
    if site.public_url:
        parts = urlsplit(site.public_url)
        allowed.add(f"{parts.scheme}://{parts.netloc}".lower())
    return origin.lower() in allowed


# -- the logged-in user ----------------------------------------------------------------------------
async def current_user(request: web.Request, site: Site) -> dict | None:
    if USER in request:
        return request[USER]
    token = request.cookies.get(auth_cookie(site))
    user = None
    if token and len(token) < 200:
        now = request.app[CONFIG].clock()
        th = token_hash(token)

        def lookup(db):
            row = next(db.query(
                "select u.*, a.csrf as auth_csrf, a.token_hash as auth_login, "
                "coalesce(a.last_seen_at, a.created_at) as auth_last_seen from auth_sessions a "
                "join users u on u.id = a.user_id "
                "where a.token_hash = ? and a.site_id = ? and a.expires_at > ? and u.active = 1",
                [th, site.id, now]), None)
            return row
        user = await request.app[DB].read(lookup)
        watch = request.app[LOGIN_WATCH]
        if user is not None and watch.is_idle(site, th, user["auth_last_seen"], now):
            user = None   # unused for longer than the site's idle timeout: this login is over
            watch.forget(th)
            await request.app[DB].write(lambda db: db.execute("delete from auth_sessions where token_hash = ?",
                                                              [th]))
        elif user is not None:
            watch.touch(th, now, user["auth_last_seen"])
    request[USER] = user
    return user


_PLUGIN_API = re.compile(r"/p/[a-z][a-z0-9_]*/api/")


def wants_json(request: web.Request, site: Site) -> bool:
    """Whether a request is a call of a JSON API, answered with JSON errors instead of pages or redirects:
    a route under the site's ``/api/`` or under a plugin's ``/p/<plugin>/api/``, or any request that
    accepts JSON but not HTML (``Accept: application/json``)."""
    path = request.path[len(site.prefix):] if request.path.startswith(f"{site.prefix}/") else ""
    if path.startswith("/api/") or _PLUGIN_API.match(path):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept




async def require_user(request: web.Request, site: Site, role: str | None = None) -> dict:
    """The logged-in account of ``site`` (an admin when ``role="admin"``). Without one, a page (GET) is
    redirected to the login and anything else gets 401; a JSON API call (``wants_json``) gets 401 or 403
    with a JSON body ``{"error": {"code": ..., "message": ...}}``."""
    user = await current_user(request, site)
    if user is None:
        if wants_json(request, site):
            raise json_error(401, "Please log in.")
        if request.method == "GET":
            raise web.HTTPFound(f"{site.prefix}/login?next={request.path_qs}")
        raise web.HTTPUnauthorized(text="Please log in.")
    if role == "admin" and user["role"] != "admin":
        if wants_json(request, site):
            raise json_error(403, "Only an admin of this site can do this.")
        raise web.HTTPForbidden(text="Only an admin of this site can do this.")
    return user


async def render(request: web.Request, template: str, status: int = 200, page: str = "", site: Site | None = None,
                 user: dict | None = None, **context) -> web.Response:
    extra_js, extra_css, extra_vars = [], [], {}
    if site is not None:
        results = await request.app[PLUGINS].call(
            "extra_page_context", site.disabled, page=page or template, site=site, user=user, request=request)
        for _plugin, value in results:
            extra_js += list(value.get("js_urls", []))
            extra_css += list(value.get("css_urls", []))
            extra_vars.update(value.get("vars", {}))
    html = request.app[JINJA].get_template(template).render(
        request=request, site=site, user=user, csrf_token=csrf_token(request), extra_js_urls=extra_js,
        extra_css_urls=extra_css, **extra_vars, **context)
    return web.Response(text=html, status=status, content_type="text/html")


def client_address(request: web.Request) -> str:
    """The address a request came from, as the per-address limits count it. Behind a trusted reverse
    proxy that is the nearest hop in X-Forwarded-For that is not itself a trusted proxy (the hops to its
    left were written by the client and may be forged); anywhere else the header is ignored."""
    peer = request.remote or "unknown"
    trusted = trusted_networks(request.app[CONFIG].trusted_proxies)
    if not trusted or not _within(_ip(peer), trusted):
        return peer
    hops = [h.strip() for part in request.headers.getall("X-Forwarded-For", []) for h in part.split(",")]
    for hop in reversed([h for h in hops if h]):
        address = _ip(hop)
        if address is None:
            return peer          # a malformed hop: nothing further left can be believed
        if not _within(address, trusted):
            return str(address)
        peer = str(address)
    return peer


@functools.lru_cache(maxsize=16)
def trusted_networks(spec: tuple) -> tuple:
    return tuple(ipaddress.ip_network(s, strict=False) for s in spec)


def _ip(text: str):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _within(ip, networks: tuple) -> bool:
    return ip is not None and any(ip.version == n.version and ip in n for n in networks)
