"""The audit log gets a row for each event a security review asks for: failed logins (the username tried and
the address, never the password), logouts, sessions started and joined (with the address), basic-file
downloads, password resets on the command line, and settings, site and feature changes with old -> new
values (a secret's value never). Over real HTTP on a real host; the chain stays intact throughout."""
from __future__ import annotations

import json

import aiohttp

from conftest import PASSWORD
from host.audit_verify import verify_chain
from host.cli import main
from host.appkeys import PLUGINS

WRONG = "wrong horse battery staple"


async def rows(host, action: str) -> list[dict]:
    found = await host.db_read(lambda db: list(db.query(
        "select * from audit_log where action = ? order by id", [action])))
    for row in found:
        row["details"] = json.loads(row["details"])
    return found


async def user_id(host, username: str, site_id: int = 1) -> int:
    return (await host.db_read(lambda db: next(db.query(
        "select id from users where site_id = ? and username = ?", [site_id, username]))))["id"]


async def assert_chain_intact(host):
    for site_id in (1, 2):
        report = await host.db_read(lambda db: verify_chain(db, site_id))
        assert report.intact, report.problem


async def login(client, username, password):
    return await client.post_form("/s/demo/login", {"username": username, "password": password},
                                  allow_redirects=False)


async def test_failed_logins_are_audited_without_the_password(host):
    c = await host.client()
    assert (await login(c, "rep1", WRONG)).status == 401
    assert (await login(c, "nobody", WRONG)).status == 401
    failed = await rows(host, "login_failed")
    rep1 = await user_id(host, "rep1")
    assert [(r["actor"], r["target"], r["details"]["username"]) for r in failed] == [
        ("address:127.0.0.1", f"user:{rep1}", "rep1"), ("address:127.0.0.1", "", "nobody")]
    assert all(r["details"]["address"] == "127.0.0.1" and r["site_id"] == 1 for r in failed)
    everything = await host.db_read(lambda db: list(db.query("select * from audit_log")))
    assert WRONG not in json.dumps(everything)
    await assert_chain_intact(host)


async def test_logins_refused_on_a_locked_account_are_audited(host):
    c = await host.client()
    for _ in range(host.config.login_failures_before_lockout):
        await login(c, "rep2", WRONG)
    r = await login(await host.client(), "rep2", PASSWORD)
    assert r.status == 423
    failed = await rows(host, "login_failed")
    assert failed[-1]["details"]["why"] == "locked" and failed[-1]["details"]["username"] == "rep2"
    assert PASSWORD not in json.dumps(failed)


async def test_logout_is_audited_with_the_address(host):
    rep = await host.rep("rep1")
    r = await rep.post_form("/s/demo/logout", {}, csrf_from="/s/demo/console", allow_redirects=False)
    assert r.status == 302
    out = await rows(host, "logout")
    assert [(r["actor"], r["details"]) for r in out] == [(f"user:{await user_id(host, 'rep1')}",
                                                          {"address": "127.0.0.1"})]
    # logging out without a login writes nothing
    stranger = await host.client()
    await stranger.post_form("/s/demo/logout", {}, allow_redirects=False)
    assert len(await rows(host, "logout")) == 1


async def test_session_start_and_join_are_audited_with_addresses(host):
    rep = await host.rep("rep1")
    s = await rep.start_session()
    customer = await host.client()
    assert (await customer.join(s["number"], "Carla Customer")).status == 302
    started = await rows(host, "session_started")
    assert len(started) == 1 and started[0]["actor"] == f"user:{await user_id(host, 'rep1')}"
    assert started[0]["target"] == f"session:{s['id']}"
    assert started[0]["details"] == {"number": s["number"], "kind": "outbound", "address": "127.0.0.1"}
    joined = await rows(host, "session_joined")
    pid = (await host.db_read(lambda db: next(db.query(
        "select id from participants where session_id = ? and role = 'customer'", [s["id"]]))))["id"]
    assert [(j["actor"], j["target"], j["details"]) for j in joined] == [
        (f"participant:{pid}", f"session:{s['id']}",
         {"role": "customer", "name": "Carla Customer", "address": "127.0.0.1"})]
    # a wrong number is no join
    assert (await (await host.client()).join("123456789", "Eve")).status == 404
    assert len(await rows(host, "session_joined")) == 1
    await assert_chain_intact(host)


