"""Units: the spans that are coded, compared and counted.

Stored units are paragraphs of speaker turns. Other levels are derived:

- ``paragraph``: one stored unit (key ``DOC#12``)
- ``turn``: the paragraphs of one speaker turn (key ``DOC#t5``)
- ``sentence``: spaCy sentences inside paragraphs, computed once and cached (key ``DOC#12.3``)
- ``document``: all (respondent) text of a document (key ``DOC``)
- ``respondent``: all text of one respondent across documents (key ``@SF4``)

A unit is a tuple of segments ``(document_id, start, end)``; only the
respondent level has segments in several documents. Interviewer turns belong
to nobody and are left out unless ``respondents_only=False``.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_right
from dataclasses import dataclass
from typing import Iterable

from qualcode.errors import InputError, NotFound

LEVELS = ("paragraph", "turn", "sentence", "document", "respondent")


@dataclass(frozen=True)
class Unit:
    key: str
    level: str
    segments: tuple[tuple[int, int, int], ...]
    respondent_id: str | None
    speaker: str | None
    role: str
    document: str | None
    unit_ids: tuple[int, ...]

    @property
    def document_id(self) -> int | None:
        ids = {s[0] for s in self.segments}
        return next(iter(ids)) if len(ids) == 1 else None

    @property
    def start(self) -> int:
        return self.segments[0][1]

    @property
    def end(self) -> int:
        return self.segments[-1][2]

    @property
    def length(self) -> int:
        return sum(end - start for _, start, end in self.segments)


def paragraph_key(document: str, seq: int) -> str:
    return f"{document}#{seq}"


def parse_paragraph_key(key: str) -> tuple[str, int]:
    """``'SF4.docx#12'`` → ``('SF4.docx', 12)``; InputError if the key is not of that form."""
    document, sep, seq = key.rpartition("#")
    if not sep or not document or not seq.isdigit():
        raise InputError(f"'{key}' is not a unit id of the form DOCUMENT#NUMBER")
    return document, int(seq)


def _paragraph_rows(conn: sqlite3.Connection, documents: Iterable[int] | None, respondents_only: bool):
    sql = (
        "SELECT u.unit_id, u.document_id, d.name AS document, u.seq, u.turn, u.start, u.end, u.speaker, u.role,"
        " u.respondent_id FROM units u JOIN documents d USING (document_id)"
    )
    clauses, params = [], []
    if respondents_only:
        clauses.append("u.role = 'respondent'")
    if documents is not None:
        ids = list(documents)
        clauses.append(f"u.document_id IN ({','.join('?' * len(ids))})")
        params.extend(ids)
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY d.name, u.seq"
    return conn.execute(sql, params).fetchall()


def load_units(
    conn: sqlite3.Connection,
    level: str = "paragraph",
    *,
    documents: Iterable[int] | None = None,
    respondents_only: bool = True,
    language: str = "en",
) -> list[Unit]:
    """All units at ``level``, in document order (documents by name, respondents naturally)."""
    if level not in LEVELS:
        raise InputError(f"unknown unit '{level}'; choose one of {', '.join(LEVELS)}")
    rows = _paragraph_rows(conn, documents, respondents_only)
    if level == "paragraph":
        return [
            Unit(paragraph_key(r["document"], r["seq"]), level, ((r["document_id"], r["start"], r["end"]),),
                 r["respondent_id"], r["speaker"], r["role"], r["document"], (r["unit_id"],))
            for r in rows
        ]
    if level == "turn":
        units: list[Unit] = []
        group: list = []
        for r in rows + [None]:
            if group and (r is None or (r["document_id"], r["turn"]) != (group[0]["document_id"], group[0]["turn"])):
                g0 = group[0]
                units.append(Unit(
                    f"{g0['document']}#t{g0['turn']}", level,
                    ((g0["document_id"], g0["start"], group[-1]["end"]),),
                    g0["respondent_id"], g0["speaker"], g0["role"], g0["document"],
                    tuple(x["unit_id"] for x in group)))
                group = []
            if r is not None:
                group.append(r)
        return units
    if level == "sentence":
        ensure_sentences(conn, language, [r["unit_id"] for r in rows])
        by_unit: dict[int, list[tuple[int, int]]] = {}
        ids = [r["unit_id"] for r in rows]
        for chunk_start in range(0, len(ids), 900):
            chunk = ids[chunk_start:chunk_start + 900]
            for unit_id, start, end in conn.execute(
                f"SELECT unit_id, start, end FROM sentences WHERE unit_id IN ({','.join('?' * len(chunk))}) ORDER BY unit_id, start",
                chunk,
            ):
                by_unit.setdefault(unit_id, []).append((start, end))
        units = []
        for r in rows:
            for k, (start, end) in enumerate(by_unit.get(r["unit_id"], [(r["start"], r["end"])]), start=1):
                units.append(Unit(f"{r['document']}#{r['seq']}.{k}", level, ((r["document_id"], start, end),),
                                  r["respondent_id"], r["speaker"], r["role"], r["document"], (r["unit_id"],)))
        return units
    if level == "document":
        grouped: dict[int, list] = {}
        for r in rows:
            grouped.setdefault(r["document_id"], []).append(r)
        return [
            Unit(g[0]["document"], level, tuple((r["document_id"], r["start"], r["end"]) for r in g),
                 _single(r["respondent_id"] for r in g), None, "respondent" if respondents_only else "other",
                 g[0]["document"], tuple(r["unit_id"] for r in g))
            for g in grouped.values()
        ]
    # respondent
    from natsort import natsorted

    grouped_r: dict[str, list] = {}
    for r in rows:
        if r["respondent_id"] is not None:
            grouped_r.setdefault(r["respondent_id"], []).append(r)
    return [
        Unit(f"@{respondent}", level,
             tuple(sorted((r["document_id"], r["start"], r["end"]) for r in grouped_r[respondent])),
             respondent, None, "respondent", _single(r["document"] for r in grouped_r[respondent]),
             tuple(r["unit_id"] for r in grouped_r[respondent]))
        for respondent in natsorted(grouped_r)
    ]


def _single(values):
    distinct = set(values)
    return next(iter(distinct)) if len(distinct) == 1 else None


def ensure_sentences(conn: sqlite3.Connection, language: str, unit_ids: list[int]) -> int:
    """Compute and cache sentence spans for the given paragraph units that lack them.

    Returns the number of paragraphs segmented. Sentences are trimmed of
    surrounding whitespace and always lie inside their paragraph.
    """
    if not unit_ids:
        return 0
    done: set[int] = set()
    for chunk_start in range(0, len(unit_ids), 900):
        chunk = unit_ids[chunk_start:chunk_start + 900]
        done.update(r[0] for r in conn.execute(
            f"SELECT DISTINCT unit_id FROM sentences WHERE unit_id IN ({','.join('?' * len(chunk))})", chunk))
    todo = [u for u in unit_ids if u not in done]
    if not todo:
        return 0
    from qualcode.nlp import load_pipeline

    nlp = load_pipeline(language)
    texts: list[tuple[int, int, str]] = []
    for chunk_start in range(0, len(todo), 900):
        chunk = todo[chunk_start:chunk_start + 900]
        for unit_id, start, text in conn.execute(
            "SELECT u.unit_id, u.start, substr(d.text, u.start + 1, u.end - u.start) FROM units u"
            f" JOIN documents d USING (document_id) WHERE u.unit_id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            texts.append((unit_id, start, text))
    rows = []
    for (unit_id, offset, text), doc in zip(texts, nlp.pipe(t[2] for t in texts)):
        spans = sentence_spans(text, doc)
        rows.extend((unit_id, offset + s, offset + e) for s, e in spans)
    # Called from read-only commands too: the cache write is its own small transaction.
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany("INSERT OR IGNORE INTO sentences (unit_id, start, end) VALUES (?, ?, ?)", rows)
        if own:
            conn.execute("COMMIT")
    except BaseException:
        if own:
            conn.execute("ROLLBACK")
        raise
    return len(todo)


def sentence_spans(text: str, doc) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets in ``text`` from a spaCy Doc, whitespace trimmed, never empty.

    spaCy's sentencizer leaves an opening bracket or quotation mark that
    follows a full stop at the end of the sentence before it ("… step. [" then
    "laughs] …"); such marks are moved to the start of the sentence they open.
    """
    bounds = [(sent.start_char, sent.end_char) for sent in doc.sents]
    for index in range(len(bounds) - 1):
        start, end = bounds[index]
        cut = end
        while cut > start and text[cut - 1].isspace():
            cut -= 1
        moved = cut
        while moved > start and _opens(text, moved - 1):
            moved -= 1
        if moved < cut and moved > start:
            bounds[index] = (start, moved)
            bounds[index + 1] = (moved, bounds[index + 1][1])
    spans = []
    for start, end in bounds:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans or [(0, len(text))]


