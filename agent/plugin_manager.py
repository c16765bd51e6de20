"""The agent's plugin manager: default backends, then the agent parts of feature plugins, then
third-party agent plugins (entry point group ``supporthost.agent``), then what a caller adds."""
from __future__ import annotations

import importlib
import importlib.util
import logging
from importlib import metadata

import pluggy

from . import hookspecs

log = logging.getLogger("support_manager.plugins")
FEATURE_GROUP = "supporthost.plugins"
AGENT_GROUP = "supporthost.agent"


def feature_agent_modules() -> list[tuple[str, str]]:
    """(name, module) of every installed feature plugin that has an ``agent.py`` beside its host part."""
    found = []
    for ep in metadata.entry_points(group=FEATURE_GROUP):
        module = f"{ep.value.split(':')[0]}.agent"
        try:
            if importlib.util.find_spec(module) is not None:
                found.append((ep.name, module))
        except (ImportError, ValueError):
            continue
    return found


def make_plugin_manager(extra=(), entry_points: bool = True) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    from . import backends_x11, consent
    pm.register(backends_x11, name="x11")
    pm.register(consent, name="consent")
    if entry_points:
        for name, module in feature_agent_modules():
            try:
                pm.register(importlib.import_module(module), name=name)
            except Exception as exc:  # one broken plugin never stops the agent
                log.error("agent part of plugin %s failed to load: %s", name, exc)
        for ep in metadata.entry_points(group=AGENT_GROUP):
            try:
                pm.register(ep.load(), name=f"ext:{ep.name}")
            except Exception as exc:
                log.error("agent plugin %s failed to load: %s", ep.name, exc)
    for name, obj in extra:
        pm.register(obj, name=name)
    return pm
