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
from .discovery import discover
from .options import SETTING_TYPES, DashboardOption, Setting

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
    distribution: str = ""


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
        self._reserved: set[str] = set()   # names of installed plugins left out by ``only``

    # -- loading ---------------------------------------------------------------------------------
    def load(self, core: Iterable[tuple[str, object]], extra: Iterable[tuple[str, object]] = (),
             entry_points: bool = True, only: set[str] | None = None) -> None:
        """Register the core plugins, then the installed ones (built-ins first, then third-party, see
        host/discovery.py), then ``extra``; a name already taken is refused, never replaced."""
        core = list(core)
        for name, obj in core:
            self._register(name, obj, core=True)
        if entry_points:
            accepted, refused = discover(ENTRY_POINT_GROUP, reserved=[name for name, _ in core])
            for item in refused:
                self.fail(self._refused_key(item.found.name, item.found.distribution), item.reason,
                          version=item.found.version, module=item.found.value,
                          distribution=item.found.distribution)
            for item in accepted:
                if only is not None and item.name not in only:
                    self._reserved.add(item.name)   # not loaded, but still its name
                    continue
                try:
                    obj = item.load()
                except Exception as exc:
                    self.fail(item.name, f"import failed: {exc.__class__.__name__}: {exc}", version=item.version,
                              module=item.value, distribution=item.distribution, exc=exc)
                    continue
                self._register(item.name, obj, version=item.version, distribution=item.distribution)
        for name, obj in extra:
            self._register(name, obj)
        self._add_plugin_hookspecs()
        self._collect()

    def _refused_key(self, name: str, source: str) -> str:
        """Where a refused second plugin of a taken name is listed: ``<name>@<distribution or module>``."""
        key, n = f"{name}@{source or 'unknown'}", 2
        while key in self.info:
            key, n = f"{name}@{source or 'unknown'}#{n}", n + 1
        return key

    def _register(self, name: str, obj: object, core: bool = False, version: str = "",
                  distribution: str = "") -> None:
        module = getattr(obj, "__name__", type(obj).__name__)
        if not PLUGIN_NAME.match(name):
            self.fail(name, f"invalid plugin name {name!r}: lower-case letters, digits and _ only",
                      module=module)
            return
        if name in self.info or name in self._reserved:
            self.fail(self._refused_key(name, module), f"the plugin name {name!r} is taken: {module} is not loaded",
                      module=module)
            return
        try:
            self.pm.register(obj, name=name)
        except Exception as exc:
            self.fail(name, f"registration failed: {exc}", module=module, version=version,
                      distribution=distribution, exc=exc)
            return
        version = getattr(obj, "__version__", "") or version or _dist_version(module)
        self.info[name] = PluginInfo(name=name, version=version, module=module, core=core,
                                     distribution=distribution)

    def fail(self, name: str, error: str, version: str = "", module: str = "", distribution: str = "",
             exc: BaseException | None = None) -> None:
        """Mark a plugin as failed: it is unregistered and everything it added is dropped. ``exc``, when
        the failure is an exception, is logged with its traceback (the one-line ``error`` is what
        /-/plugins shows)."""
        log.error("plugin %s failed: %s", name, error, exc_info=exc)
        info = self.info.get(name) or PluginInfo(name=name, version=version, module=module,
                                                 distribution=distribution)
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
                self.fail(name, f"setup failed: {exc.__class__.__name__}: {exc}", exc=exc)
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
        core = self.info[name].core
        for impl in self._impls("dashboard_options", name):
            for option in call_impl(impl) or []:
                option = option.for_plugin(name)
                option.validate()
                _check_option_names(name, option, core)
                if any(o.id == option.id for o in self.options):
                    raise PluginSetupError(f"plugin {name!r}: dashboard option id {option.id!r} is already used")
                self.options.append(option)
        for impl in self._impls("site_settings", name):
            specs = [Setting(**{**s.__dict__, "plugin": name}) for s in call_impl(impl) or []]
            _check_setting_names(name, specs)
            self.settings[name] = specs
        for impl in self._impls("register_routes", name):
            def register_route(method: str, path: str, handler: Callable, _plugin=name) -> None:
                _check_route_path(_plugin, path)
                self.routes.append(Route(_plugin, method.upper(), path, handler))
            call_impl(impl, register=register_route)
        self.options.sort(key=lambda o: (o.order, o.label))

    # -- hookspecs a plugin declares for others ------------------------------------------------------
    def _add_plugin_hookspecs(self) -> None:
        """Ask each plugin for the hooks it declares (``register_hookspecs``) and add them, so other plugins'
        implementations are checked against them and can be called. An implementation that does not fit
        the spec fails its own plugin, not the one that declared the hook."""
        for name in list(self.active()):
            declared: list = []
            try:
                for impl in self._impls("register_hookspecs", name):
                    call_impl(impl, add=declared.append)
                specs = self._plugin_hookspecs(name, declared)
            except PluginSetupError as exc:
                self.fail(name, str(exc))
                continue
            except Exception as exc:
                self.fail(name, f"setup failed: {exc.__class__.__name__}: {exc}", exc=exc)
                continue
            for namespace, functions in specs:
                for hook, fn in functions.items():
                    self._fail_unfit_impls(name, hook, fn)
                try:
                    self.pm.add_hookspecs(namespace)
                except Exception as exc:  # e.g. a hook wrapper on a historic hook: pluggy says which plugin
                    culprit = self.pm.get_name(getattr(exc, "plugin", None)) if hasattr(exc, "plugin") else None
                    self.fail(culprit or name, f"hookspecs of {name} refused: {exc}", exc=exc)

    def _plugin_hookspecs(self, plugin: str, declared: list) -> list[tuple[object, dict[str, Callable]]]:
        out = []
        for namespace in declared:
            functions = {attr: getattr(namespace, attr) for attr in dir(namespace)
                         if self.pm.parse_hookspec_opts(namespace, attr) is not None}
            if not functions:
                raise PluginSetupError(f"plugin {plugin!r}: register_hookspecs added {namespace!r}, which holds "
                                       "no @hookspec function")
            for hook in functions:
                if not hook.startswith(plugin + "_"):
                    raise PluginSetupError(f"plugin {plugin!r}: the hook {hook!r} it declares must start with its "
                                           f"own name ({plugin}_)")
                caller = getattr(self.pm.hook, hook, None)
                if caller is not None and caller.spec is not None:
                    raise PluginSetupError(f"plugin {plugin!r}: the hook {hook!r} is already declared")
            out.append((namespace, functions))
        return out

    def _fail_unfit_impls(self, owner: str, hook: str, spec: Callable) -> None:
        caller = getattr(self.pm.hook, hook, None)
        if caller is None:
            return
        allowed = set(inspect.signature(spec).parameters)
        for impl in caller.get_hookimpls():
            extra = sorted(set(impl.argnames) - allowed)
            if extra:
                self.fail(impl.plugin_name, f"registration failed: hook {hook} (declared by plugin {owner}) has no "
                                            f"argument(s) {', '.join(extra)}")

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