OPENING_MARKS = "([{“‘«„"


def _opens(text: str, index: int) -> bool:
    """Whether the character at ``index`` opens something: a bracket, a curly opening
    quote, or a straight quote that follows white space."""
    char = text[index]
    if char in OPENING_MARKS:
        return True
    return char in "\"'" and (index == 0 or text[index - 1].isspace())


def _segment_index(units: list[Unit]) -> dict[int, tuple[list[tuple[int, int, int]], list[int]]]:
    """Per document: the units' segments ``(start, end, unit_index)`` sorted, and their starts."""
    segments_by_doc: dict[int, list[tuple[int, int, int]]] = {}
    for index, unit in enumerate(units):
        for document_id, start, end in unit.segments:
            segments_by_doc.setdefault(document_id, []).append((start, end, index))
    index_by_doc = {}
    for document_id, segments in segments_by_doc.items():
        segments.sort()
        index_by_doc[document_id] = (segments, [s[0] for s in segments])
    return index_by_doc


def _overlapping_segments(segments: list[tuple[int, int, int]], starts: list[int], start: int, end: int):
    """The segments overlapping ``start``–``end`` by at least one character, as
    ``(overlap_start, overlap_end, unit_index)``."""
    # segments are disjoint and sorted, so ends are sorted too; walk back from
    # the last segment starting before `end` while segments still reach `start`
    i = bisect_right(starts, end - 1) - 1
    while i >= 0 and segments[i][1] > start:
        seg_start, seg_end, index = segments[i]
        low, high = max(start, seg_start), min(end, seg_end)
        if high > low:
            yield low, high, index
        i -= 1


