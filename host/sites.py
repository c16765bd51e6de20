"""Sites: one organisation's portal each. Kept in memory (few, read on every request), written through."""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field

import sqlite_utils

from .options import Setting
from .passwords import generate_password, hash_password

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
CONSOLE_CHOICES = ("dashboard", "tray", "multisession")
MODE_CHOICES = ("single", "multi")
ROLE_CHOICES = ("rep", "admin")


@dataclass
class Site:
    id: int
    slug: str
    name: str
    public_url: str = ""
    disabled: frozenset = frozenset()
    settings: dict = field(default_factory=dict)  # plugin -> {key: value}

    @property
    def prefix(self) -> str:
        return f"/s/{self.slug}"

    def setting(self, plugin: str, spec: Setting):
        return self.settings.get(plugin, {}).get(spec.name, spec.default)


class SiteDirectory:
    def __init__(self):
        self.by_slug: dict[str, Site] = {}
        self.by_id: dict[int, Site] = {}

    def load(self, db: sqlite_utils.Database) -> None:
        by_slug, by_id = {}, {}
        for row in db["sites"].rows:
            disabled = frozenset(r["plugin"] for r in db["site_plugins"].rows_where(
                "site_id = ? and enabled = 0", [row["id"]]))
            settings: dict = {}
            for r in db["site_settings"].rows_where("site_id = ?", [row["id"]]):
                settings.setdefault(r["plugin"], {})[r["key"]] = json.loads(r["value"])
            site = Site(row["id"], row["slug"], row["name"], row["public_url"] or "", disabled, settings)
            by_slug[site.slug] = site
            by_id[site.id] = site
        # Swapped in whole, so a request on the event loop never sees a half-built directory.
        self.by_slug, self.by_id = by_slug, by_id

    def get(self, slug: str) -> Site | None:
        return self.by_slug.get(slug)


def create_site(db: sqlite_utils.Database, slug: str, name: str, public_url: str = "") -> int:
    if not SLUG.match(slug):
        raise ValueError("a site slug is 2 to 40 lower-case letters, digits or dashes")
    if db["sites"].count_where("slug = ?", [slug]):
        raise ValueError(f"a site {slug!r} exists already")
    return db["sites"].insert({"slug": slug, "name": name, "public_url": public_url,
                               "created_at": time.time()}).last_pk


def create_user(db: sqlite_utils.Database, site_id: int, username: str, display_name: str,
                password: str, role: str = "rep", console: str = "dashboard", mode: str = "single",
                max_sessions: int = 1, password_hash: str | None = None) -> int:
    """``password_hash``: the password hashed already (callers in the database writer thread hash
    first, off that thread, so one slow argon2 hash never holds up other writes)."""
    username = username.strip().lower()
    if not re.match(r"^[a-z0-9][a-z0-9._-]{1,39}$", username):
        raise ValueError("a username is 2 to 40 letters, digits, dots, dashes or underscores")
    if role not in ROLE_CHOICES:
        raise ValueError(f"role must be one of {ROLE_CHOICES}")
    if console not in CONSOLE_CHOICES:
        raise ValueError(f"console must be one of {CONSOLE_CHOICES}")
    if mode not in MODE_CHOICES:
        raise ValueError(f"mode must be one of {MODE_CHOICES}")
    if not 1 <= int(max_sessions) <= 20:
        raise ValueError("the maximum number of sessions is between 1 and 20")
    display_name = display_name.strip()[:80] or username
    if db["users"].count_where("site_id = ? and username = ?", [site_id, username]):
        raise ValueError(f"the username {username!r} is taken on this site")
    return db["users"].insert({
        "site_id": site_id, "username": username, "display_name": display_name,
        "password_hash": password_hash or hash_password(password), "role": role, "console": console, "mode": mode,
        "max_sessions": 1 if mode == "single" else int(max_sessions), "active": 1, "created_at": time.time(),
    }).last_pk


def ensure_demo_site(db: sqlite_utils.Database) -> tuple[str, str] | None:
    """On an empty database: create the demo site and an admin with a generated password.

    Returns (username, password) when it created them, else None. There is no default password.
    """
    if db["sites"].exists() and db["sites"].count:
        return None
    with db.atomic():
        site_id = create_site(db, "demo", "Demo support site")
        password = generate_password()
        create_user(db, site_id, "admin", "Site admin", password, role="admin")
    return "admin", password
