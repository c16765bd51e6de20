"""Security keys (WebAuthn) over HTTP, answered by a software key that signs as a real one does: a key is
registered and signs in; a malformed answer, an answer to another challenge, from another origin, replayed,
or from a cloned key (its counter going back) is refused with a clear error and changes nothing."""
from __future__ import annotations

import json

import pytest
from twofactor_helpers import SoftKey, b64url, password_step, recovery_codes_of, signed_in

pytestmark = pytest.mark.asyncio


def _key(host) -> SoftKey:
    return SoftKey(host.base, "127.0.0.1")


async def _options(client, path: str) -> dict:
    r = await client.api_post(path)
    assert r.status == 200, await r.text()
    return await r.json()


async def _register(client, key: SoftKey, name="blue USB key", **tamper):
    options = await _options(client, "/s/demo/security/keys/options")
    body = {"name": name, "credential": key.create(options, **tamper)}
    return options, await client.api_post("/s/demo/security/keys", body)


async def _signed_up(host, key: SoftKey, username="rep1"):
    client = await host.rep(username)
    options, r = await _register(client, key)
    assert r.status == 200, await r.text()
    return client, await r.json()


async def _pending(host, username="rep1"):
    client = await host.client()
    r = await password_step(client, username)
    assert r.headers["Location"] == "/s/demo/login/verify"
    return client


async def _audit(host, action: str) -> list[dict]:
    return await host.db_read(lambda db: list(db.query("select * from audit_log where action = ?", [action])))


@pytest.mark.supporthost(plugins=[])
async def test_register_a_key_then_sign_in_with_it(host):
    key = _key(host)
    client, done = await _signed_up(host, key)
    assert done["redirect"].startswith("/s/demo/security?codes=")      # the first factor: recovery codes
    async with client.http.get(client.url(done["redirect"])) as page:
        text = await page.text()
    assert len(recovery_codes_of(text)) == 10 and "blue USB key" in text
    options = await _options(client, "/s/demo/security/keys/options")
    assert options["rp"]["id"] == "127.0.0.1"
    assert [c["id"] for c in options["excludeCredentials"]] == [b64url(key.credential_id)]

    person = await _pending(host)
    async with person.http.get(person.url("/s/demo/login/verify")) as page:
        assert "Use a security key" in await page.text()
    options = await _options(person, "/s/demo/login/verify/key-options")
    assert [c["id"] for c in options["allowCredentials"]] == [b64url(key.credential_id)]
    r = await person.api_post("/s/demo/login/verify/key", {"credential": key.get(options)})
    assert r.status == 200, await r.text()
    assert (await r.json())["redirect"] == "/s/demo/console"
    assert await signed_in(person)
    stored = await host.db_read(lambda db: next(db["webauthn_keys"].rows))
    assert stored["sign_count"] == 1 and stored["last_used_at"]
    assert len(await _audit(host, "twofactor_key_added")) == 1
    assert json.loads((await _audit(host, "login"))[-1]["details"])["second_factor"] == "security_key"


@pytest.mark.supporthost(plugins=[])
async def test_bad_registrations_are_refused_and_store_nothing(host):
    key = _key(host)
    client = await host.rep("rep1")
    token = await client.csrf("/s/demo/security")
    r = await client.http.post(client.url("/s/demo/security/keys"), data=b"{not json",
                               headers={"X-CSRF-Token": token, "Content-Type": "application/json"})
    assert r.status == 400 and (await r.json())["error"]["message"] == "The body is not valid JSON."
    cases = [
        ({"name": "k", "credential": "a string"}, "malformed"),
        ({"name": "k", "credential": {"id": "x", "response": {"clientDataJSON": "%%%"}}}, "refused"),
        ({"name": "", "credential": {}}, "Give the key a name"),
    ]
    for body, words in cases:
        await _options(client, "/s/demo/security/keys/options")
        r = await client.api_post("/s/demo/security/keys", body)
        assert r.status == 400 and words in (await r.json())["error"]["message"], body
    _, r = await _register(client, key, challenge="b3RoZXItY2hhbGxlbmdl")
    assert r.status == 400 and "challenge" in (await r.json())["error"]["message"]
    _, r = await _register(client, key, origin="https://evil.example")
    message = (await r.json())["error"]["message"]
    assert r.status == 400 and "origin" in message and "evil.example" in message
    # an answer without a challenge given out (or given out and answered already)
    r = await client.api_post("/s/demo/security/keys", {"name": "k", "credential": key.create({"challenge": "AAAA"})})
    assert r.status == 400 and "no key registration waiting" in (await r.json())["error"]["message"]
    assert await host.db_read(lambda db: (db["webauthn_keys"].count, db["recovery_codes"].count)) == (0, 0)
    assert len(await _audit(host, "twofactor_key_refused")) == 6


