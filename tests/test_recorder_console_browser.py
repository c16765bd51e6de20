"""Recording from the rep consoles in headless Chromium, with a real host: Record / Stop / Record again in one
session (two parts of one recording), the notice on the customer's page only while it records, the customer's
Allow / Deny on a site that asks first, the Recordings page and the activity report's link, the option in the
tray and multisession consoles, and what a customer or a rep of another site may not do."""
from __future__ import annotations

import pytest
import pytest_asyncio
from playwright.async_api import expect

pytest.register_assert_rewrite("e2e_helpers")
from e2e_helpers import World, crafted, customer_joins, login, open_option, start_session  # noqa: E402

pytestmark = pytest.mark.browser


@pytest_asyncio.fixture
async def world(browser, host):
    w = World(browser, host)
    yield w
    for p in w.people:
        await p.context.close()


async def recordings_of(host, session_id):
    return await host.db_read(lambda db: list(db.query(
        "select r.id, r.status, r.automatic, (select count(*) from recording_parts p where p.recording_id = r.id) "
        "as parts from recordings r where session_id = ?", [session_id])))


async def recorder_panel(view, console="dashboard"):
    if console == "tray":
        await view.locator('.tray-icons [data-open="recorder.record"]').click()
    else:
        await open_option(view, "recorder.record", tab="session")
    panel = view.locator('.panel[data-option="recorder.record"]')
    await expect(panel).to_be_visible()
    return panel


async def ask_customer_first(world):
    admin = await login(world, "admin")
    await admin.page.goto("/s/demo/admin")
    form = admin.page.locator('form[action$="/admin/settings/recorder"]')
    await form.locator('input[name="ask_customer"]').check()
    await form.locator('button[type="submit"]').click()
    await expect(admin.page.locator(".flash.ok")).to_be_visible()


async def test_record_stop_record_again_makes_two_parts_the_customer_sees_the_notice_only_while_recording(world):
    host = world.host
    rita = await world.new_rep("Rita Rep")
    rep = await login(world, rita)
    s = await start_session(rep.page)
    view = s["view"]
    customer = await customer_joins(world, s["number"])
    cpage = customer.page
    banner = cpage.locator("#recorder-banner")
    panel = await recorder_panel(view)
    button = panel.locator(".recorder-toggle")
    await expect(panel.locator(".recorder-status")).to_have_text("Not recording.")
    await expect(banner).to_be_hidden()

    # the customer's page cannot start or stop it (a hand-made message over its own socket)
    refused = await crafted(cpage, {"type": "recorder.start", "id": "x1"})
    assert refused["type"] == "error" and "only a rep" in refused["error"]

    await expect(button).to_have_text("Record session")
    await button.click()
    await expect(panel.locator(".recorder-status")).to_have_text("This session is being recorded.")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("This session is being recorded")
    refused = await crafted(cpage, {"type": "recorder.stop", "id": "x2"})
    assert refused["type"] == "error"
    await expect(button).to_have_text("Stop recording")
    await button.click()
    await expect(panel.locator(".recorder-status")).to_have_text("Not recording.")
    await expect(banner).to_be_hidden()
    await button.click()                                    # Record again: the same recording's second part
    await expect(banner).to_be_visible()
    await button.click()
    await expect(banner).to_be_hidden()
    [rec] = await recordings_of(host, s["id"])
    assert rec["parts"] == 2 and rec["status"] == "complete"
    rid = rec["id"]

    # the rep finds it on the Recordings page and on the session's row of the activity report
    page = rep.page
    await page.goto("/s/demo/p/recorder/recordings")
    await expect(page.locator(f'tr[data-recording="{rid}"]')).to_be_visible()
    await page.goto("/s/demo/p/report/")
    link = page.locator(f'tr[data-session="{s["id"]}"] a.recording-link')
    await expect(link).to_be_visible()
    assert await link.get_attribute("href") == f"/s/demo/p/recorder/recordings/{rid}"
    await link.click()
    await page.wait_for_url(f"**/p/recorder/recordings/{rid}")

    # the customer cannot open it, nor can a rep of another site guessing its id
    r = await cpage.request.get(f"/s/demo/p/recorder/recordings/{rid}")
    assert r.status == 404
    other = await login(world, "admin", site="other")
    for url in (f"/s/other/p/recorder/recordings/{rid}", f"/s/demo/p/recorder/recordings/{rid}"):
        r = await other.page.request.get(url)
        assert r.status in (404, 403), (url, r.status)
    r = await other.page.request.get(f"/s/other/p/recorder/recordings/{rid}")
    assert r.status == 404
    assert rep.errors == [] and customer.errors == []


@pytest.mark.parametrize("console", ["tray", "multisession"])
async def test_record_is_offered_in_the_tray_and_multisession_consoles(world, console):
    name = await world.new_rep("Tess Tray", console, mode="multi" if console == "multisession" else "single",
                               max_sessions=3 if console == "multisession" else 1)
    rep = await login(world, name)
    s = await start_session(rep.page)
    customer = await customer_joins(world, s["number"])
    panel = await recorder_panel(s["view"], console)
    await panel.locator(".recorder-toggle").click()
    await expect(panel.locator(".recorder-status")).to_have_text("This session is being recorded.")
    await expect(customer.page.locator("#recorder-banner")).to_be_visible()
    assert rep.errors == []


