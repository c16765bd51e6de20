"""End to end, in headless Chromium: the life of one session with two reps and a customer (add a rep, reps-only
chat, transfer of control, leave, end), chat text that looks like HTML, a customer who reloads the page, and
wrong session numbers on the join page."""
import re

import pytest
from aiohttp import WSCloseCode
from playwright.async_api import expect

from host.appkeys import HUB
pytest.register_assert_rewrite("e2e_helpers")   # it is also the plugin named in pytest_plugins below
from e2e_helpers import (E2E, chat_line, customer_joins, login, open_option,
                         open_tab, person, say, shot, start_session)

pytestmark = E2E
pytest_plugins = ["e2e_helpers"]   # its fixtures: world (and the shared browser and host)
SESSION = ".session[data-session]:not([hidden])"


async def test_second_rep_assists_takes_control_and_ends_the_session(world):
    rita_name = await world.new_rep("Rita Rep")
    rita = await login(world, rita_name)
    s = await start_session(rita.page)
    customer = await customer_joins(world, s["number"], "Carla Customer")
    c = customer.page
    sam_name = await world.new_rep("Sam Second", mode="multi", max_sessions=3)
    sam = await login(world, sam_name)
    await expect(sam.page.locator(".session-list")).to_contain_text("No sessions")
    r1 = rita.page.locator(SESSION)

    # Rita adds Sam: the session appears in Sam's console by itself, Sam assisting.
    await open_option(r1, "session.add_rep", tab="session")
    picker = r1.locator("select[name=rep]")
    await expect(picker.locator("option", has_text=f"({sam_name})")).to_have_count(1)
    await expect(picker.locator("option", has_text=f"({rita_name})")).to_have_count(0)  # she is in it already
    await picker.select_option(label=f"Sam Second ({sam_name})")
    await r1.locator("button.add-rep").click()
    await expect(r1.locator(".notices")).to_contain_text("Rep added")
    r2 = sam.page.locator(f'.session[data-session="{s["id"]}"]')
    await expect(r2.locator(".my-role")).to_have_text("You: assisting rep")
    await expect(r2.locator(".roster")).to_contain_text("Carla Customer")
    await expect(c.locator(".roster")).to_contain_text("Sam Second (assisting rep)")

    # The reps talk among themselves; the customer never sees it.
    await open_option(r1, "chat.panel", tab="tools")
    await say(r1, "She has the old driver, I think", audience="reps")
    line = chat_line(r2, "Rita Rep", "She has the old driver, I think")
    await expect(line).to_be_visible()
    await expect(line).to_have_class(re.compile(r"\breps-only\b"))
    await expect(line).to_contain_text("(reps only)")
    await say(r2, "Agreed, let me take it", audience="reps")
    await expect(chat_line(r1, "Sam Second", "Agreed, let me take it")).to_be_visible()
    await say(r2, "Hello Carla, I am Sam and I will help too", audience="all")
    await expect(chat_line(c, "Sam Second", "I will help too")).to_be_visible()
    await expect(chat_line(c, "Rita Rep", "old driver")).to_have_count(0)
    await expect(chat_line(c, "Sam Second", "let me take it")).to_have_count(0)
    await c.reload()   # nor in the history she gets on reconnect
    await expect(chat_line(c, "Sam Second", "I will help too")).to_be_visible()
    await expect(c.locator(".chat-log")).not_to_contain_text("old driver")
    # The customer cannot pick "reps only" (there is no such choice on her page).
    await expect(c.locator(".chat-audience")).to_have_count(0)

    # Rita hands control to Sam: Sam is primary, his Session tab now has End session; Rita's has Leave.
    await open_option(r1, "session.transfer_control", tab="session")
    await r1.locator("select[name=to]").select_option(label="Sam Second")
    await r1.locator("button.transfer-control").click()
    await expect(r2.locator(".my-role")).to_have_text("You: primary rep")
    await expect(r1.locator(".my-role")).to_have_text("You: assisting rep")
    await expect(r1.locator(".notices")).to_contain_text("Sam Second now leads the session")
    await open_tab(r2, "session")
    await expect(r2.locator('[data-open="session.end"]:visible')).to_have_text(re.compile("End session"))
    await expect(r2.locator('[data-open="session.add_rep"]:visible')).to_have_count(1)
    await shot(sam.page, "dashboard-session-tab-after-transfer")
    await open_tab(r1, "session")
    await expect(r1.locator('[data-open="session.end"]')).to_have_count(0)
    await expect(r1.locator('[data-open="session.transfer_control"]')).to_have_count(0)
    await expect(c.locator(".roster")).to_contain_text("Sam Second (primary rep)")

    # Rita leaves; the session goes on with Sam.
    await open_option(r1, "session.rep_leave")
    await shot(rita.page, "dashboard-assisting-leave")
    await r1.locator(".panel:visible button.leave-session").click()
    await expect(rita.page.locator(f'.session[data-session="{s["id"]}"] .ended')).to_have_text(
        "You left the session.")
    await expect(r2.locator(".notices")).to_contain_text("Rita Rep left the session")
    await expect(r2.locator(".roster")).not_to_contain_text("Rita Rep")
    await expect(c.locator(".roster")).not_to_contain_text("Rita Rep")

    # Sam ends the session for everybody.
    await open_option(r2, "session.end", tab="session")
    sam.page.once("dialog", lambda d: d.accept())
    await r2.locator("button.end-session").click()
    await expect(c.locator(".ended")).to_have_text("The session was ended by Sam Second.")
    await expect(sam.page.locator(f'.session[data-session="{s["id"]}"] .ended')).to_have_text(
        "The session was ended by Sam Second.")
    await expect(c.locator(".chat-input")).to_have_count(0)
    await expect(c.locator("a.join-again")).to_have_attribute("href", "/s/demo/join")
    await c.reload()
    await expect(c.locator(".flash.error")).to_contain_text("it has ended")
    assert rita.errors == [] and sam.errors == [] and customer.errors == []


