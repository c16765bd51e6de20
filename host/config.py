"""Host configuration: one dataclass, filled from the command line or by tests."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


@dataclass
class Config:
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8080
    # Only the plugins named here are loaded from entry points (None: all installed ones).
    only_plugins: set | None = None
    entry_points: bool = True
    # Sessions and joins
    number_digits: int = 9
    number_ttl: float = 30 * 60          # an unused session number expires after this
    grace_period: float = 30.0           # a dropped participant keeps identity and role this long
    abandoned_after: float = 2 * 3600    # a session nobody is connected to ends after this ("abandoned")
    expiry_check_every: float = 60.0     # how often abandoned sessions are looked for
    join_attempts_per_minute: int = 5    # wrong numbers from one address before joins are refused
    # Accounts
    # Wrong passwords from one address at one username before that username is locked for that address
    # (host/login_lockout.py); each further lock lasts twice as long, up to lockout_max_seconds.
    login_failures_before_lockout: int = 5
    lockout_seconds: float = 15 * 60
    lockout_max_seconds: float = 24 * 3600
    login_attempts_per_minute_per_address: int = 20
    auth_session_ttl: float = 12 * 3600
    api_calls_per_minute: int = 120       # HTTP API calls one token may make a minute
    secure_cookies: bool = False         # set when served over https
    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks, e.g. "127.0.0.1"): the
    # per-address limits then count the customer's address, not the proxy's. Empty: the header is ignored.
    trusted_proxies: tuple = ()
    # Connections
    max_message_bytes: int = 64 * 1024
    send_queue_size: int = 512
    clock: Callable[[], float] = field(default=time.time)

    @property
    def db_path(self) -> Path:
        return Path(self.data_dir) / "supporthost.db"