async def test_basic_file_downloads_are_audited(host):
    rep = await host.rep("rep1")
    s = await rep.start_session()
    customer = await host.client()
    await customer.join(s["number"], "Carla")
    form = aiohttp.FormData()
    form.add_field("file", b"hello", filename="notes.txt", content_type="text/plain")
    r = await rep.http.post(rep.url(f"/s/demo/p/filexfer_basic/sessions/{s['id']}/files"), data=form,
                            headers={"X-CSRF-Token": await rep.csrf("/s/demo/")})
    assert r.status == 201, await r.text()
    url = (await r.json())["files"][0]["url"]
    async with customer.http.get(customer.url(url)) as got:
        assert got.status == 200 and await got.read() == b"hello"
    stranger = await host.client()
    async with stranger.http.get(stranger.url(url)) as got:
        assert got.status == 403   # refused: not a download
    downloads = await rows(host, "file_downloaded")
    assert len(downloads) == 1
    d = downloads[0]
    assert d["actor"].startswith("participant:") and d["target"] == f"session:{s['id']}"
    assert d["details"]["name"] == "notes.txt" and d["details"]["address"] == "127.0.0.1"
    await assert_chain_intact(host)


async def test_a_password_reset_on_the_command_line_is_audited(host, capsys):
    assert main(["--data", str(host.data_dir), "reset-password", "demo", "rep2"]) == 0
    new_password = capsys.readouterr().out.split(": ")[-1].strip()
    resets = await rows(host, "password_reset")
    assert [(r["actor"], r["target"], r["site_id"]) for r in resets] == [
        ("cli", f"user:{await user_id(host, 'rep2')}", 1)]
    assert new_password not in json.dumps(resets)
    assert main(["--data", str(host.data_dir), "reset-password", "demo", "nobody"]) == 2
    assert len(await rows(host, "password_reset")) == 1
    # the host's own writer goes on after the command wrote to the chain
    c = await host.client()
    await login(c, "rep2", WRONG)
    await assert_chain_intact(host)


async def test_settings_changes_show_old_and_new_values_and_mask_secrets(host):
    admin = await host.rep("admin")
    form = {"smtp_host": "mail.example.org", "smtp_port": "587", "smtp_security": "starttls",
            "smtp_password": "hunter2-secret", "rep_link_minutes": "60", "smtp_timeout": "15",
            "webhook_timeout": "10"}
    r = await admin.post_form("/s/demo/admin/settings/invite", form, csrf_from="/s/demo/admin")
    assert r.status == 200, await r.text()
    form.update(smtp_host="smtp.example.org", smtp_password="", smtp_port="465")   # blank: keep the secret
    r = await admin.post_form("/s/demo/admin/settings/invite", form, csrf_from="/s/demo/admin")
    assert r.status == 200
    form.update(smtp_password="another-secret")
    await admin.post_form("/s/demo/admin/settings/invite", form, csrf_from="/s/demo/admin")
    changed = await rows(host, "settings_changed")
    assert [c["target"] for c in changed] == ["plugin:invite"] * 3
    assert changed[0]["details"] == {"smtp_host": {"old": "", "new": "mail.example.org"},
                                     "smtp_password": {"old": "", "new": "\u2022\u2022\u2022 (changed)"}}
    assert changed[1]["details"] == {"smtp_host": {"old": "mail.example.org", "new": "smtp.example.org"},
                                     "smtp_port": {"old": 587, "new": 465}}
    assert changed[2]["details"] == {"smtp_password": {"old": "\u2022\u2022\u2022",
                                                       "new": "\u2022\u2022\u2022 (changed)"}}
    text = json.dumps(await host.db_read(lambda db: list(db.query("select * from audit_log"))))
    assert "hunter2" not in text and "another-secret" not in text
    # a refused change is no change
    r = await admin.post_form("/s/demo/admin/settings/invite", {**form, "smtp_port": "0"},
                              csrf_from="/s/demo/admin")
    assert r.status == 400 and len(await rows(host, "settings_changed")) == 3


async def test_site_and_feature_changes_show_what_changed(host):
    admin = await host.rep("admin")
    r = await admin.post_form("/s/demo/admin/site", {"name": "Demo Helpdesk", "public_url": ""},
                              csrf_from="/s/demo/admin")
    assert r.status == 200
    site = await rows(host, "site_changed")
    assert site[-1]["details"] == {"name": {"old": "Demo support", "new": "Demo Helpdesk"}}
    optional = sorted(host.app[PLUGINS].optional())
    keep = {f"plugin_{n}": "on" for n in optional if n != "chat"}
    await admin.post_form("/s/demo/admin/plugins", keep, csrf_from="/s/demo/admin")
    await admin.post_form("/s/demo/admin/plugins", {**keep, "plugin_chat": "on"}, csrf_from="/s/demo/admin")
    changes = await rows(host, "plugins_changed")
    assert [(c["details"]["switched_off"], c["details"]["switched_on"]) for c in changes] == [
        (["chat"], []), ([], ["chat"])]
    await assert_chain_intact(host)
