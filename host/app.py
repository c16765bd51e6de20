"""The app factory: create_app(config) builds one independent host (its own plugin manager, db, hub)."""
from __future__ import annotations

import asyncio
import importlib.util
import inspect
import logging
import os
import secrets
import time
import weakref
from pathlib import Path

import jinja2
from aiohttp import web

from . import (core_plugin, views_admin, views_api, views_auth, views_customer, views_meta, views_rep,
               views_second_step, views_tokens, views_twofactor, views_twofactor_admin, views_ws)
from .appkeys import (ADMIN_NOTICES, AUDIT_WATCH, BACKGROUND, CONFIG, DB, EXPIRY, HUB, JINJA, JOIN_LIMIT,
                      LOGIN_LIMIT, PLUGINS, SECRET, SITES, SOCKETS)
from .audit_verify import ChainWatch
from .body_limits import DEFAULT_BYTES, body_limit
from .config import Config
from .db import Database
from .expiry import expiry_loop
from .hub import Hub
from .login_watch import LOGIN_WATCH, LoginWatch
from .plugins import PluginRegistry, call_impl
from .private_files import make_private
from .ratelimit import RateLimiter
from .schema import core_migrations
from .security_headers import security_headers
from .sites import SiteDirectory
from .web_common import site_of

log = logging.getLogger("supporthost")
HERE = Path(__file__).parent


def load_secret(data_dir: Path) -> bytes:
    path = Path(data_dir) / "secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def _plugin_route(app: web.Application, plugin: str, handler):
    async def guarded(request: web.Request):
        site = site_of(request)
        if not app[PLUGINS].is_enabled(plugin, site.disabled):
            if app[PLUGINS].info[plugin].error:  # failed at startup, after its routes were mounted
                raise web.HTTPServiceUnavailable(text=f"The {plugin} feature failed to start (see /-/plugins).")
            raise web.HTTPForbidden(text=f"The {plugin} feature is switched off for this site.")
        result = handler(request)
        return await result if inspect.isawaitable(result) else result
    guarded.streams_body = getattr(handler, "streams_body", False)
    return guarded


def _plugin_dir(obj) -> Path | None:
    file = getattr(obj, "__file__", None)
    return Path(file).parent if file else None


def _library_static_dirs() -> dict[str, Path]:
    """The static folders of the libraries feature plugins share (plugin_libs/<lib>/static/), served
    at /static/lib/<lib>/: code two plugins' pages both load lives there, not in one of the plugins."""
    spec = importlib.util.find_spec("plugin_libs")
    out: dict[str, Path] = {}
    for root in (spec.submodule_search_locations or []) if spec else []:
        for folder in sorted(Path(root).iterdir()):
            if (folder / "static").is_dir() and folder.name.isidentifier():
                out.setdefault(folder.name, folder / "static")
    return out


def create_app(config: Config | None = None, extra_plugins=()) -> web.Application:
    """Build the host. ``extra_plugins`` is a list of (name, module-or-object) registered after the
    entry-point plugins (tests use it for small plugins of their own)."""
    config = config or Config()
    app = web.Application(middlewares=[security_headers, body_limit], client_max_size=DEFAULT_BYTES)
    app[CONFIG] = config
    make_private(config.data_dir)
    app[SECRET] = load_secret(config.data_dir)
    db = app[DB] = Database(config.db_path)

    registry = app[PLUGINS] = PluginRegistry()
    registry.load([("session", core_plugin)], extra_plugins, entry_points=config.entry_points,
                  only=config.only_plugins)
    core_migrations.apply(db.sync())
    for name in registry.active():
        for impl in registry._impls("migrations", name):
            try:
                migrations = call_impl(impl)
                if migrations is not None:
                    migrations.apply(db.sync())
            except Exception as exc:
                registry.fail(name, f"migrations failed: {exc.__class__.__name__}: {exc}", exc=exc)

    sites = app[SITES] = SiteDirectory()
    sites.load(db.sync())
    app[HUB] = Hub(app)
    app[LOGIN_WATCH] = LoginWatch(app)
    app[SOCKETS] = weakref.WeakSet()
    app[ADMIN_NOTICES] = {}
    app[AUDIT_WATCH] = ChainWatch()
    app[BACKGROUND] = []
    app[JOIN_LIMIT] = RateLimiter(config.join_attempts_per_minute, 60, config.clock)
    app[LOGIN_LIMIT] = RateLimiter(config.login_attempts_per_minute_per_address, 60, config.clock)

    # a plugin's templates are found only under its own name: "<plugin>/page.html" in its templates/<plugin>/
    own_templates = {}
    for name, obj in registry.plugin_objects().items():
        folder = _plugin_dir(obj)
        if folder and (folder / "templates" / name).is_dir():
            own_templates[name] = jinja2.FileSystemLoader(str(folder / "templates" / name))
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(HERE / "templates")),
                                  jinja2.PrefixLoader(own_templates)])
    app[JINJA] = jinja2.Environment(loader=loader, autoescape=True, enable_async=False)
    app[JINJA].filters["when"] = lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t or 0))

    for module in (views_meta, views_auth, views_second_step, views_twofactor, views_twofactor_admin, views_customer,
                   views_rep, views_admin, views_tokens, views_ws):
        app.router.add_routes(module.routes)
    views_api.setup(app)
    app.router.add_static("/static/core", HERE / "static")
    for lib, folder in _library_static_dirs().items():
        app.router.add_static(f"/static/lib/{lib}", folder)
    for name, obj in registry.plugin_objects().items():
        folder = _plugin_dir(obj)
        if folder and (folder / "static").is_dir():
            app.router.add_static(f"/static/plugins/{name}", folder / "static")
    for route in registry.routes:
        app.router.add_route(route.method, f"/s/{{site}}/p/{route.plugin}{route.path}",
                             _plugin_route(app, route.plugin, route.handler))

    app.on_startup.append(_startup)
    app.on_shutdown.append(_shutdown)
    app.on_cleanup.append(_cleanup)
    return app


async def _startup(app: web.Application) -> None:
    app[EXPIRY] = asyncio.get_running_loop().create_task(expiry_loop(app))
    await app[LOGIN_WATCH].start()
    registry = app[PLUGINS]
    for name in list(registry.active()):
        for impl in registry._impls("startup", name):
            try:
                result = call_impl(impl, app=app)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                registry.fail(name, f"startup failed: {exc.__class__.__name__}: {exc}", exc=exc)


async def _shutdown(app: web.Application) -> None:
    app[EXPIRY].cancel()
    await app[LOGIN_WATCH].stop()
    await app[HUB].close_all()
    await app[PLUGINS].call("shutdown", app=app)
    tasks = app[BACKGROUND]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
    tasks.clear()


async def _cleanup(app: web.Application) -> None:
    app[DB].close()
