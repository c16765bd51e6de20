"""Two sites on one host (demo and other): accounts, logins, settings, enabled plugins and audit logs
stay apart."""
from __future__ import annotations

import json
import re

from yarl import URL

from conftest import PASSWORD
from host.appkeys import PLUGINS


def _page_data(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
                      .group(1))


async def _option_ids(client, site: str) -> set[str]:
    html = await (await client.http.get(client.url(f"/s/{site}/console"))).text()
    options = _page_data(html)["options"]
    return {o["id"] for role_options in options.values() for o in role_options}


async def _chat_session(host, site: str):
    rep = await host.rep("rep1", site=site)
    s = await rep.start_session()
    ws = await rep.ws(s["id"])
    return rep, s, ws


async def test_a_login_of_one_site_is_no_login_on_the_other(host):
    demo_rep = await host.rep("rep1", site="demo")
    token = next(c.value for c in demo_rep.http.cookie_jar if c.key == "sh_auth_demo")
    # The demo cookie is not even sent to the other site (its path is /s/demo) ...
    r = await demo_rep.http.get(demo_rep.url("/s/other/api/sessions"))
    assert r.status == 401
    # ... and put under the other site's name it is still refused.
    thief = await host.client()
    thief.http.cookie_jar.update_cookies({"sh_auth_other": token}, URL(host.base + "/s/other/login"))
    assert (await thief.http.get(thief.url("/s/other/api/sessions"))).status == 401
    r = await thief.http.get(thief.url("/s/other/console"), allow_redirects=False)
    assert r.status == 302 and r.headers["Location"].startswith("/s/other/login")
    r = await thief.api_post("/s/other/api/sessions")
    assert r.status == 401
    assert await host.db_read(lambda db: db["support_sessions"].count) == 0
    # The demo admin is no admin of the other site.
    demo_admin = await host.rep("admin", site="demo")
    r = await demo_admin.http.get(demo_admin.url("/s/other/admin"), allow_redirects=False)
    assert r.status == 302 and "/s/other/login" in r.headers["Location"]


async def test_each_site_has_its_own_accounts(host):
    demo_admin = await host.rep("admin", site="demo")
    r = await demo_admin.post_form("/s/demo/admin/users", {"username": "demoonly", "password": "stone river pw1"},
                                   csrf_from="/s/demo/admin")
    assert r.status == 200 and "Account demoonly created" in await r.text()
    other_admin = await host.rep("admin", site="other")
    page = await (await other_admin.http.get(other_admin.url("/s/other/admin"))).text()
    assert "demoonly" not in page
    c = await host.client()
    assert (await c.post_form("/s/other/login", {"username": "demoonly", "password": "stone river pw1"},
                              allow_redirects=False)).status == 401
    # Same username on both sites, different passwords after the other admin changes one.
    other_rep1 = await host.db_read(lambda db: next(db.query(
        "select u.id from users u join sites s on s.id = u.site_id where s.slug = 'other' and u.username = 'rep1'"
    ))["id"])
    r = await other_admin.post_form(f"/s/other/admin/users/{other_rep1}", {
        "console": "dashboard", "mode": "single", "role": "rep", "max_sessions": "1", "active": "on",
        "new_password": "a fresh second secret"}, csrf_from="/s/other/admin")
    assert r.status == 200
    assert (await c.post_form("/s/other/login", {"username": "rep1", "password": PASSWORD},
                              allow_redirects=False)).status == 401
    assert (await c.post_form("/s/demo/login", {"username": "rep1", "password": PASSWORD},
                              allow_redirects=False)).status == 302
    # The demo admin cannot change an account of the other site through its own site's form.
    r = await demo_admin.post_form(f"/s/demo/admin/users/{other_rep1}", {
        "console": "tray", "mode": "single", "role": "admin", "max_sessions": "1", "active": "on"},
        csrf_from="/s/demo/admin")
    assert r.status == 404 and "No such account on this site" in await r.text()
    row = await host.db_read(lambda db: db["users"].get(other_rep1))
    assert row["role"] == "rep" and row["console"] == "dashboard"
    # Audit logs stay apart too.
    page = await (await other_admin.http.get(other_admin.url("/s/other/admin"))).text()
    assert "user_created" not in page and "user_updated" in page


