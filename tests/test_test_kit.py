"""The test kit that ships with supporthost (host.testing, the pytest plugin `supporthost`): it is
registered through its entry point, its fixtures give a real host, a logged-in rep, a joined customer,
their sockets and the real Support Manager, its marker picks the plugins, and the package's wheel holds it
(and the plugin template), so it works from an installed distribution."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_kit_is_a_pytest_plugin_of_the_distribution(pytestconfig):
    eps = [ep for ep in metadata.distribution("supporthost").entry_points if ep.group == "pytest11"]
    assert [(ep.name, ep.value) for ep in eps] == [("supporthost", "host.testing.pytest_plugin")]
    assert pytestconfig.pluginmanager.get_plugin("supporthost").__name__ == "host.testing.pytest_plugin"


async def test_rep_and_customer_meet_in_a_session_over_their_sockets(host, rep, support_session, rep_socket,
                                                                    customer, customer_socket):
    assert rep_socket.hello["you"]["role"] == "primary_rep" and rep_socket.hello["you"]["name"] == "Rita Rep"
    assert customer_socket.hello["you"]["role"] == "customer"
    assert customer_socket.hello["session"]["id"] == support_session["id"]
    joined = await rep_socket.expect(lambda m: m["type"] == "session.joined")
    assert joined["participant"]["name"] == "Carla Customer"
    assert host.site("demo").slug == "demo" and rep.site == "demo"


@pytest.mark.supporthost(plugins=["chat"])
async def test_the_support_manager_joins_beside_the_customer_with_a_further_number(customer_socket,
                                                                                  support_manager, rep_socket):
    assert support_manager.me["name"] == "Carla's Support Manager"
    assert support_manager.me["role"] == "secondary_customer"
    assert support_manager.consent.answers == []         # a scripted prompt that answers no
    assert "desktop" not in dict(support_manager.pm.list_name_plugin())   # only the asked plugins' agent parts


async def test_the_support_manager_alone_joins_with_the_session_s_number(support_manager, rep_socket):
    assert support_manager.me["role"] == "customer"
    assert "desktop" in dict(support_manager.pm.list_name_plugin())    # every installed plugin's agent part


@pytest.mark.supporthost(plugins=["notes"], grace_period=7.0)
async def test_the_marker_picks_plugins_and_settings(host):
    assert host.config.only_plugins == {"notes"} and host.config.grace_period == 7.0
    c = await host.client()
    async with c.http.get(c.url("/-/plugins.json")) as r:
        assert {p["name"] for p in (await r.json())["plugins"]} == {"session", "notes"}


def test_a_plugins_marker_with_one_string_is_a_clear_usage_error(tmp_path):
    (tmp_path / "test_one.py").write_text(
        "import pytest\n\n\n@pytest.mark.supporthost(plugins='chat')\nasync def test_it(host):\n    pass\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "asyncio_mode=auto",
                          "-o", "asyncio_default_fixture_loop_scope=function", "test_one.py"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "plugins is a list of plugin names, not one string" in run.stdout + run.stderr


def test_the_wheel_holds_the_kit_the_template_templates_and_nested_static_files(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("host", "plugins", "agent"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (wheel,) = (tmp_path / "dist").glob("supporthost-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"host/testing/pytest_plugin.py", "host/testing/hosting.py", "host/new_plugin.py",
            "host/plugin_template/PACKAGE/static/NAME.js.tmpl", "host/plugin_template/setup.cfg.tmpl",
            "host/templates/base.html", "host/static/console.js", "plugins/chat/static/chat.js"} <= names
    assert any(n.startswith("plugins/report/templates/") for n in names)


class TestTheClockOfTheDocs:
    """The override of supporthost_options that docs/plugins.md shows: the host runs on the test's clock."""

    @pytest.fixture
    def supporthost_options(self, clock):
        return {"clock": clock, "only_plugins": {"chat"}}

    async def test_the_host_runs_on_the_test_s_clock(self, host, clock):
        assert host.config.clock is clock and host.config.only_plugins == {"chat"}
