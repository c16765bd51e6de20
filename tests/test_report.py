"""The CSR activity report over real HTTP: sessions made through the real host (chat, notes, invites,
files, control transfer), a WebACD queue entry in WebACD's own tables, filters, charts, CSV, who sees what."""
from __future__ import annotations

import csv
import io
import re

import aiohttp
import pytest
import pytest_asyncio

from conftest import FakeClock, start_host, stop_host
from host.appkeys import DB

DAY = 86400
pytestmark = pytest.mark.asyncio(loop_scope="module")   # one host and one scene for the module's tests


async def user_ids(host, site="demo"):
    site_id = host.site(site).id
    return await host.db_read(lambda db: {r["username"]: r["id"] for r in db["users"].rows_where(
        "site_id = ?", [site_id])})


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scene(tmp_path_factory):
    """Three sessions on two days: A (rep1, Carla, everything used, control to rep2), B (rep2 alone),
    C (rep1, a customer from the WebACD queue "Billing" who waited 90 s)."""
    clock = FakeClock(1_800_000_000.0 - 1_800_000_000.0 % DAY + 9 * 3600)   # 09:00 UTC
    host = await start_host(tmp_path_factory.mktemp("report") / "data", clock=clock)
    ids = await user_ids(host)
    rep1, rep2 = await host.rep("rep1"), await host.rep("rep2")

    a = await rep1.start_session()
    ws = await rep1.ws(a["id"])
    carla = await host.client()
    await carla.join(a["number"], "=HYPERLINK(\"http://evil\")")
    cws = await carla.ws(a["id"])
    await cws.request({"type": "chat.send", "text": "hello"})
    await ws.request({"type": "notes.save", "text": "Reset <b>router</b>", "final": True})
    r = await rep1.api_post(f"/s/demo/p/invite/sessions/{a['id']}/invites", {"channel": "phone"})
    assert r.status == 201
    form = aiohttp.FormData()
    form.add_field("file", b"log", filename="log.txt")
    r = await rep1.http.post(rep1.url(f"/s/demo/p/filexfer_basic/sessions/{a['id']}/files"), data=form,
                             headers={"X-CSRF-Token": await rep1.csrf("/s/demo/")})
    assert r.status == 201
    await ws.request({"type": "session.add_rep", "user_id": ids["rep2"]})
    ws2 = await rep2.ws(a["id"])
    await ws.request({"type": "session.transfer_control", "to": ws2.hello["you"]["id"]})
    clock.advance(600)
    await ws2.send({"type": "session.end"})
    await ws2.expect("session.ended")

    clock.advance(DAY)
    rep1, rep2 = await host.rep("rep1"), await host.rep("rep2")   # the logins of yesterday expired
    b = await rep2.start_session()
    wsb = await rep2.ws(b["id"])
    clock.advance(120)
    await wsb.send({"type": "session.end"})
    await wsb.expect("session.ended")

    c = await rep1.start_session()
    dora = await host.client()
    await dora.join(c["number"], "Dora")
    site_id = host.site().id
    now = clock.now

    def queue_entry(db):   # what WebACD writes when a queued customer is taken (its own tables)
        qid = db["acd_queues"].insert({"site_id": site_id, "name": "Billing", "mode": "offer",
                                       "created_at": now}).last_pk
        db["acd_entries"].insert({"id": "e1", "site_id": site_id, "queue_id": qid, "kind": "new",
                                  "state": "accepted", "name": "Dora", "created_at": now - 90,
                                  "accepted_at": now, "session_id": c["id"]})
    await host.app[DB].write(queue_entry)
    clock.advance(300)
    wsc = await rep1.ws(c["id"])
    await wsc.send({"type": "session.end"})
    await wsc.expect("session.ended")
    people = {"admin": await host.rep("admin"), "rep1": rep1, "rep2": rep2,
              "other_admin": await host.rep("admin", site="other")}
    try:
        yield host, people, ids, {"a": a, "b": b, "c": c}
    finally:
        await stop_host(host)


async def page(client, query=""):
    async with client.http.get(client.url(f"/s/{client.site}/p/report/{query}")) as r:
        return r.status, await r.text()


def table_rows(html: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r'<tr data-session="([0-9a-f]+)">(.*?)</tr>', html, re.S)}


def cell(row_html: str, cls: str) -> str:
    return re.search(rf'<td class="{cls}">(.*?)</td>', row_html, re.S).group(1).strip()


