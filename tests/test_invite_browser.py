"""Invites end to end in headless Chromium with a real SMTP server (aiosmtpd on loopback): the phone
sentence, a customer invited by email who follows the mailed link and joins, another rep who follows
their mailed link, logs in and joins as assisting rep, and a refused address shown with Retry."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from playwright.async_api import expect

from conftest import PASSWORD
from test_invite import start_smtp, use_smtp

pytestmark = pytest.mark.browser
TIMEOUT_MS = 10000
expect.set_options(timeout=TIMEOUT_MS)


# -- small helpers of the tools-tab browser tests (invite, notes, files) ---------------------------
@dataclass
class Person:
    """One person at one browser context (own cookies); errors collects uncaught script errors."""
    context: object
    page: object
    errors: list = field(default_factory=list)


async def person(browser, host, width=1200, height=800) -> Person:
    context = await browser.new_context(base_url=host.base, viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    p = Person(context, page)
    page.on("pageerror", lambda err: p.errors.append(str(err)))
    page.on("console", lambda m: p.errors.append(m.text) if "Content Security Policy" in m.text else None)
    return p


async def login(browser, host, username: str) -> Person:
    p = await person(browser, host)
    await p.page.goto("/s/demo/login")
    await p.page.fill("input[name=username]", username)
    await p.page.fill("input[name=password]", PASSWORD)
    await p.page.click(".login-form button[type=submit]")
    await p.page.wait_for_url("**/s/demo/console")
    return p


async def start_session(page) -> dict:
    """The rep presses Start session; returns the session's id, number and its view in the console."""
    await page.locator(".start-session").first.click()
    view = page.locator(".session[data-session]:not([hidden])")
    await expect(view.locator(".session-number")).to_have_text(re.compile(r"\d"))
    number = re.sub(r"\D", "", await view.locator(".session-number").text_content())
    return {"id": await view.get_attribute("data-session"), "number": number, "view": view}


async def customer_joins(browser, host, number: str, name: str = "Carla Customer") -> Person:
    c = await person(browser, host, 1000, 700)
    await c.page.goto("/s/demo/")
    await c.page.fill("input[name=number]", number)
    await c.page.fill("input[name=name]", name)
    await c.page.click(".join-form button[type=submit]")
    await c.page.wait_for_url(re.compile(r"/s/demo/session/[0-9a-f]+$"))
    return c


async def open_option(scope, option_id: str) -> None:
    await scope.locator(f'[data-open="{option_id}"]:visible').click()
    await expect(scope.locator(f'.panel[data-option="{option_id}"]')).to_be_visible()


def link_in(inbox, index: int, pattern: str) -> str:
    return re.search(pattern, inbox.messages[index][1].get_content()).group(1)


async def test_invite_by_phone_and_email_in_the_browser(host, browser):
    controller, inbox = start_smtp()
    try:
        await use_smtp(host, controller.port)
        rep = await login(browser, host, "rep1")
        s = await start_session(rep.page)
        await open_option(s["view"], "invite.panel")
        panel = s["view"].locator('.panel[data-option="invite.panel"]')
        n = s["number"]

        await panel.locator(".invite-channel").select_option("phone")
        await panel.locator(".invite-send").click()
        await expect(panel.locator(".invite-sentence")).to_have_text(
            f"Read out: “Go to {host.base}/s/demo and enter the session number {n[:3]} {n[3:6]} {n[6:]}.”")

        await panel.locator(".invite-channel").select_option("email")
        await panel.locator(".invite-to").fill("refuse@example.org")
        await panel.locator(".invite-send").click()
        await expect(panel.locator(".invite-status")).to_contain_text(
            "Not delivered: the mail server refused the address refuse@example.org: 550")
        await expect(panel.locator(".invite-row.failed .invite-retry")).to_be_visible()

        await panel.locator(".invite-to").fill("carla@example.org")
        await panel.locator(".invite-name").fill("Carla")
        await panel.locator(".invite-send").click()
        await expect(panel.locator(".invite-row.delivered")).to_have_text(
            "email → carla@example.org: delivered")
        link = link_in(inbox, 0, r"(http://\S+/join\?n=\d+)")

        customer = await person(browser, host, 1000, 700)
        await customer.page.goto(link)                         # the one-click link from the mail
        # each invite carries a number of its own (the phone invite has the session's first one)
        await expect(customer.page.locator("input[name=number]")).to_have_value(link.rsplit("=", 1)[1])
        await customer.page.fill("input[name=name]", "Carla")
        await customer.page.click(".join-form button[type=submit]")
        await customer.page.wait_for_url(re.compile(r"/s/demo/session/[0-9a-f]+$"))
        await expect(s["view"].locator(".roster")).to_contain_text("Carla")

        await panel.locator(".invite-channel").select_option("rep_email")
        await panel.locator(".invite-to").fill("sam@example.org")
        await panel.locator(".invite-send").click()
        await expect(panel.locator(".invite-row.delivered")).to_have_count(2)
        rep_link = link_in(inbox, 1, r"(http://\S+/p/invite/rep/\S+)")

        sam = await person(browser, host)
        await sam.page.goto(rep_link)                          # not logged in: the login page first
        await sam.page.fill("input[name=username]", "rep2")
        await sam.page.fill("input[name=password]", PASSWORD)
        await sam.page.click(".login-form button[type=submit]")
        await expect(sam.page.locator(".invited-by")).to_have_text("Rita Rep")
        await sam.page.get_by_role("button", name="Join as assisting rep").click()
        await sam.page.wait_for_url("**/s/demo/console")
        await expect(sam.page.locator(f'.session[data-session="{s["id"]}"] .my-role')).to_have_text(
            "You: assisting rep")
        await expect(s["view"].locator(".roster")).to_contain_text("Sam Second")
        assert rep.errors == [] and customer.errors == [] and sam.errors == []
    finally:
        controller.stop()
