"""For the two-factor tests: a software security key that answers WebAuthn options as a real key does
(an ES256 key pair, "none" attestation, a signature counter), and helpers to log in and set up factors
over HTTP with the test kit's clients."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import struct

import cbor2
import pyotp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from host.testing import PASSWORD


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftKey:
    """A security key in software. ``origin``: the page origin the "browser" reports in its answers."""

    def __init__(self, origin: str, rp_id: str):
        self.origin, self.rp_id = origin, rp_id
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = 0

    def _auth_data(self, flags: int, extra: bytes = b"") -> bytes:
        return hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", self.counter) + extra

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def create(self, options: dict, origin: str | None = None, challenge: str | None = None) -> dict:
        numbers = self.private.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + cose
        auth_data = self._auth_data(0x41, attested)           # user present, attested credential data
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client = self._client_data("webauthn.create", challenge or options["challenge"], origin)
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
                "response": {"clientDataJSON": b64url(client), "attestationObject": b64url(attestation),
                             "transports": ["usb"]}, "clientExtensionResults": {}}

    def get(self, options: dict, origin: str | None = None, challenge: str | None = None,
            counter: int | None = None) -> dict:
        self.counter = self.counter + 1 if counter is None else counter
        auth_data = self._auth_data(0x01)
        client = self._client_data("webauthn.get", challenge or options["challenge"], origin)
        signature = self.private.sign(auth_data + hashlib.sha256(client).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
                "response": {"clientDataJSON": b64url(client), "authenticatorData": b64url(auth_data),
                             "signature": b64url(signature)}, "clientExtensionResults": {}}


async def password_step(client, username: str, site: str = "demo", password: str = PASSWORD):
    """Log in with the password only: the answer (a redirect to the second step, or to the console)."""
    client.site = site
    return await client.post_form(f"/s/{site}/login", {"username": username, "password": password},
                                  allow_redirects=False)


async def signed_in(client, site: str = "demo") -> bool:
    async with client.http.get(client.url(f"/s/{site}/console"), allow_redirects=False) as r:
        return r.status == 200


async def enrol_totp(client, site: str = "demo", at: float | None = None, path: str = "security") -> tuple:
    """Set up the authenticator app from the page at ``path``; returns (secret, the answer to the code).
    ``at``: the time the code is made for (default: now)."""
    r = await client.post_form(f"/s/{site}/security/totp/start", {}, csrf_from=f"/s/{site}/{path}")
    assert r.status == 200, await r.text()
    page = await r.text()
    secret = re.search(r'class="totp-secret">([A-Z2-7]+)<', page).group(1)
    totp = pyotp.TOTP(secret)
    code = totp.at(at) if at is not None else totp.now()
    answer = await client.post_form(f"/s/{site}/security/totp/confirm", {"code": code},
                                    csrf_from=f"/s/{site}/{path}", allow_redirects=False)
    return secret, answer


def recovery_codes_of(page: str) -> list[str]:
    return re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", page)
