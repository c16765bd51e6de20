"""The recording player in Chromium: a rep opens their recording from the Recordings page, jumps to a chapter and
sees the screen as it was then (drawn by the live session's viewer code); who may play what; a tampered
recording shows a clear message. Every playback is audited."""
from __future__ import annotations

import av
import pytest
from playwright.async_api import expect

from conftest import PASSWORD
from host.api import plugin_data_dir
from host.appkeys import DB
from plugins.recorder.reader import recording_folder
from recorder_play_helpers import (chat, colour_at, event, screen_recording, sine_webm, split_segments,
                                   write_recording)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio]


async def make(host, username="rep1", site="demo", seconds=30, media=()):
    site_id = host.site(site).id
    root = plugin_data_dir(host.app, "recorder")
    recs = screen_recording(seconds, w=640, h=360, period_ms=4000)
    recs += [event(5_000, e="chapter", label="Alice joined", type="join"),
             chat(23_000, "hello"), event(23_000, e="chapter", label="Chat: hello from Alice", type="chat")]
    recs.sort(key=lambda r: r[8:16])

    def write(db):
        user_id = db.execute("select id from users where site_id = ? and username = ?", [site_id, username]).fetchone()[0]
        return write_recording(db, root, site_id, split_segments(recs), rep_user_id=user_id,
                               session_id=f"session-of-{username}", media=media, part_starts=(15_000,))
    return await host.app[DB].write(write)


