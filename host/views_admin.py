"""The site admin's pages: accounts, which features are on, plugin settings, the audit log."""
from __future__ import annotations

import asyncio
import json
import secrets
from urllib.parse import urlsplit

from aiohttp import web

from .api_tokens import tokens_of
from .appkeys import ADMIN_NOTICES, AUDIT_WATCH, CONFIG, DB, HUB, PLUGINS, SITES
from .audit import audit_row
from . import login_lockout
from .audit_names import describe_details, name_references
from .login_watch import IDLE_MINUTES, SETTINGS_GROUP, idle_seconds, revoke_logins
from .password_policy import MIN_LENGTH, problem as password_problem
from .passwords import generate_password, hash_password
from .sites import CONSOLE_CHOICES, MODE_CHOICES, ROLE_CHOICES, create_user
from .twofactor import accounts_overview, required as twofactor_required
from .web_common import form_with_csrf, render, require_user, site_of

routes = web.RouteTableDef()
NOTICE_TTL = 300.0   # seconds a saved form's message waits for the page it redirects to


def _saved(request, site, user, message: str) -> web.HTTPSeeOther:
    """After a form was saved: redirect to the admin page (post/redirect/get, so reloading it submits
    nothing twice), which shows ``message`` once. The message stays on the server (it may hold a
    generated password): the address carries only a random key, good for this admin, once."""
    notices = request.app[ADMIN_NOTICES]
    now = request.app[CONFIG].clock()
    for key in [k for k, (_, _, at) in notices.items() if now - at > NOTICE_TTL]:
        del notices[key]
    key = secrets.token_urlsafe(16)
    notices[key] = (user["id"], message, now)
    return web.HTTPSeeOther(f"{site.prefix}/admin?saved={key}")


