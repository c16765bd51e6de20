"""Application sharing (host part): the same four requests as the desktop, for one application window.

The host logic is the desktop plugin's (plugins/desktop/sharing.py) under this plugin's own message
types, grants, events and switch: "appshare.request", "appshare.granted", ... The agent part
(agent.py) picks and captures one window.
"""
from __future__ import annotations

from host.hookspecs import hookimpl
from host.options import CUSTOMER_ROLES, DashboardOption

from plugins.desktop.sharing_hooks import sharing_hooks, sharing_options

__version__ = "0.1.0"
JS = "/static/plugins/appshare/appshare.js"


@hookimpl
def dashboard_options():
    return sharing_options("appshare", "application", JS) + [
        DashboardOption("appshare.customer", "Application sharing", icon="\U0001FA9F", order=31, js_module=JS,
                        consoles=("customer",), roles=CUSTOMER_ROLES),
    ]


register_message_handlers, participant_left, session_record, extra_page_context = sharing_hooks("appshare")
