"""The agent's plugin manager: default backends, then the agent parts of feature plugins, then
third-party agent plugins (entry point group ``supporthost.agent``), then what a caller adds.

Plugins are found in the host's order and with the host's name rules (host/discovery.py): built-ins first,
then third-party ones sorted by name; a taken name is refused. A plugin whose agent part fails to import or
register, for whatever reason, is left out with a message (``failures``); the Support Manager runs without it.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging

import pluggy

from host.discovery import discover

from . import hookspecs

log = logging.getLogger("support_manager.plugins")
FEATURE_GROUP = "supporthost.plugins"
AGENT_GROUP = "supporthost.agent"


class AgentPluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers which plugins were left out and why."""

    def __init__(self):
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.failures: dict[str, str] = {}

    def fail(self, name: str, error: str, exc: BaseException | None = None) -> None:
        """Leave plugin ``name`` out (unregistered if it was registered) and remember why."""
        log.error("plugin %s is left out: %s", name, error, exc_info=exc)
        self.failures[name] = error
        plugin = self.get_plugin(name)
        if plugin is not None:
            self.unregister(plugin)

    def register_safely(self, name: str, load) -> None:
        """Register what ``load()`` returns as ``name``; any exception leaves only this plugin out."""
        try:
            obj = load()
            if obj is not None:
                self.register(obj, name=name)
        except Exception as exc:  # one broken plugin never stops the agent
            if self.get_plugin(name) is not None:   # pluggy keeps a plugin whose hooks did not validate
                self.unregister(name=name)
            self.fail(name.removeprefix("ext:"), f"{exc.__class__.__name__}: {exc}", exc)


def _agent_part(value: str):
    """A loader for the ``agent`` module beside a feature plugin's host part (None when it has none)."""
    def load():
        module = f"{value.split(':')[0]}.agent"
        return importlib.import_module(module) if importlib.util.find_spec(module) is not None else None
    return load


def make_plugin_manager(extra=(), entry_points: bool = True, only=None) -> AgentPluginManager:
    """The agent's plugins: the default backends, the agent parts of the installed feature plugins (only
    those named in ``only`` when given), third-party agent plugins, then ``extra``."""
    pm = AgentPluginManager()
    from . import backends_x11, consent
    pm.register(backends_x11, name="x11")
    pm.register(consent, name="consent")
    if entry_points:
        for group, prefix, loader in ((FEATURE_GROUP, "", lambda f: _agent_part(f.value)),
                                      (AGENT_GROUP, "ext:", lambda f: f.load)):
            accepted, refused = discover(group, reserved=("session", "x11", "consent"))
            for item in refused:
                pm.fail(f"{item.found.name}@{item.found.distribution}", item.reason)
            for item in accepted:
                if only is None or prefix or item.name in only:
                    pm.register_safely(prefix + item.name, loader(item))
    for name, obj in extra:
        pm.register(obj, name=name)
    return pm
