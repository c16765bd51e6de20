"""Who is behind a call of the HTTP API: handed to every API route handler, core or plugin
(``handler(request, caller)``), and named in host/api.py as ``ApiCaller``."""
from __future__ import annotations

from dataclasses import dataclass

from .json_errors import json_error
from .sites import Site


@dataclass(frozen=True)
class ApiCaller:
    """The site, the token's user (a users row without secrets), the token's id and the scopes in force
    (the token's scopes that the user's role allows now)."""
    site: Site
    user: dict
    token_id: int
    scopes: frozenset

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"user:{self.user['id']}"

    @property
    def site_wide(self) -> bool:
        """True with the ``admin`` scope: the call may see the whole site, not only the user's own sessions."""
        return "admin" in self.scopes

    def require(self, scope: str) -> None:
        """Raise a 403 JSON error unless the call has ``scope``."""
        if scope not in self.scopes:
            raise json_error(403, f"This API token lacks the {scope!r} scope.", "scope_missing", scope=scope)