async def log_in(browser, host, username, site="demo"):
    context = await browser.new_context(base_url=host.base)
    page = await context.new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    await page.goto(f"/s/{site}/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click(".login-form button[type=submit]")
    await page.wait_for_url(f"**/s/{site}/console")
    return context, page, errors


PIXEL = """([x, y]) => {
  const c = [...document.querySelectorAll('.player-screen .desktop-viewer')].find((v) => !v.hidden).querySelector('canvas');
  return [...c.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3)];
}"""


def near(rgb, expected, tol=40):
    return all(abs(a - b) <= tol for a, b in zip(rgb, expected))


async def test_rep_opens_the_recording_jumps_to_a_chapter_and_sees_that_moment(browser, host):
    rid = await make(host)
    context, page, errors = await log_in(browser, host, "rep1")
    await page.goto("/s/demo/p/recorder/recordings")
    await page.locator(f'tr[data-recording="{rid}"] a', has_text="Play").click()
    player = page.locator(".recorder-player")
    await expect(player).to_have_attribute("data-ready", "1", timeout=20_000)
    await expect(page.locator(".player-chapters li")).to_have_count(3)
    await expect(page.locator(".player-chapters li").nth(1)).to_have_text("0:15Recording resumed (part 2)")
    assert near(await page.evaluate(PIXEL, [600, 300]), colour_at(0, 4000)[1])
    await page.get_by_role("button", name="Chat: hello from Alice").click()
    await expect(player).to_have_attribute("data-seeking", "0")
    await expect(player).to_have_attribute("data-t", "23000")
    assert near(await page.evaluate(PIXEL, [600, 300]), colour_at(23_000, 4000)[1])       # blue at 0:23
    await expect(page.locator('.player-chapters li[aria-current="true"]')).to_contain_text("Chat: hello from Alice")
    await expect(page.locator(".player-time")).to_have_text("0:23 / 0:29")
    await expect(page.get_by_role("slider", name="Position")).to_have_attribute("aria-valuetext", "0:23")
    assert await page.locator("#player-chapter-ticks option").evaluate_all("(os) => os.map((o) => o.value)") \
        == ["5000", "15000", "23000"]
    # the timeline's other chapter, then playing on at 4x crosses into the next colour
    await page.get_by_role("button", name="Alice joined").click()
    await expect(player).to_have_attribute("data-t", "5000")
    assert near(await page.evaluate(PIXEL, [600, 300]), colour_at(5_000, 4000)[1])
    await page.select_option(".player-speed", "4")
    await page.get_by_role("button", name="Play").click()
    await page.wait_for_function("() => Number(document.querySelector('.recorder-player').dataset.t) > 9000")
    await page.get_by_role("button", name="Pause").click()
    t = int(await player.get_attribute("data-t"))
    assert near(await page.evaluate(PIXEL, [600, 300]), colour_at(t, 4000)[1], tol=60) or \
        near(await page.evaluate(PIXEL, [600, 300]), colour_at(t - 200, 4000)[1], tol=60)
    assert errors == []
    rows = await host.app[DB].read(lambda db: db.execute(
        "select actor, action, target from audit_log where action = 'recording.played'").fetchall())
    assert len(rows) == 1 and rows[0][2] == f"recording:{rid}"
    await context.close()


async def test_only_the_rep_and_the_site_admin_may_play_it(browser, host):
    rid = await make(host)
    url = f"/s/demo/p/recorder/api/recordings/{rid}/index"
    for username, site, status in (("rep1", "demo", 200), ("admin", "demo", 200), ("rep2", "demo", 404),
                                   ("admin", "other", 404)):
        context, page, _ = await log_in(browser, host, username, site)
        res = await page.request.get(url.replace("/s/demo/", f"/s/{site}/"))
        assert res.status == status, (username, site)
        seg = await page.request.get(f"/s/{site}/p/recorder/api/recordings/{rid}/files/seg-000001.rec")
        assert seg.status == (200 if status == 200 else 404)
        token = await page.evaluate("() => document.querySelector('meta[name=\"csrf-token\"]').content")
        job = await page.request.post(f"/s/{site}/p/recorder/api/recordings/{rid}/export",
                                      headers={"X-CSRF-Token": token})
        assert job.status == (200 if status == 200 else 404)
        if status != 200:
            assert (await page.request.get(f"/s/{site}/p/recorder/api/recordings/{rid}/export.webm")).status == 404
        await context.close()
    anonymous = await browser.new_context(base_url=host.base)
    assert (await anonymous.request.get(url)).status == 404
    assert (await anonymous.request.get(f"/s/demo/p/recorder/recordings/{rid}")).status == 404
    await anonymous.close()


async def test_a_tampered_recording_says_so_in_the_player(browser, host):
    rid = await make(host)
    folder = recording_folder(plugin_data_dir(host.app, "recorder"), host.site("demo").id, rid)
    seg = folder / "seg-000003.rec"
    data = bytearray(seg.read_bytes())
    data[len(data) // 2] ^= 0xFF
    seg.write_bytes(bytes(data))
    context, page, errors = await log_in(browser, host, "rep1")
    await page.goto(f"/s/demo/p/recorder/recordings/{rid}")
    await expect(page.locator(".recorder-player")).to_have_attribute("data-ready", "1", timeout=20_000)
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("This recording was changed or damaged")
    await expect(alert).to_contain_text("seg-000003.rec was changed after it was written (its SHA-256 does not "
                                        "match): the recording cannot be trusted from 0:20 on")
    res = await page.request.get(f"/s/demo/p/recorder/api/recordings/{rid}/files/seg-000003.rec")
    assert res.status == 409 and "SHA-256 does not match" in (await res.json())["error"]["message"]
    assert errors == []
    await context.close()


AUDIO = """() => { const a = document.querySelector('.player-media audio');
  return { t: a.currentTime, paused: a.paused, rate: a.playbackRate,
           clock: Number(document.querySelector('.recorder-player').dataset.t) }; }"""


async def test_the_call_audio_follows_the_clock(browser, host, tmp_path):
    tone = sine_webm(tmp_path / "tone.webm", 8.0)
    rid = await make(host, seconds=20, media=[("media-audio-p1-1.webm", 3_000, tone)])
    context, page, errors = await log_in(browser, host, "rep1")
    await page.goto(f"/s/demo/p/recorder/recordings/{rid}")
    player = page.locator(".recorder-player")
    await expect(player).to_have_attribute("data-ready", "1", timeout=20_000)
    await expect(page.locator(".player-media audio")).to_have_count(1)
    await page.get_by_role("button", name="Alice joined").click()          # 0:05, two seconds into the audio
    await expect(player).to_have_attribute("data-t", "5000")
    await page.wait_for_function("() => document.querySelector('.player-media audio').readyState >= 1")
    state = await page.evaluate(AUDIO)
    assert state["paused"] and abs(state["t"] - 2.0) < 0.3, state
    await page.select_option(".player-speed", "2")
    await page.get_by_role("button", name="Play").click()
    await page.wait_for_function("() => Number(document.querySelector('.recorder-player').dataset.t) > 6500")
    state = await page.evaluate(AUDIO)
    assert not state["paused"] and state["rate"] == 2 and abs(state["t"] - (state["clock"] - 3000) / 1000) < 0.8, state
    await page.get_by_role("button", name="Pause").click()
    assert (await page.evaluate(AUDIO))["paused"]
    assert errors == []
    await context.close()


async def test_export_from_the_player_runs_in_the_background_then_downloads(browser, host, tmp_path):
    rid = await make(host, seconds=12)
    context, page, errors = await log_in(browser, host, "rep1")
    await page.goto(f"/s/demo/p/recorder/recordings/{rid}")
    await expect(page.locator(".recorder-player")).to_have_attribute("data-ready", "1", timeout=20_000)
    download_link = page.get_by_role("link", name="Download (WebM)")
    await expect(download_link).to_be_hidden()
    await page.get_by_role("button", name="Export to WebM").click()
    await expect(page.locator(".player-export-state")).to_have_text("Ready.", timeout=60_000)
    async with page.expect_download() as info:
        await download_link.click()
    download = await info.value
    target = tmp_path / "got.webm"
    await download.save_as(target)
    with av.open(str(target)) as c:
        assert abs(c.duration / 1e6 - 23.0) < 0.3          # up to its last record, the chat line at 0:23
        assert [s.codec_context.name for s in c.streams] == ["vp9", "opus"]
    rows = await host.app[DB].read(lambda db: [r[0] for r in db.execute(
        "select action from audit_log where action in ('recording.exported', 'recording.downloaded') order by id")])
    assert rows == ["recording.exported", "recording.downloaded"]
    # asking again while it is there starts nothing new
    again = await page.request.post(f"/s/demo/p/recorder/api/recordings/{rid}/export",
                                    headers={"X-CSRF-Token": await page.locator('meta[name="csrf-token"]').get_attribute("content")})
    assert (await again.json())["state"] == "done"
    without_csrf = await page.request.post(f"/s/demo/p/recorder/api/recordings/{rid}/export")
    assert without_csrf.status == 403
    assert errors == []
    await context.close()


async def test_a_seek_between_key_frames_rebuilds_the_whole_screen(browser, host):
    """Only the moving band changes after the first picture: a seek into the third segment must draw the
    still background too, from that segment's key frame (not from a blank canvas)."""
    site_id = host.site("demo").id
    root = plugin_data_dir(host.app, "recorder")
    recs = screen_recording(30, w=1280, h=360, period_ms=3_600_000)      # one colour all along
    recs += [event(26_000, e="chapter", label="Later", type="chat")]
    recs.sort(key=lambda r: r[8:16])

    def write(db):
        user_id = db.execute("select id from users where site_id = ? and username = 'rep1'", [site_id]).fetchone()[0]
        return write_recording(db, root, site_id, split_segments(recs), rep_user_id=user_id)
    rid = await host.app[DB].write(write)
    context, page, errors = await log_in(browser, host, "rep1")
    await page.goto(f"/s/demo/p/recorder/recordings/{rid}")
    player = page.locator(".recorder-player")
    await expect(player).to_have_attribute("data-ready", "1", timeout=20_000)
    await page.get_by_role("button", name="Later").click()
    await expect(player).to_have_attribute("data-t", "26000")
    await expect(player).to_have_attribute("data-seeking", "0")
    assert near(await page.evaluate(PIXEL, [1000, 300]), colour_at(0, 3_600_000)[1])
    assert errors == []
    await context.close()


CANVAS = """() => {
  const c = [...document.querySelectorAll('.player-screen .desktop-viewer')].find((v) => !v.hidden).querySelector('canvas');
  return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
}"""


def scrolling_recording(seconds=20, w=640, h=360):
    """A page of coloured "text" lines scrolling up 8 pixels a frame (the encoder sends copies of what the
    viewer has, plus the new lines), with a key event and a whole picture every 10 s."""
    import numpy as np

    from agent.frames import make_binary
    from plugin_libs.screenshare.pipeline import ScreenEncoder
    from plugins.recorder import reader
    from plugins.recorder.writer import encode_record
    rng = np.random.default_rng(11)
    page = np.full((h + 8 * seconds * 10, w, 4), 255, np.uint8)
    for y in range(0, page.shape[0] - 12, 16):                  # "lines of text": runs of coloured blocks
        for x in range(8, w - 40, 48):
            if rng.random() < 0.7:
                page[y:y + 10, x:x + 40, :3] = rng.integers(0, 200, 3)
    enc, recs = ScreenEncoder(), []
    for i in range(seconds * 10):
        t = i * 100
        if t % 10_000 == 0:
            recs.append(event(t, e="key"))
            enc.reset()
        for c, chunk in enumerate(chunks := enc.encode(np.ascontiguousarray(page[i * 8:i * 8 + h]))):
            header = {"type": "desktop.frame", "seq": i + 1}
            if len(chunks) > 1:
                header.update(c=c, n=len(chunks))
            if c == 0:
                header.update(w=w, h=h)
            recs.append(encode_record(t, reader.KIND_BINARY, reader.IN, "p-agent", make_binary(header, chunk)))
    assert enc.stats["copy"] > 0                                  # the replay has copies to keep right
    return recs + [event(11_500, e="chapter", label="Here", type="chat")]


async def test_a_seek_draws_exactly_what_playing_through_would_have(browser, host):
    """The seek leaves out tiles painted over later (and keeps what copies read): the picture equals the one the
    export's compositor builds from every frame, pixel for pixel but for JPEG rounding."""
    import numpy as np

    from plugins.recorder import reader
    from plugins.recorder.export_screen import Compositor
    recs = sorted(scrolling_recording(), key=lambda r: r[8:16])
    site_id = host.site("demo").id
    root = plugin_data_dir(host.app, "recorder")

    def write(db):
        user_id = db.execute("select id from users where site_id = ? and username = 'rep1'", [site_id]).fetchone()[0]
        return write_recording(db, root, site_id, split_segments(recs), rep_user_id=user_id)
    rid = await host.app[DB].write(write)
    index = await host.app[DB].read(lambda db: reader.load_index(db, root, rid))
    compositor = Compositor()
    for rec in reader.records_from(index):
        if rec.t_ms > 11_500:
            break
        if rec.kind == reader.KIND_BINARY:
            compositor.feed(rec.participant, rec.body)
    expected = compositor.current.pixels[:, :, ::-1].astype(int)          # BGR -> RGB
    context, page, errors = await log_in(browser, host, "rep1")
    await page.goto(f"/s/demo/p/recorder/recordings/{rid}")
    player = page.locator(".recorder-player")
    await expect(player).to_have_attribute("data-ready", "1", timeout=20_000)
    await page.get_by_role("button", name="Here").click()
    await expect(player).to_have_attribute("data-t", "11500")
    await expect(player).to_have_attribute("data-seeking", "0")
    got = np.array(await page.evaluate(CANVAS)).reshape(360, 640, 4)[:, :, :3]
    diff = np.abs(got - expected)
    assert diff.mean() < 2 and np.percentile(diff, 99.9) < 40, (diff.mean(), diff.max())
    assert errors == []
    await context.close()