async def test_disabling_chat_on_one_site_leaves_the_other_alone(host):
    demo_rep, demo_s, demo_ws = await _chat_session(host, "demo")
    other_rep, other_s, other_ws = await _chat_session(host, "other")
    assert "chat.panel" in await _option_ids(demo_rep, "demo")
    admin = await host.rep("admin", site="demo")
    keep = {f"plugin_{n}": "on" for n in host.app[PLUGINS].optional() if n != "chat"}
    r = await admin.post_form("/s/demo/admin/plugins", keep, csrf_from="/s/demo/admin")
    assert r.status == 200

    # demo: the option is gone from every console and the messages are refused.
    assert "chat.panel" not in await _option_ids(demo_rep, "demo")
    for console in ("tray", "multisession"):
        uid = await host.db_read(lambda db: next(db.query(
            "select u.id from users u join sites s on s.id = u.site_id where s.slug = 'demo' and u.username = 'rep1'"
        ))["id"])
        await admin.post_form(f"/s/demo/admin/users/{uid}", {"console": console, "mode": "single", "role": "rep",
                                                             "max_sessions": "1", "active": "on"},
                              csrf_from="/s/demo/admin")
        assert "chat.panel" not in await _option_ids(demo_rep, "demo")
    cust = await host.client()
    await cust.join(demo_s["number"], "Carla", site="demo")
    html = await (await cust.http.get(cust.url(f"/s/demo/session/{demo_s['id']}"))).text()
    assert "chat.panel" not in {o["id"] for o in _page_data(html)["options"]}
    err = await demo_ws.request({"type": "chat.send", "text": "hi"})
    assert err["code"] == "disabled"

    # other: untouched.
    assert "chat.panel" in await _option_ids(other_rep, "other")
    assert (await other_ws.request({"type": "chat.send", "text": "hi"}))["type"] == "chat.ack"
    report = await (await cust.http.get(cust.url("/-/plugins.json"))).json()
    chat = next(p for p in report["plugins"] if p["name"] == "chat")
    assert chat["enabled"] == {"demo": False, "other": True}
    assert host.site("other").disabled == frozenset()

    # Switching it back on brings it back for demo.
    everything = {f"plugin_{n}": "on" for n in host.app[PLUGINS].optional()}
    await admin.post_form("/s/demo/admin/plugins", everything, csrf_from="/s/demo/admin")
    assert (await demo_ws.request({"type": "chat.send", "text": "back"}))["type"] == "chat.ack"


async def test_each_site_has_its_own_settings(host):
    demo_rep, demo_s, demo_ws = await _chat_session(host, "demo")
    other_rep, other_s, other_ws = await _chat_session(host, "other")
    other_admin = await host.rep("admin", site="other")
    r = await other_admin.post_form("/s/other/admin/settings/chat", {"max_length": "150", "rep_chat": "on"},
                                    csrf_from="/s/other/admin")
    assert r.status == 200 and "Settings of chat saved" in await r.text()
    err = await other_ws.request({"type": "chat.send", "text": "x" * 151})
    assert err["type"] == "error" and "at most 150 characters" in err["error"]
    assert (await other_ws.request({"type": "chat.send", "text": "x" * 150}))["type"] == "chat.ack"
    assert (await demo_ws.request({"type": "chat.send", "text": "x" * 151}))["type"] == "chat.ack"
    # A bad value is refused with a message and changes nothing.
    r = await other_admin.post_form("/s/other/admin/settings/chat", {"max_length": "lots"},
                                    csrf_from="/s/other/admin")
    assert r.status == 400
    assert host.site("other").settings["chat"]["max_length"] == 150
    assert "chat" not in host.site("demo").settings


async def test_admin_sets_the_site_name_and_public_address_and_bad_addresses_are_refused(host):
    admin = await host.rep("admin")
    r = await admin.post_form("/s/demo/admin/site", {"name": "Acme help", "public_url": "javascript:alert(1)"})
    assert r.status == 400 and "public address must be" in await r.text()
    r = await admin.post_form("/s/demo/admin/site", {"name": "  ", "public_url": ""})
    assert r.status == 400 and "site name" in await r.text()
    assert host.site("demo").public_url == "" and host.site("demo").name == "Demo support"

    r = await admin.post_form("/s/demo/admin/site", {"name": "Acme help", "public_url": "https://help.acme.test/s/demo/"})
    assert r.status == 200 and "Site saved" in await r.text()
    assert host.site("demo").public_url == "https://help.acme.test/s/demo"
    # Customers are now told the public address, and sockets from that origin are accepted.
    rep = await host.rep("rep1")
    s = await rep.start_session()
    assert s["invitation"].startswith("Go to https://help.acme.test/s/demo ")
    cust = await host.client()
    await cust.join(s["number"], "Carla")
    sock = await cust.ws(s["id"], origin="https://help.acme.test")
    assert sock.hello["you"]["name"] == "Carla"
    # A rep cannot change the site.
    r = await rep.post_form("/s/demo/admin/site", {"name": "Mine", "public_url": ""})
    assert r.status == 403 and host.site("demo").name == "Acme help"
