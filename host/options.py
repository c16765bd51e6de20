"""What plugins describe to the host: dashboard options and per-site settings."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

TABS = ("tools", "desktop", "application", "session")
CONSOLES = ("dashboard", "tray", "multisession", "customer")
REP_CONSOLES = ("dashboard", "tray", "multisession")
REP_ROLES = ("primary_rep", "assisting_rep")
CUSTOMER_ROLES = ("customer", "secondary_customer")
ROLES = REP_ROLES + CUSTOMER_ROLES


@dataclass(frozen=True)
class DashboardOption:
    """One control in the consoles. ``js_module`` defaults to the plugin's static/<plugin>.js."""

    id: str
    label: str
    tab: str = "tools"
    icon: str = "\u2699"
    order: int = 100
    js_module: str | None = None
    consoles: tuple = REP_CONSOLES
    roles: tuple = REP_ROLES
    plugin: str = ""

    def validate(self) -> None:
        if self.tab not in TABS:
            raise ValueError(f"option {self.id!r}: tab must be one of {TABS}, not {self.tab!r}")
        unknown = set(self.consoles) - set(CONSOLES)
        if unknown:
            raise ValueError(f"option {self.id!r}: unknown consoles {sorted(unknown)}")
        bad_roles = set(self.roles) - set(ROLES)
        if bad_roles:
            raise ValueError(f"option {self.id!r}: unknown roles {sorted(bad_roles)}")

    def for_plugin(self, plugin: str) -> "DashboardOption":
        module = self.js_module or f"/static/plugins/{plugin}/{plugin}.js"
        return replace(self, plugin=plugin, js_module=module)

    def as_json(self) -> dict:
        return {
            "id": self.id, "label": self.label, "tab": self.tab, "icon": self.icon,
            "order": self.order, "js_module": self.js_module, "plugin": self.plugin,
            "consoles": list(self.consoles), "roles": list(self.roles),
        }


SETTING_TYPES = ("bool", "int", "str", "choice", "url", "secret", "text")


@dataclass(frozen=True)
class Setting:
    """One per-site setting of a plugin, edited on the admin page."""

    name: str
    label: str
    type: str = "str"
    default: object = None
    help: str = ""
    choices: tuple = ()
    min: int | None = None
    max: int | None = None
    plugin: str = field(default="", compare=False)
    check: Callable | None = field(default=None, compare=False)   # value -> value, or ValueError (its message)

    def parse(self, raw: str | None):
        """Turn a submitted form value into the stored value, or raise ValueError with a clear message
        (the type's own, then ``check``'s, prefixed with the label)."""
        value = self._parse_type(raw)
        if self.check is not None:
            try:
                value = self.check(value)
            except ValueError as exc:
                raise ValueError(f"{self.label}: {exc}") from None
        return value

    def _parse_type(self, raw: str | None):
        if self.type == "bool":
            return raw in ("on", "true", "1", "yes")
        raw = (raw or "").replace("\r\n", "\n").strip()
        if self.type == "int":
            try:
                value = int(raw)
            except ValueError:
                raise ValueError(f"{self.label}: a whole number is needed") from None
            if self.min is not None and value < self.min:
                raise ValueError(f"{self.label}: at least {self.min}")
            if self.max is not None and value > self.max:
                raise ValueError(f"{self.label}: at most {self.max}")
            return value
        if self.type == "choice":
            if raw not in self.choices:
                raise ValueError(f"{self.label}: choose one of {', '.join(map(str, self.choices))}")
            return raw
        if self.type == "url" and raw and not raw.startswith(("http://", "https://")):
            raise ValueError(f"{self.label}: an http:// or https:// address is needed")
        if len(raw) > 2000:
            raise ValueError(f"{self.label}: at most 2000 characters")
        return raw
