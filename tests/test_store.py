import sqlite3

import pytest

from qualcode import store
from qualcode.errors import ProjectError


def test_blank_database_gets_every_migration(tmp_path):
    conn = store.connect(tmp_path / "q.db")
    assert store.schema_version(conn) == len(store.MIGRATIONS)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"documents", "units", "codes", "codings", "coders", "decisions", "assignments", "history"} <= tables
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_reopening_applies_nothing(tmp_path):
    store.connect(tmp_path / "q.db").close()
    conn = store.connect(tmp_path / "q.db", migrate=False)
    assert store.apply_migrations(conn) == []


@pytest.mark.parametrize("version", range(0, len(store.MIGRATIONS)))
def test_upgrade_from_every_older_schema(tmp_path, version):
    """A database left at any older schema version reaches the current one."""
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    for number, migration in enumerate(store.MIGRATIONS[:version], start=1):
        conn.execute("BEGIN")
        migration(conn)
        conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    conn.close()
    upgraded = store.connect(tmp_path / "old.db")
    assert store.schema_version(upgraded) == len(store.MIGRATIONS)


def test_failed_migration_leaves_database_at_previous_version(tmp_path, monkeypatch):
    def m_broken(conn):
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("boom")

    monkeypatch.setattr(store, "MIGRATIONS", [*store.MIGRATIONS, m_broken])
    with pytest.raises(RuntimeError):
        store.connect(tmp_path / "q.db")
    conn = sqlite3.connect(tmp_path / "q.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(store.MIGRATIONS) - 1
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0


def test_newer_database_is_refused(tmp_path):
    conn = sqlite3.connect(tmp_path / "q.db")
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(ProjectError, match="newer than this qualcode"):
        store.connect(tmp_path / "q.db")


def test_not_a_database_is_a_clear_error(tmp_path):
    (tmp_path / "q.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProjectError, match="not a usable qualcode database"):
        store.connect(tmp_path / "q.db")


def test_transaction_rolls_back_everything(tmp_path):
    conn = store.connect(tmp_path / "q.db")
    with pytest.raises(ValueError):
        with store.transaction(conn):
            store.get_or_create_coder(conn, "A")
            raise ValueError
    assert store.coder_names(conn) == []
    with store.transaction(conn):
        store.get_or_create_coder(conn, "A")
    assert store.coder_names(conn) == ["A"]


def test_foreign_keys_are_enforced(tmp_path):
    conn = store.connect(tmp_path / "q.db")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO units (document_id, seq, turn, start, end, role) VALUES (99, 1, 1, 0, 5, 'respondent')")


def test_m002_keeps_codings_and_exemplars_and_never_reuses_ids(tmp_path):
    """A project made before m002 keeps every coding and exemplar; afterwards a deleted id is not reused."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("BEGIN")
    store.m001_initial(conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("COMMIT")
    conn.execute("INSERT INTO coders (name) VALUES ('A')")
    conn.execute("INSERT INTO codes (key, label) VALUES ('c', 'C')")
    conn.execute("INSERT INTO documents (name, source_format, sha256, text, imported_at)"
                 " VALUES ('d.txt', 'txt', 'x', 'hello world', 'now')")
    for start in (0, 6):
        conn.execute("INSERT INTO codings (coder_id, code_id, document_id, start, end, origin, created_at)"
                     " VALUES (1, 1, 1, ?, ?, 'manual', 'now')", (start, start + 5))
    conn.execute("INSERT INTO exemplars (coding_id, marked_at) VALUES (2, 'now')")
    conn.close()

    upgraded = store.connect(path)
    assert store.schema_version(upgraded) == len(store.MIGRATIONS)
    assert [tuple(r) for r in upgraded.execute("SELECT coding_id, start FROM codings ORDER BY coding_id")] == [(1, 0), (2, 6)]
    assert upgraded.execute("SELECT coding_id FROM exemplars").fetchall()[0][0] == 2
    assert upgraded.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    upgraded.execute("DELETE FROM codings WHERE coding_id = 2")
    assert upgraded.execute("SELECT count(*) FROM exemplars").fetchone()[0] == 0  # cascade still works
    new_id = upgraded.execute("INSERT INTO codings (coder_id, code_id, document_id, start, end, origin, created_at)"
                              " VALUES (1, 1, 1, 6, 11, 'manual', 'now')").lastrowid
    assert new_id == 3


def _database_at(path, version: int) -> sqlite3.Connection:
    """A database built by the first ``version`` migrations only, as an older qualcode left it."""
    conn = sqlite3.connect(path, isolation_level=None)
    for number, migration in enumerate(store.MIGRATIONS[:version], start=1):
        conn.execute("BEGIN")
        migration(conn)
        conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    return conn


def _memo_columns(conn) -> list[str]:
    return [r[1] for r in conn.execute("PRAGMA table_info(memos)")]


def test_m003_memos_from_a_blank_database(tmp_path):
    conn = store.connect(tmp_path / "q.db")
    assert _memo_columns(conn) == ["memo_id", "coder_id", "document_id", "coding_id", "text", "created_at",
                                   "updated_at"]
    conn.execute("INSERT INTO coders (name) VALUES ('B')")
    conn.execute("INSERT INTO codes (key, label) VALUES ('c', 'C')")
    conn.execute("INSERT INTO documents (name, source_format, sha256, text, imported_at)"
                 " VALUES ('d.txt', 'txt', 'x', 'hello world', 'now')")
    conn.execute("INSERT INTO codings (coder_id, code_id, document_id, start, end, origin, created_at)"
                 " VALUES (1, 1, 1, 0, 5, 'manual', 'now')")
    insert = "INSERT INTO memos (coder_id, document_id, coding_id, text, created_at, updated_at) VALUES (1, ?, ?, 'n', 'now', 'now')"
    conn.execute(insert, (1, None))
    conn.execute(insert, (None, 1))
    for both_or_neither in ((1, 1), (None, None)):
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(insert, both_or_neither)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(insert, (99, None))  # no such document
    conn.execute("DELETE FROM codings WHERE coding_id = 1")
    assert [tuple(r) for r in conn.execute("SELECT memo_id, document_id, coding_id FROM memos")] == [(1, 1, None)]
    conn.execute("DELETE FROM memos")
    assert conn.execute(insert, (1, None)).lastrowid == 3  # memo ids are never reused


def test_m003_from_the_m002_schema_keeps_everything(tmp_path):
    """A project made before memos keeps its codings and ids and gains an empty memos table."""
    path = tmp_path / "old.db"
    conn = _database_at(path, 2)
    conn.execute("INSERT INTO coders (name) VALUES ('A')")
    conn.execute("INSERT INTO codes (key, label) VALUES ('c', 'C')")
    conn.execute("INSERT INTO documents (name, source_format, sha256, text, imported_at)"
                 " VALUES ('d.txt', 'txt', 'x', 'hello world', 'now')")
    conn.execute("INSERT INTO codings (coder_id, code_id, document_id, start, end, origin, memo, created_at)"
                 " VALUES (1, 1, 1, 6, 11, 'refi', 'old memo', 'now')")
    conn.close()
    upgraded = store.connect(path)
    assert store.schema_version(upgraded) == 3
    assert "memo_id" in _memo_columns(upgraded)
    assert upgraded.execute("SELECT count(*) FROM memos").fetchone()[0] == 0
    assert tuple(upgraded.execute("SELECT coding_id, start, end, memo FROM codings").fetchone()) == (1, 6, 11, "old memo")
    assert upgraded.execute("PRAGMA foreign_keys").fetchone()[0] == 1
