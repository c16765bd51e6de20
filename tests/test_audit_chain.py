"""The audit log is a hash chain per site: `supporthost audit verify` finds an edited, deleted, reordered or
inserted row (and a cut-off tail), names the first bad row and exits 1; `supporthost audit export` writes
JSON lines whose hashes a SIEM can check with nothing but sha256 and JSON. Tampering is done the way an
attacker with the database file would: raw sqlite3 on the file."""
from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import subprocess
import sys
import threading

import pytest
from sqlite_utils.migrations import Migrations

from conftest import seed
from host.audit import audit_row
from host.cli import main
from host.db import Database, connect
from host.schema import core_migrations

ROWS = 6


@pytest.fixture
def data(tmp_path):
    """A seeded data folder whose sites demo (id 1) and other (id 2) each have ROWS audit rows."""
    folder = tmp_path / "data"
    seed(folder)
    db = connect(folder / "supporthost.db")
    with db.atomic():
        for i in range(ROWS):
            for site_id in (1, 2):
                audit_row(db, site_id, "user:1", "user_updated", f"user:{2 + i}",
                          {"step": i, "note": "caf\u00e9 \u201cquoted\u201d", "n": 1.5}, 1_800_000_000.0 + i)
    db.conn.close()
    return folder


def raw(folder):
    return sqlite3.connect(folder / "supporthost.db", isolation_level=None)


def demo_ids(folder) -> list[int]:
    with raw(folder) as conn:
        return [r[0] for r in conn.execute("select id from audit_log where site_id = 1 order by id")]


def verify(folder, capsys, *site) -> tuple[int, str]:
    code = main(["--data", str(folder), "audit", "verify", *site])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_an_untouched_log_verifies_and_exits_0(data, capsys):
    code, out = verify(data, capsys)
    assert code == 0, out
    assert f"site demo: intact, {ROWS} rows" in out and f"site other: intact, {ROWS} rows" in out
    code, out = verify(data, capsys, "demo")
    assert code == 0 and "site other" not in out


def test_an_edited_row_is_named(data, capsys):
    third = demo_ids(data)[2]
    with raw(data) as conn:
        conn.execute("update audit_log set actor = 'user:99' where id = ?", [third])
    code, out = verify(data, capsys, "demo")
    assert code == 1
    assert f"BROKEN at row {third}" in out and "edited after it was written" in out
    assert "2 rows before it are intact" in out
    assert verify(data, capsys, "other")[0] == 0   # the other site's chain is its own


@pytest.mark.parametrize("change", ["details = '{\"n\":1.5,\"note\":\"x\",\"step\":1}'", "at = at + 60",
                                    "action = 'login'", "target = ''", "details = 'not json'"])
def test_every_column_is_sealed(data, capsys, change):
    second = demo_ids(data)[1]
    with raw(data) as conn:
        conn.execute(f"update audit_log set {change} where id = ?", [second])
    code, out = verify(data, capsys, "demo")
    assert code == 1 and f"at row {second}" in out and "edited" in out


def test_an_edited_row_with_a_recomputed_hash_breaks_the_next_link(data, capsys):
    from host.audit import row_hash
    ids = demo_ids(data)
    with raw(data) as conn:
        rid, site_id, at, actor, action, target, details, seq, prev = conn.execute(
            "select id, site_id, at, actor, action, target, details, seq, prev_hash from audit_log where id = ?",
            [ids[2]]).fetchone()
        forged = row_hash(prev, site_id, seq, at, "user:99", action, target, details)
        conn.execute("update audit_log set actor = 'user:99', hash = ? where id = ?", [forged, rid])
    code, out = verify(data, capsys, "demo")
    assert code == 1 and f"at row {ids[3]}" in out and "does not follow the row before it" in out


def test_a_deleted_row_is_found_at_the_row_after_it(data, capsys):
    ids = demo_ids(data)
    with raw(data) as conn:
        conn.execute("delete from audit_log where id = ?", [ids[3]])
    code, out = verify(data, capsys, "demo")
    assert code == 1 and f"at row {ids[4]}" in out and "deleted" in out


def test_rows_cut_off_the_end_are_found(data, capsys):
    ids = demo_ids(data)
    with raw(data) as conn:
        conn.execute("delete from audit_log where id in (?, ?)", ids[-2:])
    code, out = verify(data, capsys, "demo")
    assert code == 1 and "BROKEN:" in out
    assert f"ends at seq {ROWS - 2} but 2 row(s) after it were deleted" in out


