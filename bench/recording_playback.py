"""Recording playback benchmark: export speed of a 1080p recording (multiples of real time) and the time to the
first frame when seeking in a one-hour recording.

  python -m bench.recording_playback [--seconds 30] [--hour-minutes 60] [--seeks 9]

The 1080p recording is made by the real screen encoder (plugin_libs/screenshare/pipeline.py) at 10 frames a
second: a background that changes colour every 2 s and a band of noise (photo-like tiles) moving down the screen,
so every frame carries changed JPEG tiles: a busy screen. The one-hour recording repeats those segments with
shifted times (written as the writer writes them, with their SHA-256 rows). A seek is what the player and the
export do: find the segment with the key frame before the moment, check its SHA-256, read it, and draw the
screen up to the moment with the compositor; then the same seeks in the real player page in Chromium (a real
host serving the segments, the live viewer code drawing them). Medians; nothing here is asserted.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlite_utils

from agent.frames import make_binary
from plugin_libs.screenshare.pipeline import ScreenEncoder
from plugins.recorder import reader
from plugins.recorder.export import export_webm
from plugins.recorder.export_screen import Compositor, records_for
from plugins.recorder.migrations import migrations
from plugins.recorder.writer import encode_record

RID = "BenchRecordingPlayback"
SEGMENT_MS = 10_000


def busy_screen(seconds: int, w: int = 1920, h: int = 1080, fps: int = 10) -> list[tuple]:
    """(t_ms, kind, direction, participant, body) of a busy shared screen, a key event every 10 s."""
    enc, rng = ScreenEncoder(), np.random.default_rng(3)
    frame = np.zeros((h, w, 4), np.uint8)
    out = []
    for i in range(seconds * fps):
        t = i * 1000 // fps
        if t % SEGMENT_MS == 0:
            enc.reset()                   # the refresh the recorder asks for at each new segment
            out.append((t, reader.KIND_EVENT, 0, "", b'{"e":"key"}'))
        frame[:, :, :3] = [(40, 40, 200), (40, 180, 40), (200, 60, 40)][(t // 2000) % 3]
        y = (i * 9) % (h - 120)
        frame[y:y + 120, 100:900, :3] = rng.integers(0, 255, (120, 800, 3), dtype=np.uint8)
        chunks = enc.encode(frame)
        for c, chunk in enumerate(chunks):
            header = {"type": "desktop.frame", "seq": i + 1, "t": t}
            if len(chunks) > 1:
                header.update(c=c, n=len(chunks))
            if c == 0:
                header.update(w=w, h=h, mon=1)
            out.append((t, reader.KIND_BINARY, reader.IN, "agent", make_binary(header, chunk)))
    return out


def write(folder: Path, db, records: list[tuple], repeat_to_ms: int | None = None) -> None:
    """Segments of 10 s with their rows; ``repeat_to_ms``: the records again and again, shifted, up to then."""
    folder.mkdir(parents=True)
    length = records[-1][0] // SEGMENT_MS * SEGMENT_MS + SEGMENT_MS
    end = repeat_to_ms or length
    by_segment: dict[int, list[bytes]] = {}
    for t, kind, direction, who, body in records:
        by_segment.setdefault(t // SEGMENT_MS, []).append((t % SEGMENT_MS, kind, direction, who, body))
    n = 0
    for start in range(0, end, SEGMENT_MS):
        recs = by_segment[(start % length) // SEGMENT_MS]
        data = reader.MAGIC + b"".join(encode_record(start + t, k, d, w, b) for t, k, d, w, b in recs)
        n += 1
        name = f"seg-{n:06d}.rec"
        (folder / name).write_bytes(data)
        db["recording_files"].insert({"recording_id": RID, "name": name, "kind": "segment",
                                      "first_ms": start + recs[0][0], "last_ms": start + recs[-1][0],
                                      "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                                      "records": len(recs)})
    db["recordings"].insert({"id": RID, "site_id": 1, "session_id": "bench", "rep_user_id": 1, "started_at": 0.0,
                             "status": "complete", "duration_ms": end - SEGMENT_MS + records[-1][0] % SEGMENT_MS,
                             "bytes": 0, "has_screen": 1, "has_media": 0, "automatic": 0, "reason": ""})


def first_frame(index: reader.RecordingIndex, target: int) -> float:
    """Seconds from a seek to ``target`` until the screen at that moment is drawn (compositor)."""
    t0 = time.perf_counter()
    compositor = Compositor()
    for rec in records_for(index, target, reader.read_segment):
        if rec.t_ms > target:
            break
        if rec.kind == reader.KIND_BINARY and rec.direction == reader.IN:
            compositor.feed(rec.participant, rec.body)
    assert compositor.current is not None
    return time.perf_counter() - t0


SEEK_IN_PAGE = """async (t) => {
  const t0 = performance.now();
  await window.recorderPlayer.seek(t);
  return performance.now() - t0;
}"""


async def browser_seeks(tmp: Path, long_db, long_root: Path, targets: list[int]) -> dict:
    """The same seeks in the real player page (Chromium): from the seek until the live viewer code drew the
    screen of that moment (segments fetched from a real host that checks their SHA-256)."""
    import os

    from playwright.async_api import async_playwright

    from host.api import plugin_data_dir
    from host.appkeys import DB
    from host.testing import CHROMIUM_ARGS, PASSWORD, start_host, stop_host
    host = await start_host(tmp / "data")
    try:
        site_id = host.site("demo").id
        recording = {**long_db["recordings"].get(RID), "site_id": site_id}
        files = list(long_db["recording_files"].rows)

        def insert(db):
            recording["rep_user_id"] = db.execute("select id from users where username = 'rep1' and site_id = ?",
                                                  [site_id]).fetchone()[0]
            db["recordings"].insert(recording)
            db["recording_files"].insert_all(files)
        await host.app[DB].write(insert)
        target_folder = reader.recording_folder(plugin_data_dir(host.app, "recorder"), site_id, RID)
        target_folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(reader.recording_folder(long_root, 1, RID)), str(target_folder))
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=os.environ.get("SUPPORTHOST_CHROMIUM", "/usr/bin/chromium"),
                                               args=CHROMIUM_ARGS)
            page = await (await browser.new_context(base_url=host.base)).new_page()
            await page.goto("/s/demo/login")
            await page.fill("input[name=username]", "rep1")
            await page.fill("input[name=password]", PASSWORD)
            await page.click(".login-form button[type=submit]")
            await page.wait_for_url("**/s/demo/console")
            t0 = time.perf_counter()
            await page.goto(f"/s/demo/p/recorder/recordings/{RID}")
            await page.wait_for_selector(".recorder-player[data-ready='1']", timeout=120_000)
            opened = time.perf_counter() - t0
            seeks = [await page.evaluate(SEEK_IN_PAGE, t) for t in targets]
            await browser.close()
    finally:
        await stop_host(host)
    return {"browser_first_open_s": round(opened, 2), "browser_seek_first_frame_ms": [round(x, 1) for x in seeks],
            "browser_seek_first_frame_ms_median": round(statistics.median(seeks), 1),
            "browser_seek_first_frame_ms_max": round(max(seeks), 1)}


def run(args=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=int, default=30, help="length of the 1080p recording to export")
    p.add_argument("--hour-minutes", type=int, default=60, help="length of the long recording for seeking")
    p.add_argument("--seeks", type=int, default=9)
    p.add_argument("--no-browser", action="store_true", help="skip the seeks in the player page (Chromium)")
    opts = p.parse_args(args)
    tmp = Path(tempfile.mkdtemp(prefix="bench-recording-"))
    try:
        t0 = time.perf_counter()
        records = busy_screen(opts.seconds)
        made = time.perf_counter() - t0
        results: dict = {"seconds": opts.seconds, "encoding_s": round(made, 2)}

        db = sqlite_utils.Database(tmp / "short.db")
        migrations.apply(db)
        write(reader.recording_folder(tmp / "short", 1, RID), db, records)
        index = reader.load_index(db, tmp / "short", RID)
        stored = sum(f.bytes for f in index.segments)
        results["bytes_per_hour_busy_1080p"] = round(stored / (index.duration_ms / 1000) * 3600)
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            res = export_webm(index, tmp / "out.webm")
            runs.append(res.duration_ms / 1000 / (time.perf_counter() - t0))
        results["export_x_real_time"] = [round(r, 2) for r in runs]
        results["export_x_real_time_median"] = round(statistics.median(runs), 2)
        results["export_file_bytes"] = (tmp / "out.webm").stat().st_size

        db = sqlite_utils.Database(tmp / "long.db")
        migrations.apply(db)
        write(reader.recording_folder(tmp / "long", 1, RID), db, records, repeat_to_ms=opts.hour_minutes * 60_000)
        t0 = time.perf_counter()
        index = reader.load_index(db, tmp / "long", RID)
        results["open_index_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        from plugins.recorder.player_views import chapters_and_damage
        t0 = time.perf_counter()
        chapters_and_damage(index)
        results["player_first_open_s"] = round(time.perf_counter() - t0, 2)
        results["long_recording_segments"] = len(index.segments)
        results["long_recording_bytes"] = sum(f.bytes for f in index.segments)
        rng = np.random.default_rng(5)
        targets = sorted(int(x) for x in rng.integers(0, index.duration_ms, opts.seeks))
        seeks = [first_frame(index, t) for t in targets]
        results["seek_first_frame_ms"] = [round(s * 1000, 1) for s in seeks]
        results["seek_first_frame_ms_median"] = round(statistics.median(seeks) * 1000, 1)
        results["seek_first_frame_ms_max"] = round(max(seeks) * 1000, 1)
        if not opts.no_browser:
            import asyncio
            results.update(asyncio.run(browser_seeks(tmp, db, tmp / "long", targets)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    run()
