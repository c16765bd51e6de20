"""`supporthost new-plugin NAME`: writes a plugin distribution that installs (pip, into a folder of its
own: the project's virtualenv is left alone) and passes its own tests, run with the test kit in a
separate pytest, as generated. Bad names and taken folders are refused with exit code 2, writing nothing."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from host.cli import main
from conftest import parse_python


def imports_of(path: Path) -> set[str]:
    tree = parse_python(path)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_a_new_plugin_installs_and_passes_its_own_tests(tmp_path, capsys):
    assert main(["new-plugin", "greeter", "--dir", str(tmp_path)]) == 0
    root = tmp_path / "supporthost-greeter"
    assert f"plugin greeter written to {root}/" in capsys.readouterr().out
    package = root / "supporthost_greeter"
    for part in ("setup.cfg", "pyproject.toml", "README.md", "tests/test_greeter_plugin.py",
                 "supporthost_greeter/migrations.py", "supporthost_greeter/agent.py"):
        assert (root / part).is_file(), part
    assert "export function mount(api)" in (package / "static/greeter.js").read_text()
    assert "greeter = supporthost_greeter" in (root / "setup.cfg").read_text()
    # the host part imports from the host only its public API; the agent part only the agent's hooks
    assert {m for m in imports_of(package / "__init__.py") if m.split(".")[0] in ("host", "agent", "plugins")} \
        == {"host.api"}
    assert {m for m in imports_of(package / "agent.py") if m.split(".")[0] in ("host", "agent", "plugins")} \
        == {"agent.hookspecs"}

    site = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                          "--target", str(site), str(root)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    installed = site / "supporthost_greeter"
    assert (installed / "static/greeter.js").is_file() and (installed / "agent.py").is_file()
    (dist_info,) = site.glob("supporthost_greeter-0.1.0.dist-info")
    assert "greeter = supporthost_greeter" in (dist_info / "entry_points.txt").read_text()

    # -P: the plugin is imported from where pip installed it, not from the source folder pytest runs in
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run([sys.executable, "-P", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root,
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "6 passed" in run.stdout


@pytest.mark.parametrize("name, why", [
    ("Greeter", "is not a plugin name"),
    ("my-plugin", "is not a plugin name"),
    ("1st", "is not a plugin name"),
    ("x" * 41, "is not a plugin name"),
    ("", "is not a plugin name"),
    ("chat", "is the name of a built-in plugin of supporthost"),
    ("session", "is the name of a built-in plugin of supporthost"),
    ("hello", "is taken: the installed distribution supporthost-hello provides a plugin of that name"),
])
def test_a_bad_or_taken_name_is_refused_and_nothing_is_written(tmp_path, capsys, name, why):
    assert main(["new-plugin", name, "--dir", str(tmp_path)]) == 2
    assert why in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_refused_and_left_as_it_was(tmp_path, capsys):
    mine = tmp_path / "supporthost-greeter"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    assert main(["new-plugin", "greeter", "--dir", str(tmp_path)]) == 2
    assert f"'{mine}' exists already" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["notes.txt", "supporthost-greeter"]
    assert main(["new-plugin", "greeter", "--dir", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err
