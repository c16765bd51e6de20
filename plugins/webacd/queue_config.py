"""A queue's settings as admins edit them: opening hours in a time zone, entry form fields, distribution.

Everything here is plain data and parsing, with a clear message for each bad value.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MODES = {"most_idle": "Most idle (the available member idle longest)",
         "round_robin": "Round robin",
         "everybody": "Everybody (first to accept wins)"}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")))
FIELD_MODES = ("off", "optional", "required")
# The entry form's fields besides the name (always asked): key -> (label, longest length)
FIELDS = {"email": ("Email address", 254), "phone": ("Phone number", 30), "company": ("Company", 100),
          "problem": ("Describe your problem", 1000)}
DEFAULT_FIELDS = {"email": "required", "phone": "off", "company": "off", "problem": "required"}
NOTE_MAX = 345
RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^[+0-9 ()./-]{5,30}$")


@dataclass
class QueueConfig:
    id: int
    site_id: int
    name: str
    mode: str = "most_idle"
    offer_timeout: float = 30.0
    escalate_after: float = 0.0          # 0: never
    overflow_queue_id: int | None = None
    timezone: str = "UTC"
    hours: dict | None = None            # None: open around the clock; else day -> [[start_min, end_min], ...]
    fields: dict = field(default_factory=lambda: dict(DEFAULT_FIELDS))
    start_options: dict = field(default_factory=dict)   # plugin -> {name: value}
    members: tuple = ()

    @classmethod
    def from_row(cls, row: dict, members=()) -> "QueueConfig":
        return cls(row["id"], row["site_id"], row["name"], row["mode"], row["offer_timeout"],
                   row["escalate_after"] or 0.0, row["overflow_queue_id"], row["timezone"] or "UTC",
                   json.loads(row["hours"]) if row["hours"] else None,
                   {**DEFAULT_FIELDS, **json.loads(row["fields"] or "{}")}, json.loads(row["start_options"] or "{}"),
                   tuple(sorted(members)))

    def row(self) -> dict:
        return {"site_id": self.site_id, "name": self.name, "mode": self.mode, "offer_timeout": self.offer_timeout,
                "escalate_after": self.escalate_after, "overflow_queue_id": self.overflow_queue_id,
                "timezone": self.timezone, "hours": json.dumps(self.hours) if self.hours is not None else None,
                "fields": json.dumps(self.fields), "start_options": json.dumps(self.start_options)}

    def is_open(self, now: float) -> bool:
        if self.hours is None:
            return True
        local = datetime.fromtimestamp(now, ZoneInfo(self.timezone))
        minute = local.hour * 60 + local.minute
        return any(a <= minute < b for a, b in self.hours.get(DAYS[local.weekday()], []))

    def hours_text(self) -> dict:
        """day -> "09:00-17:00, 18:00-20:00" for the admin form and the closed page."""
        if self.hours is None:
            return {d: "" for d in DAYS}
        return {d: ", ".join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in self.hours.get(d, []))
                for d in DAYS}


def parse_timezone(raw: str) -> str:
    raw = (raw or "").strip() or "UTC"
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"Time zone: {raw!r} is not a known time zone (for example Europe/Berlin or UTC)") from None
    return raw


def parse_day(day: str, raw: str) -> list[list[int]]:
    """ "09:00-12:00, 13:00-17:30" -> [[540, 720], [780, 1050]]; empty: closed that day."""
    out = []
    for part in [p for p in (raw or "").split(",") if p.strip()]:
        m = RANGE.match(part)
        if not m:
            raise ValueError(f"Hours on {DAY_NAMES[day]}: write ranges like 09:00-17:00, not {part.strip()!r}")
        h1, m1, h2, m2 = map(int, m.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60:
            raise ValueError(f"Hours on {DAY_NAMES[day]}: {part.strip()} is not a time of day")
        if end <= start:
            raise ValueError(f"Hours on {DAY_NAMES[day]}: {part.strip()} ends before it starts")
        out.append([start, end])
    return sorted(out)


def parse_number(raw, label: str, low: float, high: float) -> float:
    try:
        value = float(str(raw).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{label}: a number of seconds is needed") from None
    if not low <= value <= high:
        raise ValueError(f"{label}: between {low:g} and {high:g} seconds")
    return value


def validate_entry(fields: dict, form: dict) -> tuple[dict, list[str]]:
    """Check a customer's entry form against the queue's fields; returns (clean values, error messages)."""
    errors = []
    name = " ".join(str(form.get("name", "")).split())
    clean = {"name": name}
    if not name:
        errors.append("Please enter your name.")
    elif len(name) > 60:
        errors.append("Your name can be at most 60 characters long.")
    for key, (label, longest) in FIELDS.items():
        mode = fields.get(key, "off")
        if mode == "off":
            continue
        value = str(form.get(key, "")).strip()
        if key != "problem":
            value = " ".join(value.split())
        clean[key] = value
        if not value:
            if mode == "required":
                errors.append({"email": "Please enter your email address.", "phone": "Please enter your phone number.",
                               "company": "Please enter your company.",
                               "problem": "Please describe your problem."}[key])
            continue
        if len(value) > longest:
            errors.append(f"{label}: at most {longest} characters.")
        elif key == "email" and not EMAIL.match(value):
            errors.append(f"The email address {value!r} does not look right; it should look like name@example.com.")
        elif key == "phone" and not PHONE.match(value):
            errors.append("A phone number has digits, spaces and + ( ) - . / only.")
    return clean, errors


PAGE_KEY = re.compile(r"^[A-Za-z0-9_-]{32,128}$")


def clean_page_key(raw) -> str:
    """The page key the snippet made (base64url of 32 random bytes); anything else is dropped."""
    key = str(raw or "").strip()
    return key if PAGE_KEY.match(key) else ""


def page_origin(ref_url: str) -> str:
    """scheme://host[:port] of the page the customer came from ("" when there is none)."""
    parts = urlsplit(ref_url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    try:
        port = parts.port
    except ValueError:
        return ""
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")


def clean_ref(raw) -> str:
    """The page the customer came from: kept only when it is an http(s) address of sane length."""
    ref = str(raw or "").strip()
    if ref.startswith(("http://", "https://")) and len(ref) <= 2000 and not any(c in ref for c in "\r\n\t "):
        return ref
    return ""
