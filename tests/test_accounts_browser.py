"""In headless Chromium: the admin page states the password rules, shows the policy's error when an admin
gives a rep a common password (nothing saved), and shows the idle timeout setting."""
from __future__ import annotations

from playwright.async_api import expect

from conftest import PASSWORD


async def test_the_admin_page_explains_a_refused_password(host, browser):
    context = await browser.new_context(base_url=host.base)
    page = await context.new_page()
    try:
        await page.goto("/s/demo/login")
        await page.fill("input[name=username]", "admin")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.goto("/s/demo/admin")
        await expect(page.locator(".site-form input[name=idle_minutes]")).to_have_value("30")
        await expect(page.locator("text=must not be one of the 100,000 most common")).to_be_visible()
        row = page.locator('tr[data-user="rep1"]')
        await row.locator("input[name=new_password]").fill("iloveyou123")
        await row.locator("button[type=submit]").click()
        await expect(page.locator(".flash.error")).to_have_text(
            "This password is one of the 100,000 most common passwords: choose another. Nothing was saved.")
        rep = await host.client()
        await rep.login("rep1")     # the old password still works
    finally:
        await context.close()


async def test_an_open_console_goes_to_the_login_when_the_password_changes(host, browser):
    context = await browser.new_context(base_url=host.base)
    page = await context.new_page()
    try:
        await page.goto("/s/demo/login")
        await page.fill("input[name=username]", "rep1")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url("**/s/demo/console")
        await page.wait_for_timeout(500)    # the console's feed is open
        admin = await host.rep("admin")
        uid = await host.db_read(lambda db: next(db.query(
            "select id from users where site_id = 1 and username = 'rep1'"))["id"])
        r = await admin.post_form(f"/s/demo/admin/users/{uid}", {
            "console": "dashboard", "mode": "single", "role": "rep", "max_sessions": "1", "active": "on",
            "new_password": "plum tractor velvet 42"}, csrf_from="/s/demo/admin")
        assert r.status == 200
        await page.wait_for_url("**/s/demo/login?next=*", timeout=5000)
        await expect(page.locator("input[name=password]")).to_be_visible()
    finally:
        await context.close()