def coverage(units: list[Unit], spans: Iterable[tuple[object, int, int, int]]) -> dict[tuple[int, object], int]:
    """Characters of each unit covered by each group of spans.

    ``spans`` yields ``(group, document_id, start, end)`` — a group is whatever
    the caller counts by, e.g. ``(coder, code_id)``. Overlapping spans of one
    group are merged first, so the result is the size of the union. Returns
    ``{(unit_index, group): covered_characters}`` for every pair that overlaps.
    """
    index_by_doc = _segment_index(units)
    grouped: dict[tuple[object, int], list[tuple[int, int]]] = {}
    for group, document_id, start, end in spans:
        grouped.setdefault((group, document_id), []).append((start, end))
    result: dict[tuple[int, object], int] = {}
    for (group, document_id), intervals in grouped.items():
        if document_id not in index_by_doc:
            continue
        segments, starts = index_by_doc[document_id]
        for start, end in merge_intervals(intervals):
            for low, high, index in _overlapping_segments(segments, starts, start, end):
                result[(index, group)] = result.get((index, group), 0) + high - low
    return result


def clip_spans(units: list[Unit], spans: Iterable[tuple[object, int, int, int]]) \
        -> dict[tuple[int, object], tuple[tuple[int, int], ...]]:
    """``{(unit_index, group): merged spans clipped to the unit}`` (to each of its segments).

    ``spans`` yields ``(group, document_id, start, end)``. A unit has a group
    when any span overlaps it by at least one character (the same rule as
    ``coverage``).
    """
    index_by_doc = _segment_index(units)
    pieces: dict[tuple[int, object], list[tuple[int, int]]] = {}
    for group, document_id, start, end in spans:
        if document_id not in index_by_doc:
            continue
        segments, starts = index_by_doc[document_id]
        for low, high, index in _overlapping_segments(segments, starts, start, end):
            pieces.setdefault((index, group), []).append((low, high))
    return {key: merge_intervals(value) for key, value in pieces.items()}


def unit_text(conn: sqlite3.Connection, unit: Unit, separator: str = "\n\n") -> str:
    """The text of a unit (segments joined by ``separator``)."""
    parts = []
    for document_id, start, end in unit.segments:
        row = conn.execute(
            "SELECT substr(text, ? + 1, ?) FROM documents WHERE document_id = ?", (start, end - start, document_id)
        ).fetchone()
        if row is None:
            raise NotFound(f"document {document_id} is not in the project")
        parts.append(row[0])
    return separator.join(parts)


