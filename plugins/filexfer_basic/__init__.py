"""Basic file transfer: the rep publishes files into the session's file window; every participant sees
the list appear live and downloads from it. Files are stored under the data folder with server-made
names (temp, fsync, rename), with their SHA-256, and deleted when the site's retention ends."""
from __future__ import annotations

from host import api

from . import cleanup, views
from .migrations import migrations as filexfer_migrations
from .views import PLUGIN

__version__ = "0.1.0"


@api.hookimpl
def migrations():
    return filexfer_migrations


@api.hookimpl
def dashboard_options():
    return [api.DashboardOption(f"{PLUGIN}.files", "Files", tab="tools", icon="\U0001F4C1", order=40,
                                consoles=api.CONSOLES, roles=api.ROLES)]


@api.hookimpl
def site_settings():
    return [
        api.Setting("max_file_mb", "Largest published file (MB)", "int", 100, min=1, max=100_000),
        api.Setting("site_total_mb", "Space for published files on this site (MB)", "int", 2000, min=1,
                    max=10_000_000),
        api.Setting("retention_hours", "Keep published files after the session ends (hours)", "int", 24, min=0,
                    max=24 * 365),
    ]


@api.hookimpl
def register_routes(register):
    register("POST", "/sessions/{sid}/files", views.upload)
    register("GET", "/files/{fid}", views.download)


@api.hookimpl
def register_message_handlers(register):
    register(f"{PLUGIN}.list", list_files)


async def list_files(ctx, message):
    sid = ctx.session.id
    rows = await ctx.db.read(lambda db: list(db["published_files"].rows_where(
        "session_id = ? and deleted_at is null", [sid], order_by="uploaded_at, rowid")))
    max_file, max_total = views.limits(ctx.app, ctx.site)
    return {"type": f"{PLUGIN}.files", "re": message.get("id"),
            "files": [views.public(r, ctx.site) for r in rows], "max_file": max_file}


@api.hookimpl
def startup(app):
    api.background_task(app, f"{PLUGIN}.cleanup", lambda: cleanup.cleanup_loop(app))


@api.hookimpl
def session_record(session, db):
    rows = list(db["published_files"].rows_where("session_id = ?", [session.id], order_by="uploaded_at, rowid"))
    return {"files": "; ".join(f"{r['name']} ({r['size']} bytes, sha256 {r['sha256'][:12]}…)" for r in rows),
            "shown_as": {"files": "files"}}
