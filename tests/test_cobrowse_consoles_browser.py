"""Co-browse View and Control are offered in the tray and multisession consoles as in the dashboard, and
say there why they cannot start in a session that did not come in from the site's web pages."""
from __future__ import annotations

import pytest
import pytest_asyncio
from playwright.async_api import expect

pytest.register_assert_rewrite("e2e_helpers")
from e2e_helpers import World, customer_joins, login, start_session  # noqa: E402

pytestmark = pytest.mark.browser


@pytest_asyncio.fixture
async def world(browser, host):
    w = World(browser, host)
    yield w
    for p in w.people:
        await p.context.close()


@pytest.mark.parametrize("console", ["tray", "multisession"])
async def test_both_options_are_in_the_tray_and_multisession_consoles_with_the_reason(world, console):
    name = await world.new_rep("Tess Tray", console, mode="multi" if console == "multisession" else "single",
                               max_sessions=3 if console == "multisession" else 1)
    rep = await login(world, name)
    s = await start_session(rep.page)
    view = s["view"]
    await customer_joins(world, s["number"])
    for option in ("cobrowse.view", "cobrowse.control"):
        if console == "tray":
            await view.locator(f'.tray-icons [data-open="{option}"]').click()
        else:
            await view.locator('.tabs .tab[data-tab="application"]:visible').click()
            await view.locator(f'[data-open="{option}"]:visible').click()
        panel = view.locator(f'.panel[data-option="{option}"]')
        await expect(panel).to_be_visible()
        await expect(panel.locator(".cobrowse-status")).to_have_text(
            "Unavailable: needs a session that came in from your web site")
    assert rep.errors == []
