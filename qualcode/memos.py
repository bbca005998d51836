"""Memos: a coder's note on a document or on one of their codings.

A memo belongs to one coder and is attached to exactly one target: a
document or a coding. A memo on a coding is removed with the coding. Memos
are a coder's own work, so every function takes the coder and a coder only
ever reads, changes or removes their own memos (blind coding: a memo can
quote or judge what the coder saw).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from qualcode import store
from qualcode.errors import InputError, NotFound

MAX_MEMO_LENGTH = 20_000


@dataclass(frozen=True)
class Memo:
    id: int
    coder: str
    document_id: int | None
    coding_id: int | None
    text: str
    created_at: str
    updated_at: str


_SELECT = (
    "SELECT m.memo_id, k.name AS coder, m.document_id, m.coding_id, m.text, m.created_at, m.updated_at"
    " FROM memos m JOIN coders k USING (coder_id)"
)


def _memo(row) -> Memo:
    return Memo(row[0], row[1], row[2], row[3], row[4], row[5], row[6])


def _clean_text(text) -> str:
    if not isinstance(text, str):
        raise InputError("a memo's text must be a string")
    text = text.strip()
    if not text:
        raise InputError("a memo cannot be empty; write some text, or delete the memo")
    if len(text) > MAX_MEMO_LENGTH:
        raise InputError(f"a memo can hold at most {MAX_MEMO_LENGTH} characters (this one has {len(text)})")
    return text


def add_memo(conn: sqlite3.Connection, coder: str, text: str, *, document_id: int | None = None,
             coding_id: int | None = None) -> Memo:
    """Attach a memo by ``coder`` to a document or to one of the coder's codings; return it.

    Exactly one of ``document_id`` and ``coding_id``. InputError for empty
    text or two/no targets; NotFound for a missing document, or a coding that
    does not exist or belongs to another coder. Call inside a transaction.
    """
    if (document_id is None) == (coding_id is None):
        raise InputError("a memo is attached to a document or to a coding; give exactly one of the two")
    text = _clean_text(text)
    if document_id is not None:
        if conn.execute("SELECT 1 FROM documents WHERE document_id = ?", (document_id,)).fetchone() is None:
            raise NotFound(f"document {document_id} is not in the project")
    else:
        row = conn.execute("SELECT k.name FROM codings c JOIN coders k USING (coder_id) WHERE c.coding_id = ?",
                           (coding_id,)).fetchone()
        if row is None or row[0] != coder:
            raise NotFound(f"coder '{coder}' has no coding {coding_id}")
    coder_id = store.get_or_create_coder(conn, coder)
    created = store.now()
    memo_id = conn.execute(
        "INSERT INTO memos (coder_id, document_id, coding_id, text, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?)", (coder_id, document_id, coding_id, text, created, created)).lastrowid
    return get_memo(conn, memo_id, coder=coder)


def get_memo(conn: sqlite3.Connection, memo_id: int, *, coder: str) -> Memo:
    """The memo ``memo_id`` of ``coder``; NotFound if there is none (or it is another coder's)."""
    row = conn.execute(_SELECT + " WHERE m.memo_id = ? AND k.name = ?", (memo_id, coder)).fetchone()
    if row is None:
        raise NotFound(f"coder '{coder}' has no memo {memo_id}")
    return _memo(row)


def update_memo(conn: sqlite3.Connection, memo_id: int, text: str, *, coder: str) -> Memo:
    """Replace the text of ``coder``'s memo ``memo_id``; return the memo. Call inside a transaction."""
    text = _clean_text(text)
    get_memo(conn, memo_id, coder=coder)
    conn.execute("UPDATE memos SET text = ?, updated_at = ? WHERE memo_id = ?", (text, store.now(), memo_id))
    return get_memo(conn, memo_id, coder=coder)


def delete_memo(conn: sqlite3.Connection, memo_id: int, *, coder: str) -> int:
    """Remove ``coder``'s memo ``memo_id``; return its id. NotFound if it is not the coder's."""
    get_memo(conn, memo_id, coder=coder)
    conn.execute("DELETE FROM memos WHERE memo_id = ?", (memo_id,))
    return memo_id


def list_memos(conn: sqlite3.Connection, coder: str | None = None, document_id: int | None = None,
               coding_id: int | None = None) -> list[Memo]:
    """Memos, optionally only one coder's, one document's or one coding's, oldest first.

    ``document_id`` selects the memos on that document *and* on the codings in
    it, so a document's page or export gets all its notes in one call.
    """
    clauses, params = [], []
    if coder is not None:
        clauses.append("k.name = ?")
        params.append(coder)
    if document_id is not None:
        clauses.append("(m.document_id = ? OR m.coding_id IN (SELECT coding_id FROM codings WHERE document_id = ?))")
        params.extend([document_id, document_id])
    if coding_id is not None:
        clauses.append("m.coding_id = ?")
        params.append(coding_id)
    sql = _SELECT + (" WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY m.memo_id"
    return [_memo(r) for r in conn.execute(sql, params)]


def coding_memos(conn: sqlite3.Connection, coding_ids, *, coder: str) -> dict[int, str]:
    """``{coding_id: text}`` of ``coder``'s memos on those codings (several memos joined by blank lines)."""
    ids = list(coding_ids)
    found: dict[int, list[str]] = {}
    for chunk_start in range(0, len(ids), 900):
        chunk = ids[chunk_start:chunk_start + 900]
        for coding_id, text in conn.execute(
                "SELECT m.coding_id, m.text FROM memos m JOIN coders k USING (coder_id) WHERE k.name = ?"
                f" AND m.coding_id IN ({','.join('?' * len(chunk))}) ORDER BY m.memo_id", (coder, *chunk)):
            found.setdefault(coding_id, []).append(text)
    return {coding_id: "\n\n".join(texts) for coding_id, texts in found.items()}


def shown_memos(conn: sqlite3.Connection, codings) -> dict[int, str]:
    """``{coding_id: text}``: the memo each of these codings shows and exports.

    A coding's memo is its coder's own memos on it (``add_memo``; several
    joined by blank lines), else the memo it was imported with (a REFI-QDA
    selection's description or notes, a codings CSV's memo column:
    ``codings.memo``). Codings without either are left out. ``codings`` are
    ``qualcode.codings.Coding`` records; each coder's memos are read only for
    that coder's codings, so nothing crosses from one coder to another.
    """
    own: dict[int, str] = {}
    by_coder: dict[str, list[int]] = {}
    for coding in codings:
        by_coder.setdefault(coding.coder, []).append(coding.coding_id)
    for coder, ids in sorted(by_coder.items()):
        own.update(coding_memos(conn, ids, coder=coder))
    shown = {}
    for coding in codings:
        text = own.get(coding.coding_id) or coding.memo
        if text:
            shown[coding.coding_id] = text
    return shown
