"""The password policy (host/password_policy.py) where an admin sets passwords: creating an account and
changing one's password. A refused password gets a clear error and changes nothing."""
from __future__ import annotations

import gzip

from conftest import PASSWORD

from host.password_policy import COMMON_LIST, problem


def test_the_shipped_list_holds_the_100000_most_common_passwords_most_common_first():
    with gzip.open(COMMON_LIST, "rt", encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip("\n") for line in f]
    assert len(lines) == 100_000
    assert lines[:3] == ["123456", "password", "12345678"]
    # Long ones from far down the list are refused too, whatever their case or spaces.
    for common in ("1234567890", "qwertyuiop", "Password123", "ILOVEYOU123", "1q2w3e4r5t", "iloveyou12"):
        assert problem(common) == "This password is one of the 100,000 most common passwords: choose another."
    assert problem("correct horse battery") is None


def test_names_inside_a_password_are_refused_whatever_their_case():
    site = ("acme", "ACME Help Desk")
    assert problem("Ritas-Password-2024!", "ritas", site) == "The password must not contain the username."
    assert problem("we love acme support", "rita", site) == "The password must not contain the site's name."
    assert problem("acmehelpdesk rocks", "rita", site) == "The password must not contain the site's name."
    assert problem("x" * 9) == "The password needs at least 10 characters."
    assert problem("x" * 201 + "Zq9") == "The password may have at most 200 characters."
    assert problem("brown cactus umbrella", "rita", site) is None


async def _user_count(host) -> int:
    return await host.db_read(lambda db: db["users"].count)


async def test_an_admin_cannot_create_an_account_with_a_weak_password(host):
    admin = await host.rep("admin")
    before = await _user_count(host)
    for password, why in (("qwertyuiop", "one of the 100,000 most common passwords"),
                          ("newrep-secret-words", "must not contain the username"),
                          ("Demo Support rules", "must not contain the site&#39;s name"),
                          ("tiny", "at least 10 characters")):
        r = await admin.post_form("/s/demo/admin/users", {"username": "newrep", "display_name": "New Rep",
                                                          "password": password, "role": "rep"},
                                  csrf_from="/s/demo/admin")
        text = await r.text()
        assert r.status == 400 and why in text and "Nothing was saved." in text, (password, text[:300])
    assert await _user_count(host) == before
    r = await admin.post_form("/s/demo/admin/users", {"username": "newrep", "display_name": "New Rep",
                                                      "password": "maple orbit quartz", "role": "rep"},
                              csrf_from="/s/demo/admin")
    assert r.status == 200 and "Account newrep created." in await r.text()
    await (await host.client()).login("newrep", "maple orbit quartz")


async def test_an_admin_cannot_give_an_account_a_weak_password(host):
    rep = await host.rep("rep1")
    admin = await host.rep("admin")
    uid = await host.db_read(lambda db: next(db.query("select id from users where site_id = 1 and username = 'rep1'"))["id"])
    form = {"console": "tray", "mode": "single", "role": "rep", "max_sessions": "1", "active": "on"}
    for password in ("iloveyou123", "Rep1 forever and ever", "demo-password-please"):
        r = await admin.post_form(f"/s/demo/admin/users/{uid}", {**form, "new_password": password},
                                  csrf_from="/s/demo/admin")
        assert r.status == 400 and "Nothing was saved." in await r.text()
    # Nothing changed: not the console, not the password, not the rep's login.
    row = await host.db_read(lambda db: db["users"].get(uid))
    assert row["console"] == "dashboard"
    assert (await rep.http.get(rep.url("/s/demo/api/sessions"))).status == 200
    await (await host.client()).login("rep1", PASSWORD)
