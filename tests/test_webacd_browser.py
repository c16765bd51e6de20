"""WebACD end to end in headless Chromium, each person a browser context of their own.

A company's web page (its own little server on loopback) carries the snippet; a customer clicks
"Get help", fills the entry form and sees their position; the longest-idle rep gets the offer in the
CSR dashboard, accepts, and they chat. A second customer waits meanwhile. The host restarts in the
middle: the waiting customer is back at the same place, the session goes on. The rep transfers the
session to a queue with a note; a second rep (multisession window) is offered it, accepts and chats on.
"""
from __future__ import annotations

import pytest
from aiohttp import web
from playwright.async_api import expect

from conftest import PASSWORD, Host, seed, stop_host
from host.app import create_app
from host.appkeys import DB
from host.config import Config
from test_webacd import make_queue

pytestmark = pytest.mark.browser
expect.set_options(timeout=15000)


async def host_on(data_dir, port: int = 0) -> Host:
    """A host on a fixed loopback port, so the browsers' pages reconnect to it after a restart."""
    seed(data_dir)
    cfg = Config(data_dir=data_dir, grace_period=60)
    app = create_app(cfg)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return Host(app, runner, f"http://127.0.0.1:{port}", data_dir, cfg)


async def company_site(host_base: str, queue_id: int):
    """The company's own web page with the snippet pasted in, served on another loopback port."""
    html = f"""<!doctype html><html><head><title>Shop checkout</title></head><body>
<h1>Checkout</h1><p>Trouble paying?</p>
<script src="{host_base}/s/demo/p/webacd/snippet.js" data-queue="{queue_id}"></script>
</body></html>"""
    async def checkout(_request):
        return web.Response(text=html, content_type="text/html")
    app = web.Application()
    app.router.add_get("/checkout", checkout)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/checkout"


async def rep_logs_in(browser, host, username):
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await page.goto(f"{host.base}/s/demo/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form.login-form button[type=submit]")
    await expect(page.locator(".acd-dock")).to_be_visible()
    return page


async def customer_asks_for_help(browser, shop_url, name, problem):
    ctx = await browser.new_context()
    shop = await ctx.new_page()
    await shop.goto(shop_url)
    async with ctx.expect_page() as popup:
        await shop.click("text=Get help")
    page = await popup.value
    await page.wait_for_load_state()
    await page.fill("input[name=name]", name)
    await page.fill("input[name=email]", f"{name.split()[0].lower()}@example.com")
    await page.fill("textarea[name=problem]", problem)
    await page.click("form.acd-form button[type=submit]")
    await expect(page.locator(".acd-position")).to_have_text("1")
    return page


async def chat(page, text):
    await page.locator(".chat-input:visible").fill(text)
    await page.locator(".chat-send:visible").click()