async def _admin_page(request, site, user, status=200, **context):
    registry = request.app[PLUGINS]
    now = request.app[CONFIG].clock()

    def load(db):
        users = list(db.query("select id, username, display_name, role, console, mode, max_sessions, active "
                              "from users where site_id = ? order by username", [site.id]))
        log = list(db.query("select * from audit_log where site_id = ? order by id desc limit 50", [site.id]))
        names = name_references(db, site.id, [r["actor"] for r in log] + [r["target"] for r in log])
        for row in log:
            row.update(actor_name=names.get(row["actor"], row["actor"]),
                       target_name=names.get(row["target"], row["target"]),
                       details_text=describe_details(row["details"]))
        return (users, log, tokens_of(db, site.id), request.app[AUDIT_WATCH].check(db, site.id, now),
                accounts_overview(db, site.id), login_lockout.locks_of(db, site.id, now))
    users, log, api_tokens, chain, second_factors, locks = await request.app[DB].read(load)
    plugins = [{"name": n, "version": registry.info[n].version, "enabled": n not in site.disabled,
                "settings": [{"spec": s, "value": site.setting(n, s)} for s in registry.settings.get(n, [])]}
               for n in sorted(registry.optional())]
    return await render(request, "admin.html", status=status, site=site, user=user, page="admin", users=users,
                        plugins=plugins, audit=log, chain=chain, api_tokens=api_tokens, now=now,
                        consoles=CONSOLE_CHOICES, modes=MODE_CHOICES, roles=ROLE_CHOICES,
                        second_factors=second_factors, twofactor_required=twofactor_required(site), locks=locks,
                        idle_minutes=int(idle_seconds(site) // 60), policy=_policy_facts(request.app[CONFIG]),
                        **context)


def _policy_facts(cfg) -> dict:
    """The account rules in force, as the admin page states them."""
    return {"min_length": MIN_LENGTH, "failures": cfg.login_failures_before_lockout,
            "lock_minutes": round(cfg.lockout_seconds / 60), "login_hours": round(cfg.auth_session_ttl / 3600)}


@routes.get("/s/{site}/admin")
async def admin(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site, "admin")
    notice = request.app[ADMIN_NOTICES].pop(request.query.get("saved", ""), None)
    if notice is not None and notice[0] == user["id"]:
        return await _admin_page(request, site, user, message=notice[1])
    return await _admin_page(request, site, user)


@routes.post("/s/{site}/admin/users")
async def create_rep(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site, "admin")
    form = await form_with_csrf(request)
    password = str(form.get("password", "")).strip()
    username = str(form.get("username", ""))
    generated = not password
    if generated:
        password = generate_password()
    hashed, refused = await asyncio.get_running_loop().run_in_executor(None, _checked_hash, password, username,
                                                                       site, generated)
    if refused:
        return await _admin_page(request, site, user, 400, error=f"{refused} Nothing was saved.")
    now = request.app[CONFIG].clock()

    def write(db):
        uid = create_user(db, site.id, username, str(form.get("display_name", "")), password,
                          role=str(form.get("role", "rep")), console=str(form.get("console", "dashboard")),
                          mode=str(form.get("mode", "single")), max_sessions=_int(form.get("max_sessions"), 1),
                          password_hash=hashed)
        audit_row(db, site.id, f"user:{user['id']}", "user_created", f"user:{uid}", {"username": username}, now)
        return uid
    try:
        await request.app[DB].write(write)
    except ValueError as exc:
        return await _admin_page(request, site, user, 400, error=str(exc))
    message = f"Account {username.strip().lower()} created."
    if generated:
        message += f" Its password, shown this once: {password}"
    raise _saved(request, site, user, message)


def _checked_hash(password: str, username: str, site, generated: bool = False) -> tuple[str, str | None]:
    """(the password's hash, None), or ("", why the password policy refuses it). Run off the event loop:
    the first look at the list of common passwords and argon2 both take time."""
    if not generated:
        why = password_problem(password, username, (site.slug, site.name))
        if why:
            return "", why
    return hash_password(password), None


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@routes.post("/s/{site}/admin/users/{uid}")
async def update_rep(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site, "admin")
    form = await form_with_csrf(request)
    uid = _int(request.match_info["uid"], 0)
    console, mode = str(form.get("console", "")), str(form.get("mode", ""))
    role = str(form.get("role", ""))
    max_sessions = _int(form.get("max_sessions"), 0)
    error = None
    if console not in CONSOLE_CHOICES:
        error = f"console must be one of {', '.join(CONSOLE_CHOICES)}"
    elif mode not in MODE_CHOICES:
        error = f"mode must be one of {', '.join(MODE_CHOICES)}"
    elif role not in ROLE_CHOICES:
        error = f"role must be one of {', '.join(ROLE_CHOICES)}"
    elif not 1 <= max_sessions <= 20:
        error = "the maximum number of sessions is between 1 and 20"
    if error:
        return await _admin_page(request, site, user, 400, error=error)
    changes = {"console": console, "mode": mode, "role": role,
               "max_sessions": 1 if mode == "single" else max_sessions,
               "active": 1 if form.get("active") else 0}
    if uid == user["id"] and (role != "admin" or not changes["active"]):
        return await _admin_page(request, site, user, 400, error="You cannot remove your own admin rights.")
    target = await request.app[DB].read(lambda db: next(db.query(
        "select username from users where id = ? and site_id = ?", [uid, site.id]), None))
    if target is None:
        return await _admin_page(request, site, user, 404, error="No such account on this site.")
    new_password = str(form.get("new_password", "")).strip()
    if new_password:
        hashed, refused = await asyncio.get_running_loop().run_in_executor(None, _checked_hash, new_password,
                                                                           target["username"], site)
        if refused:
            return await _admin_page(request, site, user, 400, error=f"{refused} Nothing was saved.")
        changes["password_hash"] = hashed
    now = request.app[CONFIG].clock()

    def write(db):
        row = db["users"].get(uid) if db["users"].count_where("id = ?", [uid]) else None
        if row is None or row["site_id"] != site.id:
            return False
        db["users"].update(uid, changes)
        details = {k: v for k, v in changes.items() if k != "password_hash"}
        if "password_hash" in changes:   # every login of the account ends; the watch closes its sockets
            details["password_changed"] = True
            details["logins_ended"] = revoke_logins(db, uid)
        elif not changes["active"]:
            db.execute("delete from auth_sessions where user_id = ?", [uid])
        audit_row(db, site.id, f"user:{user['id']}", "user_updated", f"user:{uid}", details, now)
        return True
    if not await request.app[DB].write(write):
        return await _admin_page(request, site, user, 404, error="No such account on this site.")
    if "password_hash" in changes or not changes["active"]:  # its open consoles and session sockets go too
        await request.app[HUB].disconnect_user(
            uid, "password changed: log in again" if "password_hash" in changes else "account switched off")
    raise _saved(request, site, user, "Account saved.")


@routes.post("/s/{site}/admin/unlock")
async def unlock_login(request: web.Request):
    """End a lock of a username (at one address, or at all of them when no address is given)."""
    site = site_of(request)
    user = await require_user(request, site, "admin")
    form = await form_with_csrf(request)
    username = str(form.get("username", "")).strip().lower()[:60]
    address = str(form.get("address", "")).strip()[:100] or None
    now = request.app[CONFIG].clock()

    def write(db):
        ended = login_lockout.unlock(db, site.id, username, address)
        if ended:
            audit_row(db, site.id, f"user:{user['id']}", "login_unlocked", "",
                      {"username": username, "address": address or "every address"}, now)
        return ended
    if not username or not await request.app[DB].write(write):
        return await _admin_page(request, site, user, 404, error="There is no lock of that username to end.")
    raise _saved(request, site, user, f"{username} is unlocked" + (f" at {address}." if address else "."))


@routes.post("/s/{site}/admin/site")
async def set_site(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site, "admin")
    form = await form_with_csrf(request)
    name = " ".join(str(form.get("name", "")).split())
    public_url = str(form.get("public_url", "")).strip().rstrip("/")
    error = None
    if not 1 <= len(name) <= 80:
        error = "The site name needs 1 to 80 characters."
    elif public_url:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment \
                or any(c.isspace() for c in public_url) or len(public_url) > 300:
            error = "The public address must be an http:// or https:// address without spaces, query or fragment."
    if error is None:
        try:
            idle_minutes = IDLE_MINUTES.parse(str(form.get(IDLE_MINUTES.name, IDLE_MINUTES.default)))
        except ValueError as exc:
            error = f"{exc}. Nothing was saved."
    if error:
        return await _admin_page(request, site, user, 400, error=error)
    now = request.app[CONFIG].clock()
    old_idle = int(idle_seconds(site) // 60)

    def write(db):
        old = {**db["sites"].get(site.id), "idle_minutes": old_idle}
        new = {"name": name, "public_url": public_url, "idle_minutes": idle_minutes}
        db["sites"].update(site.id, {"name": name, "public_url": public_url})
        db["site_settings"].upsert({"site_id": site.id, "plugin": SETTINGS_GROUP, "key": IDLE_MINUTES.name,
                                    "value": json.dumps(idle_minutes)}, pk=("site_id", "plugin", "key"))
        audit_row(db, site.id, f"user:{user['id']}", "site_changed", f"site:{site.slug}",
                  {k: {"old": old[k] if old[k] is not None else "", "new": v} for k, v in new.items()
                   if (old[k] if old[k] is not None else "") != v}, now)
    await request.app[DB].write(write)
    await request.app[DB].read(request.app[SITES].load)
    raise _saved(request, site_of(request), user, "Site saved.")


@routes.post("/s/{site}/admin/plugins")
async def set_plugins(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site, "admin")
    form = await form_with_csrf(request)
    registry = request.app[PLUGINS]
    optional = registry.optional()
    enabled = {name for name in optional if form.get(f"plugin_{name}")}
    now = request.app[CONFIG].clock()

    def write(db):
        was_off = {r["plugin"] for r in db["site_plugins"].rows_where("site_id = ? and enabled = 0", [site.id])}
        for name in optional:
            db["site_plugins"].upsert({"site_id": site.id, "plugin": name, "enabled": int(name in enabled)},
                                      pk=("site_id", "plugin"))
        disabled = set(optional) - enabled
        audit_row(db, site.id, f"user:{user['id']}", "plugins_changed", "",
                  {"switched_on": sorted(was_off & enabled), "switched_off": sorted(disabled - was_off),
                   "enabled": sorted(enabled), "disabled": sorted(disabled)}, now)
    await request.app[DB].write(write)
    await request.app[DB].read(request.app[SITES].load)
    _tell_live_sessions(request.app, site_of(request), site.disabled)
    raise _saved(request, site_of(request), user, "Features saved.")


def _tell_live_sessions(app, site, was_disabled: frozenset) -> None:
    """Open consoles and customer pages of the site drop switched-off features at once (and hear of new ones)."""
    now_off, was_off = set(site.disabled), set(was_disabled)
    if now_off == was_off:
        return
    message = {"type": "session.features_changed", "disabled": sorted(now_off),
               "switched_off": sorted(now_off - was_off), "switched_on": sorted(was_off - now_off)}
    hub = app[HUB]
    for live in list(hub.sessions.values()):
        if live.site_id == site.id:
            hub.broadcast(live, message)


@routes.post("/s/{site}/admin/settings/{plugin}")
async def set_settings(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site, "admin")
    form = await form_with_csrf(request)
    plugin = request.match_info["plugin"]
    specs = request.app[PLUGINS].settings.get(plugin)
    if not specs:
        return await _admin_page(request, site, user, 404, error=f"The plugin {plugin!r} has no settings.")
    if not request.app[PLUGINS].is_enabled(plugin, site.disabled):
        return await _admin_page(request, site, user, 409, error=(
            f"The {plugin} feature is switched off for this site: switch it on (Features) before changing its "
            "settings. Nothing was saved."))
    values = {}
    try:
        for spec in specs:
            raw = form.get(spec.name)
            if spec.type == "secret" and not raw:
                continue  # left blank: keep the stored secret
            values[spec.name] = spec.parse(raw if raw is None else str(raw))
    except ValueError as exc:
        return await _admin_page(request, site, user, 400, error=str(exc))
    now = request.app[CONFIG].clock()

    def write(db):
        stored = {r["key"]: json.loads(r["value"]) for r in db["site_settings"].rows_where(
            "site_id = ? and plugin = ?", [site.id, plugin])}
        changes = {}
        for spec in specs:
            if spec.name not in values:
                continue
            old, new = stored.get(spec.name, spec.default), values[spec.name]
            if old != new:
                changes[spec.name] = _masked(spec, old, new)
            db["site_settings"].upsert({"site_id": site.id, "plugin": plugin, "key": spec.name,
                                        "value": json.dumps(new)}, pk=("site_id", "plugin", "key"))
        audit_row(db, site.id, f"user:{user['id']}", "settings_changed", f"plugin:{plugin}", changes, now)
    await request.app[DB].write(write)
    await request.app[DB].read(request.app[SITES].load)
    raise _saved(request, site_of(request), user, f"Settings of {plugin} saved.")


SECRET_MASK = "\u2022\u2022\u2022"


def _masked(spec, old, new) -> dict:
    """A setting's change for the audit log: old -> new, a secret's value never ("•••" when set)."""
    if spec.type == "secret":
        return {"old": SECRET_MASK if old else "", "new": f"{SECRET_MASK} (changed)"}
    return {"old": old, "new": new}
