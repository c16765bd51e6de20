"""supporthost-hello tests itself with the test kit that ships with supporthost (the pytest plugin
``supporthost``): a real host with only this plugin, a rep, a customer and their sockets. Nothing here
comes from the host's own tests folder. Run from this folder: ``pytest``."""
import pytest

pytestmark = pytest.mark.supporthost(plugins=["hello"])


async def test_a_wave_from_the_customer_reaches_the_rep(rep_socket, customer_socket):
    ok = await customer_socket.request({"type": "hello.wave", "to": "the rep"})
    assert ok["type"] == "hello.ok"
    assert await rep_socket.expect("hello.waved") == {"type": "hello.waved", "by": "Carla Customer",
                                                      "to": "the rep"}


async def test_a_wave_with_a_long_text_is_refused_and_the_socket_stays_up(rep_socket, customer_socket):
    refused = await customer_socket.request({"type": "hello.wave", "to": "x" * 41})
    assert refused["type"] == "error" and refused["error"] == "to must be a short text"
    assert (await rep_socket.request({"type": "hello.wave"}))["type"] == "hello.ok"
    assert (await customer_socket.expect("hello.waved"))["by"] == "Rita Rep"


async def test_the_host_loads_only_the_plugins_the_test_asks_for(host):
    client = await host.client()
    async with client.http.get(client.url("/-/plugins.json")) as r:
        plugins = {p["name"]: p for p in (await r.json())["plugins"]}
    assert plugins["hello"]["status"] == "loaded" and plugins["hello"]["version"] == "0.1.0"
    assert "chat" not in plugins


async def test_the_about_page_uses_its_template_and_nested_style_sheet(rep):
    async with rep.http.get(rep.url("/s/demo/p/hello/")) as r:
        assert r.status == 200
        page = await r.text()
    assert "Hello, Rita Rep." in page and "/static/plugins/hello/css/hello.css" in page
    async with rep.http.get(rep.url("/static/plugins/hello/css/hello.css")) as r:
        assert r.status == 200 and ".hello-about" in await r.text()


async def test_the_greeting_route_answers_json_and_401_json_without_a_login(host, rep):
    async with rep.http.get(rep.url("/s/demo/p/hello/api/greeting")) as r:
        assert r.status == 200 and await r.json() == {"greeting": "Hello, Rita Rep!"}
    stranger = await host.client()
    async with stranger.http.get(stranger.url("/s/demo/p/hello/api/greeting"), allow_redirects=False) as r:
        assert r.status == 401 and r.content_type == "application/json"
        assert await r.json() == {"error": {"code": "unauthorized", "message": "Please log in."}}
