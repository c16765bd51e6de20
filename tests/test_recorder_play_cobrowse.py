"""Recorded co-browse in the player, in headless Chromium with a real host: a rep records a session while the
customer's shop page is co-browsed (the helpers of test_cobrowse_e2e.py), then opens the recording; the player
replays the page on the recording's clock with rrweb in a frame that runs no script, and a seek shows the page as
it was at that moment. A recording whose page carries a script (as if the host's sanitiser had missed it) never
runs it in the player."""
from __future__ import annotations

import asyncio
import json

import pytest
from playwright.async_api import expect

from host.api import plugin_data_dir
from host.appkeys import DB
from plugins.recorder import reader
from recorder_play_helpers import event, record, split_segments, write_recording
from test_cobrowse_e2e import customer_asks_for_help, rep_console, rep_sends, rep_starts_view, world  # noqa: F401

pytestmark = pytest.mark.browser
expect.set_options(timeout=30000)


async def recording_of(host, status=None):
    async def look():
        return await host.db_read(lambda db: list(db.query("select id, status from recordings")))
    for _ in range(300):
        rows = await look()
        if rows and (status is None or rows[0]["status"] == status):
            return rows[0]["id"]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no recording ({status})")


async def part_ended(host, rid):
    for _ in range(300):
        rows = await host.db_read(lambda db: list(db.query(
            "select ended_ms from recording_parts where recording_id = ?", [rid])))
        if rows and all(r["ended_ms"] is not None for r in rows):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the recording did not stop")


async def records_of(host, rid):
    root = plugin_data_dir(host.app, "recorder")

    def read(db):
        return list(reader.records_from(reader.load_index(db, root, rid)))
    return await host.app[DB].read(read)


def cobrowse_batches(records):
    """(t_ms, recipients, message) of every recorded cobrowse.events message."""
    out = []
    for r in records:
        m = r.json() if r.kind == reader.KIND_JSON else None
        if m and m.get("type") == "cobrowse.events":
            out.append((r.t_ms, r.direction, r.participant, m))
    return out


def first_with(batches, text: str) -> int:
    return next(t for t, _d, _p, m in batches if text in json.dumps(m))


async def player_at(page, t_ms: int) -> None:
    await page.evaluate("(t) => window.recorderPlayer.seek(t)", t_ms)
    await page.wait_for_function("(t) => document.querySelector('.recorder-player').dataset.seeking === '0' "
                                 "&& document.querySelector('.recorder-player').dataset.t === String(t)", arg=t_ms)


