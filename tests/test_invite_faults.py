"""The invite plugin against mail servers and web hooks that misbehave, on loopback: a server that greets
with a refusal, one that never says a word, one that refuses the mail after reading it, a web hook nobody
listens on; and names that try to smuggle in recipients. Each: a clear error for the rep, the invite kept
with the error, a retry that works once the server is fixed, and never a mail to anyone not asked for."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from test_invite import free_port, inbox, invite, invites_of, start_smtp, store_settings, use_smtp  # noqa: F401 - inbox is a fixture


@asynccontextmanager
async def raw_server(handle):
    """A TCP server on loopback whose every connection is handed to handle(reader, writer)."""
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def retry(rep, sid: str, iid: int):
    r = await rep.api_post(f"/s/demo/p/invite/sessions/{sid}/invites/{iid}/retry")
    return r.status, await r.json()


async def test_a_server_that_refuses_at_the_greeting_then_a_retry_on_a_working_one(host):
    async def refuse(reader, writer):
        writer.write(b"554 5.3.2 mail.example.com: no service for you\r\n")
        await writer.drain()
        writer.close()

    async with raw_server(refuse) as port:
        await use_smtp(host, port)
        rep = await host.rep()
        s = await rep.start_session()
        status, body = await invite(rep, s["id"], channel="email", to="carla@example.org", name="Carla")
    assert status == 502, body
    assert f"the mail server at 127.0.0.1:{port}" in body["error"]["message"] and "554" in body["error"]["message"]
    assert "no service for you" in body["error"]["message"] and "retry" in body["error"]["message"]
    [row] = await invites_of(host, s["id"])
    assert row["status"] == "failed" and "554" in row["error"] and row["recipient"] == "carla@example.org"

    controller, working = start_smtp()    # the admin points the site at a mail server that works
    try:
        await use_smtp(host, controller.port)
        status, body = await retry(rep, s["id"], row["id"])
        assert status == 201, body
        assert [m[0] for m in working.messages] == [["carla@example.org"]]
    finally:
        controller.stop()
    [row] = await invites_of(host, s["id"])
    assert row["status"] == "delivered" and row["attempts"] == 2 and row["error"] is None


async def test_a_server_that_never_answers_times_out_with_a_clear_error(host):
    held = []

    async def silent(reader, writer):
        held.append(writer)             # accepts the connection and says nothing
        await reader.read()

    async with raw_server(silent) as port:
        await use_smtp(host, port)
        await store_settings(host, {"smtp_timeout": 1})
        rep = await host.rep()
        s = await rep.start_session()
        ws = await rep.ws(s["id"])
        sending = asyncio.create_task(invite(rep, s["id"], channel="email", to="carla@example.org"))
        pong = await ws.request({"type": "session.ping"})      # the host is not stuck meanwhile
        assert pong["type"] == "session.pong"
        status, body = await sending
        for writer in held:
            writer.close()
    assert status == 502
    assert f"the mail server at 127.0.0.1:{port} did not answer in time" in body["error"]["message"]
    assert [r["status"] for r in await invites_of(host, s["id"])] == ["failed"]


class RefuseData:
    """An aiosmtpd handler that reads the whole mail and then refuses it."""

    async def handle_DATA(self, server, session, envelope):
        return "552 5.3.4 message refused by policy"


async def test_a_server_that_refuses_the_mail_after_reading_it(host):
    from aiosmtpd.controller import Controller
    controller = Controller(RefuseData(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        await use_smtp(host, controller.port)
        rep = await host.rep()
        s = await rep.start_session()
        status, body = await invite(rep, s["id"], channel="rep_email", to="sam@example.org")
    finally:
        controller.stop()
    assert status == 502
    assert "refused the mail: 552 5.3.4 message refused by policy" in body["error"]["message"]
    [row] = await invites_of(host, s["id"])
    assert row["kind"] == "rep" and row["status"] == "failed" and "552" in row["error"]


SMUGGLING_NAMES = ['Carla, <evil@example.net>', 'x" <evil@example.net>, "y', "=?utf-8?q?x?= <evil@example.net>",
                   "Carla <evil@example.net>"]


async def test_names_with_addresses_in_them_never_add_a_recipient(host, inbox):
    rep = await host.rep()
    s = await rep.start_session()
    for name in SMUGGLING_NAMES:
        status, body = await invite(rep, s["id"], channel="email", to="carla@example.org", name=name)
        assert status == 201, (name, body)
    assert len(inbox.messages) == len(SMUGGLING_NAMES)
    for name, (rcpts, msg) in zip(SMUGGLING_NAMES, inbox.messages):
        assert rcpts == ["carla@example.org"], name
        [to] = msg["To"].addresses
        assert to.addr_spec == "carla@example.org"
        assert msg["Cc"] is None and msg["Bcc"] is None


async def test_an_address_with_a_second_address_in_it_is_refused(host, inbox):
    rep = await host.rep()
    s = await rep.start_session()
    for to in ("carla@example.org, evil@example.net", "Carla <carla@example.org>", "carla@example.org;evil@x.net",
               "carla@example.org\u2028Bcc: evil@example.net"):
        status, body = await invite(rep, s["id"], channel="email", to=to)
        assert status == 400, (to, body)
    assert await invites_of(host, s["id"]) == [] and inbox.messages == []


async def test_a_web_hook_nobody_listens_on_is_a_clear_error_kept_for_a_retry(host):
    port = free_port()
    await store_settings(host, {"webhook_url": f"http://127.0.0.1:{port}/hooks/chat"})
    rep = await host.rep()
    s = await rep.start_session()
    status, body = await invite(rep, s["id"], channel="im", to="@carla")
    assert status == 502 and f"could not reach the web hook at 127.0.0.1:{port}" in body["error"]["message"]
    [row] = await invites_of(host, s["id"])
    assert row["status"] == "failed" and row["recipient"] == "@carla"
