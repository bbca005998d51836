"""Documents: imported transcripts, stored once and never edited.

``add_document`` is the one way a document and its units enter the project
(the importers, REFI-QDA import and tests all use it).
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass

from qualcode import store
from qualcode.errors import InputError, NotFound

ROLES = ("respondent", "interviewer", "other")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Document:
    document_id: int
    name: str
    source_format: str
    source_path: str | None
    sha256: str
    respondent_id: str | None
    text: str


def add_document(
    conn: sqlite3.Connection,
    *,
    name: str,
    text: str,
    source_format: str,
    units: list[dict],
    sha256: str | None = None,
    source_path: str | None = None,
    respondent_id: str | None = None,
    guid: str | None = None,
) -> int:
    """Store a document and its units, in one transaction (the caller's if open); return the document_id.

    ``units`` are dicts with start, end, role and optionally speaker, respondent_id,
    timestamp (seconds) and turn (default: one turn per unit). They must lie
    inside ``text``, in order, without overlapping. Respondents named by the
    document or its units are created if missing.
    """
    if conn.execute("SELECT 1 FROM documents WHERE name = ?", (name,)).fetchone():
        raise InputError(f"a document named '{name}' is already in the project")
    previous_end = 0
    for index, unit in enumerate(units):
        start, end = unit["start"], unit["end"]
        if not (previous_end <= start < end <= len(text)):
            raise InputError(f"{name}: unit {index + 1} ({start}–{end}) is out of order or outside the text")
        if unit["role"] not in ROLES:
            raise InputError(f"{name}: unit {index + 1} has unknown role '{unit['role']}'")
        previous_end = end
    with store.transaction(conn):
        for respondent in {respondent_id, *(u.get("respondent_id") for u in units)} - {None}:
            ensure_respondent(conn, respondent)
        document_id = conn.execute(
            "INSERT INTO documents (name, source_path, source_format, sha256, text, respondent_id, guid, imported_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (name, source_path, source_format, sha256 or sha256_bytes(text.encode("utf-8")), text, respondent_id, guid,
             store.now()),
        ).lastrowid
        conn.executemany(
            "INSERT INTO units (document_id, seq, turn, start, end, speaker, role, respondent_id, timestamp)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (document_id, seq, unit.get("turn", seq), unit["start"], unit["end"], unit.get("speaker"), unit["role"],
                 unit.get("respondent_id"), unit.get("timestamp"))
                for seq, unit in enumerate(units, start=1)
            ],
        )
        return document_id


def ensure_respondent(conn: sqlite3.Connection, respondent_id: str) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO respondents (respondent_id, created_at) VALUES (?, ?)", (respondent_id, store.now())
    )


def get_document(conn: sqlite3.Connection, name_or_id: str | int) -> Document:
    """A document by name (``SF4.docx``) or id."""
    column = "document_id" if isinstance(name_or_id, int) else "name"
    row = conn.execute(
        f"SELECT document_id, name, source_format, source_path, sha256, respondent_id, text FROM documents WHERE {column} = ?",
        (name_or_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no document '{name_or_id}' in the project; 'qualcode documents' lists them")
    return Document(*row)


def document_ids_by_name(conn: sqlite3.Connection) -> dict[str, int]:
    return {name: document_id for document_id, name in conn.execute("SELECT document_id, name FROM documents")}
