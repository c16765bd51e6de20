"""The plugin manager of one app: discovery through entry points, failures, per-site hook subsets."""
from __future__ import annotations

import inspect
import logging
import re
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Iterable

import pluggy

from . import hookspecs
from .options import DashboardOption, Setting

log = logging.getLogger("supporthost.plugins")

ENTRY_POINT_GROUP = "supporthost.plugins"
PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MESSAGE_TYPE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$")
CORE_PLUGINS = frozenset({"session"})


class PluginSetupError(Exception):
    """A plugin registered something the host cannot accept (duplicate type, bad name...)."""


@dataclass
class Handler:
    plugin: str
    type: str
    fn: Callable
    binary: bool = False


@dataclass
class Route:
    plugin: str
    method: str
    path: str
    handler: Callable


@dataclass
class PluginInfo:
    name: str
    version: str = ""
    module: str = ""
    error: str | None = None
    core: bool = False
    hooks: list = field(default_factory=list)


class PluginRegistry:
    """Everything the plugins registered, collected once at startup; one per app."""

    def __init__(self):
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        self.handlers: dict[str, Handler] = {}
        self.options: list[DashboardOption] = []
        self.settings: dict[str, list[Setting]] = {}
        self.routes: list[Route] = []
        self._subsets: dict[tuple, Any] = {}

    # -- loading ---------------------------------------------------------------------------------
    def load(self, core: Iterable[tuple[str, object]], extra: Iterable[tuple[str, object]] = (),
             entry_points: bool = True, only: set[str] | None = None) -> None:
        for name, obj in core:
            self._register(name, obj, core=True)
        if entry_points:
            for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
                if only is not None and ep.name not in only:
                    continue
                version = ep.dist.version if ep.dist else ""
                try:
                    obj = ep.load()
                except Exception as exc:
                    self.fail(ep.name, f"import failed: {exc.__class__.__name__}: {exc}", version=version,
                              module=ep.value)
                    continue
                self._register(ep.name, obj, version=version)
        for name, obj in extra:
            self._register(name, obj)
        self._collect()

    def _register(self, name: str, obj: object, core: bool = False, version: str = "") -> None:
        module = getattr(obj, "__name__", type(obj).__name__)
        if not PLUGIN_NAME.match(name):
            self.fail(name, f"invalid plugin name {name!r}: lower-case letters, digits and _ only",
                      module=module)
            return
        if name in self.info and self.info[name].error is None:
            self.fail(name + "#2", f"a plugin named {name!r} is already registered", module=module)
            return
        try:
            self.pm.register(obj, name=name)
        except Exception as exc:
            self.fail(name, f"registration failed: {exc}", module=module, version=version)
            return
        if not version:
            version = getattr(obj, "__version__", "") or _dist_version(module)
        self.info[name] = PluginInfo(name=name, version=version, module=module, core=core)

    def fail(self, name: str, error: str, version: str = "", module: str = "") -> None:
        """Mark a plugin as failed: it is unregistered and everything it added is dropped."""
        log.error("plugin %s failed: %s", name, error)
        info = self.info.get(name) or PluginInfo(name=name, version=version, module=module)
        info.error = error
        self.info[name] = info
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
        self.handlers = {t: h for t, h in self.handlers.items() if h.plugin != name}
        self.options = [o for o in self.options if o.plugin != name]
        self.settings.pop(name, None)
        self.routes = [r for r in self.routes if r.plugin != name]
        self._subsets.clear()

    def _collect(self) -> None:
        """Ask every plugin for its handlers, options, settings and routes, one plugin at a time."""
        for name in list(self.active()):
            try:
                self._collect_one(name)
            except PluginSetupError as exc:
                self.fail(name, str(exc))
            except Exception as exc:
                self.fail(name, f"setup failed: {exc.__class__.__name__}: {exc}")
        for info in self.info.values():
            if info.error is None:
                info.hooks = sorted(
                    impl_name for impl_name, caller in vars(self.pm.hook).items()
                    if isinstance(caller, pluggy.HookCaller)
                    and any(i.plugin_name == info.name for i in caller.get_hookimpls())
                )

    def _impls(self, hook: str, plugin: str):
        return [i for i in getattr(self.pm.hook, hook).get_hookimpls() if i.plugin_name == plugin]

    def _collect_one(self, name: str) -> None:
        for impl in self._impls("register_message_handlers", name):
            def register(type_: str, handler: Callable, binary: bool = False, _plugin=name) -> None:
                self._add_handler(_plugin, type_, handler, binary)
            call_impl(impl, register=register)
        for impl in self._impls("dashboard_options", name):
            for option in call_impl(impl) or []:
                option = option.for_plugin(name)
                option.validate()
                if any(o.id == option.id for o in self.options):
                    raise PluginSetupError(f"plugin {name!r}: dashboard option id {option.id!r} is already used")
                self.options.append(option)
        for impl in self._impls("site_settings", name):
            self.settings[name] = [Setting(**{**s.__dict__, "plugin": name}) for s in call_impl(impl) or []]
        for impl in self._impls("register_routes", name):
            def register_route(method: str, path: str, handler: Callable, _plugin=name) -> None:
                if not path.startswith("/"):
                    raise PluginSetupError(f"plugin {_plugin!r}: route path {path!r} must start with /")
                self.routes.append(Route(_plugin, method.upper(), path, handler))
            call_impl(impl, register=register_route)
        self.options.sort(key=lambda o: (o.order, o.label))

    def _add_handler(self, plugin: str, type_: str, fn: Callable, binary: bool) -> None:
        if not MESSAGE_TYPE.match(type_ or ""):
            raise PluginSetupError(f"plugin {plugin!r}: message type {type_!r} is not of the form <plugin>.<verb>")
        if type_ in self.handlers:  # checked first: the error then names both plugins
            raise PluginSetupError(
                f"message type {type_!r} registered twice (by {self.handlers[type_].plugin!r} and {plugin!r})")
        prefix = type_.split(".", 1)[0]
        if prefix != plugin:
            raise PluginSetupError(
                f"plugin {plugin!r}: message type {type_!r} must start with its own name ({plugin}.)")
        self.handlers[type_] = Handler(plugin, type_, fn, binary)

    # -- queries ---------------------------------------------------------------------------------
    def active(self) -> list[str]:
        return [n for n, i in self.info.items() if i.error is None]

    def optional(self) -> list[str]:
        """Plugins an admin can switch on or off for a site."""
        return [n for n, i in self.info.items() if i.error is None and not i.core]

    def is_enabled(self, plugin: str, disabled: frozenset) -> bool:
        info = self.info.get(plugin)
        return info is not None and info.error is None and (info.core or plugin not in disabled)

    def options_for(self, disabled: frozenset, console: str, role: str) -> list[DashboardOption]:
        return [o for o in self.options
                if o.plugin not in disabled and console in o.consoles and role in o.roles]

    def hook(self, name: str, disabled: frozenset = frozenset()):
        """The hook caller for a site: the plugins it disabled are left out (pluggy subset)."""
        key = (name, disabled)
        caller = self._subsets.get(key)
        if caller is None:
            plugins = [self.pm.get_plugin(n) for n in disabled
                       if n not in CORE_PLUGINS and self.pm.get_plugin(n) is not None]
            caller = self._subsets[key] = self.pm.subset_hook_caller(name, plugins)
        return caller

    async def call(self, name: str, disabled: frozenset = frozenset(), **kwargs) -> list:
        """Call every enabled implementation of a hook; await awaitables; one plugin's error never stops others."""
        results = []
        for impl in reversed(self.hook(name, disabled).get_hookimpls()):
            try:
                value = call_impl(impl, **kwargs)
                if inspect.isawaitable(value):
                    value = await value
            except Exception:
                log.error("plugin %s: hook %s failed:\n%s", impl.plugin_name, name, traceback.format_exc())
                continue
            if value is not None:
                results.append((impl.plugin_name, value))
        return results

    def plugin_objects(self) -> dict[str, object]:
        return {n: self.pm.get_plugin(n) for n in self.active()}


def call_impl(impl, **kwargs):
    """Call one hook implementation with the subset of arguments it declares."""
    return impl.function(**{k: kwargs[k] for k in impl.argnames if k in kwargs})


def _dist_version(module: str) -> str:
    top = module.split(".")[0]
    for dist_name in metadata.packages_distributions().get(top, []):
        try:
            return metadata.version(dist_name)
        except metadata.PackageNotFoundError:
            pass
    return ""
