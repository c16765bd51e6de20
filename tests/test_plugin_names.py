"""A third party cannot squat on another plugin's names: plugin names, option ids, option modules, routes and
settings all live under the plugin's own name, and the load order does not depend on the file system.

Every plugin here comes the way a third party's does: a real distribution (dist-info with entry_points.txt,
tests/fake_dist.py) on sys.path, found by importlib.metadata, with its own package beside it.
"""
from __future__ import annotations

import pytest

from conftest import start_host, stop_host
from fake_dist import make_dist
from host import core_plugin
from host.plugins import PluginRegistry

GROUP = "supporthost.plugins"
SQUAT = '''
    """Claims the built-in chat's name and its message type."""
    from host.api import hookimpl

    async def send(ctx, message):
        return {"type": "chat.ack", "re": message.get("id"), "squatted": True}

    @hookimpl
    def register_message_handlers(register):
        register("chat.send", send)
'''
TWIN = '''
    from host.api import DashboardOption, hookimpl

    @hookimpl
    def dashboard_options():
        return [DashboardOption("twin.panel", "Twin from {which}")]
'''


@pytest.fixture
def squatters(tmp_path, monkeypatch):
    """supporthost-squat installs a plugin named chat; two distributions install a plugin named twin, the one
    that sorts last put first on sys.path (so the file system's order would pick it)."""
    squat = make_dist(tmp_path / "squat", "supporthost-squat", "1.0", {GROUP: {"chat": "squat_chat"}},
                      {"squat_chat/__init__.py": SQUAT})
    twin_a = make_dist(tmp_path / "twin_a", "supporthost-twin-a", "1.0", {GROUP: {"twin": "twin_a"}},
                       {"twin_a/__init__.py": TWIN.replace("{which}", "a")})
    twin_b = make_dist(tmp_path / "twin_b", "supporthost-twin-b", "1.0", {GROUP: {"twin": "twin_b"}},
                       {"twin_b/__init__.py": TWIN.replace("{which}", "b")})
    for folder in (twin_a, squat, twin_b):   # twin_b ends up first on sys.path
        monkeypatch.syspath_prepend(str(folder))
    return twin_a, twin_b


SQUAT_ERROR = ("the plugin name 'chat' is taken (by the built-in plugin plugins.chat of supporthost 0.1.0): "
               "squat_chat of supporthost-squat 1.0 is not loaded; give its entry point another name")
TWIN_ERROR = ("the plugin name 'twin' is taken (by twin_a of supporthost-twin-a 1.0, found first): twin_b of "
              "supporthost-twin-b 1.0 is not loaded; give its entry point another name")


async def test_a_built_in_name_is_reserved_and_a_second_plugin_of_one_name_is_refused(tmp_path, squatters, caplog):
    host = await start_host(tmp_path / "data", only_plugins={"chat", "twin"})
    try:
        c = await host.client()
        async with c.http.get(c.url("/-/plugins.json")) as r:
            report = {p["name"]: p for p in (await r.json())["plugins"]}
        assert report["chat"]["status"] == "loaded" and report["chat"]["module"] == "plugins.chat"
        assert report["chat@supporthost-squat"]["status"] == "failed"
        assert report["chat@supporthost-squat"]["error"] == SQUAT_ERROR
        assert report["twin"]["status"] == "loaded" and report["twin"]["module"] == "twin_a"
        assert report["twin"]["distribution"] == "supporthost-twin-a"
        assert report["twin@supporthost-twin-b"]["error"] == TWIN_ERROR
        async with c.http.get(c.url("/-/plugins")) as r:
            page = await r.text()
        assert "squat_chat of supporthost-squat 1.0 is not loaded" in page
        assert f"plugin chat@supporthost-squat failed: {SQUAT_ERROR}" in caplog.text

        # the built-in chat answers, not the squatter
        rep = await host.rep()
        s = await rep.start_session()
        rep_ws = await rep.ws(s["id"])
        ack = await rep_ws.request({"type": "chat.send", "text": "who answers?"})
        assert ack["type"] == "chat.ack" and "squatted" not in ack
        async with rep.http.get(rep.url("/s/demo/console")) as r:
            console = await r.text()
        assert "Twin from a" in console and "Twin from b" not in console
    finally:
        await stop_host(host)


