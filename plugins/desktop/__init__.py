"""Desktop sharing (host part): Request view / Request control / Share view / Share control, display modes.

The host is the second lock (the agent is the first): it forwards frames only to participants covered by
a grant the person at the shared computer gave, and drops input from anyone without a control grant.
Every request, grant, denial, revocation and control hand-over goes to session_events and the audit log.
The sharing itself is the screenshare library's (plugin_libs/screenshare/), under this plugin's name.
"""
from __future__ import annotations

from host.api import CUSTOMER_ROLES, DashboardOption, Setting, hookimpl
from plugin_libs.screenshare.host_hooks import refresh_hook, sharing_hooks, sharing_options
from plugin_libs.screenshare.sharing import MODES

__version__ = "0.1.0"
PLUGIN = "desktop"


@hookimpl
def dashboard_options():
    return sharing_options(PLUGIN, "desktop") + [
        DashboardOption(f"{PLUGIN}.session_options", "Session options", tab="session", icon="\U0001F39A",
                        order=50),
        DashboardOption(f"{PLUGIN}.customer", "Screen sharing", icon="\U0001F5A5", order=30,
                        consoles=("customer",), roles=CUSTOMER_ROLES),
    ]


@hookimpl
def site_settings():
    return [Setting("default_mode", "Default display mode", "choice", "standard", choices=MODES,
                    help="Standard: better picture, more bandwidth. Screen sampling: faster, lower quality.")]


register_message_handlers, participant_left, session_record, extra_page_context = sharing_hooks(PLUGIN)
traffic_refresh = refresh_hook(PLUGIN)
