"""Find a word or phrase in the stored transcripts.

The search is case-insensitive and treats any run of white space in the
phrase as any run of white space in the text (a phrase split over a line
break is found). Hits carry code-point offsets into the stored text, so a hit
can be coded as it is, and a little context either side for display.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from dataclasses import dataclass

from qualcode.errors import InputError

MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class Hit:
    document_id: int
    document: str
    start: int
    end: int
    before: str
    match: str
    after: str


def phrase_pattern(query: str) -> re.Pattern:
    """The compiled pattern for ``query``: literal, case-insensitive, white space runs as ``\\s+``.
    InputError for a query shorter than two characters (after trimming) or very long."""
    if not isinstance(query, str):
        raise InputError("the search text must be a string")
    words = unicodedata.normalize("NFC", query).split()
    phrase = " ".join(words)
    if len(phrase) < MIN_QUERY_LENGTH:
        raise InputError(f"search for at least {MIN_QUERY_LENGTH} characters")
    if len(phrase) > MAX_QUERY_LENGTH:
        raise InputError(f"search for at most {MAX_QUERY_LENGTH} characters")
    return re.compile(r"\s+".join(re.escape(word) for word in words), re.IGNORECASE)


def _context(text: str) -> str:
    # newlines shown as spaces: the context is one line in a list of hits
    return re.sub(r"\s", " ", text)


def search_documents(conn: sqlite3.Connection, query: str, *, document_ids: list[int] | None = None,
                     limit: int = 200, context: int = 60) -> list[Hit]:
    """Every occurrence of ``query`` in the documents (or those in ``document_ids``), by document
    name then position, at most ``limit``. ``before``/``after`` hold up to ``context``
    characters either side of the match."""
    pattern = phrase_pattern(query)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise InputError("the hit limit must be a whole number of at least 1")
    sql = "SELECT document_id, name, text FROM documents"
    params: list = []
    if document_ids is not None:
        ids = list(document_ids)
        sql += f" WHERE document_id IN ({','.join('?' * len(ids))})" if ids else " WHERE 0"
        params = ids
    hits: list[Hit] = []
    for document_id, name, text in conn.execute(sql + " ORDER BY name", params):
        for found in pattern.finditer(text):
            start, end = found.span()
            hits.append(Hit(document_id, name, start, end, _context(text[max(0, start - context):start]),
                            found.group(0), _context(text[end:end + context])))
            if len(hits) >= limit:
                return hits
    return hits
