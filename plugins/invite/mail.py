"""Invitations by email through the site's SMTP server (smtplib, run off the event loop)."""
from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from .channels import InviteError, clean_email, clean_name

SECURITY_CHOICES = ("starttls", "tls", "none")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    username: str
    password: str
    mail_from: str
    timeout: float

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def smtp_settings(get) -> SmtpSettings:
    """Read the site's settings (``get(name)``) and check they are complete."""
    host = (get("smtp_host") or "").strip()
    if not host:
        raise InviteError("no mail server is set for this site (an admin sets it in the invite settings)")
    mail_from = (get("mail_from") or "").strip()
    try:
        clean_email(mail_from)
    except InviteError:
        raise InviteError("the site's sender address (invite settings: 'Send mail from') is not a valid "
                          "email address") from None
    return SmtpSettings(host, int(get("smtp_port") or 587), get("smtp_security") or "starttls",
                        get("smtp_username") or "", get("smtp_password") or "", mail_from,
                        float(get("smtp_timeout") or 15))


def build_message(settings: SmtpSettings, from_name: str, to: str, to_name: str, subject: str,
                  body: str) -> EmailMessage:
    """The mail; names and addresses were checked (no line breaks) and are encoded by the email package."""
    to = clean_email(to)
    user, _, domain = to.rpartition("@")
    f_user, _, f_domain = settings.mail_from.rpartition("@")
    msg = EmailMessage()
    msg["From"] = Address(display_name=clean_name(from_name, "sender name"), username=f_user, domain=f_domain)
    msg["To"] = Address(display_name=clean_name(to_name), username=user, domain=domain)
    msg["Subject"] = clean_name(subject, "subject", 200)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=f_domain)
    msg.set_content(body)
    return msg


def tls_context() -> ssl.SSLContext:
    """Certificates are checked against the system's CAs, and the host name must match."""
    return ssl.create_default_context()


def _send_blocking(settings: SmtpSettings, msg: EmailMessage) -> str:
    context = tls_context()
    try:
        if settings.security == "tls":
            smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with smtp:
            smtp.ehlo()
            if settings.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise InviteError(f"the mail server at {settings.where} does not offer STARTTLS; an admin can "
                                      "choose TLS or no encryption in the invite settings")
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings.username:
                if not smtp.has_extn("auth"):
                    raise InviteError(f"the mail server at {settings.where} does not offer a login (AUTH)"
                                      f"{'' if settings.security != 'none' else ' without encryption'}; "
                                      "check the invite settings")
                smtp.login(settings.username, settings.password)
            smtp.send_message(msg)
        return f"accepted by {settings.where}"
    except smtplib.SMTPNotSupportedError as exc:
        raise InviteError(f"the mail server at {settings.where} does not support this: {exc}") from None
    except smtplib.SMTPAuthenticationError as exc:
        raise InviteError(f"the mail server at {settings.where} refused the login ({_reply(exc)}); check the "
                          "user name and password in the invite settings") from None
    except smtplib.SMTPRecipientsRefused as exc:
        (address, (code, text)), *_ = exc.recipients.items()
        raise InviteError(f"the mail server refused the address {address}: {code} "
                          f"{text.decode(errors='replace') if isinstance(text, bytes) else text}") from None
    except smtplib.SMTPSenderRefused as exc:
        raise InviteError(f"the mail server refused the sender address {settings.mail_from}: "
                          f"{_reply(exc)}") from None
    except smtplib.SMTPResponseException as exc:
        raise InviteError(f"the mail server at {settings.where} refused the mail: {_reply(exc)}") from None
    except smtplib.SMTPServerDisconnected as exc:
        if isinstance(exc.__context__, TimeoutError):   # smtplib reports a read that timed out as a disconnect
            raise InviteError(f"the mail server at {settings.where} did not answer in time") from None
        raise InviteError(f"the mail server at {settings.where} closed the connection") from None
    except smtplib.SMTPException as exc:
        raise InviteError(f"the mail server at {settings.where} failed: {exc}") from None
    except ssl.SSLCertVerificationError as exc:
        raise InviteError(f"the mail server at {settings.where} has a certificate that cannot be trusted: "
                          f"{exc.verify_message}") from None
    except ssl.SSLError as exc:
        raise InviteError(f"no secure connection to the mail server at {settings.where}: "
                          f"{exc.reason or exc}") from None
    except (socket.timeout, TimeoutError):
        raise InviteError(f"the mail server at {settings.where} did not answer in time") from None
    except ConnectionRefusedError:
        raise InviteError(f"could not reach the mail server at {settings.where}: connection refused") from None
    except OSError as exc:
        raise InviteError(f"could not reach the mail server at {settings.where}: "
                          f"{exc.strerror or exc}") from None


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {text}"


async def send_mail(settings: SmtpSettings, msg: EmailMessage) -> str:
    """Send on a worker thread: the event loop never waits on the mail server."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, _send_blocking, settings, msg)
