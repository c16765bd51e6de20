"""Recovery codes: ten single-use codes for when the phone or the key is not at hand. Shown once when
made; only their sha256 is kept (each carries 60 random bits, so a fast hash is enough). Using one
marks it used in the database writer thread, so it signs in once, even under parallel requests."""
from __future__ import annotations

import hashlib
import secrets

COUNT = 10
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"     # no 0/o, 1/l/i: read off paper without doubt
GROUP = 5


def _hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def normalise(code: str) -> str:
    return "".join(c for c in str(code).lower()[:40] if c.isalnum())


def make_codes(db, user_id: int, now: float) -> list[str]:
    """Replace the user's recovery codes with ten new ones; returns them (to be shown once)."""
    codes = []
    for _ in range(COUNT):
        raw = "".join(secrets.choice(ALPHABET) for _ in range(2 * GROUP))
        codes.append(f"{raw[:GROUP]}-{raw[GROUP:]}")
    db.execute("delete from recovery_codes where user_id = ?", [user_id])
    db["recovery_codes"].insert_all([{"user_id": user_id, "code_hash": _hash(c), "created_at": now}
                                     for c in codes])
    return codes


def use_code(db, user_id: int, code: str, now: float) -> bool:
    """Spend one unused recovery code of the user; False when it is not one (or was used already)."""
    if len(normalise(code)) != 2 * GROUP:
        return False
    cursor = db.execute("update recovery_codes set used_at = ? where user_id = ? and code_hash = ? and "
                        "used_at is null", [now, user_id, _hash(code)])
    return cursor.rowcount == 1


def remaining(db, user_id: int) -> int:
    return db["recovery_codes"].count_where("user_id = ? and used_at is null", [user_id])
