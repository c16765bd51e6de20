"""The admin page's audit section names people and things (not "user:12" or "participant:ab12"), shows each
change as old -> new, and says at its top whether the site's hash chain is intact or where it broke."""
from __future__ import annotations

import re
import sqlite3
from html import unescape

import pytest

from conftest import PASSWORD, start_host, stop_host


def audit_section(html: str) -> str:
    return html[html.index("<h2>Audit log</h2>"):]


def visible(html: str) -> str:
    """The text a person sees: tags and their attributes dropped."""
    return unescape(re.sub(r"<[^>]+>", " ", html))


async def test_the_audit_section_shows_names_and_the_chain_status(host):
    rep = await host.rep("rep1")
    s = await rep.start_session()
    customer = await host.client()
    await customer.join(s["number"], "Carla <b>Customer</b>")
    await (await host.client()).post_form("/s/demo/login", {"username": "rep2", "password": "nope nope nope"},
                                          allow_redirects=False)
    admin = await host.rep("admin")
    r = await admin.post_form("/s/demo/admin/settings/chat", {"max_length": "150", "rep_chat": "on"},
                              csrf_from="/s/demo/admin")
    assert r.status == 200
    html = audit_section(await (await admin.http.get(admin.url("/s/demo/admin"))).text())
    text = visible(html)
    assert "Hash chain intact" in text
    grouped = " ".join(s["number"][i:i + 3] for i in range(0, len(s["number"]), 3))
    assert "Rita Rep (rep1)" in text and f"session {grouped}" in text          # session_started
    assert "Carla <b>Customer</b> (customer)" in text                           # session_joined, as text
    assert "<b>Customer</b>" not in html                                        # never as markup
    assert "somebody at 127.0.0.1" in text and "Sam Second (rep2)" in text      # login_failed
    assert "Ada Admin (admin)" in text and "the chat feature" in text           # settings_changed
    assert "max_length: 4000 \u2192 150" in text and "rep_chat" not in text  # unchanged: not listed
    raw_refs = re.findall(r"\b(?:user|participant|session|address|plugin):\S+", text)
    assert raw_refs == [], f"references shown instead of names: {raw_refs}"


async def test_a_broken_chain_shows_at_the_top_of_the_section(tmp_path):
    host = await start_host(tmp_path / "data")
    try:
        rep = await host.rep("rep1")
        await rep.start_session()
        admin = await host.rep("admin")
        ids = await host.db_read(lambda db: [r["id"] for r in db.query(
            "select id from audit_log where site_id = 1 order by id")])
        assert len(ids) >= 3
        with sqlite3.connect(host.data_dir / "supporthost.db", isolation_level=None) as conn:
            conn.execute("update audit_log set actor = 'user:3' where id = ?", [ids[1]])
        html = audit_section(await (await admin.http.get(admin.url("/s/demo/admin"))).text())
        assert 'data-chain="broken"' in html and 'role="alert"' in html
        assert f"Hash chain broken at row {ids[1]}" in visible(html)
        assert "edited after it was written" in visible(html)
        # the other site's chain is its own
        other = await host.rep("admin", site="other")
        html = audit_section(await (await other.http.get(other.url("/s/other/admin"))).text())
        assert 'data-chain="intact"' in html
    finally:
        await stop_host(host)


async def test_the_page_walks_every_row_again_after_ten_minutes(tmp_path):
    """Between two full walks the page checks the rows written since; an old row edited meanwhile shows at the
    next full walk, and rows cut off the end show at once."""
    from conftest import FakeClock
    from host.audit_verify import FULL_CHECK_EVERY
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock)
    try:
        admin = await host.rep("admin")
        page = lambda: admin.http.get(admin.url("/s/demo/admin"))  # noqa: E731
        assert 'data-chain="intact"' in await (await page()).text()
        first = await host.db_read(lambda db: next(db.query("select min(id) as id from audit_log where site_id = 1")))
        with sqlite3.connect(host.data_dir / "supporthost.db", isolation_level=None) as conn:
            conn.execute("update audit_log set action = 'nothing' where id = ?", [first["id"]])
        await (await host.rep("rep1")).start_session()         # new rows are checked as they come
        assert 'data-chain="intact"' in await (await page()).text()
        clock.advance(FULL_CHECK_EVERY)
        html = await (await page()).text()
        assert 'data-chain="broken"' in html and f"broken at row {first['id']}" in html
        with sqlite3.connect(host.data_dir / "supporthost.db", isolation_level=None) as conn:
            conn.execute("update audit_log set action = 'login' where id = ?", [first["id"]])
        assert 'data-chain="intact"' in await (await page()).text()
        with sqlite3.connect(host.data_dir / "supporthost.db", isolation_level=None) as conn:
            conn.execute("delete from audit_log where id = (select max(id) from audit_log where site_id = 1)")
        html = await (await page()).text()
        assert 'data-chain="broken"' in html and "row(s) after it were deleted" in html
    finally:
        await stop_host(host)


@pytest.mark.browser
async def test_chromium_shows_the_status_and_names(host, browser, tmp_path):
    from playwright.async_api import expect
    rep = await host.rep("rep1")
    await rep.start_session()
    context = await browser.new_context(base_url=host.base)
    page = await context.new_page()
    await page.goto("/s/demo/login")
    await page.fill("input[name=username]", "admin")
    await page.fill("input[name=password]", PASSWORD)
    await page.click(".login-form button[type=submit]")
    await page.wait_for_url("**/s/demo/console")
    await page.goto("/s/demo/admin")
    status = page.locator(".audit-chain")
    await expect(status).to_be_visible()
    await expect(status).to_contain_text("Hash chain intact")
    started = page.locator("table.audit tr", has_text="session_started")
    await expect(started.locator("td").nth(2)).to_have_text("Rita Rep (rep1)")
    assert await page.locator(".flash.ok").count() == 0   # the status is no saved-form message
    await page.locator("table.audit").screenshot(path=str(tmp_path / "audit.png"))
    await context.close()
