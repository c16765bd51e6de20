"""Notes end to end in headless Chromium: typed notes are saved by themselves, come back after a reload
(also when the reload came before the autosave), and show in the CSR activity report."""
from __future__ import annotations

import pytest
from playwright.async_api import expect

from test_invite_browser import login, open_option, start_session

pytestmark = pytest.mark.browser


async def test_notes_autosave_survive_reload_and_reach_the_report(host, browser):
    rep = await login(browser, host, "rep1")
    page = rep.page
    s = await start_session(page)
    await open_option(s["view"], "notes.panel")
    area = page.locator(".notes-text:visible")
    await expect(area).to_have_attribute("data-loaded", "1")
    await area.fill("Customer's printer jams on page 2.")
    await expect(page.locator(".notes-status:visible")).to_contain_text("Saved at")   # no button pressed

    async def stored():
        return await host.db_read(lambda db: [r["text"] for r in db["session_notes"].rows])
    assert await stored() == ["Customer's printer jams on page 2."]

    await page.reload()
    await open_option(page.locator(f'.session[data-session="{s["id"]}"]'), "notes.panel")
    area = page.locator(".notes-text:visible")
    await expect(area).to_have_value("Customer's printer jams on page 2.")

    # typed, and the page reloaded before the autosave went out: the browser kept it and sends it now
    await area.press("End")
    await area.type(" Replaced the roller.", delay=5)
    await page.reload()
    await open_option(page.locator(f'.session[data-session="{s["id"]}"]'), "notes.panel")
    area = page.locator(".notes-text:visible")
    await expect(area).to_have_value("Customer's printer jams on page 2. Replaced the roller.")
    await expect(page.locator(".notes-status:visible")).to_contain_text("Saved at")
    assert await stored() == ["Customer's printer jams on page 2. Replaced the roller."]

    await page.locator(".notes-save:visible").click()
    await expect(page.locator(".notes-status:visible")).to_contain_text("Saved to the report")

    await page.goto("/s/demo/p/report/")
    row = page.locator(f'tr[data-session="{s["id"]}"]')
    await expect(row.locator("td.notes")).to_have_text("Customer's printer jams on page 2. Replaced the roller.")
    await expect(page.locator('svg.chart-days rect.bar[data-count="1"]')).to_be_visible()
    assert rep.errors == []