async def test_get_help_offer_accept_chat_restart_transfer_to_queue_and_pick_up(tmp_path, browser):
    data = tmp_path / "data"
    host = await host_on(data)
    port = int(host.base.rsplit(":", 1)[1])
    shop_runner = None
    try:
        rep2_id = await host.db_read(lambda db: next(db.query("select id from users where username = 'rep2' "
                                                               "and site_id = ?", [host.site().id]))["id"])
        await host.app[DB].write(lambda db: db["users"].update(rep2_id, {"console": "multisession"}))
        help_desk = await make_queue(host, "Help desk", members=("rep1", "rep2"), field_phone="off")
        billing = await make_queue(host, "Billing", members=("rep2",))
        shop_runner, shop_url = await company_site(host.base, help_desk)

        rita = await rep_logs_in(browser, host, "rep1")       # CSR dashboard
        sam = await rep_logs_in(browser, host, "rep2")        # multisession window
        await rita.click(".acd-status-toggle")
        await expect(rita.locator(".acd-status-toggle")).to_have_text("Available")
        await sam.click(".acd-status-toggle")                  # Sam is available later: Rita idles longer
        await expect(sam.locator(".acd-status-toggle")).to_have_text("Available")

        carla = await customer_asks_for_help(browser, shop_url, "Carla Customer", "Card payment fails")
        offer = rita.locator(".acd-offer")
        await expect(offer).to_contain_text("Carla Customer")
        await expect(offer).to_contain_text("Card payment fails")
        await expect(sam.locator(".acd-offer")).to_have_count(0)
        await offer.locator(".acd-accept").click()

        await carla.wait_for_url("**/s/demo/session/*")
        await chat(carla, "Hello, my card is declined")
        await expect(rita.locator(".chat-log")).to_contain_text("Hello, my card is declined")
        await chat(rita, "Let me look at it")
        await expect(carla.locator(".chat-log")).to_contain_text("Let me look at it")
        await rita.locator('.tab[data-tab="session"]').click()
        await rita.locator('[data-open="webacd.request"]').click()
        await expect(rita.locator(".acd-req-ref")).to_have_text(shop_url)

        ben = await customer_asks_for_help(browser, shop_url, "Ben Waiting", "Where is my parcel")
        await expect(sam.locator(".acd-offer")).to_contain_text("Ben Waiting")

        # -- the host restarts in the middle ------------------------------------------------------
        await stop_host(host)
        host = await host_on(data, port)
        await expect(ben.locator(".acd-position")).to_have_text("1")
        await expect(ben.locator(".acd-state")).to_have_text("")
        await expect(sam.locator(".acd-offer")).to_contain_text("Ben Waiting")
        await chat(carla, "Are you still there?")
        await expect(rita.locator(".chat-log")).to_contain_text("Are you still there?")

        # -- Rita transfers Carla to the Billing queue with a note -------------------------------
        await rita.locator('[data-open="webacd.transfer"]').click()
        await rita.select_option(".acd-transfer-to", f"queue:{billing}")
        note = "Card declined twice; please check the billing address."
        await rita.fill(".acd-transfer-note-input", note)
        await rita.click(".acd-transfer")
        await expect(carla.locator(".notices")).to_contain_text("being transferred")
        transfer = sam.locator(".acd-offer", has_text="Carla Customer")
        await expect(transfer).to_contain_text(note)
        await expect(transfer).to_contain_text("Transferred by Rita Rep")
        await transfer.locator(".acd-accept").click()
        await expect(carla.locator(".notices")).to_contain_text("Sam Second is now helping you")
        await chat(sam, "Hi Carla, billing here")
        await expect(carla.locator(".chat-log")).to_contain_text("Hi Carla, billing here")
        await chat(carla, "Thanks Sam")
        await expect(sam.locator(".chat-log:visible")).to_contain_text("Thanks Sam")
        # Sam declines Ben (waiting since before the restart); Rita left her session, so he goes to her
        await sam.locator(".acd-offer", has_text="Ben Waiting").locator(".acd-decline").click()
        await expect(rita.locator(".acd-offer")).to_contain_text("Ben Waiting")
        await expect(ben.locator(".acd-position")).to_have_text("1")
    finally:
        if shop_runner:
            await shop_runner.cleanup()
        await stop_host(host)


async def test_offers_reach_the_icon_tray_and_the_queue_view_lets_an_agent_pick(host, browser):
    from test_webacd import ask_help, entry_of
    rep1 = await host.db_read(lambda db: next(db.query("select id from users where username = 'rep1' "
                                                        "and site_id = ?", [host.site().id]))["id"])
    await host.app[DB].write(lambda db: db["users"].update(rep1, {"console": "tray"}))
    qid = await make_queue(host, "Help desk", members=("rep1",))
    tray = await rep_logs_in(browser, host, "rep1")
    await expect(tray.locator(".tray")).to_be_visible()
    await ask_help(host, qid, name="Anna First")
    _c, r = await ask_help(host, qid, name="Bert Second", problem="Picked from the queue")
    await tray.click(".acd-status-toggle")                      # available: Anna is offered in the tray
    await expect(tray.locator(".acd-offer")).to_contain_text("Anna First")
    await tray.click(".acd-status-toggle")                      # away again: the offer is withdrawn
    await expect(tray.locator(".acd-offer")).to_have_count(0)
    await tray.click(".acd-queue-toggle")                       # the queue view still lists who waits
    await expect(tray.locator(".acd-queue-item")).to_have_count(2)
    await tray.locator(".acd-queue-item", has_text="Bert Second").locator(".acd-pick").click()
    await expect(tray.locator(".acd-say")).to_contain_text("You are now helping Bert Second")
    await expect(tray.locator(".session-list")).to_contain_text("Bert Second")
    await expect(tray.locator(".acd-queue-item")).to_have_count(1)
    row = await host.db_read(lambda db: db["acd_entries"].get(entry_of(r)))
    assert row["state"] == "accepted" and row["accepted_by_name"] == "Rita Rep"
