"""End to end, in headless Chromium: the site admin creates a rep, sets their console and mode, and switches
the chat plugin off and on for the site; the host refuses chat messages while it is off, not only hides it."""
import re

import pytest
from playwright.async_api import expect

pytest.register_assert_rewrite("e2e_helpers")   # it is also the plugin named in pytest_plugins below
from e2e_helpers import (E2E, admin_set_console, chat_line, crafted, customer_joins,
                         login, say, set_console, shot, start_session)

pytestmark = E2E
pytest_plugins = ["e2e_helpers"]   # its fixtures: world (and the shared browser and host)
CHAT = '[data-open="chat.panel"]'
CONSOLES = ("dashboard", "tray", "multisession")
SITE = "other"   # the e2e host is shared: switching chat off here leaves the other tests' site alone


async def set_chat(admin, on: bool):
    if not admin.url.endswith(f"/s/{SITE}/admin"):
        await admin.goto(f"/s/{SITE}/admin")
    box = admin.locator(".plugins-form input[name=plugin_chat]")
    await box.set_checked(on)
    await admin.locator(".plugins-form button[type=submit]").click()
    await expect(admin.locator(".flash.ok")).to_have_text("Features saved.")
    await expect(admin.locator(".plugins-form input[name=plugin_chat]")).to_be_checked(checked=on)


async def console_options(host, rep_page, console):
    """Reload the rep's console in the given console kind; return the option ids it shows for the session."""
    await set_console(host, "rosa", console, mode="multi", max_sessions=2, site=SITE)
    await rep_page.goto(f"/s/{SITE}/console")
    await expect(rep_page.locator("body")).to_have_class(re.compile(rf"\bconsole-{console}\b"))
    view = rep_page.locator(".session[data-session]:not([hidden])")
    # the session's own controls are always there: the options have been laid out
    await expect(view.locator('[data-open="session.participants"]')).to_have_count(1)
    return await view.locator("[data-open]").evaluate_all("els => els.map((e) => e.dataset.open)")


async def test_admin_creates_rep_sets_console_and_switches_chat_off_and_on(world):
    host = world.host
    admin = await login(world, "admin", site=SITE)
    a = admin.page
    await a.goto(f"/s/{SITE}/admin")

    # A new rep account with a generated password, shown once.
    form = a.locator("form.new-user")
    await form.locator("input[name=username]").fill("Rosa")
    await form.locator("input[name=display_name]").fill("Rosa Novak")
    await form.locator("select[name=console]").select_option("tray")
    await form.locator("button[type=submit]").click()
    flash = a.locator(".flash.ok")
    await expect(flash).to_contain_text("Account rosa created. Its password, shown this once: ")
    password = re.search(r"shown this once: (\S+)", await flash.text_content()).group(1)
    await shot(a, "admin-created-rep")
    assert len(password) >= 12
    await expect(a.locator('tr[data-user="rosa"]')).to_contain_text("Rosa Novak")

    # The rep logs in with it and gets the console the admin chose.
    rosa = await login(world, "rosa", password, site=SITE)
    r = rosa.page
    await expect(r.locator("body")).to_have_class(re.compile(r"\bconsole-tray\b"))

    # The admin switches her to the multisession window with at most 2 sessions.
    await admin_set_console(a, "rosa", "multisession", "multi", 2, site=SITE)
    await expect(a.locator('tr[data-user="rosa"] select[name=console]')).to_have_value("multisession")
    assert password not in await a.content()  # once means once
    await r.reload()
    await expect(r.locator("body")).to_have_class(re.compile(r"\bconsole-multisession\b"))
    s = await start_session(r)
    await start_session(r)
    await r.locator(".start-session").click()
    await expect(r.locator(".console-status")).to_have_text("You have reached your maximum of 2 sessions.")
    await expect(r.locator(".session-list [data-session]")).to_have_count(2)

    customer = await customer_joins(world, s["number"], "Carla Customer", site=SITE)
    c = customer.page
    await r.locator(f'.session-list [data-session="{s["id"]}"] button').click()
    await say(c, "Before the switch")
    await expect(chat_line(r.locator(f'.session[data-session="{s["id"]}"]'), "Carla Customer",
                           "Before the switch")).to_be_visible()

    # Chat off for the site: the open pages drop it at once and say so ...
    live = r.locator(f'.session[data-session="{s["id"]}"]')
    await expect(live.locator(CHAT)).to_have_count(1)
    await set_chat(a, False)
    for page_part in (c, live):
        await expect(page_part.locator(CHAT)).to_have_count(0)
        await expect(page_part.locator(".chat-input")).to_have_count(0)
        await expect(page_part.locator(".notices")).to_contain_text("Switched off for this site: Chat.")
    # ... the host refuses chat even from a tampered page, over the page's own connection ...
    refused = await crafted(c, {"type": "chat.send", "id": "sneak-1", "text": "Chat is off, but..."})
    assert refused["type"] == "error" and "chat feature is switched off" in refused["error"], refused
    refused = await crafted(r, {"type": "chat.history", "id": "sneak-2"})
    assert refused["type"] == "error" and "switched off" in refused["error"], refused
    # ... the connection stays up: the session's own messages still work ...
    pong = await crafted(c, {"type": "session.ping", "id": "ping-1"})
    assert pong["type"] == "session.pong"
    # ... and it is gone from all three consoles and the customer page when they are loaded again.
    for console in CONSOLES:
        ids = await console_options(host, r, console)
        assert "chat.panel" not in ids and "session.participants" in ids, (console, ids)
    await c.reload()
    await expect(c.locator('[data-open="session.customer_leave"]')).to_be_visible()
    await expect(c.locator(CHAT)).to_have_count(0)
    await expect(c.locator(".chat-input")).to_have_count(0)

    # Chat back on: the open customer page offers to load it, and it is back everywhere, with the history.
    await set_chat(a, True)
    await expect(c.locator(".notices")).to_contain_text("Switched on for this site: chat.")
    await c.locator(".notice-action").click()
    await expect(c.locator(CHAT)).to_be_visible()
    assert "chat.panel" in await console_options(host, r, "multisession")
    await expect(chat_line(c, "Carla Customer", "Before the switch")).to_be_visible()
    await expect(chat_line(c, "Carla Customer", "Chat is off, but")).to_have_count(0)
    await say(c, "After the switch")
    item = r.locator(f'.session-list [data-session="{s["id"]}"]')
    await expect(item.locator(".badge")).to_have_text("1")   # not the selected session: a badge
    await item.locator("button").click()
    view = r.locator(f'.session[data-session="{s["id"]}"]')
    await expect(chat_line(view, "Carla Customer", "After the switch")).to_be_visible()
    await expect(chat_line(view, "Carla Customer", "Before the switch")).to_be_visible()
    assert admin.errors == [] and rosa.errors == [] and customer.errors == []