def test_emptying_the_heads_table_is_found(data, capsys):
    with raw(data) as conn:
        conn.execute("delete from audit_heads")
    code, out = verify(data, capsys, "demo")
    assert code == 1 and "head record is missing" in out


def test_reordered_rows_are_found(data, capsys):
    ids = demo_ids(data)
    with raw(data) as conn:  # swap the places (ids) of the 2nd and 3rd rows, contents and hashes untouched
        conn.execute("update audit_log set id = -1 where id = ?", [ids[1]])
        conn.execute("update audit_log set id = ? where id = ?", [ids[1], ids[2]])
        conn.execute("update audit_log set id = ? where id = -1", [ids[2]])
    code, out = verify(data, capsys, "demo")
    assert code == 1 and f"at row {ids[1]}" in out and "seq 3 where seq 2 was due" in out


def test_a_row_inserted_in_the_middle_is_found(data, capsys):
    ids = demo_ids(data)
    with raw(data) as conn:  # make room after the 3rd row, then put a row there
        conn.execute("update audit_log set id = id + 1000 where id > ?", [ids[2]])
        conn.execute("insert into audit_log (id, site_id, at, actor, action, target, details) "
                     "values (?, 1, 1800000002.5, 'user:1', 'login', '', '{}')", [ids[2] + 1])
    code, out = verify(data, capsys, "demo")
    assert code == 1 and f"at row {ids[2] + 1}" in out and "no hash" in out


def test_a_forged_row_chained_in_the_middle_is_found(data, capsys):
    """Even a row forged with a correct seq, prev_hash and hash of its own breaks the link to the next row."""
    from host.audit import canonical_details, row_hash
    ids = demo_ids(data)
    with raw(data) as conn:
        prev = conn.execute("select hash from audit_log where id = ?", [ids[2]]).fetchone()[0]
        conn.execute("update audit_log set id = id + 1000 where id > ?", [ids[2]])
        details = canonical_details({})
        digest = row_hash(prev, 1, 4, 1800000002.5, "user:1", "login", "", details)
        conn.execute("update audit_log set seq = -seq where site_id = 1 and seq >= 4")   # renumber them, +1
        conn.execute("update audit_log set seq = 1 - seq where site_id = 1 and seq < 0")
        conn.execute("insert into audit_log (id, site_id, at, actor, action, target, details, seq, prev_hash, hash) "
                     "values (?, 1, 1800000002.5, 'user:1', 'login', '', ?, 4, ?, ?)",
                     [ids[2] + 1, details, prev, digest])
    code, out = verify(data, capsys, "demo")
    assert code == 1 and f"at row {ids[3] + 1000}" in out and "does not follow the row before it" in out


def test_verify_without_a_site_checks_all_and_fails_when_one_is_broken(data, capsys):
    with raw(data) as conn:
        conn.execute("update audit_log set target = 'user:5' where site_id = 2 and seq = 1")
    code, out = verify(data, capsys)
    assert code == 1 and "site demo: intact" in out and "site other: BROKEN at row" in out


def test_verify_refuses_unknown_sites_and_missing_databases_clearly(data, tmp_path, capsys):
    code, out = verify(data, capsys, "nosuch")
    assert code == 2 and "there is no site 'nosuch'" in out
    code, out = verify(tmp_path / "empty", capsys)
    assert code == 2 and "there is no database" in out
    assert not (tmp_path / "empty").exists()   # nothing was created