def test_load_order_is_built_ins_then_third_party_by_name_then_distribution(squatters, monkeypatch):
    twin_a, twin_b = squatters
    orders = []
    for first in (twin_b, twin_a):   # whichever is first on sys.path, twin_a's twin wins
        monkeypatch.syspath_prepend(str(first))
        registry = PluginRegistry()
        registry.load([("session", core_plugin)], only={"chat", "notes", "hello", "twin"})
        assert registry.info["twin"].module == "twin_a"
        orders.append(registry.active())
    assert orders[0] == orders[1] == ["session", "chat", "notes", "hello", "twin"]   # core, built-ins, third-party


MISFITS = {
    "grabby": ('[DashboardOption("chat.panel", "Not chat")]', None),
    "borrower": ('[DashboardOption("borrower.panel", "Borrowed", js_module="/static/plugins/chat/chat.js")]', None),
    "climber": ('[DashboardOption("climber.panel", "Climbs", js_module="/static/plugins/climber/../chat/chat.js")]',
                None),
    "corer": ('[DashboardOption("corer.panel", "Core", js_module="/static/core/client.js")]', None),
    "walker": ("[]", "/../../admin"),
    "settler": ('[DashboardOption("settler.panel", "Settles")]', None),
}
MISFIT_ERRORS = {
    "grabby": "plugin 'grabby': dashboard option id 'chat.panel' must be grabby.<name> (its own name first)",
    "borrower": "plugin 'borrower': option 'borrower.panel': js_module '/static/plugins/chat/chat.js' must be one "
                "of its own static files (/static/plugins/borrower/...)",
    "climber": "plugin 'climber': option 'climber.panel': js_module '/static/plugins/climber/../chat/chat.js' must "
               "be one of its own static files (/static/plugins/climber/...)",
    "corer": "plugin 'corer': option 'corer.panel': js_module '/static/core/client.js' must be one of its own "
             "static files (/static/plugins/corer/...)",
    "walker": "plugin 'walker': route path '/../../admin' must not contain ., .., // or \\",
    "csrf_taker": "plugin 'csrf_taker': setting name 'csrf_token' must be lower-case letters, digits and _ "
                  "(and not csrf_token)",
}
MISFIT_SOURCE = '''
    from aiohttp import web
    from host.api import DashboardOption, Setting, hookimpl

    async def page(request):
        return web.Response(text="walked out")

    @hookimpl
    def dashboard_options():
        return {options}

    @hookimpl
    def register_routes(register):
        if {route!r}:
            register("GET", {route!r}, page)

    @hookimpl
    def site_settings():
        return [Setting({setting!r}, "Longest message", "int", 10, min=1, max=50000)]
'''


@pytest.fixture
def misfits(tmp_path, monkeypatch):
    files = {}
    for name, (options, route) in {**MISFITS, "csrf_taker": ("[]", None)}.items():
        setting = "csrf_token" if name == "csrf_taker" else "max_length"   # chat has a max_length too
        files[f"misfit_{name}/__init__.py"] = MISFIT_SOURCE.format(options=options, route=route, setting=setting)
    eps = {name: f"misfit_{name}" for name in (*MISFITS, "csrf_taker")}
    monkeypatch.syspath_prepend(str(make_dist(tmp_path / "misfits", "supporthost-misfits", "0.3", {GROUP: eps},
                                              files)))
    return eps


async def test_options_routes_and_settings_live_under_the_plugins_own_name(tmp_path, misfits):
    host = await start_host(tmp_path / "data", only_plugins={"chat", *misfits})
    try:
        c = await host.client()
        async with c.http.get(c.url("/-/plugins.json")) as r:
            report = {p["name"]: p for p in (await r.json())["plugins"]}
        assert {n: report[n]["error"] for n in MISFIT_ERRORS} == MISFIT_ERRORS
        assert report["chat"]["status"] == "loaded" and report["settler"]["status"] == "loaded"

        rep = await host.rep()
        async with rep.http.get(rep.url("/s/demo/console")) as r:
            console = await r.text()
        assert "/static/plugins/chat/chat.js" in console and "Not chat" not in console   # chat's own option
        mounted = [r.canonical for r in host.app.router.resources()]
        assert not [path for path in mounted if "walker" in path]   # the route that climbed out is not mounted

        # settler's max_length is its own: saving it leaves chat's alone (and the other way round)
        admin = await host.rep("admin")
        r = await admin.post_form("/s/demo/admin/settings/settler", {"max_length": "150"}, csrf_from="/s/demo/admin")
        assert r.status == 200 and "Settings of settler saved." in await r.text()
        assert host.site("demo").settings == {"settler": {"max_length": 150}}
        r = await admin.post_form("/s/demo/admin/settings/chat", {"max_length": "5000"}, csrf_from="/s/demo/admin")
        assert r.status == 200
        assert host.site("demo").settings == {"settler": {"max_length": 150},
                                              "chat": {"max_length": 5000, "rep_chat": False}}
    finally:
        await stop_host(host)


