"""Invitation mail over encrypted connections with a login: a real aiosmtpd server on loopback with
STARTTLS, implicit TLS and AUTH, and a certificate made for the test.

The one stand-in: the server's certificate is self-made, so the test makes the invite plugin's TLS
context trust it (a certificate from a public CA cannot be had on loopback). The TLS handshake, host
name check and login are real."""
from __future__ import annotations

import datetime
import ipaddress
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from plugins.invite import mail
from test_invite import Inbox, free_port, invite, invites_of, start_smtp, store_settings


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def trust(certificate, monkeypatch):
    cert_path, _ = certificate

    def context():
        ctx = ssl.create_default_context(cafile=str(cert_path))
        return ctx
    monkeypatch.setattr(mail, "tls_context", context)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"mailer" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)   # not handled: aiosmtpd answers 235 or 535 itself


def server_context(certificate) -> ssl.SSLContext:
    cert_path, key_path = certificate
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert_path), str(key_path))
    return ctx


async def smtp_settings(host, port, security, username="mailer", password="s3cret"):
    await store_settings(host, {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": security,
                                "smtp_username": username, "smtp_password": password,
                                "mail_from": "support@example.com"})


async def test_starttls_with_login_delivers_and_a_wrong_password_is_a_clear_error(host, certificate, trust):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=server_context(certificate),
                            require_starttls=True, authenticator=authenticator, auth_require_tls=True)
    controller.start()
    try:
        await smtp_settings(host, controller.port, "starttls")
        rep = await host.rep()
        s = await rep.start_session()
        status, body = await invite(rep, s["id"], channel="email", to="carla@example.org")
        assert status == 201, body
        assert s["number"][:3] in inbox.messages[0][1].get_content()

        await smtp_settings(host, controller.port, "starttls", password="wrong")
        status, body = await invite(rep, s["id"], channel="email", to="dave@example.org")
        assert status == 502 and "refused the login (535" in body["error"]["message"]
        assert len(inbox.messages) == 1
    finally:
        controller.stop()


async def test_implicit_tls_delivers(host, certificate, trust):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), ssl_context=server_context(certificate),
                            authenticator=authenticator, auth_require_tls=False)
    controller.start()
    try:
        await smtp_settings(host, controller.port, "tls")
        rep = await host.rep()
        s = await rep.start_session()
        status, body = await invite(rep, s["id"], channel="email", to="carla@example.org")
        assert status == 201, body
        assert inbox.messages
    finally:
        controller.stop()


async def test_encryption_the_server_cannot_do_is_a_clear_error(host, certificate):
    controller, inbox = start_smtp()    # a plain server: no STARTTLS, no TLS, no AUTH
    try:
        rep = await host.rep()
        s = await rep.start_session()
        await smtp_settings(host, controller.port, "starttls")
        status, body = await invite(rep, s["id"], channel="email", to="carla@example.org")
        assert status == 502 and "does not offer STARTTLS" in body["error"]["message"]
        await smtp_settings(host, controller.port, "tls")
        status, body = await invite(rep, s["id"], channel="email", to="carla@example.org")
        assert status == 502 and "no secure connection to the mail server" in body["error"]["message"]
        await smtp_settings(host, controller.port, "none")
        status, body = await invite(rep, s["id"], channel="email", to="carla@example.org")
        assert status == 502 and "does not offer a login (AUTH) without encryption" in body["error"]["message"]
        assert [r["status"] for r in await invites_of(host, s["id"])] == ["failed"] * 3 and not inbox.messages
    finally:
        controller.stop()


async def test_an_untrusted_certificate_is_refused(host, certificate):
    controller = Controller(Inbox(), hostname="127.0.0.1", port=free_port(),
                            tls_context=server_context(certificate), authenticator=authenticator)
    controller.start()
    try:
        await smtp_settings(host, controller.port, "starttls")   # the system's CAs do not know this one
        rep = await host.rep()
        s = await rep.start_session()
        status, body = await invite(rep, s["id"], channel="email", to="carla@example.org")
        assert status == 502 and "certificate that cannot be trusted" in body["error"]["message"]
    finally:
        controller.stop()