async def test_a_site_that_asks_first_records_on_allow_and_tells_the_rep_of_a_deny(world):
    await ask_customer_first(world)
    rita = await world.new_rep("Rita Rep")
    rep = await login(world, rita)
    s = await start_session(rep.page)
    view = s["view"]
    customer = await customer_joins(world, s["number"])
    cpage = customer.page
    panel = await recorder_panel(view)
    button = panel.locator(".recorder-toggle")

    await button.click()
    await expect(panel.locator(".recorder-status")).to_have_text("Waiting for the customer to allow recording\u2026")
    consent = cpage.locator(".recorder-consent")
    await expect(consent).to_contain_text("Rita Rep asks to record this session. Allow it?")
    await consent.get_by_role("button", name="Deny").click()
    await expect(view.locator(".notices")).to_contain_text("Carla Customer did not allow recording.")
    await expect(panel.locator(".recorder-status")).to_have_text("Not recording.")
    await expect(cpage.locator("#recorder-banner")).to_be_hidden()
    assert await recordings_of(world.host, s["id"]) == []

    await button.click()
    await consent.get_by_role("button", name="Allow").click()
    await expect(panel.locator(".recorder-status")).to_have_text("This session is being recorded.")
    await expect(cpage.locator("#recorder-banner")).to_contain_text("This session is being recorded")
    await expect(consent).to_be_hidden()
    assert rep.errors == [] and customer.errors == []


async def test_an_admin_switches_on_automatic_recording_and_the_reps_sessions_are_recorded(world):
    rita = await world.new_rep("Rita Rep")
    admin = await login(world, "admin")
    page = admin.page
    await page.goto("/s/demo/admin")
    row = page.locator(f'tr[data-user="{rita}"]')
    box = row.get_by_role("checkbox", name=f"Record all sessions of {rita}")
    await expect(box).not_to_be_checked()
    await box.check()
    await expect(row.locator(".recorder-auto-status")).to_have_text("Every session is recorded.")
    await page.reload()
    await expect(page.locator(f'tr[data-user="{rita}"]').get_by_role(
        "checkbox", name=f"Record all sessions of {rita}")).to_be_checked()

    rep = await login(world, rita)
    s = await start_session(rep.page)
    customer = await customer_joins(world, s["number"])
    panel = await recorder_panel(s["view"])
    await expect(panel.locator(".recorder-status")).to_have_text("Recorded automatically")
    await expect(panel.locator(".recorder-toggle")).to_be_hidden()        # no Stop
    await expect(customer.page.locator("#recorder-banner")).to_contain_text("This session is being recorded")
    [rec] = await recordings_of(world.host, s["id"])
    assert rec["automatic"] == 1 and rec["status"] == "recording"
    assert admin.errors == [] and rep.errors == []


@pytest.mark.supporthost(plugins=["chat", "recorder"])
async def test_the_automatic_switch_refuses_bad_input_and_changes_nothing(host):
    admin = await host.rep("admin")
    url = "/s/demo/p/recorder/api/automatic"
    reps = (await (await admin.http.get(admin.url(url))).json())["reps"]
    rita = next(u for u in reps if u["username"] == "rep1")
    other_id = await host.db_read(lambda db: db.execute(
        "select id from users where site_id = ? and username = 'rep1'", [host.site("other").id]).fetchone()[0])
    for body, status, text in [({"user_id": "rita", "on": True}, 422, "user_id must be"),
                               ({"user_id": True, "on": True}, 422, "user_id must be"),
                               ({"user_id": rita["id"], "on": "maybe"}, 422, "on must be true"),
                               ({"user_id": rita["id"]}, 422, "on must be true"),
                               ({"user_id": 999999, "on": True}, 404, "No such rep"),
                               ({"user_id": other_id, "on": True}, 404, "No such rep")]:
        r = await admin.api_post(url, body)
        assert r.status == status, (body, r.status)
        assert text in (await r.json())["error"]["message"]
    assert await host.db_read(lambda db: db["recorder_auto_reps"].count) == 0
    r = await admin.api_post(url, {"user_id": str(rita["id"]), "on": "on"})
    assert r.status == 200
    assert next(u for u in (await r.json())["reps"] if u["username"] == "rep1")["automatic"] is True


async def test_automatic_recording_on_a_site_that_asks_starts_when_the_customer_allows(world):
    await ask_customer_first(world)
    rita = await world.new_rep("Rita Rep")
    admin = await login(world, "admin")
    await admin.page.goto("/s/demo/admin")
    await admin.page.locator(f'tr[data-user="{rita}"]').get_by_role(
        "checkbox", name=f"Record all sessions of {rita}").check()
    await expect(admin.page.locator(f'tr[data-user="{rita}"] .recorder-auto-status')).to_have_text(
        "Every session is recorded.")

    rep = await login(world, rita)
    s = await start_session(rep.page)
    panel = await recorder_panel(s["view"])
    await expect(panel.locator(".recorder-status")).to_have_text("Not recording.")     # nobody to ask yet
    customer = await customer_joins(world, s["number"])
    consent = customer.page.locator(".recorder-consent")
    await expect(consent).to_contain_text("This site records every session of Rita Rep. Allow recording this session?")
    await expect(panel.locator(".recorder-status")).to_have_text("Waiting for the customer to allow recording\u2026")
    await consent.get_by_role("button", name="Allow").click()
    await expect(panel.locator(".recorder-status")).to_have_text("Recorded automatically")
    await expect(panel.locator(".recorder-toggle")).to_be_hidden()
    await expect(customer.page.locator("#recorder-banner")).to_contain_text("This session is being recorded")
    [rec] = await recordings_of(world.host, s["id"])
    assert rec["automatic"] == 1
    assert rep.errors == [] and customer.errors == []
