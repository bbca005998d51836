"""SQLite storage: schema, numbered migrations, connections.

The schema is built by numbered migration functions (``m001_initial`` …)
applied in order when a project database is opened; ``PRAGMA user_version``
records how many have run. Each migration runs in its own transaction, so a
database is never left half-migrated.

Positions everywhere are Python string indices (Unicode code points) into
``documents.text``, end exclusive.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from qualcode.errors import ProjectError


def now() -> str:
    """The current time as an ISO 8601 UTC string (seconds)."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run several SQL statements inside the current transaction.

    (``Connection.executescript`` would COMMIT first, breaking the
    one-transaction-per-migration guarantee.)
    """
    statement = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError("incomplete SQL statement at the end of a migration script")


def m001_initial(conn: sqlite3.Connection) -> None:
    """The first schema. Kept whole: one SQL script, read as the data model."""
    execute_script(
        conn,
        """
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );

        -- participants; attributes are name/value pairs kept in import order
        CREATE TABLE respondents (
            respondent_id TEXT PRIMARY KEY,
            created_at    TEXT NOT NULL
        );
        CREATE TABLE respondent_attributes (
            respondent_id TEXT NOT NULL REFERENCES respondents(respondent_id) ON DELETE CASCADE,
            name          TEXT NOT NULL,
            value         TEXT,
            position      INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (respondent_id, name)
        );

        -- one imported transcript; text is normalised (NFC, LF line ends) and never edited
        CREATE TABLE documents (
            document_id   INTEGER PRIMARY KEY,
            name          TEXT NOT NULL UNIQUE,
            source_path   TEXT,
            source_format TEXT NOT NULL,
            sha256        TEXT NOT NULL,
            text          TEXT NOT NULL,
            respondent_id TEXT REFERENCES respondents(respondent_id),
            guid          TEXT,
            imported_at   TEXT NOT NULL
        );

        -- paragraphs of speaker turns; turn groups the paragraphs of one turn
        CREATE TABLE units (
            unit_id       INTEGER PRIMARY KEY,
            document_id   INTEGER NOT NULL REFERENCES documents(document_id) ON DELETE CASCADE,
            seq           INTEGER NOT NULL,
            turn          INTEGER NOT NULL,
            start         INTEGER NOT NULL,
            end           INTEGER NOT NULL,
            speaker       TEXT,
            role          TEXT NOT NULL CHECK (role IN ('respondent', 'interviewer', 'other')),
            respondent_id TEXT REFERENCES respondents(respondent_id),
            timestamp     REAL,
            CHECK (end > start),
            UNIQUE (document_id, seq)
        );
        CREATE INDEX units_by_respondent ON units(respondent_id);

        -- sentence boundaries, computed on demand with spaCy and cached
        CREATE TABLE sentences (
            unit_id INTEGER NOT NULL REFERENCES units(unit_id) ON DELETE CASCADE,
            start   INTEGER NOT NULL,
            end     INTEGER NOT NULL,
            PRIMARY KEY (unit_id, start)
        );

        -- every codebook ever imported, keyed by the hash of its content
        CREATE TABLE codebook_versions (
            version_id    INTEGER PRIMARY KEY,
            content_hash  TEXT NOT NULL UNIQUE,
            name          TEXT,
            source_format TEXT NOT NULL,
            content       TEXT NOT NULL,
            imported_at   TEXT NOT NULL
        );

        -- the current code tree (themes, subthemes and codes are all nodes)
        CREATE TABLE codes (
            code_id     INTEGER PRIMARY KEY,
            key         TEXT NOT NULL UNIQUE,
            label       TEXT NOT NULL,
            parent_id   INTEGER REFERENCES codes(code_id),
            position    INTEGER NOT NULL DEFAULT 0,
            definition  TEXT,
            include     TEXT,
            exclude     TEXT,
            examples    TEXT NOT NULL DEFAULT '[]',
            memo        TEXT,
            rules       TEXT,
            color       TEXT,
            guid        TEXT,
            active      INTEGER NOT NULL DEFAULT 1
        );

        CREATE TABLE coders (
            coder_id INTEGER PRIMARY KEY,
            name     TEXT NOT NULL UNIQUE,
            guid     TEXT
        );

        -- one coder's decision that a span carries a code
        CREATE TABLE codings (
            coding_id           INTEGER PRIMARY KEY,
            coder_id            INTEGER NOT NULL REFERENCES coders(coder_id),
            code_id             INTEGER NOT NULL REFERENCES codes(code_id),
            document_id         INTEGER NOT NULL REFERENCES documents(document_id),
            start               INTEGER NOT NULL,
            end                 INTEGER NOT NULL,
            origin              TEXT NOT NULL,
            codebook_version_id INTEGER REFERENCES codebook_versions(version_id),
            detail              TEXT,
            memo                TEXT,
            guid                TEXT,
            created_at          TEXT NOT NULL,
            CHECK (end > start AND start >= 0)
        );
        CREATE INDEX codings_by_coder_code ON codings(coder_id, code_id);
        CREATE INDEX codings_by_document ON codings(document_id, start);

        -- double-coding samples and which units each coder was handed
        CREATE TABLE samples (
            sample_id  INTEGER PRIMARY KEY,
            coder_id   INTEGER REFERENCES coders(coder_id),
            fraction   REAL,
            seed       INTEGER,
            by         TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE assignments (
            coder_id  INTEGER NOT NULL REFERENCES coders(coder_id),
            unit_id   INTEGER NOT NULL REFERENCES units(unit_id) ON DELETE CASCADE,
            sample_id INTEGER REFERENCES samples(sample_id),
            PRIMARY KEY (coder_id, unit_id)
        );

        -- reconciliation decisions, saved one at a time
        CREATE TABLE decisions (
            decision_id INTEGER PRIMARY KEY,
            coder_a     TEXT NOT NULL,
            coder_b     TEXT NOT NULL,
            into_coder  TEXT NOT NULL,
            unit_level  TEXT NOT NULL,
            unit_key    TEXT NOT NULL,
            document_id INTEGER NOT NULL REFERENCES documents(document_id),
            start       INTEGER NOT NULL,
            end         INTEGER NOT NULL,
            code_id     INTEGER NOT NULL REFERENCES codes(code_id),
            a_applied   INTEGER NOT NULL,
            b_applied   INTEGER NOT NULL,
            decision    TEXT NOT NULL,
            span_start  INTEGER,
            span_end    INTEGER,
            note        TEXT,
            decided_at  TEXT NOT NULL,
            undone      INTEGER NOT NULL DEFAULT 0
        );

        -- quotations flagged as exemplars
        CREATE TABLE exemplars (
            coding_id INTEGER PRIMARY KEY REFERENCES codings(coding_id) ON DELETE CASCADE,
            marked_at TEXT NOT NULL
        );

        -- what was done to the project, for the methods section
        CREATE TABLE history (
            event_id INTEGER PRIMARY KEY,
            at       TEXT NOT NULL,
            action   TEXT NOT NULL,
            detail   TEXT NOT NULL DEFAULT '{}'
        );
        """
    )


def m002_codings_ids_never_reused(conn: sqlite3.Connection) -> None:
    """Coding ids are cited (``codings explain 412``, ``quotes mark 412``, decision logs):
    with AUTOINCREMENT an id freed by a deletion is never given to another coding."""
    execute_script(
        conn,
        """
        CREATE TABLE codings_new (
            coding_id           INTEGER PRIMARY KEY AUTOINCREMENT,
            coder_id            INTEGER NOT NULL REFERENCES coders(coder_id),
            code_id             INTEGER NOT NULL REFERENCES codes(code_id),
            document_id         INTEGER NOT NULL REFERENCES documents(document_id),
            start               INTEGER NOT NULL,
            end                 INTEGER NOT NULL,
            origin              TEXT NOT NULL,
            codebook_version_id INTEGER REFERENCES codebook_versions(version_id),
            detail              TEXT,
            memo                TEXT,
            guid                TEXT,
            created_at          TEXT NOT NULL,
            CHECK (end > start AND start >= 0)
        );
        INSERT INTO codings_new (coding_id, coder_id, code_id, document_id, start, end, origin,
                                 codebook_version_id, detail, memo, guid, created_at)
            SELECT coding_id, coder_id, code_id, document_id, start, end, origin,
                   codebook_version_id, detail, memo, guid, created_at FROM codings;
        DROP TABLE codings;
        ALTER TABLE codings_new RENAME TO codings;
        CREATE INDEX codings_by_coder_code ON codings(coder_id, code_id);
        CREATE INDEX codings_by_document ON codings(document_id, start);
        """,
    )


def m003_memos(conn: sqlite3.Connection) -> None:
    """Memos: a coder's note on a document or on one coding (exactly one of the two).

    A memo on a coding goes with the coding; a memo on a document goes with the
    document. Ids are never reused, as for codings."""
    execute_script(
        conn,
        """
        CREATE TABLE memos (
            memo_id     INTEGER PRIMARY KEY AUTOINCREMENT,
            coder_id    INTEGER NOT NULL REFERENCES coders(coder_id),
            document_id INTEGER REFERENCES documents(document_id) ON DELETE CASCADE,
            coding_id   INTEGER REFERENCES codings(coding_id) ON DELETE CASCADE,
            text        TEXT NOT NULL,
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL,
            CHECK ((document_id IS NULL) != (coding_id IS NULL))
        );
        CREATE INDEX memos_by_document ON memos(document_id);
        CREATE INDEX memos_by_coding ON memos(coding_id);
        """,
    )


# Numbered migrations, applied in order. Append only; never edit one that has shipped.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [m001_initial, m002_codings_ids_never_reused, m003_memos]

SCHEMA_VERSION = len(MIGRATIONS)


# How long a command waits for another writer's transaction before it gives up with a clear message.
BUSY_TIMEOUT_SECONDS = 30.0


def is_busy(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite gave up waiting for another connection's lock (SQLITE_BUSY or SQLITE_LOCKED)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code in (5, 6) or "locked" in str(exc) or "busy" in str(exc)


def connect(path: Path | str, *, migrate: bool = True) -> sqlite3.Connection:
    """Open a project database with WAL, foreign keys on, and migrations applied.

    The connection is in autocommit mode; use ``transaction(conn)`` for writes.
    """
    path = Path(path)
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
    except sqlite3.Error as exc:
        raise ProjectError(f"cannot open the project database {path}: {exc}") from None
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        if migrate:
            apply_migrations(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ProjectError(
            f"{path} is not a usable qualcode database ({exc}); restore it from a backup or run 'qualcode init' in a new folder"
        ) from None
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Run every migration the database has not had yet; return their names."""
    current = schema_version(conn)
    if current > len(MIGRATIONS):
        raise ProjectError(
            f"the project database has schema version {current}, newer than this qualcode ({len(MIGRATIONS)}); upgrade qualcode"
        )
    applied = []
    if current == len(MIGRATIONS):
        return applied
    # Rebuilding a table (SQLite's documented way to change a column) must not
    # cascade deletes into the tables that refer to it: foreign keys are off
    # while migrating (the pragma cannot change inside a transaction) and every
    # migration must leave no dangling reference before it commits.
    foreign_keys = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        for number, migration in enumerate(MIGRATIONS[current:], start=current + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                migration(conn)
                if conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
                    raise ProjectError(f"migration {migration.__name__} left broken references; the database was not changed")
                conn.execute(f"PRAGMA user_version = {number}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            applied.append(migration.__name__)
    finally:
        conn.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
    return applied


class transaction:
    """``with transaction(conn):`` — one IMMEDIATE transaction, rolled back on any exception.

    Nested use joins the outer transaction (SAVEPOINTs are not needed: a
    command is one transaction, all or nothing).
    """

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.outer = False

    def __enter__(self) -> sqlite3.Connection:
        if self.conn.in_transaction:
            self.outer = True
        else:
            self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self.outer:
            return False
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")
        return False


def record_history(conn: sqlite3.Connection, action: str, **detail) -> None:
    """Append an event (rename, merge, import, apply, …) to the project history."""
    conn.execute(
        "INSERT INTO history (at, action, detail) VALUES (?, ?, ?)",
        (now(), action, json.dumps(detail, ensure_ascii=False, sort_keys=True)),
    )


def get_or_create_coder(conn: sqlite3.Connection, name: str) -> int:
    """The coder_id of ``name``, creating the coder if needed."""
    name = name.strip()
    if not name:
        from qualcode.errors import InputError

        raise InputError("a coder name cannot be empty; give one with --coder NAME")
    row = conn.execute("SELECT coder_id FROM coders WHERE name = ?", (name,)).fetchone()
    if row:
        return row[0]
    return conn.execute("INSERT INTO coders (name) VALUES (?)", (name,)).lastrowid


def coder_id(conn: sqlite3.Connection, name: str) -> int:
    """The coder_id of an existing coder; NotFound (with the known names) otherwise."""
    row = conn.execute("SELECT coder_id FROM coders WHERE name = ?", (name,)).fetchone()
    if row is None:
        from qualcode.errors import NotFound

        known = [r[0] for r in conn.execute("SELECT name FROM coders ORDER BY name")]
        hint = f"known coders: {', '.join(known)}" if known else "no coder has coded anything yet"
        raise NotFound(f"no coder named '{name}' in this project ({hint})")
    return row[0]


def coder_names(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM coders ORDER BY name")]