async def test_admin_sees_every_session_with_people_times_queue_and_plugin_columns(scene):
    host, people, ids, s = scene
    admin = people["admin"]
    status, html = await page(admin)
    assert status == 200
    rows = table_rows(html)
    assert set(rows) == {s["a"]["id"], s["b"]["id"], s["c"]["id"]}
    a = rows[s["a"]["id"]]
    assert cell(a, "reps") == "Rita Rep, Sam Second"
    assert cell(a, "customers") == "=HYPERLINK(&#34;http://evil&#34;)"      # shown as text
    assert cell(a, "num duration") == "10 min 00 s"
    assert cell(a, "num transfers") == "1"
    assert cell(a, "features") == "assisting rep, chat, files, invites, notes"
    assert cell(a, "notes") == "Reset &lt;b&gt;router&lt;/b&gt;"
    assert cell(a, "files").startswith("log.txt (3 bytes")
    assert cell(a, "invites") == "phone to -: shown"
    c = rows[s["c"]["id"]]
    assert cell(c, "queue") == "Billing" and cell(c, "num wait") == "1 min 30 s"
    assert '<strong class="total-sessions">3</strong>' in html

    # the charts are in the page, drawn on the server
    day1 = re.search(r'data-day="(\d{4}-\d\d-\d\d)" data-count="1"', html).group(1)
    counts = dict(re.findall(r'data-day="([\d-]+)" data-count="(\d+)"', html))
    assert sorted(v for v in counts.values() if v != "0") == ["1", "2"] and day1 in counts
    assert re.search(r'class="bar wait" data-queue="Billing" data-seconds="90"', html)
    assert re.search(r'class="bar duration" data-queue="Billing" data-seconds="300"', html)
    assert re.search(r'class="bar duration" data-queue="\(no queue\)" data-seconds="360"', html)  # (600+120)/2
    assert "<script>" not in html.split("<main>")[1].split("</main>")[0]


async def test_reps_see_only_their_own_sessions(scene):
    host, people, ids, s = scene
    rep1 = people["rep1"]
    _status, html = await page(rep1)
    assert set(table_rows(html)) == {s["a"]["id"], s["c"]["id"]}
    _status, html = await page(rep1, f"?rep={ids['rep2']}")     # asking for someone else's changes nothing
    assert set(table_rows(html)) == {s["a"]["id"], s["c"]["id"]}
    rep2 = people["rep2"]
    _status, html = await page(rep2)
    assert set(table_rows(html)) == {s["a"]["id"], s["b"]["id"]}
    other_admin = people["other_admin"]
    _status, html = await page(other_admin)
    assert table_rows(html) == {} and "No sessions in this range." in html


async def test_filters_by_date_rep_and_queue(scene):
    host, people, ids, s = scene
    admin = people["admin"]
    _status, html = await page(admin)
    days = sorted(d for d, n in re.findall(r'data-day="([\d-]+)" data-count="(\d+)"', html) if n != "0")
    _status, html = await page(admin, f"?from={days[0]}&to={days[0]}")
    assert set(table_rows(html)) == {s["a"]["id"]}
    _status, html = await page(admin, f"?rep={ids['rep2']}")
    assert set(table_rows(html)) == {s["a"]["id"], s["b"]["id"]}
    _status, html = await page(admin, "?queue=Billing")
    assert set(table_rows(html)) == {s["c"]["id"]}


async def test_bad_filters_get_a_clear_error(scene):
    host, people, *_ = scene
    admin = people["admin"]
    status, html = await page(admin, "?from=yesterday")
    assert status == 400 and "From: a date like 2026-11-24 is needed" in html
    status, html = await page(admin, "?from=2027-02-01&to=2027-01-01")
    assert status == 400 and "From must not be after To" in html
    status, html = await page(admin, "?rep=abc")
    assert status == 400 and "Rep: choose a rep from the list" in html
    async with admin.http.get(admin.url("/s/demo/p/report/sessions.csv?to=13/01/2027")) as r:
        assert r.status == 400 and "To: a date like" in await r.text()


async def test_csv_export(scene):
    host, people, ids, s = scene
    admin = people["admin"]
    async with admin.http.get(admin.url("/s/demo/p/report/sessions.csv")) as r:
        assert r.status == 200 and r.content_type == "text/csv"
        assert "attachment" in r.headers["Content-Disposition"]
        text = await r.text()
    rows = list(csv.DictReader(io.StringIO(text)))
    by_id = {row["session_id"]: row for row in rows}
    assert set(by_id) == {s["a"]["id"], s["b"]["id"], s["c"]["id"]}
    a = by_id[s["a"]["id"]]
    assert a["customers"] == "'=HYPERLINK(\"http://evil\")"     # never run as a formula
    assert a["notes"] == "Reset <b>router</b>" and a["duration"] == "600" and a["transfers"] == "1"
    assert a["chat_messages"] == "1"                            # a plugin's own column, through the hook
    assert by_id[s["c"]["id"]]["queue"] == "Billing" and by_id[s["c"]["id"]]["wait"] == "90"
    rep2 = people["rep2"]
    async with rep2.http.get(rep2.url("/s/demo/p/report/sessions.csv")) as r:
        assert {row["session_id"] for row in csv.DictReader(io.StringIO(await r.text()))} == \
            {s["a"]["id"], s["b"]["id"]}


async def test_report_needs_a_login_and_can_be_switched_off(tmp_path):
    host = await start_host(tmp_path / "data")
    try:
        anon = await host.client()
        async with anon.http.get(anon.url("/s/demo/p/report/"), allow_redirects=False) as r:
            assert r.status == 302 and "/login" in r.headers["Location"]
        admin = await host.rep("admin")
        async with admin.http.get(admin.url("/s/demo/console")) as r:
            assert "/static/plugins/report/nav.js" in await r.text()
        site_id = host.site().id
        await host.app[DB].write(lambda db: db["site_plugins"].upsert(
            {"site_id": site_id, "plugin": "report", "enabled": 0}, pk=("site_id", "plugin")))
        from host.appkeys import SITES
        await host.app[DB].read(host.app[SITES].load)
        status, _ = await page(admin)
        assert status == 403
    finally:
        await stop_host(host)