async def test_the_player_replays_recorded_co_browse_and_a_seek_shows_that_moment(world):  # noqa: F811
    host = world["host"]
    rita, _relayed = await rep_console(world)
    shop, entry, _sent, _errors = await customer_asks_for_help(world)
    await rita.locator(".acd-offer .acd-accept").click()
    await entry.wait_for_url("**/s/demo/session/*")
    await shop.fill("#name", "Before the recording")
    replay = await rep_starts_view(rita, shop)
    await expect(replay.locator("#name")).to_have_value("Before the recording")

    await rep_sends(rita, {"type": "recorder.start"})
    rid = await recording_of(host, "recording")
    await shop.fill("#name", "Carla first")
    await expect(replay.locator("#name")).to_have_value("Carla first")
    await shop.fill("#city", "Lisbon")
    await expect(replay.locator("#city")).to_have_value("Lisbon")
    await asyncio.sleep(1.2)                 # the two moments are apart on the recording's clock
    await shop.fill("#name", "Carla second")
    await expect(replay.locator("#name")).to_have_value("Carla second")
    await rep_sends(rita, {"type": "recorder.stop"})
    await part_ended(host, rid)

    records = await records_of(host, rid)
    batches = cobrowse_batches(records)
    # stored as JSON messages the host sent ("out", direction 0) to the viewing rep
    assert batches and all(d == reader.OUT and p for _t, d, p, _m in batches), batches[:1]
    key = next(r.t_ms for r in records if r.kind == reader.KIND_EVENT and b'"key"' in r.body)
    snapshots = [t for t, _d, _p, m in batches if any(e["type"] == 2 for e in m["e"])]
    assert any(t >= key for t in snapshots), "co-browse sent no full snapshot when the recorder asked"
    first, second = first_with(batches, "Carla first"), first_with(batches, "Carla second")
    assert second - first >= 1000

    page_errors: list[str] = []
    rita.on("pageerror", lambda err: page_errors.append(str(err)))
    await rita.goto(f"{host.base}/s/demo/p/recorder/recordings/{rid}")
    await expect(rita.locator(".recorder-player")).to_have_attribute("data-ready", "1")
    played = rita.frame_locator(".player-cobrowse iframe.player-cobrowse-frame").frame_locator("iframe")
    await player_at(rita, (first + second) // 2)
    await expect(rita.locator(".recorder-player")).to_have_attribute("data-cobrowse", "on")
    await expect(played.locator("#heading")).to_have_text("Checkout")
    await expect(played.locator("#name")).to_have_value("Carla first")
    await expect(played.locator("#city")).to_have_value("Lisbon")
    await player_at(rita, second + 50)
    await expect(played.locator("#name")).to_have_value("Carla second")
    await player_at(rita, (first + second) // 2)        # backwards: rebuilt from the snapshot before it
    await expect(played.locator("#name")).to_have_value("Carla first")
    sandboxes = await rita.evaluate("""() => {
      const outer = document.querySelector('.player-cobrowse iframe');
      return [outer.getAttribute('sandbox'), outer.contentDocument.querySelector('iframe').getAttribute('sandbox')];
    }""")
    assert sandboxes == ["allow-same-origin", "allow-same-origin"]
    assert not page_errors, page_errors


HOSTILE = {"type": 0, "childNodes": [
    {"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2},
    {"type": 2, "tagName": "html", "attributes": {}, "id": 3, "childNodes": [
        {"type": 2, "tagName": "head", "attributes": {}, "id": 4, "childNodes": []},
        {"type": 2, "tagName": "body", "attributes": {}, "id": 5, "childNodes": [
            {"type": 2, "tagName": "h1", "attributes": {"id": "title"}, "id": 6,
             "childNodes": [{"type": 3, "textContent": "A hostile page", "id": 7}]},
            {"type": 2, "tagName": "img", "attributes": {"src": "data:,broken", "onerror": "top.__pwned = 'img'"},
             "id": 8, "childNodes": []},
            {"type": 2, "tagName": "script", "attributes": {}, "id": 9,
             "childNodes": [{"type": 3, "textContent": "top.__pwned = 'script'; top.document.title = 'pwned'",
                             "id": 10}]}]}]}], "id": 1}


async def test_a_script_in_a_recorded_page_never_runs_in_the_player(world):  # noqa: F811
    host = world["host"]
    root = plugin_data_dir(host.app, "recorder")
    batch = {"type": "cobrowse.events", "e": [
        {"type": 4, "data": {"href": "http://shop.test/", "width": 800, "height": 600}, "timestamp": 1_000_000},
        {"type": 2, "data": {"node": HOSTILE, "initialOffset": {"left": 0, "top": 0}}, "timestamp": 1_000_000}]}
    recs = [event(0, e="part_start", part=1, participants=[]), event(0, e="key"),
            record(500, reader.KIND_JSON, reader.OUT, "p-rep", json.dumps(batch).encode()),
            event(5_000, e="part_end", part=1, reason="stopped")]

    def write(db):
        site_id = host.site("demo").id
        user_id = db.execute("select id from users where site_id = ? and username = 'rep1'", [site_id]).fetchone()[0]
        return write_recording(db, root, site_id, split_segments(recs), rep_user_id=user_id,
                               session_id="session-hostile")
    rid = await host.app[DB].write(write)
    rita, _relayed = await rep_console(world)
    blocked: list[str] = []
    rita.on("console", lambda msg: blocked.append(msg.text))
    await rita.goto(f"{host.base}/s/demo/p/recorder/recordings/{rid}")
    await expect(rita.locator(".recorder-player")).to_have_attribute("data-ready", "1")
    await player_at(rita, 1000)
    played = rita.frame_locator(".player-cobrowse iframe.player-cobrowse-frame").frame_locator("iframe")
    await expect(played.locator("#title")).to_have_text("A hostile page")
    await asyncio.sleep(0.5)                  # a script that could run would have run by now
    assert await rita.evaluate("() => window.__pwned ?? null") is None
    assert await rita.title() != "pwned"
