"""The CSR activity report: every session with its times, people, queue and wait, transfers, features
used, invites, files and notes, with filters, charts and a CSV export. Plugins add their own columns
through the session_record hook; this plugin only reads."""
from __future__ import annotations

from host.api import hookimpl

from . import api_routes
from .views import report_csv, report_page

__version__ = "0.1.0"
PLUGIN = "report"


@hookimpl
def register_routes(register):
    register("GET", "/", report_page)
    register("GET", "/sessions.csv", report_csv)


@hookimpl
def extra_page_context(page, site, user):
    """A link to the report in the top bar of the consoles and the admin page; the report's stylesheet."""
    if page == "report":
        return {"css_urls": [f"/static/plugins/{PLUGIN}/report.css"]}
    if user and (str(page).startswith("console") or page in ("admin", "console")):
        return {"js_urls": [f"/static/plugins/{PLUGIN}/nav.js"]}
    return None


@hookimpl
def register_api_routes(register):
    api_routes.register(register)
