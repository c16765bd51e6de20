"""The CSR activity report page and its CSV export. Reps see their own sessions; admins the site's."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from urllib.parse import urlencode

from aiohttp import web

from host import api
from host.api import render, require_user, site_of

from . import charts
from .data import COLUMNS, MAX_SESSIONS, extra_columns, report_rows
from .filters import FilterError, parse


async def _context(request):
    site = site_of(request)
    user = await require_user(request, site)
    admin = user["role"] == "admin"
    try:
        f = parse(request.query, api.now(request.app))
    except FilterError as exc:
        return site, user, admin, None, str(exc)
    return site, user, admin, f, None


async def _reps(request, site) -> list[dict]:
    return await api.database(request.app).read(lambda db: list(db.query(
        "select id, display_name from users where site_id = ? order by display_name", [site.id])))


async def report_page(request):
    site, user, admin, f, error = await _context(request)
    reps = await _reps(request, site) if admin else []
    if f is None:
        return await render(request, "report/report.html", status=400, site=site, user=user, page="report",
                            error=error, rows=[], admin=admin, reps=reps, q=dict(request.query), extra=[],
                            chart_days=None, chart_queues=None, averages=[], summary=None, csv_url="")
    rows = await report_rows(request.app, site, f, None if admin else user["id"])
    averages = charts.per_queue_averages(rows)
    durations = [r["duration"] for r in rows if r["duration"] is not None]
    waits = [r["wait"] for r in rows if r["wait"] is not None]
    summary = {"sessions": len(rows),
               "avg_duration": charts.duration_text(sum(durations) / len(durations)) if durations else "—",
               "avg_wait": charts.duration_text(sum(waits) / len(waits)) if waits else "—"}
    csv_url = f"{site.prefix}/p/report/sessions.csv?{urlencode(f.query())}"
    queues = sorted({a["queue"] for a in averages if a["queue"] != "(no queue)"} | ({f.queue} if f.queue else set()))
    return await render(request, "report/report.html", site=site, user=user, page="report", rows=rows, admin=admin,
                        reps=reps, q=f.query(), extra=extra_columns(rows), queues=queues,
                        chart_days=charts.sessions_per_day(rows, f.days()),
                        chart_queues=charts.queue_chart(averages), averages=averages, summary=summary,
                        csv_url=csv_url, duration=charts.duration_text, columns=COLUMNS,
                        truncated=len(rows) >= MAX_SESSIONS, max_sessions=MAX_SESSIONS)


def _cell(value) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    elif isinstance(value, (dict,)):
        value = json.dumps(value)
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def _iso(ts) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


async def report_csv(request):
    site, user, admin, f, error = await _context(request)
    if f is None:
        return web.Response(status=400, text=error)
    rows = await report_rows(request.app, site, f, None if admin else user["id"])
    extra = extra_columns(rows)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["session_id", "number", "kind", "state"] + [k for k, _ in COLUMNS] + extra)
    for r in rows:
        base = [r["id"], r["number"], r["kind"], r["state"]]
        values = []
        for key, _label in COLUMNS:
            v = r[key]
            values.append(_iso(v) if key in ("started", "ended") else v)
        writer.writerow([_cell(v) for v in base + values + [r["extra"].get(k) for k in extra]])
    name = f"activity-report-{site.slug}-{f.start.isoformat()}-{f.end.isoformat()}.csv"
    return web.Response(body=out.getvalue().encode("utf-8"), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
