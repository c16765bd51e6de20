"""The relay to the reps is bounded: a rep who stops reading misses batches (never the customer's page or
the other rep), is caught up from a fresh full snapshot the host asks the page for, and stays connected."""
from __future__ import annotations

import asyncio

from cobrowse_host_kit import connected_page, inbound, snapshot
from host.api import live_session
from test_webacd import user_id


def batch(n: int) -> dict:
    return {"t": "ev", "e": [{"type": 3, "timestamp": 2000.0 + n, "data": {
        "source": 0, "texts": [{"id": 5, "value": f"{n}:" + "z" * 200_000}], "attributes": [], "removes": [], "adds": []}}]}


async def test_a_rep_who_stops_reading_misses_batches_and_catches_up_from_a_fresh_snapshot(host):
    s = await inbound(host, view_without_asking=True)
    rep_ws = s["rep_ws"]
    await rep_ws.request({"type": "session.add_rep", "user_id": await user_id(host, "rep2")})
    sam = await host.rep("rep2")
    sam_ws = await sam.ws(s["sid"])                      # Sam's console stops reading from here on
    page = await connected_page(host, s["key"])
    await rep_ws.request({"type": "cobrowse.start", "mode": "view"})
    await page.expect("start")
    await page.send({"t": "ev", "e": snapshot([], at=1000.0)})
    got = []                                             # Rita reads all along

    async def read_rita():
        while len(got) < 101:
            got.append((await rep_ws.expect("cobrowse.events"))["e"][0]["timestamp"])
    rita = asyncio.create_task(read_rita())
    for n in range(100):                                  # 20 MB: far more than Sam's socket buffers hold
        await page.send(batch(n))
    asked = await page.expect("snapshot", timeout=30)     # the page is asked for a fresh snapshot
    assert asked == {"t": "snapshot"}
    await asyncio.wait_for(rita, 60)                     # Rita got every batch, in order
    assert got == [1000.0] + [2000.0 + n for n in range(100)]
    live = live_session(host.app, s["sid"])
    state = live.plugin_state["cobrowse"]
    sam_id = sam_ws.hello["you"]["id"]
    assert sam_id in state.behind and state.dropped > 0
    assert live.participants[sam_id].conn is not None    # Sam was not thrown out, only skipped
    seen = []                                            # Sam reads again

    async def read_sam():
        while True:
            seen.append((await sam_ws.expect("cobrowse.events"))["e"][0]["timestamp"])
    sam_reader = asyncio.create_task(read_sam())
    try:
        async with asyncio.timeout(60):
            while True:                                  # the page goes on; the host asks again for a snapshot
                await page.send({"t": "ev", "e": [{"type": 3, "timestamp": 3000.0, "data": {"source": 1, "positions": []}}]})
                try:
                    await page.expect("snapshot", timeout=0.3)
                    break
                except TimeoutError:
                    continue
            await page.send({"t": "ev", "e": snapshot([], at=4000.0)})
            while 4000.0 not in seen:
                await asyncio.sleep(0.05)
    finally:
        sam_reader.cancel()
    assert sam_id not in state.behind
    before = seen[:seen.index(4000.0)]
    assert before == sorted(before) and len(before) < 101 and 3000.0 not in before   # he missed some, in order
