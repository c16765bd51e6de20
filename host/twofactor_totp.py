"""Authenticator apps (TOTP, RFC 6238, through pyotp): the secret, its otpauth address and QR code, and
checking a code. A code is good in its 30-second step and the steps either side (a phone's clock may be
a little off), and once only: a step at or before the last one used is refused (no replay). The check
and the update of the last step run in the database writer thread, so two requests with one code cannot
both pass. Functions taking ``db`` run in the writer or a reader thread."""
from __future__ import annotations

import hmac

import pyotp
import segno

STEP = 30          # seconds of one code
DRIFT_STEPS = 1    # steps accepted either side of now


class CodeRefused(Exception):
    """A TOTP code that does not sign in; the message says why, for the person."""


def new_secret() -> str:
    return pyotp.random_base32()          # 32 base32 characters: 160 bits


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret, interval=STEP).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg_data_uri(uri: str) -> str:
    """The otpauth address as a QR code, an SVG in a data: address (allowed by the pages' CSP)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def normalise(code: str) -> str:
    return "".join(str(code).split())[:20]


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The step whose code ``code`` is, within the drift either side of ``now``; None if none."""
    code = normalise(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    here = int(now // STEP)
    steps = range(here - DRIFT_STEPS, here + DRIFT_STEPS + 1)
    matches = [step for step in steps if hmac.compare_digest(totp.at(step * STEP), code)]   # all compared
    return matches[0] if matches else None


def use_code(db, user_id: int, code: str, now: float, confirmed: bool = True) -> int:
    """Check ``code`` against the user's secret (the confirmed one, or the one being set up when
    ``confirmed`` is False) and spend its step; raise CodeRefused when it does not sign in."""
    row = next(db["totp_secrets"].rows_where("user_id = ?", [user_id]), None)
    if row is None or bool(row["confirmed_at"]) != confirmed:
        raise CodeRefused("No authenticator app is set up for this account." if confirmed else
                          "Start setting up an authenticator app first.")
    step = matching_step(row["secret"], code, now)
    if step is None:
        raise CodeRefused("That code is not right. Check the app shows this account, and that your "
                          "phone's clock is correct.")
    if step <= (row["last_step"] or 0):
        raise CodeRefused("That code was used already. Wait for the app to show the next one.")
    db["totp_secrets"].update(user_id, {"last_step": step})
    return step
