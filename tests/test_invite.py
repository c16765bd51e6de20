"""The invite plugin over real HTTP and WebSockets, a real SMTP server (aiosmtpd on loopback) and a real
web hook receiver (aiohttp on loopback)."""
from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
import threading
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from conftest import PASSWORD, FakeClock, free_port, start_host, stop_host
from host.appkeys import DB, SITES
from host.hookspecs import hookimpl

INVITE_DEFAULTS = {"smtp_host": "", "smtp_port": "587", "smtp_security": "starttls", "smtp_username": "",
                   "smtp_password": "", "mail_from": "", "smtp_timeout": "5", "webhook_url": "",
                   "webhook_timeout": "5", "rep_link_minutes": "60"}


@dataclass
class Inbox:
    """An aiosmtpd handler: keeps every mail; refuses recipients whose address contains 'refuse'."""
    messages: list = field(default_factory=list)
    delay: float = 0.0
    got: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "refuse" in address:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, msg))
        self.got.set()
        return "250 Message accepted"


def start_smtp(port: int | None = None) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    return controller, inbox


async def configure(host, values: dict, plugin: str = "invite", site: str = "demo"):
    """Set the site's invite settings through the admin page, as an admin would."""
    admin = await host.rep("admin", site=site)
    r = await admin.post_form(f"/s/{site}/admin/settings/{plugin}", {**INVITE_DEFAULTS, **values})
    assert r.status == 200, await r.text()


async def store_settings(host, values: dict, plugin: str = "invite", site: str = "demo"):
    """Set settings straight in the database (the admin form's own path is tested in test_malformed_...)."""
    site_id = host.site(site).id

    def write(db):
        for key, value in values.items():
            db["site_settings"].upsert({"site_id": site_id, "plugin": plugin, "key": key,
                                        "value": json.dumps(value)}, pk=("site_id", "plugin", "key"))
    await host.app[DB].write(write)
    await host.app[DB].read(host.app[SITES].load)


async def use_smtp(host, port: int):
    await store_settings(host, {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none",
                           "mail_from": "support@example.com"})


async def invite(rep, sid: str, **body):
    r = await rep.api_post(f"/s/demo/p/invite/sessions/{sid}/invites", body)
    if r.content_type != "application/json":
        return r.status, {"error": await r.text()}
    return r.status, await r.json()


async def invites_of(host, sid: str) -> list[dict]:
    return await host.db_read(lambda db: list(db["invites"].rows_where("session_id = ?", [sid], order_by="id")))


@pytest.fixture
async def inbox(host):
    """A real SMTP server on loopback that the demo site sends its mail to: the mails it received."""
    controller, received = start_smtp()
    await use_smtp(host, controller.port)
    yield received
    controller.stop()


async def test_email_invite_arrives_with_number_and_a_link_that_joins(host, inbox):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    status, body = await invite(rep, s["id"], channel="email", to="carla@example.org", name="Carla Müller")
    assert status == 201, body
    assert body["invite"]["status"] == "delivered"

    rcpts, msg = inbox.messages[0]
    assert rcpts == ["carla@example.org"]
    assert msg["To"].addresses[0].display_name == "Carla Müller"
    assert "Rita Rep" in str(msg["From"])
    text = msg.get_content()
    grouped = " ".join(s["number"][i:i + 3] for i in range(0, 9, 3))
    assert grouped in text and "within the next 30 minutes" in text
    link = re.search(r"(http://\S+/join\?n=\d+)", text).group(1)
    assert link.endswith(s["number"])

    # The customer follows the link with a plain HTTP client: the join form comes with the number in it.
    customer = await host.client()
    async with customer.http.get(link) as r:
        page = await r.text()
    assert f'value="{s["number"]}"' in page
    r = await customer.join(s["number"], "Carla Müller")
    assert r.status == 302
    joined = await rep_ws.expect("session.joined")
    assert joined["participant"]["name"] == "Carla Müller"

    rows = await invites_of(host, s["id"])
    assert [(r["channel"], r["recipient"], r["status"], r["by_name"]) for r in rows] == \
        [("email", "carla@example.org", "delivered", "Rita Rep")]
    assert rows[0]["delivered_at"] and rows[0]["attempts"] == 1


