"""The report's filters from the query string: date range (UTC days), rep, queue. Bad values are a
clear error, never a silently different report."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

DAY = 86400
DEFAULT_DAYS = 30
MAX_DAYS = 366


class FilterError(ValueError):
    pass


@dataclass(frozen=True)
class Filters:
    start: date
    end: date               # inclusive
    rep_id: int | None
    queue: str

    @property
    def since(self) -> float:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=timezone.utc).timestamp()

    @property
    def until(self) -> float:
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=timezone.utc).timestamp() + DAY

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def query(self) -> dict:
        out = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.rep_id is not None:
            out["rep"] = str(self.rep_id)
        if self.queue:
            out["queue"] = self.queue
        return out


FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9999, 12, 30)   # a day after LAST_DAY is still a date


def _day(raw: str, what: str) -> date:
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise FilterError(f"{what}: a date like 2026-11-24 is needed, not {raw[:20]!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise FilterError(f"{what}: choose a day between {FIRST_DAY} and {LAST_DAY}")
    return day


def parse(query, now: float | None = None) -> Filters:
    today = datetime.fromtimestamp(now if now is not None else time.time(), tz=timezone.utc).date()
    end = _day(query["to"], "To") if query.get("to") else today
    start = _day(query["from"], "From") if query.get("from") else max(end - timedelta(days=DEFAULT_DAYS - 1),
                                                                        FIRST_DAY)
    if start > end:
        raise FilterError("From must not be after To")
    if (end - start).days >= MAX_DAYS:
        raise FilterError(f"choose at most {MAX_DAYS} days")
    rep_id = None
    if query.get("rep"):
        try:
            rep_id = int(query["rep"])
            if not 0 < rep_id < 2**63:   # a user id (SQLite refuses larger integers)
                raise ValueError
        except ValueError:
            raise FilterError("Rep: choose a rep from the list") from None
    queue = str(query.get("queue", "")).strip()[:100]
    return Filters(start, end, rep_id, queue)
