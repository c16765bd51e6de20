"""Fuzzing the report's filters (query parameters from, to, rep, queue and unknown ones) on the report
page and its CSV export, as an admin: any string, dates at the ends of the calendar, huge numbers. The
answer is the report or a clear error, never a 500, and nothing is logged with a traceback."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz_kit import NASTY_STRINGS, LogWatch, examples

DATES = ["0001-01-01", "0001-01-02", "9999-12-31", "9999-12-30", "2026-02-29", "2024-02-29", "2026-13-01",
         "20261124", "2026-W48-2", "+2026-01-01", " 2026-01-01 ", "2026-01-01T00:00", "1970-01-01"]
NUMBERS = ["0", "-1", "1", "2", "9" * 19, "9" * 30, "-" + "9" * 30, "1e9", "0x10", "٣", "9" * 5000, " 2 "]
values = st.one_of(st.sampled_from(DATES + NUMBERS + [s for s in NASTY_STRINGS if len(s) < 2000]),
                   st.text(max_size=30), st.dates().map(str))
queries = st.dictionaries(st.sampled_from(["from", "to", "rep", "queue", "q", "page"]), values, max_size=4)


@pytest.fixture
async def admin(host):
    return await host.rep("admin")


@examples(40)
@given(query=queries, csv=st.booleans())
async def test_report_filters_never_answer_500(admin, query, csv):
    path = "/s/demo/p/report/" + ("sessions.csv" if csv else "")
    with LogWatch() as watch:
        async with admin.http.get(admin.url(path), params=query, allow_redirects=False) as r:
            body = await r.text()
        assert r.status < 500, (query, r.status, body[:300])
        assert watch.take() == []
