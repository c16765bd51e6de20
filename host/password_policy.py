"""The rules a password chosen by a person must pass (an admin creating or changing an account, or
`supporthost reset-password --password-stdin`): long enough, not too long, not one of the 100,000 most
common passwords (host/password_lists/common-passwords.txt.gz, see the README.md beside it), and not
containing the account's username or the site's name. Generated passwords (16 random characters) need no check.

``problem()`` reads the shipped list the first time it is called (about 0.1 s): call it off the event loop."""
from __future__ import annotations

import functools
import gzip
from pathlib import Path

MIN_LENGTH = 10
MAX_LENGTH = 200          # the login form reads at most 500 characters; a longer one could never log in
MIN_NAME_LENGTH = 3       # a username or site name shorter than this is not looked for inside passwords
COMMON_LIST = Path(__file__).parent / "password_lists" / "common-passwords.txt.gz"


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased, without the entries shorter than MIN_LENGTH (the length rule refuses
    those already, and keeping them would cost memory for nothing)."""
    with gzip.open(COMMON_LIST, "rt", encoding="utf-8", errors="replace") as lines:
        return frozenset(word for line in lines if len(word := line.strip().lower()) >= MIN_LENGTH)


def _squeezed(text: str) -> str:
    return "".join(text.lower().split())


def problem(password: str, username: str = "", site_names: tuple[str, ...] = ()) -> str | None:
    """Why ``password`` may not be used, as a sentence to show, or None when it passes."""
    if len(password) < MIN_LENGTH:
        return f"The password needs at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"The password may have at most {MAX_LENGTH} characters."
    lowered, squeezed = password.lower(), _squeezed(password)
    if lowered in common_passwords() or squeezed in common_passwords():
        return "This password is one of the 100,000 most common passwords: choose another."
    name = username.strip().lower()
    if len(name) >= MIN_NAME_LENGTH and (name in lowered or name in squeezed):
        return "The password must not contain the username."
    for site_name in site_names:
        squeezed_name = _squeezed(site_name)
        if len(squeezed_name) >= MIN_NAME_LENGTH and (site_name.strip().lower() in lowered
                                                      or squeezed_name in squeezed):
            return "The password must not contain the site's name."
    return None
