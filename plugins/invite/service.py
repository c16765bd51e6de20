"""Sending an invitation: record it first, deliver it, record how it went, tell the session's reps.

The record is written before delivery is tried, so an invitation is never lost: when the mail server
is down the invite stays with its error and the rep can retry it."""
from __future__ import annotations

import asyncio
import secrets

from host import api

from .channels import (Invitation, InviteChannel, InviteError, clean_email, clean_handle, clean_name,
                       clean_phone, CHANNEL_NAME)
from .mail import build_message, send_mail, smtp_settings
from .webhook import post_webhook

PLUGIN = "invite"
SEND_TIMEOUT = 150.0   # longer than the longest SMTP timeout an admin can set (120 s)
CUSTOMER_KINDS = {"email": "customer", "im": "customer", "phone": "customer", "rep_email": "rep"}


def builtin_channels() -> list[InviteChannel]:
    return [
        InviteChannel("email", "Customer by email", _send_email, "Customer's email address"),
        InviteChannel("im", "Customer by instant message", _send_im, "Recipient (optional, e.g. @carla)",
                      needs_address=False),
        InviteChannel("phone", "Customer by phone", _send_phone, "Phone number (optional, for the record)",
                      needs_address=False),
        InviteChannel("rep_email", "Another rep by email", _send_rep_email, "Rep's email address"),
    ]


async def channels_for(app, site) -> dict[str, InviteChannel]:
    out = {c.name: c for c in builtin_channels()}
    for plugin, value in await api.call_hook(app, "invite_channels", site):
        for channel in value or []:
            name = getattr(channel, "name", "")
            if not CHANNEL_NAME.match(name or "") or name in out or not callable(getattr(channel, "send", None)):
                continue  # a malformed or duplicate third-party channel is left out
            out[name] = InviteChannel(name, str(getattr(channel, "label", name)), channel.send,
                                      str(getattr(channel, "address_label", "Address")),
                                      bool(getattr(channel, "needs_address", True)), plugin)
    return out


def check_recipient(channel: InviteChannel, to, name) -> tuple[str, str]:
    """Checked before anything is recorded: bad input changes nothing."""
    name = clean_name(name)
    if channel.name in ("email", "rep_email"):
        return clean_email(to), name
    if channel.name == "phone":
        return clean_phone(to), name
    if channel.name == "im":
        return clean_handle(to), name
    to = clean_name(to, "address", 200)
    if channel.needs_address and not to:
        raise InviteError(f"{channel.address_label} is needed")
    return to, name


def public(row: dict) -> dict:
    return {k: row[k] for k in ("id", "created_at", "by_name", "channel", "kind", "recipient",
                                "recipient_name", "number", "status", "error", "detail", "attempts",
                                "delivered_at", "used_at")}


def _customer_number(db, session_id: str, main_number: str, now: float, invite_id: int | None, config) -> str:
    """The session's own number while nobody used it and no other invite carries it; else a new one."""
    code = next(db["join_codes"].rows_where("code = ?", [main_number]), None)
    taken = db["invites"].count_where("session_id = ? and number = ? and kind = 'customer' and id != ?",
                                      [session_id, main_number, invite_id or -1])
    if code and code["used_at"] is None and code["expires_at"] > now + 60 and not taken:
        return main_number
    return api.new_join_number(db, config, session_id, now)


async def create(app, site, live, rep: dict, channel: InviteChannel, to: str, name: str) -> dict:
    config = api.config(app)
    now = api.now(app)
    kind = CUSTOMER_KINDS.get(channel.name, "customer")

    def write(db):
        row = {"session_id": live.id, "site_id": site.id, "created_at": now, "by_participant": rep["id"],
               "by_user": rep["user_id"], "by_name": rep["name"], "channel": channel.name, "kind": kind,
               "recipient": to, "recipient_name": name, "number": None, "status": "sending", "error": None,
               "detail": None, "attempts": 0, "last_attempt_at": None, "delivered_at": None,
               "token_hash": None, "expires_at": None, "used_at": None, "used_by": None}
        row["id"] = db["invites"].insert(row).last_pk
        if kind == "customer":
            number = _customer_number(db, live.id, live.number, now, row["id"], config)
            db["invites"].update(row["id"], {"number": number})
            row["number"] = number
        else:
            row["number"] = live.number
            db["invites"].update(row["id"], {"number": live.number})
        api.add_event(db, live.id, now, "invite", rep["id"], {"channel": channel.name, "to": to})
        return row
    return await api.database(app).write(write)


