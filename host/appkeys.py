"""Every shared object of the app, under a typed key (aiohttp AppKey)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .config import Config
    from .db import Database
    from .hub import Hub
    from .plugins import PluginRegistry
    from .ratelimit import RateLimiter
    from .sites import SiteDirectory
    import asyncio

    import jinja2
    import weakref

CONFIG: web.AppKey["Config"] = web.AppKey("config")
DB: web.AppKey["Database"] = web.AppKey("db")
PLUGINS: web.AppKey["PluginRegistry"] = web.AppKey("plugins")
SITES: web.AppKey["SiteDirectory"] = web.AppKey("sites")
HUB: web.AppKey["Hub"] = web.AppKey("hub")
JINJA: web.AppKey["jinja2.Environment"] = web.AppKey("jinja")
JOIN_LIMIT: web.AppKey["RateLimiter"] = web.AppKey("join_limit")
LOGIN_LIMIT: web.AppKey["RateLimiter"] = web.AppKey("login_limit")
SECRET: web.AppKey[bytes] = web.AppKey("secret")
SOCKETS: web.AppKey["weakref.WeakSet"] = web.AppKey("sockets")
ADMIN_NOTICES: web.AppKey[dict] = web.AppKey("admin_notices")   # key -> (admin id, message, when)
AUDIT_WATCH: web.AppKey = web.AppKey("audit_watch")   # host/audit_verify.py ChainWatch: the admin page's chain status
EXPIRY: web.AppKey["asyncio.Task"] = web.AppKey("expiry")   # the task that ends abandoned sessions
BACKGROUND: web.AppKey[list] = web.AppKey("background", list)   # plugins' tasks (api.background_task)

# Per-request storage
CSRF_NEW: web.RequestKey[str] = web.RequestKey("csrf_new", str)
CSRF_RAW: web.RequestKey[str] = web.RequestKey("csrf_raw", str)
USER: web.RequestKey[object] = web.RequestKey("user", object)
