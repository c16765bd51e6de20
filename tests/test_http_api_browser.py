"""End to end, in headless Chromium: a rep opens API tokens from the top bar, makes a token, sees it once,
a script uses it, and the rep revokes it; a rep is never offered the admin scope."""
import aiohttp
import pytest
from playwright.async_api import expect

pytest.register_assert_rewrite("e2e_helpers")
from e2e_helpers import E2E, login, shot  # noqa: E402

pytestmark = E2E
pytest_plugins = ["e2e_helpers"]


async def call_me(host, token: str) -> int:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{host.base}/s/demo/api/v1/me", headers={"Authorization": f"Bearer {token}"}) as r:
            return r.status


async def test_a_rep_makes_sees_once_uses_and_revokes_a_token_in_the_browser(world):
    username = await world.new_rep("Tina Tokens")
    rep = await login(world, username)
    page = rep.page
    await page.get_by_role("link", name="API tokens").click()
    await page.wait_for_url("**/s/demo/tokens")
    await expect(page.locator("input[name=scope_admin]")).to_have_count(0)   # a rep cannot ask for admin
    await expect(page.locator(".token-list")).to_contain_text("You have no API tokens.")

    await page.fill("input[name=name]", "Helpdesk sync")
    await page.locator("input[name=scope_reports]").check()
    await page.fill("input[name=expires_days]", "30")
    await page.get_by_role("button", name="Make token").click()
    shown = page.locator("input.token-value")
    await expect(shown).to_be_visible()
    token = await shown.input_value()
    assert token.startswith("sht_")
    await expect(page.locator(".flash.ok")).to_contain_text("shown only this once")
    row = page.locator(".token-list tbody tr").filter(has_text="Helpdesk sync")
    await expect(row).to_contain_text("sessions reports")
    await expect(row).to_contain_text(token[-4:])
    await shot(page, "api-token-made")
    assert await call_me(world.host, token) == 200

    await page.goto("/s/demo/tokens")          # shown once: not on the page again
    await expect(page.locator("input.token-value")).to_have_count(0)
    assert token not in await page.content()

    await row.get_by_role("button", name="Revoke Helpdesk sync").click()
    await page.wait_for_url("**/s/demo/tokens")
    await expect(page.locator(".token-list tbody tr").filter(has_text="Helpdesk sync")).to_contain_text("revoked")
    assert await call_me(world.host, token) == 401
    assert rep.errors == []