XSS_IMG = "<img src=x onerror=window.__pwned=1>"
XSS_SCRIPT = "<script>window.__pwned=2</script><b>bold?</b>"


async def test_chat_text_that_looks_like_html_is_shown_as_text_and_never_runs(world):
    rita = await login(world, await world.new_rep("Rita Rep"))
    s = await start_session(rita.page)
    customer = await customer_joins(world, s["number"], "<i>Eve</i>")
    c, r = customer.page, rita.page.locator(SESSION)
    await say(c, XSS_IMG)
    await say(r, XSS_SCRIPT)
    for _ in range(2):   # live, then again from the history after a reload
        for page, scope in ((c, c), (rita.page, r)):
            await expect(chat_line(scope, "<i>Eve</i>", XSS_IMG)).to_be_visible()
            await expect(chat_line(scope, "Rita Rep", XSS_SCRIPT)).to_be_visible()
            await expect(scope.locator(".roster")).to_contain_text("<i>Eve</i>")
            assert await page.locator(".chat-log img, .chat-log script, .chat-log b, .roster i").count() == 0
            assert await page.evaluate("() => window.__pwned") is None
        await c.reload()
        await rita.page.reload()
        r = rita.page.locator(SESSION)
    assert rita.errors == [] and customer.errors == []


async def test_customer_who_reloads_stays_the_same_participant_and_sees_the_history(world):
    host = world.host
    rita = await login(world, await world.new_rep("Rita Rep"))
    s = await start_session(rita.page)
    customer = await customer_joins(world, s["number"], "Carla Customer")
    c, r = customer.page, rita.page.locator(SESSION)
    await say(c, "My screen is blank")
    await say(r, "Please press the power button")
    await expect(chat_line(c, "Rita Rep", "power button")).to_be_visible()

    await c.reload()
    await expect(c.locator(".my-role")).to_have_text("You: customer")
    await expect(chat_line(c, "Carla Customer", "My screen is blank")).to_have_class(re.compile(r"\bmine\b"))
    await expect(chat_line(c, "Rita Rep", "Please press the power button")).to_be_visible()
    # Still one customer, the same one: no second participant, no second "joined".
    await expect(r.locator(".roster .person")).to_have_count(2)
    await expect(r.locator('.roster .person[data-role="customer"]')).to_have_text("Carla Customer (customer)")
    await expect(r.locator('.roster .person[data-role="secondary_customer"]')).to_have_count(0)
    # The host drops the customer's connection (as a restarting proxy would): the page says so, reconnects
    # by itself, and is the same person.
    live = host.app[HUB].sessions[s["id"]]
    carla = next(p for p in live.participants.values() if p.role == "customer")
    await carla.conn.close(WSCloseCode.GOING_AWAY, "going away (test)")
    await expect(c.locator(".notices")).to_contain_text("Connection lost: reconnecting…")
    await expect(c.locator(".notices")).to_contain_text("Connected again.")
    await say(c, "It works now")
    await expect(chat_line(r, "Carla Customer", "It works now")).to_be_visible()
    await expect(r.locator(".notices .notice", has_text="joined the session")).to_have_count(1)
    people = await host.db_read(lambda db: list(db.query(
        "select role, name from participants where session_id = ? and user_id is null", [s["id"]])))
    assert people == [{"role": "customer", "name": "Carla Customer"}]
    assert rita.errors == [] and customer.errors == []