async def test_rep_invite_link_logs_in_and_joins_as_assisting_rep(host, inbox):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    status, body = await invite(rep, s["id"], channel="rep_email", to="sam@example.org", name="Sam")
    assert status == 201, body
    _rcpts, msg = inbox.messages[0]
    link = re.search(r"(http://\S+/p/invite/rep/\S+)", msg.get_content()).group(1)

    other = await host.client()
    async with other.http.get(link, allow_redirects=False) as r:   # not logged in: to the login page
        assert r.status == 302 and "/login?next=" in r.headers["Location"]
    token = await other.csrf("/s/demo/login")
    path = link.split(host.base, 1)[1]
    async with other.http.post(other.url("/s/demo/login"), data={
            "username": "rep2", "password": PASSWORD, "next": path, "csrf_token": token}) as r:
        page = await r.text()      # logged in and sent back to the invitation
    assert "Join as assisting rep" in page and "Rita Rep" in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    async with other.http.post(link, data={"csrf_token": csrf}, allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Location"] == "/s/demo/console"

    joined = await rep_ws.expect("session.joined")
    assert joined["participant"]["name"] == "Sam Second" and joined["participant"]["role"] == "assisting_rep"
    sam_ws = await other.ws(s["id"])
    assert sam_ws.hello["you"]["role"] == "assisting_rep"

    async with other.http.get(link) as r:   # the link works once
        assert r.status == 410 and "used already" in await r.text()
    rows = await invites_of(host, s["id"])
    assert rows[0]["kind"] == "rep" and rows[0]["used_by"] is not None


async def test_smtp_down_is_a_clear_error_kept_and_retried(host):
    port = free_port()              # nothing listens here yet
    await use_smtp(host, port)
    rep = await host.rep()
    s = await rep.start_session()
    status, body = await invite(rep, s["id"], channel="email", to="carla@example.org", name="Carla")
    assert status == 502
    assert f"could not reach the mail server at 127.0.0.1:{port}" in body["error"]["message"]
    assert "retry" in body["error"]["message"]
    rows = await invites_of(host, s["id"])
    assert rows[0]["status"] == "failed" and "connection refused" in rows[0]["error"]

    controller, inbox = start_smtp(port)  # the mail server is back
    try:
        r = await rep.api_post(f"/s/demo/p/invite/sessions/{s['id']}/invites/{rows[0]['id']}/retry")
        assert r.status == 201, await r.text()
        assert inbox.messages and s["number"] in inbox.messages[0][1].get_content()
    finally:
        controller.stop()
    rows = await invites_of(host, s["id"])
    assert len(rows) == 1 and rows[0]["status"] == "delivered" and rows[0]["attempts"] == 2
    r = await rep.api_post(f"/s/demo/p/invite/sessions/{s['id']}/invites/{rows[0]['id']}/retry")
    assert r.status == 409   # a delivered invite is not sent twice


async def test_smtp_refusing_the_address_is_shown_to_the_rep(host, inbox):
    rep = await host.rep()
    s = await rep.start_session()
    status, body = await invite(rep, s["id"], channel="email", to="refuse@example.org")
    assert status == 502
    assert "refused the address refuse@example.org: 550" in body["error"]["message"]
    assert body["invite"]["status"] == "failed" and not inbox.messages


async def test_no_mail_server_set_is_a_clear_error(host):
    rep = await host.rep()
    s = await rep.start_session()
    status, body = await invite(rep, s["id"], channel="email", to="carla@example.org")
    assert status == 502 and "no mail server is set for this site" in body["error"]["message"]


BAD_INPUT = [
    ({"channel": "email", "to": "not-an-address"}, "is not a valid email address"),
    ({"channel": "email", "to": "carla@example.org\r\nBcc: all@example.net"}, "line breaks"),
    ({"channel": "email", "to": "carla@example.org", "name": "Carla\r\nBcc: all@example.net"}, "line breaks"),
    ({"channel": "rep_email", "to": "sam@example.org\nCc: x@example.net"}, "line breaks"),
    ({"channel": "email", "to": ""}, "an email address is needed"),
    ({"channel": "phone", "to": "call me maybe"}, "a phone number is made of digits"),
    ({"channel": "im", "to": "@carla\n@everyone"}, "line breaks"),
    ({"channel": "fax", "to": "123"}, "unknown invite channel"),
]


async def test_bad_input_is_refused_and_nothing_is_recorded_or_sent(host, inbox):
    rep = await host.rep()
    s = await rep.start_session()
    for body, error in BAD_INPUT:
        status, reply = await invite(rep, s["id"], **body)
        assert status == 400 and error in reply["error"]["message"], (body, reply)
    assert await invites_of(host, s["id"]) == [] and inbox.messages == []


async def test_phone_invite_gives_the_sentence_with_the_number_grouped(host):
    rep = await host.rep()
    s = await rep.start_session()
    status, body = await invite(rep, s["id"], channel="phone", to="+49 30 1234567", name="Carla")
    assert status == 201
    n = s["number"]
    assert body["invite"]["detail"] == f"Go to {host.base}/s/demo and enter the session number " \
                                       f"{n[:3]} {n[3:6]} {n[6:]}."
    assert body["invite"]["status"] == "shown"
    assert (await invites_of(host, s["id"]))[0]["recipient"] == "+49 30 1234567"


@pytest.fixture
async def webhook_receiver():
    got: list = []
    state = {"status": 200}

    async def receive(request):
        got.append(await request.json())
        return web.json_response({"ok": state["status"] == 200}, status=state["status"])
    app = web.Application()
    app.router.add_post("/hooks/chat", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/hooks/chat", got, state
    await runner.cleanup()


async def test_instant_message_goes_to_the_sites_web_hook(host, webhook_receiver):
    url, got, state = webhook_receiver
    await store_settings(host, {"webhook_url": url})
    rep = await host.rep()
    s = await rep.start_session()
    status, body = await invite(rep, s["id"], channel="im", to="@carla")
    assert status == 201, body
    assert got[0]["text"].startswith("@carla: Rita Rep of Demo support invites you")
    assert f"/s/demo/join?n={s['number']}" in got[0]["text"]
    assert got[0]["session_number"] == s["number"]

    state["status"] = 500   # the chat tool is having a bad day
    status, body = await invite(rep, s["id"], channel="im", to="@bob")
    assert status == 502 and "the web hook answered 500" in body["error"]["message"]
    state["status"] = 200
    r = await rep.api_post(f"/s/demo/p/invite/sessions/{s['id']}/invites/{body['invite']['id']}/retry")
    assert r.status == 201
    assert [g["to"] for g in got] == ["@carla", "@bob", "@bob"]
    rows = await invites_of(host, s["id"])
    assert [r["status"] for r in rows] == ["delivered", "delivered"]


async def test_malformed_web_hook_url_is_refused(host):
    admin = await host.rep("admin")
    r = await admin.post_form("/s/demo/admin/settings/invite", {**INVITE_DEFAULTS, "webhook_url": "ftp://x"})
    assert r.status == 400 and "http:// or https://" in await r.text()
    await configure(host, {"webhook_url": "http://"})   # passes the admin form's prefix check only
    rep = await host.rep()
    s = await rep.start_session()
    status, body = await invite(rep, s["id"], channel="im")
    assert status == 502 and "is malformed" in body["error"]["message"]


async def test_sending_mail_never_blocks_the_event_loop(host, inbox):
    inbox.delay = 1.0          # a slow mail server
    rep = await host.rep()
    s = await rep.start_session()
    ws = await rep.ws(s["id"])
    sending = asyncio.create_task(invite(rep, s["id"], channel="email", to="carla@example.org"))
    await asyncio.sleep(0.2)
    pong = await ws.request({"type": "session.ping"})   # the host answers while the mail is in flight
    assert pong["type"] == "session.pong" and not sending.done()
    status, _ = await sending
    assert status == 201


async def test_only_reps_of_the_session_may_invite(host):
    rep = await host.rep()
    s = await rep.start_session()
    customer = await host.client()
    await customer.join(s["number"], "Carla")
    r = await customer.api_post(f"/s/demo/p/invite/sessions/{s['id']}/invites", {"channel": "phone"})
    assert r.status in (401, 403)
    other = await host.rep("rep2")
    status, _ = await invite(other, s["id"], channel="phone")
    assert status == 403
    assert await invites_of(host, s["id"]) == []


async def test_disabled_invite_plugin_refuses_its_routes(host):
    rep = await host.rep()
    s = await rep.start_session()

    def disable(db):
        db["site_plugins"].upsert({"site_id": host.site().id, "plugin": "invite", "enabled": 0},
                                  pk=("site_id", "plugin"))
    await host.app[DB].write(disable)
    await host.app[DB].read(host.app[SITES].load)
    status, body = await invite(rep, s["id"], channel="phone")
    assert status == 403


# -- a third-party channel through the invite_channels hook ---------------------------------------
class SmsPlugin:
    """A small test plugin: an SMS channel that keeps its messages in a list (a stand-in for an SMS
    gateway, which cannot run here); a number ending in 0 is refused like a gateway would."""

    def __init__(self):
        self.sent = []

    @hookimpl
    def invite_channels(self):
        from plugins.invite import InviteChannel
        return [InviteChannel("sms", "Customer by SMS", self.send, "Mobile number")]

    async def send(self, app, site, invitation):
        from plugins.invite import InviteError
        if invitation.to.endswith("0"):
            raise InviteError("the SMS gateway refused this number")
        self.sent.append((invitation.to, invitation.sentence))
        return "queued at the gateway"


def sms_plugin():
    return SmsPlugin()


async def test_a_third_party_plugin_adds_an_sms_channel(tmp_path):
    plugin = sms_plugin()
    host = await start_host(tmp_path / "data", extra_plugins=[("sms", plugin)])
    try:
        rep = await host.rep()
        s = await rep.start_session()
        async with rep.http.get(rep.url(f"/s/demo/p/invite/sessions/{s['id']}/channels")) as r:
            names = [c["name"] for c in (await r.json())["channels"]]
        assert names == ["email", "im", "phone", "rep_email", "sms"]
        status, body = await invite(rep, s["id"], channel="sms", to="+4917012345")
        assert status == 201 and body["invite"]["detail"] == "queued at the gateway"
        assert plugin.sent[0][0] == "+4917012345" and s["number"][:3] in plugin.sent[0][1]
        status, body = await invite(rep, s["id"], channel="sms", to="+4917012340")
        assert status == 502 and "the SMS gateway refused this number" in body["error"]["message"]
        assert [r["status"] for r in await invites_of(host, s["id"])] == ["delivered", "failed"]
    finally:
        await stop_host(host)


async def test_a_rep_link_that_expired_or_is_wrong_joins_nobody(tmp_path):
    clock = FakeClock()
    controller, inbox = start_smtp()
    host = await start_host(tmp_path / "data", clock=clock)
    try:
        await use_smtp(host, controller.port)
        await store_settings(host, {"rep_link_minutes": 30})
        rep = await host.rep()
        s = await rep.start_session()
        status, _ = await invite(rep, s["id"], channel="rep_email", to="sam@example.org")
        assert status == 201
        link = re.search(r"(http://\S+/p/invite/rep/\S+)", inbox.messages[0][1].get_content()).group(1)
        assert "expires in 30 minutes" in inbox.messages[0][1].get_content()
        sam = await host.rep("rep2")
        async with sam.http.get(link[:-3] + "xyz") as r:
            assert r.status == 410 and "not valid" in await r.text()
        clock.advance(31 * 60)
        sam = await host.rep("rep2")   # 31 idle minutes ended sam's login too (the site's idle timeout: 30)
        async with sam.http.get(link) as r:
            page = await r.text()
            assert r.status == 410 and "expired" in page
        token = await sam.csrf("/s/demo/console")
        async with sam.http.post(link, data={"csrf_token": token}, allow_redirects=False) as r:
            assert r.status == 410
        participants = await host.db_read(lambda db: [p["name"] for p in db["participants"].rows_where(
            "session_id = ?", [s["id"]])])
        assert participants == ["Rita Rep"]
    finally:
        await stop_host(host)
        controller.stop()
