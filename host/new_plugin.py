"""``supporthost new-plugin NAME``: write a new plugin's distribution from host/plugin_template/.

The template's files end in ``.tmpl``; in their paths ``PACKAGE`` becomes the package (``supporthost_NAME``)
and ``NAME`` the plugin's name; in their text ``{{name}}``, ``{{package}}``, ``{{dist}}`` (the distribution,
``supporthost-NAME``) and ``{{title}}`` are filled in. The folder is written under a temporary name and
renamed when complete, so a refused or failed run leaves nothing behind.
"""
from __future__ import annotations

import shutil
import tempfile
from importlib import metadata
from pathlib import Path

from .plugins import CORE_PLUGINS, PLUGIN_NAME

TEMPLATE = Path(__file__).parent / "plugin_template"
HOST_DISTRIBUTION = "supporthost"


class PluginNameError(ValueError):
    """The name or the folder cannot be used; the text says why."""


def installed_plugins() -> dict[str, str]:
    """Plugin name -> the distribution that provides it, for every installed plugin (and the core's)."""
    found = {name: HOST_DISTRIBUTION for name in CORE_PLUGINS}
    for dist in metadata.distributions():
        for ep in dist.entry_points:
            if ep.group == "supporthost.plugins":
                found.setdefault(ep.name, dist.metadata["Name"])
    return found


def target_of(name: str, parent: Path) -> Path:
    return Path(parent) / f"supporthost-{name.replace('_', '-')}"


def check(name: str, parent: Path) -> Path:
    """The folder the plugin would be written to; PluginNameError when the name or folder cannot be used."""
    if not PLUGIN_NAME.match(name):
        raise PluginNameError(f"{name!r} is not a plugin name: use lower-case letters, digits and _, starting "
                              "with a letter, at most 40 characters (for example: greeter)")
    owner = installed_plugins().get(name)
    if owner == HOST_DISTRIBUTION:
        raise PluginNameError(f"{name!r} is the name of a built-in plugin of supporthost: choose another name")
    if owner is not None:
        raise PluginNameError(f"{name!r} is taken: the installed distribution {owner} provides a plugin of "
                              "that name; choose another name")
    parent = Path(parent)
    if not parent.is_dir():
        raise PluginNameError(f"{str(parent)!r} is not a folder")
    target = target_of(name, parent)
    if target.exists():
        raise PluginNameError(f"{str(target)!r} exists already: choose another --dir or remove it first")
    return target


def render(name: str) -> dict[str, str]:
    """Relative path -> text of every file of the new plugin."""
    values = {"{{name}}": name, "{{package}}": f"supporthost_{name}", "{{dist}}": f"supporthost-{name.replace('_', '-')}",
              "{{title}}": name.replace("_", " ").capitalize()}
    files = {}
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        parts = [p.replace("PACKAGE", values["{{package}}"]).replace("NAME", name)
                 for p in source.relative_to(TEMPLATE).with_suffix("").parts]
        text = source.read_text()
        for key, value in values.items():
            text = text.replace(key, value)
        files[str(Path(*parts))] = text
    return files


def create(name: str, parent: Path) -> Path:
    """Write the plugin NAME's distribution under ``parent``; returns its folder."""
    target = check(name, parent)
    files = render(name)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        staging.chmod(0o755)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
