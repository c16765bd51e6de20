"""The probe: implements every hook and records each call, so a test can see what the host did.

A class, not a module, so every test gets a fresh instance (nothing leaks between tests). The class
attribute ``__file__`` lets the host find ``static/`` and ``templates/`` beside this file, exactly as it
does for a plugin module.
"""
from __future__ import annotations

import asyncio

from aiohttp import web
from sqlite_utils.migrations import Migrations

from host.appkeys import DB
from host.hookspecs import hookimpl
from host.options import CONSOLES, ROLES, DashboardOption, Setting
from host.router import MessageError
from host.web_common import form_with_csrf, render, require_user, site_of

probe_migrations = Migrations("supporthost.probe")


@probe_migrations()
def m001_probe_notes(db):
    db["probe_notes"].create({"id": int, "site_id": int, "text": str}, pk="id")


class Probe:
    __file__ = __file__
    __version__ = "9.9.9"

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.recorded = None

    # -- helpers for tests -------------------------------------------------------------------------
    def called(self, hook: str) -> list[dict]:
        return [details for name, details in self.calls if name == hook]

    async def wait_for(self, hook: str, count: int = 1, timeout: float = 5) -> list[dict]:
        async with asyncio.timeout(timeout):
            while len(self.called(hook)) < count:
                await asyncio.sleep(0.01)
        return self.called(hook)

    # -- startup -----------------------------------------------------------------------------------
    @hookimpl
    async def startup(self, app):
        await asyncio.sleep(0)  # an awaitable: the host awaits it before serving
        self.calls.append(("startup", {"app": app}))

    @hookimpl
    async def shutdown(self, app):
        await asyncio.sleep(0)
        self.calls.append(("shutdown", {"app": app}))

    # -- storage -----------------------------------------------------------------------------------
    @hookimpl
    def migrations(self):
        return probe_migrations

    # -- routes ------------------------------------------------------------------------------------
    @hookimpl
    def register_routes(self, register):
        register("GET", "/hello", self.hello)
        register("GET", "/page", self.page)
        register("POST", "/notes", self.add_note)

    async def hello(self, request):
        return web.json_response({"plugin": "probe", "site": site_of(request).slug})

    async def page(self, request):
        site = site_of(request)
        return await render(request, "probe/page.html", site=site, page="probe_page")

    async def add_note(self, request):
        site = site_of(request)
        await require_user(request, site)
        form = await form_with_csrf(request)
        text = str(form.get("text", ""))
        note_id = await request.app[DB].write(
            lambda db: db["probe_notes"].insert({"site_id": site.id, "text": text}).last_pk)
        return web.json_response({"id": note_id, "text": text}, status=201)

    # -- session messages --------------------------------------------------------------------------
    @hookimpl
    def register_message_handlers(self, register):
        register("probe.echo", self.echo)
        register("probe.fail", self.fail)
        register("probe.shout", self.shout)
        register("probe.blob", self.blob, binary=True)

    async def echo(self, ctx, message):
        return {"type": "probe.echoed", "re": message.get("id"), "text": message.get("text"),
                "site": ctx.site.slug, "role": ctx.participant.role, "greeting": ctx.setting("greeting"),
                "max_waves": ctx.setting("max_waves")}

    def fail(self, ctx, message):
        raise MessageError("the probe refuses this on purpose")

    async def shout(self, ctx, message):
        ctx.broadcast({"type": "probe.shouted", "by": ctx.participant.name}, include_self=False)
        return {"type": "probe.ok", "re": message.get("id")}

    def blob(self, ctx, header, payload):
        ctx.reply({"type": "probe.blob_seen", "stream": header.get("stream"), "size": len(payload),
                   "first": payload[:4].decode(errors="replace")})

    # -- dashboard options -------------------------------------------------------------------------
    @hookimpl
    def dashboard_options(self):
        return [
            DashboardOption("probe.panel", "Probe", tab="desktop", icon="P", order=50,
                            consoles=CONSOLES, roles=ROLES),
            DashboardOption("probe.lead", "Lead only", tab="session", icon="L", order=60,
                            js_module="/static/plugins/probe/lead.js", consoles=("dashboard",),
                            roles=("primary_rep",)),
        ]

    # -- page context ------------------------------------------------------------------------------
    @hookimpl
    async def extra_page_context(self, page, site, user):
        self.calls.append(("extra_page_context", {"page": page, "site": site.slug,
                                                  "user": user["username"] if user else None}))
        return {"js_urls": ["/static/plugins/probe/extra.js"], "css_urls": ["/static/plugins/probe/probe.css"],
                "vars": {"probe_greeting": f"probe greets {site.slug}"}}

    # -- session events ----------------------------------------------------------------------------
    @hookimpl
    async def session_started(self, app, session):
        await asyncio.sleep(0)
        self.calls.append(("session_started", {"session": session.id, "site_id": session.site_id,
                                               "number": session.number, "state": session.state}))

    @hookimpl
    def participant_joined(self, session, participant):
        self.calls.append(("participant_joined", {"session": session.id, "name": participant.name,
                                                  "role": participant.role}))

    @hookimpl
    def participant_left(self, session, participant, reason):
        self.calls.append(("participant_left", {"session": session.id, "name": participant.name,
                                                "reason": reason}))

    @hookimpl
    def control_transferred(self, session, from_participant, to_participant):
        self.calls.append(("control_transferred", {
            "session": session.id, "from": from_participant.name, "from_role": from_participant.role,
            "to": to_participant.name, "to_role": to_participant.role}))

    @hookimpl
    def session_ended(self, session, ended_by):
        self.calls.append(("session_ended", {"session": session.id, "by": ended_by.name if ended_by else None,
                                             "state": session.state}))

    # -- site settings -----------------------------------------------------------------------------
    @hookimpl
    def site_settings(self):
        return [
            Setting("greeting", "Greeting", "str", "hi"),
            Setting("max_waves", "Most waves", "int", 3, min=1, max=10),
            Setting("mood", "Mood", "choice", "calm", choices=("calm", "loud")),
        ]

    # -- the session's record ----------------------------------------------------------------------
    @hookimpl
    def session_record(self, session, db):
        self.recorded = session    # the Session object the hook got (it runs on a database thread)
        return {"probe_people": db["participants"].count_where("session_id = ?", [session.id])}
