"""End to end, in headless Chromium: a rep in each of the three consoles starts a session, a customer joins
it by number from the site's join page, and they chat both ways. Separate browser contexts are separate people."""
import re

import pytest
from playwright.async_api import expect

pytest.register_assert_rewrite("e2e_helpers")   # it is also the plugin named in pytest_plugins below
from e2e_helpers import (E2E, chat_line, customer_joins, login, open_option, say,
                         shot, start_session, watch)

pytestmark = E2E
pytest_plugins = ["e2e_helpers"]   # its fixtures: world (and the shared browser and host)


async def open_chat(page, view, console):
    if console == "tray":
        await view.locator('.tray-icons [data-open="chat.panel"]').click()
    else:
        await open_option(view, "chat.panel", tab="tools")
    await expect(view.locator(".chat-input")).to_be_visible()


@pytest.mark.parametrize("console", ["dashboard", "tray", "multisession"])
async def test_rep_in_each_console_starts_a_session_the_customer_joins_and_they_chat(world, console):
    host = world.host
    rita = await world.new_rep("Rita Rep", console, mode="multi" if console == "multisession" else "single",
                               max_sessions=3 if console == "multisession" else 1)
    rep = await login(world, rita)
    page = rep.page
    await expect(page.locator("body")).to_have_class(re.compile(rf"\bconsole-{console}\b"))

    s = await start_session(page)
    view, number = s["view"], s["number"]
    assert len(number) >= 9
    # What the rep reads out on the phone is on screen: the number, the invitation and the join link.
    await expect(view.locator(".session-number")).to_be_visible()
    grouped = " ".join(number[i:i + 3] for i in range(0, len(number), 3))
    await expect(view.locator(".session-number")).to_have_text(grouped)
    invitation = view.locator(".invitation-text")
    await expect(invitation).to_be_visible()
    await expect(invitation).to_have_text(f"Go to {host.base}/s/demo and enter the session number {grouped}.")
    link = view.locator("a.join-link")
    await expect(link).to_be_visible()
    assert await link.get_attribute("href") == f"{host.base}/s/demo/join?n={number}"
    if console == "tray":
        await shot(page, "console-tray-new-session")

    customer = await customer_joins(world, number, "Carla Customer")
    cpage = customer.page
    # The rep sees the customer join, live (no reload).
    await expect(view.locator(".roster .person", has_text="Carla Customer")).to_be_visible()
    await expect(view.locator(".notices")).to_contain_text("Carla Customer joined the session")
    await expect(page.locator(f'.session-list [data-session="{s["id"]}"]')).to_contain_text("Carla Customer")
    await expect(cpage.locator(".session-number")).to_have_text(grouped)
    await expect(cpage.locator(".roster")).to_contain_text("Rita Rep")

    if console == "tray":
        # The chat panel is closed: what the customer writes shows as a badge on the chat icon.
        await say(cpage, "Hello? Anybody there?")
        await expect(view.locator('.tray-icons [data-open="chat.panel"] .badge')).to_have_text("1")
    await open_chat(page, view, console)
    await expect(view.locator('[data-open="chat.panel"] .badge')).to_have_text("")

    await say(cpage, "Hello, my printer is on fire")
    await expect(chat_line(view, "Carla Customer", "Hello, my printer is on fire")).to_be_visible()
    await say(view, "Please step away from the printer")
    await expect(chat_line(cpage, "Rita Rep", "Please step away from the printer")).to_be_visible()
    await expect(chat_line(cpage, "Carla Customer", "Hello, my printer is on fire")).to_have_class(
        re.compile(r"\bmine\b"))

    await shot(page, f"console-{console}")
    if console == "dashboard":
        await shot(cpage, "customer")
    assert rep.errors == [] and customer.errors == []


