"""Plugins depend on the host only through its public API, and never on each other.

Every .py under plugins/ and examples/ is read (ast, nothing is imported) and fails when it imports:
- from the host anything but ``host.api`` (``from host.api import x``, ``from host import api``);
- another plugin (``plugins.<other>``; its own package, absolute or relative, is fine);
- from the Support Manager (``agent``), unless it is an agent part of its plugin (``agent.py`` and the
  modules only the agent part imports), and then only AGENT_PUBLIC.
plugin_libs/ (code plugins share) must not import any plugin.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import parse_python

ROOT = Path(__file__).resolve().parent.parent

HOST_PUBLIC = "host.api"
AGENT_PUBLIC = {"agent.hookspecs", "agent.consent", "agent.window_process", "agent.frames", "agent.permissions"}
SKIP_DIRS = {"__pycache__", "build", "dist", "node_modules"}


def _py_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py")
                  if not any(part in SKIP_DIRS or part.endswith(".egg-info") for part in p.relative_to(folder).parts))


def _module_name(path: Path, package_root: Path, package: str) -> str:
    parts = list(path.relative_to(package_root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, absolute name) of everything the file imports: ``import x.y`` gives x.y, ``from x import
    y, z`` gives x.y and x.z; relative imports are resolved against ``module`` (one that leaves the
    package stays relative, starting with a dot)."""
    tree = parse_python(path)
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                base = module.split(".")
                keep = len(base) - node.level + (1 if is_package else 0)
                if keep < 1:
                    out.append((node.lineno, "." * node.level + source))
                    continue
                source = ".".join(base[:keep] + ([source] if source else []))
            out += [(node.lineno, source if alias.name == "*" else f"{source}.{alias.name}")
                    for alias in node.names]
    return out


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _agent_side(files: dict[str, list[tuple[int, str]]], package: str) -> set[str]:
    """The modules only the plugin's agent part uses: reachable from <package>.agent, not from the
    package itself (what the host imports)."""
    def module_of(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            mod = todo.pop()
            if mod is None or mod in seen or mod not in files:
                continue
            seen.add(mod)
            todo += [module_of(name) for _line, name in files[mod] if _within(name, package)]
        return seen
    return reach(f"{package}.agent") - reach(package)


def _problem(name: str, mod: str, package: str, agent_side: set[str], plugins_package: str | None) -> str | None:
    if name.startswith("."):
        return f"relative import {name} leaves the package"
    if _within(name, "host") and not _within(name, HOST_PUBLIC):
        return f"imports {name}; only {HOST_PUBLIC} is public"
    if plugins_package and _within(name, plugins_package) and not _within(name, package):
        return f"imports {name}, another plugin"
    if _within(name, "agent"):
        if mod not in agent_side:
            return f"imports {name} but is no agent part of its plugin"
        if not any(_within(name, p) for p in AGENT_PUBLIC):
            return f"imports {name}; an agent part may import only {', '.join(sorted(AGENT_PUBLIC))}"
    return None


def violations(package_root: Path, package: str, plugins_package: str | None = "plugins") -> list[str]:
    """What the package at ``package_root`` (importable as ``package``) imports that it must not."""
    files, paths = {}, {}
    for path in _py_files(package_root):
        mod = _module_name(path, package_root, package)
        files[mod] = _imports(path, mod)
        paths[mod] = path
    agent_side = _agent_side(files, package)
    found = []
    for mod, imports in files.items():
        where = paths[mod].relative_to(ROOT) if paths[mod].is_relative_to(ROOT) else paths[mod].name
        for line, name in imports:
            problem = _problem(name, mod, package, agent_side, plugins_package)
            if problem:
                found.append(f"{where}:{line}: {problem}")
    return found


def _plugins() -> list[str]:
    return sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").exists())


def _examples() -> list[Path]:
    return sorted(init.parent for init in (ROOT / "examples").glob("*/*/__init__.py")
                  if not init.parent.name.endswith(".egg-info"))


@pytest.mark.parametrize("plugin", _plugins())
def test_a_plugin_imports_only_the_public_api_and_no_other_plugin(plugin):
    assert violations(ROOT / "plugins" / plugin, f"plugins.{plugin}") == []


@pytest.mark.parametrize("package", _examples(), ids=lambda p: p.name)
def test_an_example_plugin_imports_only_the_public_api(package):
    assert violations(package, package.name) == []


def test_plugin_libs_import_no_plugin():
    libs = ROOT / "plugin_libs"
    if not libs.exists():
        pytest.skip("there is no plugin_libs package in this tree yet")
    found = []
    for path in _py_files(libs):
        mod = _module_name(path, libs, "plugin_libs")
        found += [f"{path.relative_to(ROOT)}:{line}: imports {name}" for line, name in _imports(path, mod)
                  if _within(name, "plugins") or name.startswith(".")]
    assert found == []


def test_every_plugin_and_example_is_checked():
    assert {"chat", "webacd", "notes", "invite", "report", "desktop", "appshare", "audio", "video",
            "filexfer_basic", "filexfer_advanced"} <= set(_plugins())
    assert [p.name for p in _examples()] == ["supporthost_hello"]


def test_the_check_finds_each_kind_of_forbidden_import(tmp_path):
    pkg = tmp_path / "plugins" / "good"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "from host.api import hookimpl\nfrom host import api\nimport host.api\nfrom . import helper\n"
        "from .helper import x\nfrom plugins.good import helper as h2\nimport aiohttp\n")
    (pkg / "helper.py").write_text("from host.appkeys import DB\nfrom plugins.other import thing\n")
    (pkg / "agent.py").write_text("from agent.consent import ask\nfrom agent import hookspecs\n"
                                  "from . import agent_only\nfrom agent.session import x\n")
    (pkg / "agent_only.py").write_text("from agent.frames import Frame\n")
    (pkg / "shared.py").write_text("from agent.consent import ask\nfrom ... import other\nimport host\n"
                                   "from host import router\n")
    found = violations(pkg, "plugins.good")
    text = "\n".join(found)
    assert "helper.py:1: imports host.appkeys.DB; only host.api is public" in text
    assert "helper.py:2: imports plugins.other.thing, another plugin" in text
    assert "agent.py:4: imports agent.session.x; an agent part may import only" in text
    assert "shared.py:1: imports agent.consent.ask but is no agent part" in text
    assert "shared.py:2: relative import ... leaves the package" in text and "shared.py:3: imports host;" in text
    assert "shared.py:4: imports host.router" in text
    assert "__init__.py" not in text and "agent_only.py" not in text and "agent.py:1" not in text
    assert "agent.py:2" not in text and len(found) == 7, found
