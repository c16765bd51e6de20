"""Invitations by instant message: a JSON POST to the site's web hook (Slack, Mattermost, Rocket.Chat
and most chat tools take {"text": ...})."""
from __future__ import annotations

import asyncio

import aiohttp

from .channels import InviteError, Invitation, check_web_url


def payload(invitation: Invitation) -> dict:
    mention = f"{invitation.to}: " if invitation.to else ""
    text = (f"{mention}{invitation.from_name} of {invitation.site_name} invites you to a support session. "
            f"Join: {invitation.join_url} (or go to {invitation.site_url} and enter the session number "
            f"{invitation.grouped_number}).")
    return {"text": text, "session_number": invitation.number, "join_url": invitation.join_url,
            "site_url": invitation.site_url, "to": invitation.to, "from": invitation.from_name}


async def post_webhook(url: str, invitation: Invitation, timeout: float = 10) -> str:
    url = check_web_url(url)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
            async with http.post(url, json=payload(invitation), allow_redirects=False) as response:
                body = (await response.text(errors="replace"))[:200]
                if response.status >= 300:
                    raise InviteError(f"the web hook answered {response.status} {response.reason}"
                                      f"{': ' + body.strip() if body.strip() else ''}")
                return f"web hook answered {response.status}"
    except asyncio.TimeoutError:
        raise InviteError("the web hook did not answer in time") from None
    except aiohttp.InvalidURL:
        raise InviteError(f"the web hook address {url[:100]!r} is malformed") from None
    except aiohttp.ClientConnectorError as exc:
        raise InviteError(f"could not reach the web hook at {exc.host}:{exc.port}: "
                          f"{exc.os_error.strerror or exc.os_error}") from None
    except aiohttp.ClientError as exc:
        raise InviteError(f"the web hook failed: {exc.__class__.__name__}: {exc}") from None