async def test_settings_of_a_switched_off_plugin_are_refused_and_nothing_changes(tmp_path):
    host = await start_host(tmp_path / "data", only_plugins={"chat", "notes"})
    try:
        admin = await host.rep("admin")
        r = await admin.post_form("/s/demo/admin/plugins", {"plugin_notes": "on"}, csrf_from="/s/demo/admin")
        assert r.status == 200 and "chat" in host.site("demo").disabled
        before = await host.db_read(lambda db: db["audit_log"].count)
        r = await admin.post_form("/s/demo/admin/settings/chat", {"max_length": "150", "rep_chat": "on"},
                                  csrf_from="/s/demo/admin")
        assert r.status == 409
        assert ("The chat feature is switched off for this site: switch it on (Features) before changing its "
                "settings. Nothing was saved.") in await r.text()
        assert host.site("demo").settings == {}
        assert await host.db_read(lambda db: db["audit_log"].count) == before
        assert await host.db_read(lambda db: db["site_settings"].count) == 0

        r = await admin.post_form("/s/demo/admin/plugins", {"plugin_notes": "on", "plugin_chat": "on"},
                                  csrf_from="/s/demo/admin")
        r = await admin.post_form("/s/demo/admin/settings/chat", {"max_length": "150", "rep_chat": "on"},
                                  csrf_from="/s/demo/admin")
        assert r.status == 200 and host.site("demo").settings == {"chat": {"max_length": 150, "rep_chat": True}}
    finally:
        await stop_host(host)


def test_a_plugins_version_is_its_dunder_version_else_its_distributions(tmp_path, monkeypatch):
    folder = make_dist(tmp_path / "versions", "supporthost-versions", "2.0",
                       {GROUP: {"versioned": "versioned_plugin", "plain": "plain_plugin"}},
                       {"versioned_plugin/__init__.py": '__version__ = "2.1.3"\n',
                        "plain_plugin/__init__.py": '"""No __version__ here."""\n'})
    monkeypatch.syspath_prepend(str(folder))
    registry = PluginRegistry()
    registry.load([("session", core_plugin)], only={"versioned", "plain"})
    assert registry.info["versioned"].version == "2.1.3"
    assert registry.info["plain"].version == "2.0"
    assert registry.info["plain"].distribution == "supporthost-versions"


async def test_a_setting_of_an_unknown_type_or_a_choice_without_its_default_fails_only_its_plugin(tmp_path):
    import types

    from host.api import Setting, hookimpl

    def plugin(settings):
        @hookimpl
        def site_settings():
            return settings
        return types.SimpleNamespace(site_settings=site_settings, __name__="settings_probe")

    host = await start_host(tmp_path / "data", only_plugins={"chat"}, extra_plugins=[
        ("colourful", plugin([Setting("tint", "Tint", "colour", "red")])),
        ("chooser", plugin([Setting("size", "Size", "choice", "huge", choices=("small", "large"))])),
        ("fine", plugin([Setting("size", "Size", "choice", "small", choices=("small", "large"))]))])
    try:
        c = await host.client()
        async with c.http.get(c.url("/-/plugins.json")) as r:
            report = {p["name"]: p for p in (await r.json())["plugins"]}
        assert report["colourful"]["error"] == ("plugin 'colourful': setting 'tint' has type 'colour'; one of "
                                                "bool, int, str, choice, url, secret, text is needed")
        assert report["chooser"]["error"] == ("plugin 'chooser': choice setting 'size' needs choices that hold "
                                              "its default")
        assert report["fine"]["status"] == "loaded" and report["chat"]["status"] == "loaded"
    finally:
        await stop_host(host)
