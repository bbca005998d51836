"""Codings: one coder's decision that a span of a document carries a code.

Spans are character offsets (code points, end exclusive) into the stored
document text. Unit-level views are derived from spans (see ``units``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Iterable

from qualcode import store
from qualcode.errors import InputError

ORIGINS = ("rule", "sheet", "import", "refi", "reconcile", "manual")


@dataclass(frozen=True)
class Coding:
    coding_id: int
    coder: str
    code_id: int
    code_key: str
    document_id: int
    document: str
    start: int
    end: int
    origin: str
    codebook_version_id: int | None
    detail: dict | None
    memo: str | None


def document_length(conn: sqlite3.Connection, document_id: int) -> int:
    row = conn.execute("SELECT length(text) FROM documents WHERE document_id = ?", (document_id,)).fetchone()
    if row is None:
        raise InputError(f"document {document_id} is not in the project")
    return row[0]


def add_codings(conn: sqlite3.Connection, rows: Iterable[dict]) -> int:
    """Insert codings; each row has coder_id, code_id, document_id, start, end, origin
    and optionally codebook_version_id, detail (dict), memo, guid.

    Spans are checked against the document length. Returns the number inserted.
    Call inside a transaction.
    """
    lengths: dict[int, int] = {}
    created = store.now()
    batch = []
    for row in rows:
        document_id = row["document_id"]
        if document_id not in lengths:
            lengths[document_id] = document_length(conn, document_id)
        start, end = int(row["start"]), int(row["end"])
        if not 0 <= start < end <= lengths[document_id]:
            raise InputError(
                f"span {start}–{end} does not lie inside document {document_id} (0–{lengths[document_id]})"
            )
        if row["origin"] not in ORIGINS:
            raise InputError(f"unknown coding origin '{row['origin']}'")
        detail = row.get("detail")
        batch.append((
            row["coder_id"], row["code_id"], document_id, start, end, row["origin"],
            row.get("codebook_version_id"),
            json.dumps(detail, ensure_ascii=False) if detail is not None else None,
            row.get("memo"), row.get("guid"), created,
        ))
    conn.executemany(
        "INSERT INTO codings (coder_id, code_id, document_id, start, end, origin, codebook_version_id,"
        " detail, memo, guid, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        batch,
    )
    return len(batch)


def load_codings(
    conn: sqlite3.Connection,
    *,
    coders: Iterable[str] | None = None,
    code_ids: Iterable[int] | None = None,
    document_ids: Iterable[int] | None = None,
    origins: Iterable[str] | None = None,
) -> list[Coding]:
    """Codings filtered by coder names, code ids, documents and origins, in document order."""
    sql = (
        "SELECT c.coding_id, k.name AS coder, c.code_id, co.key AS code_key, c.document_id, d.name AS document,"
        " c.start, c.end, c.origin, c.codebook_version_id, c.detail, c.memo"
        " FROM codings c JOIN coders k USING (coder_id) JOIN codes co USING (code_id) JOIN documents d USING (document_id)"
    )
    clauses, params = [], []
    for column, values in (("k.name", coders), ("c.code_id", code_ids), ("c.document_id", document_ids), ("c.origin", origins)):
        if values is not None:
            values = list(values)
            clauses.append(f"{column} IN ({','.join('?' * len(values))})" if values else "0")
            params.extend(values)
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY d.name, c.start, c.end, co.key, k.name"
    return [
        Coding(r["coding_id"], r["coder"], r["code_id"], r["code_key"], r["document_id"], r["document"],
               r["start"], r["end"], r["origin"], r["codebook_version_id"],
               json.loads(r["detail"]) if r["detail"] else None, r["memo"])
        for r in conn.execute(sql, params)
    ]


def delete_codings(
    conn: sqlite3.Connection,
    coder_id: int,
    *,
    origins: Iterable[str] | None = None,
    document_ids: Iterable[int] | None = None,
    coding_ids: Iterable[int] | None = None,
) -> int:
    """Delete a coder's codings (optionally only some origins / documents / ids). Returns the count."""
    sql = "DELETE FROM codings WHERE coder_id = ?"
    params: list = [coder_id]
    for column, values in (("origin", origins), ("document_id", document_ids), ("coding_id", coding_ids)):
        if values is not None:
            values = list(values)
            sql += f" AND {column} IN ({','.join('?' * len(values))})" if values else " AND 0"
            params.extend(values)
    return conn.execute(sql, params).rowcount


def default_coder(conn: sqlite3.Connection) -> str | None:
    """The coder results are reported from by default: 'consensus' if it has codings, else the
    only coder with codings, else None (the caller asks the user to choose)."""
    names = [r[0] for r in conn.execute(
        "SELECT DISTINCT k.name FROM codings c JOIN coders k USING (coder_id) ORDER BY k.name")]
    if "consensus" in names:
        return "consensus"
    if len(names) == 1:
        return names[0]
    return None