@pytest.mark.supporthost(plugins=[], login_failures_before_lockout=50)
async def test_bad_answers_at_sign_in_are_refused(host):
    key = _key(host)
    await _signed_up(host, key)
    person = await _pending(host)

    async def answer(credential):
        r = await person.api_post("/s/demo/login/verify/key", {"credential": credential})
        return r.status, (await r.json())["error"]["message"] if r.status != 200 else await r.json()

    options = await _options(person, "/s/demo/login/verify/key-options")
    assert await answer("nonsense") == (401, "The security key's answer is malformed: a JSON object "
                                             "\"credential\" with an \"id\" is needed.")
    options = await _options(person, "/s/demo/login/verify/key-options")
    status, message = await answer(key.get(options, challenge="b3RoZXItY2hhbGxlbmdl"))
    assert status == 401 and "challenge" in message
    options = await _options(person, "/s/demo/login/verify/key-options")
    status, message = await answer(key.get(options, origin="http://evil.example"))
    assert status == 401 and "origin" in message
    stranger = SoftKey(host.base, "127.0.0.1")
    options = await _options(person, "/s/demo/login/verify/key-options")
    status, message = await answer(stranger.get(options))
    assert status == 401 and "not registered for this account" in message
    assert not await signed_in(person)
    assert len(await _audit(host, "login_second_step_failed")) == 4

    fresh = await _pending(host)                 # the fifth failure ended the first attempt
    options = await _options(fresh, "/s/demo/login/verify/key-options")
    good = key.get(options)
    seen = key.counter
    r = await fresh.api_post("/s/demo/login/verify/key", {"credential": good})
    assert r.status == 200
    # the same answer again, on a new attempt: its challenge is not this attempt's
    again = await _pending(host)
    await _options(again, "/s/demo/login/verify/key-options")
    r = await again.api_post("/s/demo/login/verify/key", {"credential": good})
    assert r.status == 401 and "challenge" in (await r.json())["error"]["message"]
    # a clone of the key: its counter is behind the one the host saw
    options = await _options(again, "/s/demo/login/verify/key-options")
    r = await again.api_post("/s/demo/login/verify/key", {"credential": key.get(options, counter=1)})
    assert r.status == 401 and "sign count" in (await r.json())["error"]["message"]
    assert not await signed_in(again)
    assert await host.db_read(lambda db: next(db["webauthn_keys"].rows)["sign_count"]) == seen


@pytest.mark.supporthost(plugins=[])
async def test_keys_are_named_listed_and_removed_with_the_password(host):
    first, second = _key(host), _key(host)
    client, _ = await _signed_up(host, first)
    _, r = await _register(client, second, name="  spare   key ")
    assert r.status == 200 and (await r.json())["redirect"] == "/s/demo/security"   # no new codes
    _, r = await _register(client, second)
    assert r.status == 409 and "registered already" in (await r.json())["error"]["message"]
    rows = await host.db_read(lambda db: list(db["webauthn_keys"].rows))
    assert [k["name"] for k in rows] == ["blue USB key", "spare key"]
    r = await client.post_form(f"/s/demo/security/keys/{rows[0]['id']}/remove", {"password": "nope nope nope"})
    assert r.status == 403
    other = await host.rep("rep2")
    r = await other.post_form(f"/s/demo/security/keys/{rows[0]['id']}/remove", {"password": "correct horse battery"})
    assert r.status == 404               # not rep2's key
    r = await client.post_form(f"/s/demo/security/keys/{rows[0]['id']}/remove",
                               {"password": "correct horse battery"})
    assert r.status == 200 and "removed" in await r.text()
    assert await host.db_read(lambda db: [k["name"] for k in db["webauthn_keys"].rows]) == ["spare key"]
    assert len(await _audit(host, "twofactor_key_removed")) == 1