def test_the_migration_chains_rows_written_before_it(tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    db = connect(folder / "supporthost.db")
    before = Migrations("supporthost.core")   # the same set, as it was before the chain
    for migration in core_migrations._migrations:
        if migration.name == "m005_audit_chain":
            break
        before()(migration.fn)
    before.apply(db)
    db["sites"].insert({"id": 1, "slug": "demo", "name": "Demo", "public_url": "", "created_at": 0.0})
    for i in range(3):
        db.execute("insert into audit_log (site_id, at, actor, action, target, details) values (?, ?, ?, ?, ?, ?)",
                   [1, 1000.0 + i, "user:1", "login", "", json.dumps({"address": "127.0.0.1", "i": i})])
    db.execute("insert into audit_log (site_id, at, actor, action, target, details) values (1, 1003, 'host', "
               "'x', null, 'not json')")
    db.conn.close()
    code, out = verify(folder, capsys, "demo")
    assert code == 0 and "intact, 4 rows" in out, out
    db = connect(folder / "supporthost.db")
    rows = list(db.query("select seq, details from audit_log order by id"))
    assert [r["seq"] for r in rows] == [1, 2, 3, 4]
    assert json.loads(rows[3]["details"]) == {"unreadable_details": "not json"}
    audit_row(db, 1, "user:1", "logout")   # the chain goes on from the migrated rows
    db.conn.close()
    code, out = verify(folder, capsys, "demo")
    assert code == 0 and "intact, 5 rows" in out


def _sha(prev, site_id, seq, at, actor, action, target, details) -> str:
    """The documented formula, written out independently of host/audit.py."""
    text = json.dumps([prev, site_id, seq, at, actor, action, target, details], sort_keys=True,
                      separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def test_export_writes_json_lines_whose_hashes_check(data, tmp_path, capsys):
    target = tmp_path / "out" / "demo.jsonl"
    target.parent.mkdir()
    assert main(["--data", str(data), "audit", "export", "demo", str(target)]) == 0
    lines = target.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == ROWS and all(r["site"] == "demo" and r["site_id"] == 1 for r in rows)
    prev = "0" * 64
    for seq, row in enumerate(rows, start=1):
        assert row["seq"] == seq and row["prev_hash"] == prev
        assert row["details"]["note"] == "caf\u00e9 \u201cquoted\u201d"
        assert row["hash"] == _sha(prev, 1, seq, row["at"], row["actor"], row["action"], row["target"],
                                   row["details"])
        prev = row["hash"]
    assert rows[0]["time"] == "2027-01-15T08:00:00Z"
    # --since keeps the rows from then on; standard output when no file is named
    capsys.readouterr()
    assert main(["--data", str(data), "audit", "export", "demo", "--since", "2027-01-15T08:00:03"]) == 0
    later = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["seq"] for r in later] == [4, 5, 6] and later[0]["hash"] == rows[3]["hash"]
    assert main(["--data", str(data), "audit", "export", "demo", "--since", "2027-01-15T10:00:03+02:00"]) == 0
    assert [json.loads(x)["seq"] for x in capsys.readouterr().out.splitlines()] == [4, 5, 6]


def test_export_refuses_bad_input_and_writes_nothing(data, tmp_path, capsys):
    target = tmp_path / "x.jsonl"
    assert main(["--data", str(data), "audit", "export", "nosuch", str(target)]) == 2
    assert "there is no site 'nosuch'" in capsys.readouterr().err and not target.exists()
    with pytest.raises(SystemExit) as exc:
        main(["--data", str(data), "audit", "export", "demo", "--since", "yesterday", str(target)])
    assert exc.value.code == 2 and "'yesterday' is not a date" in capsys.readouterr().err
    assert not target.exists()
    assert main(["--data", str(data), "audit", "export", "demo", str(tmp_path / "no" / "dir" / "x")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_the_command_exits_1_from_a_shell(data):
    with raw(data) as conn:
        conn.execute("update audit_log set action = 'login' where site_id = 1 and seq = 2")
    done = subprocess.run([sys.executable, "-m", "host", "--data", str(data), "audit", "verify", "demo"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "BROKEN at row" in done.stdout


def test_concurrent_writers_keep_one_chain(data, capsys):
    """Hundreds of rows at once through the host's writer thread, while `supporthost reset-password` writes
    from its own process-like connection: every row gets its own place, the chains stay intact."""
    async def many():
        db = Database(data / "supporthost.db")
        try:
            await asyncio.gather(*(db.write(lambda d, i=i: audit_row(d, 1 + i % 2, "host", "tick", "", {"i": i}))
                                   for i in range(300)))
        finally:
            db.close()

    results = []
    resets = threading.Thread(target=lambda: results.extend(
        main(["--data", str(data), "reset-password", "demo", "rep1"]) for _ in range(3)))
    resets.start()
    asyncio.run(many())
    resets.join()
    capsys.readouterr()
    assert results == [0, 0, 0]
    code, out = verify(data, capsys)
    assert code == 0, out
    assert f"site demo: intact, {ROWS + 150 + 3} rows" in out and f"site other: intact, {ROWS + 150} rows" in out