def merge_intervals(intervals: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sorted union of ``(start, end)`` intervals (touching intervals are joined)."""
    merged: list[list[int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


# --------------------------------------------------------------------------- which units two coders both coded

@dataclass(frozen=True)
class ComparedScope:
    """The respondent paragraphs two coders both coded, and where that came from.

    ``unit_ids``: paragraph unit ids in the scope of both coders (the
    intersection of ``scope_a`` and ``scope_b``). A coder's scope is their
    ``assignments`` rows or, for a coder with none, every respondent paragraph
    of the documents they coded; interviewer paragraphs are never in a scope.
    ``spans``: ``unit_id → (document_id, start, end)`` for each compared
    paragraph. ``description`` says in words where the scope came from, e.g.
    ``respondent paragraphs in the scope of both coders (A: 40 assigned
    paragraphs; B: no assignments recorded; the 3 documents B coded)``.
    """

    coder_a: str
    coder_b: str
    unit_ids: frozenset[int]
    scope_a: frozenset[int]
    scope_b: frozenset[int]
    spans: dict[int, tuple[int, int, int]]
    description: str

    @property
    def document_ids(self) -> list[int]:
        """The documents holding compared paragraphs, by id."""
        return sorted({span[0] for span in self.spans.values()})

    def restrict(self, units: list[Unit]) -> list[Unit]:
        """``units`` (any level) cut down to the compared paragraphs; see ``restrict_units``."""
        return restrict_units(units, self.spans)


def _respondent_paragraph_spans(conn: sqlite3.Connection) -> dict[int, tuple[int, int, int]]:
    return {r[0]: (r[1], r[2], r[3]) for r in conn.execute(
        "SELECT unit_id, document_id, start, end FROM units WHERE role = 'respondent'")}


def coder_scope(conn: sqlite3.Connection, coder: str,
                paragraphs: dict[int, tuple[int, int, int]] | None = None) -> tuple[frozenset[int], str]:
    """The respondent paragraphs in one coder's scope, and a phrase saying why.

    The scope is the coder's ``assignments`` rows (interviewer paragraphs
    dropped) or, when the coder has none, every respondent paragraph of the
    documents the coder coded. NotFound for an unknown coder. ``paragraphs``
    (``unit_id → (document_id, start, end)`` of the respondent paragraphs)
    saves a query when the caller has it.
    """
    from qualcode import store

    coder_id = store.coder_id(conn, coder)
    if paragraphs is None:
        paragraphs = _respondent_paragraph_spans(conn)
    assigned = {r[0] for r in conn.execute("SELECT unit_id FROM assignments WHERE coder_id = ?", (coder_id,))}
    if assigned:
        return frozenset(assigned & paragraphs.keys()), f"{coder}: {len(assigned)} assigned paragraphs"
    documents = {r[0] for r in conn.execute(
        "SELECT DISTINCT document_id FROM codings WHERE coder_id = ?", (coder_id,))}
    kept = frozenset(u for u, span in paragraphs.items() if span[0] in documents)
    return kept, f"{coder}: no assignments recorded; the {len(documents)} documents {coder} coded"


def compared_paragraphs(conn: sqlite3.Connection, coder_a: str, coder_b: str) -> ComparedScope:
    """The respondent paragraphs both coders coded: the one rule agreement, reconciliation
    and the coding-sheet sample share.

    Each coder's scope comes from ``coder_scope`` (assignments, or else the
    documents coded); the compared paragraphs are the intersection. Reads
    only; NotFound for an unknown coder; an empty scope is returned as such
    (the caller decides whether that is an error).
    """
    paragraphs = _respondent_paragraph_spans(conn)
    scope_a, text_a = coder_scope(conn, coder_a, paragraphs)
    scope_b, text_b = coder_scope(conn, coder_b, paragraphs)
    both = scope_a & scope_b
    return ComparedScope(
        coder_a, coder_b, frozenset(both), scope_a, scope_b, {u: paragraphs[u] for u in both},
        f"respondent paragraphs in the scope of both coders ({text_a}; {text_b})")


def restrict_units(units: Iterable[Unit], paragraphs: dict[int, tuple[int, int, int]]) -> list[Unit]:
    """Units of any level cut down to the paragraphs in ``paragraphs`` (``unit_id → (document_id, start, end)``).

    The rule for a unit only partly in scope (a turn, document or respondent
    of which some paragraphs were compared): it is *trimmed*, not dropped. It
    keeps its key, its ``unit_ids`` become its paragraphs in scope and its
    segments those paragraphs' spans, so only compared text is read. A unit
    wholly in scope is returned unchanged; a unit with no paragraph in scope
    is left out. Paragraph and sentence units lie in one paragraph, so they
    are either kept whole or left out.
    """
    from dataclasses import replace

    kept = []
    for unit in units:
        inside = [u for u in unit.unit_ids if u in paragraphs]
        if not inside:
            continue
        if len(inside) == len(unit.unit_ids):
            kept.append(unit)
        else:
            kept.append(replace(unit, segments=tuple(sorted(paragraphs[u] for u in inside)), unit_ids=tuple(inside)))
    return kept
