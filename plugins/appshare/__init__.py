"""Application sharing (host part): the same four requests as the desktop, for one application window.

The host logic is the screenshare library's (plugin_libs/screenshare/sharing.py) under this plugin's own
message types, grants, events and switch: "appshare.request", "appshare.granted", ... The agent part
(agent.py) picks and captures one window.
"""
from __future__ import annotations

from host.api import CUSTOMER_ROLES, DashboardOption, hookimpl
from plugin_libs.screenshare.host_hooks import refresh_hook, sharing_hooks, sharing_options

__version__ = "0.1.0"
PLUGIN = "appshare"
JS = "/static/plugins/appshare/appshare.js"


@hookimpl
def dashboard_options():
    return sharing_options(PLUGIN, "application", JS) + [
        DashboardOption(f"{PLUGIN}.customer", "Application sharing", icon="\U0001FA9F", order=31, js_module=JS,
                        consoles=("customer",), roles=CUSTOMER_ROLES),
    ]


register_message_handlers, participant_left, session_record, extra_page_context = sharing_hooks(PLUGIN)
traffic_refresh = refresh_hook(PLUGIN)
