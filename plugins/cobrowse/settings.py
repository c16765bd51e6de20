"""Co-browse's per-site settings, checked when the admin saves them, and what the page is told of them."""
from __future__ import annotations

from urllib.parse import urlsplit

from host.api import Setting, setting

PLUGIN = "cobrowse"
MAX_LINES = 50
MAX_SELECTOR = 300
PAIRS = {"(": ")", "[": "]"}


def clean_origins(text: str) -> str:
    """One http(s) origin per line (scheme://host[:port], nothing after it); the lines, tidied."""
    out = []
    for n, line in enumerate(_lines(text), 1):
        parts = urlsplit(line)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"line {n} ({line!r}) is not an http:// or https:// origin")
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError(f"line {n} ({line!r}): an origin has no path, query or user (like https://shop.example.com)")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"line {n} ({line!r}) has a bad port") from None
        origin = f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")
        if origin not in out:
            out.append(origin)
    return "\n".join(out)


def clean_selectors(text: str) -> str:
    """CSS selectors, one per line: each must look like a selector (the page skips one the browser refuses)."""
    out = []
    for n, line in enumerate(_lines(text), 1):
        problem = _selector_problem(line)
        if problem:
            raise ValueError(f"line {n} ({line[:60]!r}) is not a CSS selector: {problem}")
        out.append(line)
    return "\n".join(out)


def _lines(text: str) -> list[str]:
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    if len(lines) > MAX_LINES:
        raise ValueError(f"at most {MAX_LINES} lines")
    return lines


def _selector_problem(sel: str) -> str | None:
    if len(sel) > MAX_SELECTOR:
        return f"longer than {MAX_SELECTOR} characters"
    if any(c in sel for c in "{};<>\\") or any(ord(c) < 32 for c in sel):
        return "it holds one of { } ; < > \\ or a control character"
    if sel[0] in ",>+~)]" or sel[-1] in ",>+~([":
        return "it starts or ends with a combinator or bracket"
    stack, quote = [], None
    for c in sel:
        if quote:
            quote = None if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c in PAIRS:
            stack.append(PAIRS[c])
        elif c in ")]":
            if not stack or stack.pop() != c:
                return "its brackets do not match"
    if quote or stack:
        return "its brackets or quotes are not closed"
    return None


SETTINGS = [
    Setting("allowed_origins", "Web site origins that may share their pages (one per line)", "text", "",
            help="Exactly as the browser shows them, e.g. https://shop.example.com or http://localhost:8080. "
                 "A page from any other origin cannot start co-browse.", check=clean_origins),
    Setting("view_without_asking", "Start co-browse view without asking the customer", "bool", False,
            help="Control always asks."),
    Setting("private_selectors", "Private elements: CSS selectors, one per line", "text", "",
            help="Their text and values never leave the customer's browser.", check=clean_selectors),
    Setting("private_by_default", "Private by default: mask every field except those allowed", "bool", False),
    Setting("public_selectors", "Fields allowed when private by default: CSS selectors, one per line", "text", "",
            check=clean_selectors),
]


def lines_of(value) -> list[str]:
    return [line for line in str(value or "").splitlines() if line.strip()]


def page_settings(app, site) -> dict:
    """The settings page.js needs, in the answer to its hello."""
    return {"t": "settings",
            "private_selectors": lines_of(setting(app, site, PLUGIN, "private_selectors", "")),
            "private_by_default": bool(setting(app, site, PLUGIN, "private_by_default", False)),
            "public_selectors": lines_of(setting(app, site, PLUGIN, "public_selectors", ""))}


def allowed_origins(app, site) -> list[str]:
    return lines_of(setting(app, site, PLUGIN, "allowed_origins", ""))
