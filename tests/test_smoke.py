"""The basic path through the host, over real HTTP and WebSockets."""


async def test_rep_starts_session_customer_joins_and_they_chat(host):
    rep = await host.rep()
    s = await rep.start_session()
    assert len(s["number"]) >= 9 and s["number"].isdigit()
    assert s["number"][:3] in s["invitation"] and "/s/demo" in s["invitation"]
    rep_ws = await rep.ws(s["id"])

    cust = await host.client()
    r = await cust.join(s["number"], "Carla")
    assert r.status == 302
    cust_ws = await cust.ws(s["id"])
    joined = await rep_ws.expect("session.joined")
    assert joined["participant"]["name"] == "Carla"

    ack = await cust_ws.request({"type": "chat.send", "text": "hello <b>rep</b>"})
    assert ack["type"] == "chat.ack"
    got = await rep_ws.expect("chat.message")
    assert got["message"]["text"] == "hello <b>rep</b>"
