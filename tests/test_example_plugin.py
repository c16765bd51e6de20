"""The third-party example plugin, examples/hello_plugin: its own distribution (supporthost-hello),
installed into the venv by the test command, found only through its entry point, and working: its
option is in the consoles' option registry, its JS module is served, and hello.wave is handled over a
real WebSocket (and clicked in a real Chromium). Its wheel holds its templates and nested static files,
and its setup.cfg is the one docs/plugins.md shows. (Its own tests, with the kit, are in
examples/hello_plugin/tests and run in `make test` too.)"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from conftest import PASSWORD, start_host, stop_host
from host.appkeys import DB

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def host(tmp_path):
    h = await start_host(tmp_path / "data", only_plugins={"chat", "hello"})
    yield h
    await stop_host(h)


def page_data(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


async def joined(host, site="demo"):
    rep = await host.rep(site=site)
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    cust = await host.client()
    assert (await cust.join(s["number"], "Carla", site=site)).status == 302
    cust_ws = await cust.ws(s["id"])
    return rep, s, rep_ws, cust, cust_ws


def test_hello_is_its_own_distribution_with_an_entry_point():
    dist = metadata.distribution("supporthost-hello")
    assert dist.version == "0.1.0"
    eps = [ep for ep in dist.entry_points if ep.group == "supporthost.plugins"]
    assert [(ep.name, ep.value) for ep in eps] == [("hello", "supporthost_hello")]
    # not part of the host's own distribution: found the way any third party's plugin is
    host_eps = metadata.distribution("supporthost").entry_points
    assert "hello" not in {ep.name for ep in host_eps if ep.group == "supporthost.plugins"}
    assert (ROOT / "examples/hello_plugin/setup.cfg").is_file()


async def test_the_setup_cfg_in_the_docs_is_the_example_s():
    docs = (ROOT / "docs/plugins.md").read_text()
    shown = re.search(r"from\s+`examples/hello_plugin/setup.cfg`\):\n\n```ini\n(.*?)```", docs, re.S).group(1)
    assert shown == (ROOT / "examples/hello_plugin/setup.cfg").read_text()


def test_a_built_wheel_holds_the_templates_and_nested_static_files(tmp_path):
    source = tmp_path / "hello_plugin"
    shutil.copytree(ROOT / "examples/hello_plugin", source,
                    ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__", "tests"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (wheel,) = (tmp_path / "dist").glob("supporthost_hello-0.1.0-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"supporthost_hello/__init__.py", "supporthost_hello/static/hello.js",
            "supporthost_hello/static/css/hello.css", "supporthost_hello/templates/hello/about.html"} <= names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "hello = supporthost_hello" in zipfile.ZipFile(wheel).read(entry_points).decode()


async def test_hello_is_discovered_and_listed(host):
    c = await host.client()
    async with c.http.get(c.url("/-/plugins.json")) as r:
        hello = next(p for p in (await r.json())["plugins"] if p["name"] == "hello")
    assert hello["status"] == "loaded" and hello["version"] == "0.1.0" and hello["module"] == "supporthost_hello"
    assert hello["hooks"] == ["dashboard_options", "register_message_handlers", "register_routes"]
    assert hello["enabled"] == {"demo": True, "other": True}


async def test_hello_option_is_in_every_console_and_its_js_module_is_served(host):
    rep, s, rep_ws, cust, cust_ws = await joined(host)
    uid = host.site("demo").id
    for console in ("dashboard", "tray", "multisession"):
        await host.app[DB].write(lambda db, c=console: db.execute(
            "update users set console = ? where site_id = ? and username = 'rep1'", [c, uid]))
        async with rep.http.get(rep.url("/s/demo/console")) as r:
            options = {o["id"]: o for o in page_data(await r.text())["options"]["primary_rep"]}
        wave = options["hello.wave"]
        assert (wave["label"], wave["tab"], wave["plugin"]) == ("Wave", "tools", "hello")
        assert wave["js_module"] == "/static/plugins/hello/hello.js"
    async with cust.http.get(cust.url(f"/s/demo/session/{s['id']}")) as r:
        assert "hello.wave" in {o["id"] for o in page_data(await r.text())["options"]}
    async with cust.http.get(cust.url("/static/plugins/hello/hello.js")) as r:
        assert r.status == 200 and "javascript" in r.headers["Content-Type"]
        assert "export function mount(api)" in await r.text()


async def test_hello_wave_is_handled_over_a_real_websocket(host):
    rep, s, rep_ws, cust, cust_ws = await joined(host)
    ok = await cust_ws.request({"type": "hello.wave", "to": "the rep"})
    assert ok["type"] == "hello.ok"
    waved = await rep_ws.expect("hello.waved")
    assert waved == {"type": "hello.waved", "by": "Carla", "to": "the rep"}
    assert (await cust_ws.expect("hello.waved"))["by"] == "Carla"  # to the whole session, sender too

    bad = await cust_ws.request({"type": "hello.wave", "to": "x" * 41})
    assert bad["type"] == "error" and bad["error"] == "to must be a short text"
    again = await rep_ws.request({"type": "hello.wave"})
    assert again["type"] == "hello.ok"
    assert (await cust_ws.expect("hello.waved")) == {"type": "hello.waved", "by": "Rita Rep", "to": "everybody"}


async def test_hello_switched_off_for_a_site_is_refused_there(host):
    admin = await host.rep("admin", site="other")
    r = await admin.post_form("/s/other/admin/plugins", {"plugin_chat": "on"}, csrf_from="/s/other/admin")
    assert r.status == 200
    rep, s, rep_ws, cust, cust_ws = await joined(host, site="other")
    refused = await cust_ws.request({"type": "hello.wave"})
    assert refused["code"] == "disabled" and refused["error"] == "the hello feature is switched off for this site"
    async with rep.http.get(rep.url("/s/other/console")) as r:
        assert "hello.wave" not in await r.text()


@pytest.mark.browser
async def test_hello_wave_clicked_in_the_browser_reaches_the_customer_page(host, browser):
    rep_ctx = await browser.new_context(base_url=host.base)
    rep = await rep_ctx.new_page()
    errors = []
    rep.on("pageerror", lambda e: errors.append(str(e)))
    await rep.goto("/s/demo/login")
    await rep.fill("input[name=username]", "rep1")
    await rep.fill("input[name=password]", PASSWORD)
    await rep.click(".login-form button[type=submit]")
    await rep.wait_for_url("**/s/demo/console")
    await rep.locator(".start-session").first.click()
    number = re.sub(r"\D", "", await rep.locator(".session-number").first.text_content(timeout=8000) or "")
    assert len(number) >= 9

    cust_ctx = await browser.new_context(base_url=host.base)
    cust = await cust_ctx.new_page()
    cust.on("pageerror", lambda e: errors.append(str(e)))
    await cust.goto("/s/demo/")
    await cust.fill("input[name=number]", number)
    await cust.fill("input[name=name]", "Carla")
    await cust.click(".join-form button[type=submit]")
    await cust.wait_for_url(re.compile(r"/s/demo/session/[0-9a-f]+$"))
    await cust.locator('[data-open="hello.wave"]').click()

    await rep.locator('.session:not([hidden]) [data-open="hello.wave"]').click()
    await rep.locator(".session:not([hidden]) .hello-wave").click()
    await cust.locator(".hello-log").filter(has_text="Rita Rep waves at everybody").wait_for(timeout=8000)
    assert errors == []
    await rep_ctx.close()
    await cust_ctx.close()


def test_the_kit_example_in_the_docs_is_the_example_s_test():
    docs = (ROOT / "docs/plugins.md").read_text()
    shown = re.search(r"From `examples/hello_plugin/tests/test_hello_with_kit.py`.*?```python\n(.*?)```", docs,
                      re.S).group(1)
    assert shown in (ROOT / "examples/hello_plugin/tests/test_hello_with_kit.py").read_text()