async def deliver(app, site, live, invite: dict, channel: InviteChannel, base_url: str) -> dict:
    """Try to deliver a recorded invite once; returns its row as recorded afterwards."""
    config = api.config(app)
    db = api.database(app)
    now = api.now(app)
    token = None
    if invite["kind"] == "customer":
        number = await db.write(lambda d: _refresh_number(d, invite, live, now, config))
        invite = {**invite, "number": number}
    else:
        token = secrets.token_urlsafe(32)
        ttl = float(api.setting(app, site, PLUGIN, "rep_link_minutes", 60)) * 60
        th = api.token_hash(token)
        await db.write(lambda d: d["invites"].update(invite["id"], {"token_hash": th, "expires_at": now + ttl,
                                                                    "used_at": None}))
    invitation = Invitation(site.name, base_url, invite["number"], f"{base_url}/join?n={invite['number']}",
                            invite["recipient"] or "", invite["recipient_name"] or "", invite["by_name"])
    status, error, detail = "delivered", None, None
    try:
        async with asyncio.timeout(SEND_TIMEOUT):   # the built-in channels time out sooner by themselves
            if token is not None:
                detail = await channel.send(app, site, invitation, f"{base_url}/p/invite/rep/{token}")
            else:
                detail = await channel.send(app, site, invitation)
        if channel.name == "phone":
            status, detail = "shown", invitation.sentence
    except InviteError as exc:
        status, error = "failed", str(exc)
    except TimeoutError:
        status, error = "failed", f"the {channel.label} channel did not answer within {SEND_TIMEOUT:.0f} seconds"
    except Exception as exc:  # a third-party channel's bug: recorded, never lost
        status, error = "failed", f"the {channel.label} channel failed: {exc.__class__.__name__}: {exc}"
    done = api.now(app)
    changes = {"status": status, "error": error, "detail": None if detail is None else str(detail)[:500],
               "attempts": (invite.get("attempts") or 0) + 1, "last_attempt_at": done,
               "delivered_at": done if status != "failed" else None}

    def record(d):
        d["invites"].update(invite["id"], changes)
        return d["invites"].get(invite["id"])
    row = await db.write(record)
    api.sessions(app).broadcast(live, {"type": "invite.updated", "invite": public(row)}, roles=api.REP_ROLES)
    return row


def _refresh_number(db, invite: dict, live, now: float, config) -> str:
    """On a retry the invite's number may have been used or have expired: then it gets a fresh one."""
    code = next(db["join_codes"].rows_where("code = ?", [invite["number"]]), None)
    if code and code["used_at"] is None and code["expires_at"] > now + 60:
        return invite["number"]
    number = _customer_number(db, live.id, live.number, now, invite["id"], config)
    db["invites"].update(invite["id"], {"number": number})
    return number


# -- the built-in channels ---------------------------------------------------------------------------
def _get(app, site):
    return lambda name: api.setting(app, site, PLUGIN, name)


async def _send_email(app, site, invitation: Invitation) -> str:
    settings = smtp_settings(_get(app, site))
    hello = f"Hello {invitation.to_name},\n\n" if invitation.to_name else "Hello,\n\n"
    body = (f"{hello}{invitation.from_name} of {invitation.site_name} invites you to a support session.\n\n"
            f"Join with one click:\n{invitation.join_url}\n\n"
            f"Or go to {invitation.site_url} and enter the session number {invitation.grouped_number}.\n"
            f"The number works once, within the next {int(api.config(app).number_ttl // 60)} minutes.\n")
    msg = build_message(settings, invitation.from_name, invitation.to, invitation.to_name,
                        f"Your support session with {invitation.site_name}", body)
    return await send_mail(settings, msg)


async def _send_rep_email(app, site, invitation: Invitation, link: str) -> str:
    settings = smtp_settings(_get(app, site))
    minutes = int(api.setting(app, site, PLUGIN, "rep_link_minutes", 60))
    body = (f"Hello{' ' + invitation.to_name if invitation.to_name else ''},\n\n"
            f"{invitation.from_name} asks you to assist in support session {invitation.grouped_number} "
            f"on {invitation.site_name}.\n\nOpen this link, log in and join as assisting rep:\n{link}\n\n"
            f"The link works once and expires in {minutes} minutes.\n")
    msg = build_message(settings, invitation.from_name, invitation.to, invitation.to_name,
                        f"Please assist in support session {invitation.grouped_number}", body)
    return await send_mail(settings, msg)


async def _send_im(app, site, invitation: Invitation) -> str:
    timeout = float(api.setting(app, site, PLUGIN, "webhook_timeout", 10))
    return await post_webhook(api.setting(app, site, PLUGIN, "webhook_url", ""), invitation, timeout)


async def _send_phone(app, site, invitation: Invitation) -> str:
    return invitation.sentence
