"""The admin's part of two-factor sign-in: the site's requirement, and resetting an account's second
factors (a lost phone or key). Both audited."""
from __future__ import annotations

import json

from aiohttp import web

from .appkeys import CONFIG, DB, HUB, SITES
from .audit import audit_row
from .twofactor import CORE, REQUIRED, factors_of, has_factor, remove_all_factors, required
from .views_admin import _admin_page, _saved
from .web_common import form_with_csrf, require_user, site_of

routes = web.RouteTableDef()


@routes.post("/s/{site}/admin/twofactor")
async def set_required(request: web.Request):
    """Switch the site's requirement. Switching it on ends the logins of accounts without a second
    factor (they set one up when they log in again); the admin needs one first, not to be locked out."""
    site = site_of(request)
    admin = await require_user(request, site, "admin")
    form = await form_with_csrf(request)
    wanted = REQUIRED.parse(form.get(REQUIRED.name))
    was = required(site)
    now = request.app[CONFIG].clock()

    def write(db):
        if wanted and not has_factor(factors_of(db, admin["id"])):
            return None
        db["site_settings"].upsert({"site_id": site.id, "plugin": CORE, "key": REQUIRED.name,
                                    "value": json.dumps(wanted)}, pk=("site_id", "plugin", "key"))
        ended = []
        if wanted and not was:
            ended = [r["id"] for r in db.query(
                "select id from users u where site_id = ? and not exists (select 1 from totp_secrets t where "
                "t.user_id = u.id and t.confirmed_at is not null) and not exists (select 1 from webauthn_keys k "
                "where k.user_id = u.id)", [site.id])]
            for uid in ended:
                db.execute("delete from auth_sessions where user_id = ?", [uid])
        audit_row(db, site.id, f"user:{admin['id']}", "settings_changed", f"setting:{CORE}.{REQUIRED.name}",
                  {REQUIRED.name: {"old": was, "new": wanted}, "logins_ended_of": ended}, now)
        return ended
    ended = await request.app[DB].write(write)
    if ended is None:
        return await _admin_page(request, site, admin, 409, error=(
            "Set up a second factor for your own account first (Security page), so you are not locked out. "
            "Nothing was saved."))
    await request.app[DB].read(request.app[SITES].load)
    for uid in ended:
        await request.app[HUB].disconnect_user(uid, "the site now requires two-factor sign-in")
    text = "Two-factor sign-in is now required." if wanted else "Two-factor sign-in is now optional."
    if ended:
        text += (f" {len(ended)} account(s) without a second factor were signed out; they set one up at their "
                 "next login.")
    raise _saved(request, site_of(request), admin, text)


@routes.post("/s/{site}/admin/users/{uid}/twofactor/reset")
async def reset_factors(request: web.Request):
    """An admin takes away every second factor of an account (a lost phone or key): its logins end too."""
    site = site_of(request)
    admin = await require_user(request, site, "admin")
    await form_with_csrf(request)
    raw = request.match_info["uid"]
    now = request.app[CONFIG].clock()

    def write(db):
        target = next(db["users"].rows_where("id = ? and site_id = ?", [int(raw), site.id]), None) \
            if raw.isdigit() else None
        if target is None:
            return None
        had = remove_all_factors(db, target["id"])
        db.execute("delete from auth_sessions where user_id = ?", [target["id"]])
        audit_row(db, site.id, f"user:{admin['id']}", "twofactor_reset", f"user:{target['id']}",
                  {"username": target["username"], "had_totp": had["totp"], "had_keys": had["keys"]}, now)
        return target
    target = await request.app[DB].write(write)
    if target is None:
        return await _admin_page(request, site, admin, 404, error="No such account on this site.")
    await request.app[HUB].disconnect_user(target["id"], "second factors reset by an admin")
    raise _saved(request, site, admin, f"The second factors of {target['username']} were reset; "
                                       "their logins were ended.")
