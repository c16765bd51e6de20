"""What an invitation is, how a channel delivers one, and the checks every address and name passes.

A third-party plugin adds a channel through the ``invite_channels`` hook by returning InviteChannel
objects (see docs/plugins.md)."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Awaitable, Callable
from urllib.parse import urlsplit

CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
PHONE = re.compile(r"^\+?[0-9 ()./-]{3,30}$")


class InviteError(Exception):
    """An invitation that could not go out; the text is shown to the rep and kept with the invite."""


@dataclass(frozen=True)
class Invitation:
    """Everything a channel needs to deliver one invitation."""

    site_name: str
    site_url: str
    number: str
    join_url: str
    to: str
    to_name: str
    from_name: str

    @property
    def grouped_number(self) -> str:
        return group_number(self.number)

    @property
    def sentence(self) -> str:
        """What to read out on the phone, or to put in a short message."""
        return f"Go to {self.site_url} and enter the session number {self.grouped_number}."


@dataclass(frozen=True)
class InviteChannel:
    """One way to invite a customer. ``send(app, site, invitation)`` is awaited; it returns a short
    note on the delivery (or None) and raises InviteError with a clear text when it fails."""

    name: str
    label: str
    send: Callable[..., Awaitable[str | None]]
    address_label: str = "Address"
    needs_address: bool = True
    plugin: str = ""

    def public(self) -> dict:
        return {"name": self.name, "label": self.label, "address_label": self.address_label,
                "needs_address": self.needs_address, "builtin": not self.plugin}


def group_number(number: str) -> str:
    """123456789 -> '123 456 789', easier to read out."""
    return " ".join(number[i:i + 3] for i in range(0, len(number), 3))


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


def clean_name(raw, what: str = "name", limit: int = 80) -> str:
    """A person's name for a header or a message: no line breaks or control characters (header
    injection is refused, not silently cleaned)."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise InviteError(f"the {what} must be text")
    if _has_control(raw):
        raise InviteError(f"the {what} may not contain line breaks or control characters")
    name = " ".join(raw.split())
    if len(name) > limit:
        raise InviteError(f"the {what} is at most {limit} characters")
    return name


def clean_email(raw) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InviteError("an email address is needed")
    if _has_control(raw):
        raise InviteError("an email address may not contain line breaks or control characters")
    address = raw.strip()
    if len(address) > 254 or not EMAIL.match(address):
        raise InviteError(f"{address[:80]!r} is not a valid email address (like name@example.com)")
    return address


def clean_phone(raw) -> str:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return ""
    if not isinstance(raw, str) or _has_control(raw) or not PHONE.match(raw.strip()) \
            or sum(c.isdigit() for c in raw) < 3:
        raise InviteError("a phone number is made of digits, spaces, + - ( ) and dots")
    return raw.strip()


def clean_handle(raw) -> str:
    """Who an instant message is for (optional): shown at the start of the message."""
    return clean_name(raw, "recipient", 100)


def check_web_url(raw, what: str = "web hook address") -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InviteError(f"no {what} is set for this site (an admin sets it in the invite settings)")
    url = raw.strip()
    if _has_control(url) or " " in url:
        raise InviteError(f"the {what} may not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise InviteError(f"the {what} {url[:100]!r} is malformed") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InviteError(f"the {what} {url[:100]!r} is malformed: an http:// or https:// address is needed")
    return url
