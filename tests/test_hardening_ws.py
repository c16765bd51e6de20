"""Bad WebSocket input gets an error reply, the socket stays up, and nothing is logged with a traceback
(issue 11, defect 8)."""
from __future__ import annotations

import json
import logging


def tracebacks(caplog) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def reply_to(sock, raw: str, ref: str) -> dict:
    await sock.ws.send_str(raw)
    return await sock.expect(lambda m: m.get("re") == ref or (m.get("type") == "error" and "re" not in m))


async def test_deeply_nested_json_is_answered_and_the_socket_stays(customer_socket, caplog):
    deep = "[" * 20_000 + "]" * 20_000
    await customer_socket.ws.send_str('{"type": "chat.send", "text": ' + deep + "}")
    err = await customer_socket.expect("error")
    assert err["code"] == "malformed" and "nested more than" in err["error"]
    ack = await customer_socket.request({"type": "chat.send", "text": "still here"})
    assert ack["type"] == "chat.ack"
    assert tracebacks(caplog) == []


async def test_a_lone_surrogate_in_chat_is_refused_without_a_traceback(customer_socket, rep_socket, caplog):
    for raw_text in ("\\ud800", "abc\\udfff", "\\ud83d"):
        err = await reply_to(customer_socket, '{"type": "chat.send", "id": "s1", "text": "' + raw_text + '"}', "s1")
        assert err["type"] == "error" and err["code"] == "malformed", err
        assert "lone surrogate" in err["error"]
    # a surrogate in a key is refused too; a proper pair (an emoji written as escapes) is fine
    err = await reply_to(customer_socket, '{"type": "chat.send", "id": "s2", "text": "x", "\\udc00": 1}', "s2")
    assert err["type"] == "error"
    ack = await reply_to(customer_socket, '{"type": "chat.send", "id": "s3", "text": "\\ud83d\\ude00"}', "s3")
    assert ack["type"] == "chat.ack" and ack["message"]["text"] == "\U0001F600"
    history = await rep_socket.request({"type": "chat.history"})
    assert [m["text"] for m in history["messages"]] == ["\U0001F600"]
    assert tracebacks(caplog) == []


async def test_agent_hello_with_a_restore_that_is_no_list_is_refused(customer_socket, caplog):
    for plugin in ("desktop", "appshare", "filexfer_advanced"):
        for restore in (5, "control", {"viewer": "x"}, True):
            msg = {"type": f"{plugin}.agent_hello", "name": "SM", "restore": restore}
            err = await customer_socket.request(msg)
            assert err["type"] == "error", (plugin, restore, err)
            assert "restore must be a list" in err["error"]
        # items that are no grants are skipped, not a failure
        ok = {"type": f"{plugin}.agent_hello", "name": "SM", "restore": [5, "x", {"viewer": ["a"]}, None]}
        await customer_socket.send({**ok, "id": "fine"})
    await customer_socket.request({"type": "chat.send", "text": "after"})
    assert not [m for m in customer_socket.seen if m.get("type") == "error" and m.get("re") == "fine"]
    assert tracebacks(caplog) == [], json.dumps(tracebacks(caplog))
