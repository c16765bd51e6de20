"""Security keys (WebAuthn / FIDO2, through py_webauthn): the options a browser's navigator.credentials
needs, and checking what it answers. The relying party id is the host name of the site's public address
(else of the address the page was opened at); an answer must come from one of the site's origins, for the
challenge this host gave out, and a key's signature counter must grow (a cloned key shows up as a counter
that does not). Everything here is pure: the callers keep challenges and keys in the database."""
from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

import webauthn
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, options_to_json_dict
from webauthn.helpers.structs import (AuthenticatorSelectionCriteria, PublicKeyCredentialDescriptor,
                                      ResidentKeyRequirement, UserVerificationRequirement)

TIMEOUT_MS = 120_000
MAX_ANSWER_BYTES = 16_384


class KeyRefused(Exception):
    """A security key's answer that is refused; the message says why, for the person."""


@dataclass(frozen=True)
class RelyingParty:
    id: str             # a host name: the browser ties each key to it
    name: str
    origins: tuple      # the page origins an answer may come from


def relying_party(site, scheme: str, host: str) -> RelyingParty:
    """The site as WebAuthn sees it. ``scheme``/``host``: how the page was reached (request.scheme, .host)."""
    own = urlsplit(f"{scheme}://{host}")
    origins = []
    if site.public_url:
        public = urlsplit(site.public_url)
        rp_id = public.hostname or ""
        origins.append(f"{public.scheme}://{public.netloc}".lower())
    else:
        rp_id = own.hostname or ""
    if own.hostname == rp_id:
        origins.append(f"{own.scheme}://{own.netloc}".lower())
    return RelyingParty(rp_id, site.name, tuple(dict.fromkeys(origins)))


def registration_options(rp: RelyingParty, user: dict, known_ids: list[str]) -> tuple[dict, bytes]:
    options = webauthn.generate_registration_options(
        rp_id=rp.id, rp_name=rp.name, user_name=user["username"], user_display_name=user["display_name"] or "",
        user_id=f"supporthost-user-{user['id']}".encode(), timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.DISCOURAGED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(k)) for k in known_ids])
    return options_to_json_dict(options), options.challenge


def authentication_options(rp: RelyingParty, key_ids: list[str]) -> tuple[dict, bytes]:
    options = webauthn.generate_authentication_options(
        rp_id=rp.id, timeout=TIMEOUT_MS, user_verification=UserVerificationRequirement.DISCOURAGED,
        allow_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(k)) for k in key_ids])
    return options_to_json_dict(options), options.challenge


def answer_of(body: dict) -> dict:
    """The browser's answer (a PublicKeyCredential as JSON) from a request body, or KeyRefused."""
    answer = body.get("credential")
    if not isinstance(answer, dict) or not isinstance(answer.get("id"), str) or not answer["id"] \
            or len(json.dumps(answer)) > MAX_ANSWER_BYTES:
        raise KeyRefused("The security key's answer is malformed: a JSON object \"credential\" with an "
                         "\"id\" is needed.")
    return answer


def _refused(what: str, exc: Exception) -> KeyRefused:
    reason = str(exc) or exc.__class__.__name__
    return KeyRefused(f"The security key's {what} was refused: {reason}.")


def verify_registration(rp: RelyingParty, answer: dict, challenge: bytes) -> dict:
    """Check a new key's answer; returns the columns to store for it."""
    try:
        done = webauthn.verify_registration_response(credential=answer, expected_challenge=challenge,
                                                     expected_rp_id=rp.id, expected_origin=list(rp.origins))
    except Exception as exc:   # the library raises many kinds on hostile input; each is a refusal
        raise _refused("registration", exc) from None
    transports = answer.get("response", {}).get("transports")
    return {"credential_id": bytes_to_base64url(done.credential_id),
            "public_key": bytes_to_base64url(done.credential_public_key), "sign_count": done.sign_count,
            "transports": json.dumps([t for t in transports if isinstance(t, str)][:8])
            if isinstance(transports, list) else "[]"}


def verify_authentication(rp: RelyingParty, answer: dict, challenge: bytes, key: dict) -> int:
    """Check a key's answer to a sign-in challenge; returns the key's new signature counter."""
    try:
        done = webauthn.verify_authentication_response(
            credential=answer, expected_challenge=challenge, expected_rp_id=rp.id,
            expected_origin=list(rp.origins), credential_public_key=base64url_to_bytes(key["public_key"]),
            credential_current_sign_count=key["sign_count"] or 0)
    except Exception as exc:   # as above
        raise _refused("answer", exc) from None
    return done.new_sign_count