OPTION_ID = re.compile(r"^[a-z][a-z0-9_]*\.[A-Za-z0-9_][A-Za-z0-9_.-]*$")
STATIC_FILE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
SETTING_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
FORM_FIELDS = frozenset({"csrf_token"})   # fields of the admin's settings form that are not settings


def _check_option_names(plugin: str, option: DashboardOption, core: bool) -> None:
    """An option's id is ``<plugin>.<name>`` and its module one of the plugin's own static files (a core
    plugin's may be the host's, under /static/core/)."""
    if not OPTION_ID.match(option.id or "") or option.id.split(".", 1)[0] != plugin:
        raise PluginSetupError(f"plugin {plugin!r}: dashboard option id {option.id!r} must be "
                               f"{plugin}.<name> (its own name first)")
    own = f"/static/plugins/{plugin}/"
    roots = (own, "/static/core/") if core else (own,)
    module = option.js_module or ""
    root = next((r for r in roots if module.startswith(r)), None)
    rest = module[len(root):] if root else ""
    if root is None or not STATIC_FILE.match(rest) or any(part in (".", "..") for part in rest.split("/")):
        raise PluginSetupError(f"plugin {plugin!r}: option {option.id!r}: js_module {module!r} must be one of "
                               f"its own static files ({own}...)")


def _check_setting_names(plugin: str, specs: list[Setting]) -> None:
    seen = set()
    for spec in specs:
        if not SETTING_NAME.match(spec.name or "") or spec.name in FORM_FIELDS:
            raise PluginSetupError(f"plugin {plugin!r}: setting name {spec.name!r} must be lower-case letters, "
                                   "digits and _ (and not csrf_token)")
        if spec.name in seen:
            raise PluginSetupError(f"plugin {plugin!r}: setting {spec.name!r} declared twice")
        seen.add(spec.name)
        if spec.type not in SETTING_TYPES:
            raise PluginSetupError(f"plugin {plugin!r}: setting {spec.name!r} has type {spec.type!r}; "
                                   f"one of {', '.join(SETTING_TYPES)} is needed")
        if spec.type == "choice" and (not spec.choices or spec.default not in spec.choices):
            raise PluginSetupError(f"plugin {plugin!r}: choice setting {spec.name!r} needs choices that hold "
                                   "its default")


def _check_route_path(plugin: str, path: str) -> None:
    """A route stays under /s/{site}/p/<plugin>/: a path starts with / and has no . or .. segment."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise PluginSetupError(f"plugin {plugin!r}: route path {path!r} must start with /")
    if any(part in (".", "..") for part in path.split("/")) or "//" in path or "\\" in path:
        raise PluginSetupError(f"plugin {plugin!r}: route path {path!r} must not contain ., .., // or \\")


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