async def test_wrong_session_number_gives_a_clear_message_and_stays_on_the_join_page(world):
    rita = await login(world, await world.new_rep("Rita Rep"))
    s = await start_session(rita.page)
    wrong = str((int(s["number"]) + 1) % 10 ** len(s["number"])).zfill(len(s["number"]))
    customer = await person(world)
    c = customer.page
    await c.goto("/s/demo/")
    await c.fill("input[name=number]", wrong)
    await c.fill("input[name=name]", "Carla Customer")
    await c.click(".join-form button[type=submit]")
    await expect(c.locator(".flash.error")).to_have_text(
        "There is no session with this number. Check the number and try again.")
    assert c.url.endswith("/s/demo/join")
    await shot(c, "join-wrong-number")
    await expect(c.locator("input[name=name]")).to_have_value("Carla Customer")   # nothing to type again
    await expect(c.locator("input[name=number]")).to_have_value(wrong)

    await c.fill("input[name=number]", "12ab")
    await c.click(".join-form button[type=submit]")
    await expect(c.locator(".flash.error")).to_have_text("A session number is made of digits only.")

    # Nobody joined: the rep's session still waits for its customer.
    r = rita.page.locator(SESSION)
    await expect(r.locator(".roster .person")).to_have_count(1)
    await expect(rita.page.locator(".session-list")).to_contain_text("waiting for customer")
    # The right number still works (with spaces, as read out on the phone).
    grouped = " ".join(s["number"][i:i + 3] for i in range(0, len(s["number"]), 3))
    await c.fill("input[name=number]", grouped)
    await c.click(".join-form button[type=submit]")
    await c.wait_for_url(re.compile(r"/s/demo/session/[0-9a-f]+$"))
    await expect(r.locator(".roster")).to_contain_text("Carla Customer")
    assert rita.errors == [] and customer.errors == []


async def test_a_long_chat_shows_its_newest_page_and_earlier_messages_on_request(world):
    from host.appkeys import DB
    rep_name = await world.new_rep("Lena Long")
    rep = await login(world, rep_name)
    s = await start_session(rep.page)
    sid = s["id"]

    def write(db):
        db["chat_messages"].insert_all(
            {"session_id": sid, "at": 1.0 + i, "from_participant": "x", "from_name": "Lena Long",
             "from_role": "primary_rep", "audience": "all", "text": f"old line {i}"} for i in range(230))
    await world.host.app[DB].write(write)
    customer = await customer_joins(world, s["number"], "Carla Customer")
    c = customer.page
    log = c.locator(".chat-log .chat-line")
    await expect(log).to_have_count(200)
    await expect(log.first).to_contain_text("old line 30")
    await expect(log.last).to_contain_text("old line 229")
    await c.locator("button.chat-earlier").click()
    await expect(log).to_have_count(230)
    await expect(log.first).to_contain_text("old line 0")
    await expect(c.locator("button.chat-earlier")).to_be_hidden()
