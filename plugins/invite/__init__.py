"""Invite: bring a customer into a session by email, instant message or phone, or another rep by email.

Every invitation is recorded with the session (who, how, to whom, when, delivered or the error).
Other plugins add channels (SMS...) through the ``invite_channels`` hook."""
from __future__ import annotations

from host.api import DashboardOption, Setting, hookimpl

from .channels import Invitation, InviteChannel, InviteError  # noqa: F401 - for third-party channels
from .mail import SECURITY_CHOICES
from .migrations import migrations as invite_migrations
from .service import PLUGIN  # noqa: F401 - the plugin's name
from .views import register_routes as _register_routes

__version__ = "0.1.0"


@hookimpl
def register_hookspecs(add):
    from . import hookspecs   # the hooks this plugin declares for others
    add(hookspecs)


@hookimpl
def migrations():
    return invite_migrations


@hookimpl
def dashboard_options():
    return [DashboardOption("invite.panel", "Invite", tab="tools", icon="\u2709", order=20)]


@hookimpl
def site_settings():
    return [
        Setting("smtp_host", "Mail server (SMTP host)", "str", ""),
        Setting("smtp_port", "Mail server port", "int", 587, min=1, max=65535),
        Setting("smtp_security", "Mail server encryption", "choice", "starttls", choices=SECURITY_CHOICES,
                help="starttls (port 587), tls (port 465) or none (a local relay only)"),
        Setting("smtp_username", "Mail server login (empty: none)", "str", ""),
        Setting("smtp_password", "Mail server password", "secret", ""),
        Setting("mail_from", "Send mail from (address)", "str", ""),
        Setting("smtp_timeout", "Mail server timeout (seconds)", "int", 15, min=1, max=120),
        Setting("webhook_url", "Instant message web hook URL", "url", "",
                help="a JSON POST {\"text\": ...} goes here (Slack, Mattermost, Rocket.Chat...)"),
        Setting("webhook_timeout", "Web hook timeout (seconds)", "int", 10, min=1, max=60),
        Setting("rep_link_minutes", "A rep's invitation link works for (minutes)", "int", 60, min=1,
                max=7 * 24 * 60),
    ]


@hookimpl
def register_routes(register):
    _register_routes(register)


@hookimpl
def session_record(session, db):
    rows = list(db["invites"].rows_where("session_id = ?", [session.id], order_by="id"))
    return {"invites": "; ".join(
        f"{r['channel']} to {r['recipient'] or r['recipient_name'] or '-'}: "
        f"{r['status']}{' (' + r['error'] + ')' if r['error'] else ''}" for r in rows),
        "shown_as": {"invites": "invites"}}
