"""How the admin page names the actors and targets of audit rows: people and things, not ids.

A row names them as references ("user:12", "participant:ab12", "session:<id>", "api_token:3",
"address:10.0.0.5", "host", "cli"...). ``name_references`` turns them into words in one query per kind,
looking only at the site's own rows (a reference to another site's id stays a reference)."""
from __future__ import annotations

import json

ROLE_WORDS = {"primary_rep": "primary rep", "assisting_rep": "assisting rep", "customer": "customer",
              "secondary_customer": "second customer"}
FIXED = {"host": "the host (automatic)", "cli": "the command line (supporthost)"}


def _ids(refs, kind: str) -> list[str]:
    return sorted({r.split(":", 1)[1] for r in refs if r.startswith(kind + ":")})


def _lookup(db, sql: str, site_id: int, ids: list) -> list[dict]:
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    return list(db.query(sql.format(marks=marks), [site_id, *ids]))


def name_references(db, site_id: int, refs) -> dict[str, str]:
    """{reference: words} for every reference in ``refs`` (unknown ones name themselves)."""
    refs = {r for r in refs if r}
    names = {r: FIXED.get(r, r) for r in refs}
    users = _ids(refs, "user")
    for row in _lookup(db, "select id, username, display_name from users where site_id = ? and id in ({marks})",
                       site_id, [int(i) for i in users if i.isdigit()]):
        names[f"user:{row['id']}"] = f"{row['display_name'] or row['username']} ({row['username']})"
    for row in _lookup(db, "select id, name, role from participants where site_id = ? and id in ({marks})",
                       site_id, _ids(refs, "participant")):
        names[f"participant:{row['id']}"] = f"{row['name'] or 'unnamed'} ({ROLE_WORDS.get(row['role'], row['role'])})"
    for row in _lookup(db, "select id, number from support_sessions where site_id = ? and id in ({marks})",
                       site_id, _ids(refs, "session")):
        names[f"session:{row['id']}"] = f"session {_grouped(row['number'])}"
    tokens = [int(i) for i in _ids(refs, "api_token") if i.isdigit()]
    for row in _lookup(db, "select id, name from api_tokens where site_id = ? and id in ({marks})", site_id, tokens):
        names[f"api_token:{row['id']}"] = f"API token \u201c{row['name']}\u201d"
    for ref in refs:
        kind, _, rest = ref.partition(":")
        if kind == "address" and rest:
            names[ref] = f"somebody at {rest}"
        elif kind == "plugin" and rest:
            names[ref] = f"the {rest} feature"
    return names


def _grouped(number: str) -> str:
    return " ".join(number[i:i + 3] for i in range(0, len(number), 3))


def describe_details(text: str) -> str:
    """A row's details in words: "key: value", and "key: old → new" for a change."""
    try:
        details = json.loads(text or "{}")
    except ValueError:
        return text
    if not isinstance(details, dict):
        return str(details)
    parts = []
    for key, value in details.items():
        parts.append(f"{key}: {_describe(value)}")
    return "; ".join(parts)


def _describe(value) -> str:
    if isinstance(value, dict) and set(value) == {"old", "new"}:
        return f"{_describe(value['old'])} \u2192 {_describe(value['new'])}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return ", ".join(_describe(v) for v in value) or "none"
    if value is None or value == "":
        return "(empty)"
    return str(value)
