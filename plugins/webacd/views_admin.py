"""Admin pages: queues (members, hours, fields, distribution, thresholds, start options), the live monitor."""
from __future__ import annotations

from aiohttp import web

from host import api
from host.api import form_with_csrf, render, require_user, site_of

from . import queues, store
from .queue_config import (DAY_NAMES, DAYS, FIELD_MODES, FIELDS, MODES, QueueConfig, parse_day, parse_number,
                           parse_timezone)
from .service import WEBACD, AcdError


async def _site_users(request, site) -> list[dict]:
    return await api.database(request.app).read(lambda db: store.site_users(db, site.id))


async def _start_option_specs(request, site) -> list[tuple[str, list]]:
    return [(plugin, specs or []) for plugin, specs in
            await api.call_hook(request.app, "webacd_start_options", site, site=site)]


async def admin_page(request: web.Request, status: int = 200, **context):
    site = site_of(request)
    user = await require_user(request, site, "admin")
    acd = request.app[WEBACD]
    base = f"{request.scheme}://{request.host}{site.prefix}"
    return await render(request, "webacd/admin.html", status=status, site=site, user=user, page="webacd_admin",
                        queues=acd.site_queues(site.id), modes=MODES, base=base,
                        counts={q.id: len(acd.engine.waiting.get(q.id, [])) for q in acd.site_queues(site.id)},
                        **context)


async def create_queue(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site, "admin")
    form = await form_with_csrf(request)
    name = " ".join(str(form.get("name", "")).split())
    if not name or len(name) > 80:
        return await admin_page(request, 400, error="A queue needs a name of 1 to 80 characters.")
    acd = request.app[WEBACD]
    if any(q.name.lower() == name.lower() for q in acd.site_queues(site.id)):
        return await admin_page(request, 400, error=f"There is a queue named {name!r} already.")
    qid = await queues.save_queue(acd, QueueConfig(0, site.id, name), user, site)
    raise web.HTTPFound(f"{site.prefix}/p/webacd/admin/queues/{qid}")


async def edit_page(request: web.Request, status: int = 200, queue: QueueConfig | None = None, **context):
    site = site_of(request)
    user = await require_user(request, site, "admin")
    acd = request.app[WEBACD]
    stored = acd.queue_of_site(site.id, request.match_info["queue"])
    if stored is None:
        return await admin_page(request, 404, error="There is no such queue on this site.")
    queue = queue or stored
    specs = await _start_option_specs(request, site)
    return await render(request, "webacd/queue_edit.html", status=status, site=site, user=user,
                        page="webacd_admin", queue=queue, users=await _site_users(request, site), modes=MODES,
                        others=[q for q in acd.site_queues(site.id) if q.id != queue.id], days=DAYS,
                        day_names=DAY_NAMES, hours=queue.hours_text(), fields=FIELDS, field_modes=FIELD_MODES,
                        start_specs=specs, **context)


async def save_queue(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site, "admin")
    form = await form_with_csrf(request)
    acd = request.app[WEBACD]
    stored = acd.queue_of_site(site.id, request.match_info["queue"])
    if stored is None:
        return await admin_page(request, 404, error="There is no such queue on this site.")
    users = {u["id"]: u for u in await _site_users(request, site)}
    draft = QueueConfig(stored.id, site.id, stored.name, stored.mode, stored.offer_timeout, stored.escalate_after,
                        stored.overflow_queue_id, stored.timezone, stored.hours, dict(stored.fields),
                        dict(stored.start_options), stored.members)
    try:
        name = " ".join(str(form.get("name", "")).split())
        if not name or len(name) > 80:
            raise ValueError("A queue needs a name of 1 to 80 characters.")
        if any(q.name.lower() == name.lower() and q.id != stored.id for q in acd.site_queues(site.id)):
            raise ValueError(f"There is a queue named {name!r} already.")
        draft.name = name
        mode = str(form.get("mode", ""))
        if mode not in MODES:
            raise ValueError("Distribution: choose most idle, round robin or everybody.")
        draft.mode = mode
        draft.offer_timeout = parse_number(form.get("offer_timeout"), "Offer timeout", 5, 3600)
        draft.escalate_after = parse_number(form.get("escalate_after") or 0, "Escalation threshold", 0, 86400)
        overflow = str(form.get("overflow_queue_id", "") or "")
        if overflow:
            target = acd.queue_of_site(site.id, overflow)
            if target is None or target.id == stored.id:
                raise ValueError("Overflow queue: choose another queue of this site.")
            draft.overflow_queue_id = target.id
        else:
            draft.overflow_queue_id = None
        draft.timezone = parse_timezone(str(form.get("timezone", "")))
        if form.get("always_open"):
            draft.hours = None
        else:
            draft.hours = {d: parse_day(d, str(form.get(f"hours_{d}", ""))) for d in DAYS}
        for key in FIELDS:
            value = str(form.get(f"field_{key}", "off"))
            if value not in FIELD_MODES:
                raise ValueError(f"{FIELDS[key][0]}: choose off, optional or required.")
            draft.fields[key] = value
        members = []
        for key in form:
            if key.startswith("member_"):
                try:
                    uid = int(key[7:])
                except ValueError:
                    raise ValueError("Members: unknown account.") from None
                if uid not in users:
                    raise ValueError("Members: only accounts of this site can be members.")
                members.append(uid)
        draft.members = tuple(sorted(members))
        options = {}
        for plugin, specs in await _start_option_specs(request, site):
            values = {}
            for spec in specs:
                raw = form.get(f"opt_{plugin}__{spec.name}")
                values[spec.name] = spec.parse(raw if raw is None else str(raw))
            options[plugin] = values
        draft.start_options = options
    except ValueError as exc:
        return await edit_page(request, 400, queue=draft, error=str(exc))
    await queues.save_queue(acd, draft, user, site)
    return await edit_page(request, message=f"Queue {draft.name} saved.")


async def delete_queue(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site, "admin")
    await form_with_csrf(request)
    acd = request.app[WEBACD]
    queue = acd.queue_of_site(site.id, request.match_info["queue"])
    if queue is None:
        return await admin_page(request, 404, error="There is no such queue on this site.")
    try:
        await queues.delete_queue(acd, site, queue, user)
    except AcdError as exc:
        return await admin_page(request, exc.status, error=str(exc))
    return await admin_page(request, message=f"Queue {queue.name} deleted.")


async def monitor_page(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site, "admin")
    return await render(request, "webacd/monitor.html", site=site, user=user, page="webacd_monitor",
                        data={"sitePrefix": site.prefix, "monitor": queues.monitor(request.app[WEBACD], site)})


async def monitor_json(request: web.Request):
    site = site_of(request)
    await require_user(request, site, "admin")
    return web.json_response(queues.monitor(request.app[WEBACD], site))


def register(register_route) -> None:
    register_route("GET", "/admin", admin_page)
    register_route("POST", "/admin/queues", create_queue)
    register_route("GET", "/admin/queues/{queue}", edit_page)
    register_route("POST", "/admin/queues/{queue}", save_queue)
    register_route("POST", "/admin/queues/{queue}/delete", delete_queue)
    register_route("GET", "/monitor", monitor_page)
    register_route("GET", "/api/monitor", monitor_json)
