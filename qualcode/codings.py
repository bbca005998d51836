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

ORIGINS = ("rule", "sheet", "import", "refi", "reconcile", "manual", "browser")


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


def codings_table(
    conn: sqlite3.Connection,
    *,
    coders: Iterable[str] | None = None,
    code: str | None = None,
    respondents: Iterable[str] | None = None,
    documents: Iterable[str] | None = None,
    preview: int = 80,
):
    """Codings as a DataFrame: id, coder, code, document, respondent, start, end, origin, rule, text, memo.

    ``code`` includes the codes beneath it (a theme lists its codes' codings).
    The respondent is the one whose unit the coding starts in (empty for
    interviewer speech). ``text`` is the coded text cut to ``preview`` characters. ``memo`` is the
    coding's coder's memo on it (``qualcode.memos``; several joined by blank lines), else the memo the
    coding was imported with, else empty.
    """
    from bisect import bisect_right

    import pandas as pd

    from qualcode.codebook.model import load_tree

    code_ids = None
    if code is not None:
        tree = load_tree(conn, include_inactive=True)
        code_ids = [tree.by_key[k].code_id for k in tree.descendants(code)]
    document_ids = None
    if documents is not None:
        names = list(documents)
        document_ids = [r[0] for r in conn.execute(
            f"SELECT document_id FROM documents WHERE name IN ({','.join('?' * len(names))})", names)]
    wanted = {r.casefold() for r in respondents} if respondents is not None else None
    unit_index: dict[int, tuple[list[int], list[tuple]]] = {}
    texts: dict[int, str] = {}
    from qualcode.memos import shown_memos

    rows = []
    selected = load_codings(conn, coders=coders, code_ids=code_ids, document_ids=document_ids)
    memos = shown_memos(conn, selected)
    for coding in selected:
        if coding.document_id not in unit_index:
            units = conn.execute("SELECT start, end, respondent_id, speaker FROM units WHERE document_id = ?"
                                 " ORDER BY start", (coding.document_id,)).fetchall()
            unit_index[coding.document_id] = ([u[0] for u in units], [tuple(u) for u in units])
            texts[coding.document_id] = conn.execute(
                "SELECT text FROM documents WHERE document_id = ?", (coding.document_id,)).fetchone()[0]
        starts, units = unit_index[coding.document_id]
        position = bisect_right(starts, coding.start) - 1
        respondent = None
        if position >= 0 and coding.start < units[position][1]:
            respondent = units[position][2]
        elif position + 1 < len(units) and units[position + 1][0] < coding.end:
            respondent = units[position + 1][2]  # the coding starts in a gap (e.g. a speaker label)
        if wanted is not None and (respondent or "").casefold() not in wanted:
            continue
        text = " ".join(texts[coding.document_id][coding.start:coding.end].split())
        if len(text) > preview:
            text = text[:preview - 1] + "…"
        rows.append({"id": coding.coding_id, "coder": coding.coder, "code": coding.code_key,
                     "document": coding.document, "respondent": respondent or "", "start": coding.start,
                     "end": coding.end, "origin": coding.origin,
                     "rule": (coding.detail or {}).get("rule") or "", "text": text,
                     "memo": memos.get(coding.coding_id, "")})
    return pd.DataFrame(rows, columns=["id", "coder", "code", "document", "respondent", "start", "end", "origin",
                                       "rule", "text", "memo"])
