"""Plugins that fail to import, to start or to migrate, or whose name is taken: each is listed as failed
with its error (JSON, page, log with the traceback, CLI, what `supporthost run` prints at start) and the
host starts anyway and serves chat.

The failing plugins come in through the real entry-point path: a real (temporary) distribution,
``supporthost_test_failures-0.0.dist-info`` with an ``entry_points.txt``, put on sys.path, whose entry
points name the modules in tests/plugins_for_tests/.
"""
from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import markupsafe
import pytest

from conftest import free_port, seed, start_host, stop_host
from fake_dist import make_dist

TESTS = Path(__file__).parent
ENTRY_POINTS = """[supporthost.plugins]
broken_import = plugins_for_tests.broken_import
bad_startup = plugins_for_tests.bad_startup
bad_migrations = plugins_for_tests.bad_migrations
"""
EXPECTED = {
    "broken_import": "import failed: ModuleNotFoundError: No module named 'supporthost_no_such_dependency'",
    "bad_startup": "startup failed: RuntimeError: the licence server cannot be reached",
    "bad_migrations": "migrations failed: OperationalError: ",  # then SQLite's own words
}

TRACEBACK_LINES = {   # a line of each plugin's own source, as its traceback quotes it
    "broken_import": "import supporthost_no_such_dependency",
    "bad_startup": 'raise RuntimeError("the licence server cannot be reached")',
    "bad_migrations": 'db.execute("create table bad_migrations_things (id integer primary key, oops")',
}


@pytest.fixture
def failing_dist(tmp_path, monkeypatch):
    """A real installed distribution (dist-info on sys.path) whose entry points are the broken plugins."""
    site_dir = tmp_path / "site"
    info = site_dir / "supporthost_test_failures-0.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: supporthost-test-failures\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(site_dir))  # undone after the test: no other test sees these
    return site_dir


def check_errors(errors: dict) -> None:
    for name, expected in EXPECTED.items():
        assert errors[name] is not None and errors[name].startswith(expected), (name, errors[name])


async def test_failed_plugins_are_listed_with_their_errors_and_the_host_serves_chat(tmp_path, failing_dist, caplog):
    caplog.set_level(logging.ERROR, logger="supporthost.plugins")
    host = await start_host(tmp_path / "data", only_plugins={"chat", *EXPECTED})
    try:
        c = await host.client()
        async with c.http.get(c.url("/-/plugins.json")) as r:
            report = {p["name"]: p for p in (await r.json())["plugins"]}
        assert {n: report[n]["status"] for n in ("chat", *EXPECTED)} == {
            "chat": "loaded", "broken_import": "failed", "bad_startup": "failed", "bad_migrations": "failed"}
        errors = {n: report[n]["error"] for n in EXPECTED}
        check_errors(errors)
        assert report["bad_startup"]["enabled"] == {"demo": False, "other": False}

        async with c.http.get(c.url("/-/plugins")) as r:
            page = await r.text()
        for name, error in errors.items():
            assert f'<tr data-plugin="{name}" class="failed">' in page
            assert f'failed: <span class="error">{markupsafe.escape(error)}</span>' in page

        for name, error in errors.items():
            assert f"plugin {name} failed: {error}" in caplog.text
        # the log holds each failure's whole traceback, down to the plugin's own line; the page the one line
        tracebacks = {r.args[0]: logging.Formatter().formatException(r.exc_info) for r in caplog.records
                      if r.msg == "plugin %s failed: %s" and r.exc_info}
        for name, line in TRACEBACK_LINES.items():
            assert tracebacks[name].startswith("Traceback (most recent call last)") and line in tracebacks[name]
        assert "Traceback" not in page

        # the host serves the rest: a session with chat, and nothing of the failed plugins
        rep = await host.rep()
        s = await rep.start_session()
        rep_ws = await rep.ws(s["id"])
        cust = await host.client()
        assert (await cust.join(s["number"], "Carla")).status == 302
        cust_ws = await cust.ws(s["id"])
        assert (await cust_ws.request({"type": "chat.send", "text": "still working?"}))["type"] == "chat.ack"
        assert (await rep_ws.expect("chat.message"))["message"]["text"] == "still working?"
        assert (await cust_ws.request({"type": "bad_migrations.ping"}))["code"] == "unknown_type"
        async with cust.http.get(cust.url("/s/demo/p/bad_startup/status")) as r:
            assert r.status == 503 and "The bad_startup feature failed to start" in await r.text()
        async with rep.http.get(rep.url("/s/demo/console")) as r:
            console = await r.text()
        assert "chat.panel" in console and "bad_startup.panel" not in console
        admin = await host.rep("admin")
        async with admin.http.get(admin.url("/s/demo/admin")) as r:
            assert 'name="plugin_bad_startup"' not in await r.text()  # nothing to switch on
    finally:
        await stop_host(host)


def test_cli_lists_failed_plugins_and_exits_1(tmp_path, failing_dist):
    seed(tmp_path / "data")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(failing_dist), str(TESTS)])}
    done = subprocess.run([str(Path(sys.executable).with_name("supporthost")), "--data", str(tmp_path / "data"),
                           "plugins"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    for name, expected in EXPECTED.items():
        assert " FAILED " in rows[name] and expected in rows[name], rows[name]
        assert f"plugin {name} failed: {expected}" in done.stderr  # the log
        assert TRACEBACK_LINES[name] in done.stderr                  # with the traceback
    assert rows["chat"].split()[2] == "loaded"


SQUAT_ERROR = ("the plugin name 'chat' is taken (by the built-in plugin plugins.chat of supporthost 0.1.0): "
               "squat_chat of supporthost-squat 1.0 is not loaded; give its entry point another name")


@pytest.fixture
def squat_dist(tmp_path):
    """An installed distribution whose plugin takes the built-in chat's name (for the command line)."""
    return make_dist(tmp_path / "squat", "supporthost-squat", "1.0", {"supporthost.plugins": {"chat": "squat_chat"}},
                     {"squat_chat/__init__.py": '"""Only its name matters: the name of the built-in chat."""\n'})


def test_cli_refuses_a_plugin_with_a_taken_name(tmp_path, squat_dist):
    seed(tmp_path / "data")
    env = {**os.environ, "PYTHONPATH": str(squat_dist)}
    done = subprocess.run([str(Path(sys.executable).with_name("supporthost")), "--data", str(tmp_path / "data"),
                           "plugins"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert rows["chat"].split()[1:3] == ["0.1.0", "loaded"]
    assert " FAILED " in rows["chat@supporthost-squat"] and SQUAT_ERROR in rows["chat@supporthost-squat"]


async def test_make_run_says_at_start_that_a_plugin_with_a_taken_name_is_refused(tmp_path, squat_dist):
    env = {**os.environ, "PYTHONPATH": str(squat_dist)}
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("supporthost")), "--data", str(tmp_path / "data"), "run",
        "--port", str(free_port()), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        seen = []
        async with asyncio.timeout(60):
            while not any("FAILED" in line for line in seen):
                seen.append((await proc.stdout.readline()).decode())
        assert f"  plugin chat@supporthost-squat FAILED: {SQUAT_ERROR}\n" in seen
        assert seen[0].startswith("supporthost is running at http://127.0.0.1:")
    finally:
        proc.terminate()
        await proc.wait()
