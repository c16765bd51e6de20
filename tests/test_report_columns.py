"""A third-party plugin adds its own columns to the CSR activity report through the session_record hook,
without touching the report: they show in the page and in the CSV; a name the report already has gets
the plugin's prefix; a plugin that fails leaves the report whole; a site that switched the plugin off
does not get its column."""
from __future__ import annotations

import csv
import io
import re

from conftest import start_host, stop_host
from host.appkeys import DB, SITES
from host.hookspecs import hookimpl


class Ticketing:
    """A small test plugin: every session gets a ticket number, and it claims the report's own 'notes'
    column too (which stays the notes plugin's)."""

    @hookimpl
    def session_record(self, session, db):
        return {"ticket": f"T-{session.number}", "notes": "ticket notes",
                "ticket_formula": "=1+1", "shown_as": {"notes": "notes"}}


class Broken:
    @hookimpl
    def session_record(self, session, db):
        raise RuntimeError("the ticket database is down")


async def test_a_plugin_adds_report_columns_through_the_record_hook(tmp_path):
    host = await start_host(tmp_path / "data", extra_plugins=[("ticketing", Ticketing()), ("broken", Broken())])
    try:
        other_id = host.site("other").id
        await host.app[DB].write(lambda db: db["site_plugins"].upsert(
            {"site_id": other_id, "plugin": "ticketing", "enabled": 0}, pk=("site_id", "plugin")))
        await host.app[DB].read(host.app[SITES].load)

        rep = await host.rep()
        s = await rep.start_session()
        ws = await rep.ws(s["id"])
        await ws.request({"type": "notes.save", "text": "the rep's own note", "final": True})
        admin = await host.rep("admin")
        async with admin.http.get(admin.url("/s/demo/p/report/")) as r:
            assert r.status == 200
            html = await r.text()
        head = re.search(r"<thead>(.*?)</thead>", html, re.S).group(1)
        assert "<th>ticket</th>" in head and "<th>ticketing.notes</th>" in head and "<th>ticket_formula</th>" in head
        row = re.search(rf'<tr data-session="{s["id"]}">(.*?)</tr>', html, re.S).group(1)
        assert f'<td class="extra">T-{s["number"]}</td>' in row
        assert '<td class="notes">the rep&#39;s own note</td>' in row      # the notes plugin's column is kept
        assert '<td class="extra">ticket notes</td>' in row

        async with admin.http.get(admin.url("/s/demo/p/report/sessions.csv")) as r:
            [line] = list(csv.DictReader(io.StringIO(await r.text())))
        assert line["ticket"] == f"T-{s['number']}" and line["ticketing.notes"] == "ticket notes"
        assert line["notes"] == "the rep's own note"
        assert line["ticket_formula"] == "'=1+1"                         # never run as a formula

        other_rep = await host.rep("rep1", site="other")
        await other_rep.start_session()
        other_admin = await host.rep("admin", site="other")
        async with other_admin.http.get(other_admin.url("/s/other/p/report/sessions.csv")) as r:
            [line] = list(csv.DictReader(io.StringIO(await r.text())))
        assert "ticket" not in line and "ticketing.notes" not in line
    finally:
        await stop_host(host)