async def test_multisession_window_badges_the_session_whose_customer_writes(world):
    sam = await world.new_rep("Sam Second", "multisession", mode="multi", max_sessions=3)
    rep = await login(world, sam)
    page = rep.page
    first = await start_session(page)
    anna = await customer_joins(world, first["number"], "Anna First")
    await expect(first["view"].locator(".roster")).to_contain_text("Anna First")
    second = await start_session(page)
    ben = await customer_joins(world, second["number"], "Ben Second")

    items = page.locator(".session-list [data-session]")
    await expect(items).to_have_count(2)
    item_a = page.locator(f'.session-list [data-session="{first["id"]}"]')
    item_b = page.locator(f'.session-list [data-session="{second["id"]}"]')
    await expect(item_b).to_have_class(re.compile(r"\bselected\b"))
    await expect(item_b).to_contain_text("Ben Second")
    await expect(item_a).to_contain_text("Anna First")
    view_a = page.locator(f'.session[data-session="{first["id"]}"]')
    view_b = page.locator(f'.session[data-session="{second["id"]}"]')
    await expect(view_a).to_be_hidden()
    await expect(view_b).to_be_visible()

    # Anna writes in the session that is not selected: its entry gets an unread badge, Ben's does not.
    await say(anna.page, "Still waiting here")
    await expect(item_a.locator(".badge")).to_have_text("1")
    await say(anna.page, "Hello?")
    await expect(item_a.locator(".badge")).to_have_text("2")
    await expect(item_b.locator(".badge")).to_have_text("")
    # Ben writes in the selected session: it shows in the open chat, no badge.
    await say(ben.page, "Thanks for the help")
    await expect(chat_line(view_b, "Ben Second", "Thanks for the help")).to_be_visible()
    await expect(item_b.locator(".badge")).to_have_text("")

    await item_a.locator("button").click()
    await expect(view_a).to_be_visible()
    await expect(view_b).to_be_hidden()
    await expect(item_a.locator(".badge")).to_have_text("")
    await expect(chat_line(view_a, "Anna First", "Still waiting here")).to_be_visible()
    await say(view_a, "Sorry, I am here now")
    await expect(chat_line(anna.page, "Sam Second", "Sorry, I am here now")).to_be_visible()
    # Nothing crosses between the two sessions.
    await expect(chat_line(ben.page, "Sam Second", "Sorry, I am here now")).to_have_count(0)
    await expect(chat_line(view_b, "Anna First", "Still waiting here")).to_have_count(0)
    await shot(page, "console-multisession-two")
    assert rep.errors == [] and anna.errors == [] and ben.errors == []


async def test_tray_pops_out_into_its_own_small_window_and_works_there(world):
    rita = await world.new_rep("Rita Rep", "tray")
    rep = await login(world, rita, real_windows=True)
    # The tray moves where the rep drags it by its handle.
    page = rep.page
    before = await page.locator(".tray").bounding_box()
    handle = await page.locator(".tray-handle").bounding_box()
    await page.mouse.move(handle["x"] + 5, handle["y"] + 5)
    await page.mouse.down()
    await page.mouse.move(handle["x"] + 305, handle["y"] + 105, steps=4)
    await page.mouse.up()
    after = await page.locator(".tray").bounding_box()
    assert (round(after["x"] - before["x"]), round(after["y"] - before["y"])) == (300, 100)
    async with rep.context.expect_page() as popup_info:
        await rep.page.locator(".pop-out").click()
    popup = await popup_info.value
    watch(rep, popup)
    await popup.wait_for_load_state()
    assert popup.url.endswith("/s/demo/tray")
    await expect(rep.page.locator(".popped-out")).to_contain_text("open in its own small window")
    await expect(popup.locator("header.top")).to_have_count(0)   # icons only: no page header
    await expect(popup.locator(".tray")).to_be_visible()
    assert await popup.evaluate("innerWidth") < 200   # small: the icons only

    s = await start_session(popup)
    view = s["view"]
    await expect(view.locator(".invitation-text")).to_be_visible()
    customer = await customer_joins(world, s["number"], "Pat Popup")
    await expect(popup.locator(f'.session-list [data-session="{s["id"]}"]')).to_contain_text("Pat Popup")
    await view.locator('.tray-icons [data-open="chat.panel"]').click()
    # With a panel open (here the session's number and invitation, opened by itself for a new session,
    # then the chat) the small window widens so the panel beside the icons can be seen.
    await popup.wait_for_function("() => innerWidth > 400")
    box = await view.locator(".chat-input").bounding_box()
    assert box["x"] + box["width"] <= await popup.evaluate("innerWidth")
    await say(customer.page, "Can you hear me?")
    await expect(chat_line(view, "Pat Popup", "Can you hear me?")).to_be_visible()
    await say(view, "Loud and clear")
    await expect(chat_line(customer.page, "Rita Rep", "Loud and clear")).to_be_visible()
    # The icon again closes the panel.
    await view.locator('.tray-icons [data-open="chat.panel"]').click()
    await expect(view.locator(".chat-input")).to_be_hidden()
    await popup.wait_for_function("() => innerWidth < 200")
    await shot(popup, "console-tray-popup")
    assert rep.errors == [] and customer.errors == []
