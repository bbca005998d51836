"""What a reconciliation compares: the compared units, and the disagreements, agreements and
carried codings found in them, with the decisions that can settle a disagreement.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field


RECONCILE_LEVELS = ("paragraph", "turn", "sentence")
CLOSING_DECISIONS = ("apply", "reject", "A", "B")
DECISIONS = CLOSING_DECISIONS + ("skip",)


@dataclass(frozen=True)
class Disagreement:
    """One (unit, code) on which the coders differ, with everything needed to show it.

    Spans are ``(start, end)`` offsets into the document, clipped to the unit
    and merged. ``kind`` is ``presence`` (one coder applied the code) or
    ``boundary`` (both did, with different spans). ``decision`` is the active
    closing decision, if any (``None`` while open).
    """

    unit_key: str
    unit_level: str
    document_id: int
    document: str
    start: int
    end: int
    respondent_id: str | None
    speaker: str | None
    code_id: int
    code_key: str
    code_label: str
    definition: str | None
    include: str | None
    exclude: str | None
    a_spans: tuple[tuple[int, int], ...]
    b_spans: tuple[tuple[int, int], ...]
    kind: str
    text: str = field(repr=False)  # transcript text stays out of reprs and tracebacks
    decision: str | None = None
    decision_note: str | None = None

    @property
    def a_applied(self) -> bool:
        return bool(self.a_spans)

    @property
    def b_applied(self) -> bool:
        return bool(self.b_spans)

    @property
    def is_open(self) -> bool:
        return self.decision is None

    @property
    def ident(self) -> tuple[str, int]:
        return (self.unit_key, self.code_id)


@dataclass(frozen=True)
class Agreement:
    """A (unit, code) both coders applied with the same spans inside the unit."""

    unit_key: str
    document_id: int
    start: int
    end: int
    code_id: int
    code_key: str
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Carried:
    """A code on a paragraph only one coder was in scope for, copied into the consensus as it is."""

    unit_key: str
    document_id: int
    code_id: int
    code_key: str
    coder: str
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Undone:
    """What ``Session.undo_last`` reverted."""

    decision_id: int
    unit_key: str
    code_key: str
    decision: str
    disagreement: Disagreement | None
    note: str | None = None


def describe_action(spans: tuple[tuple[int, int], ...], unit_start: int, unit_end: int, text: str) -> str:
    """What a coder did in a unit, in words: not applied / the whole unit / the quoted span(s).

    ``text`` is the unit's text (so offsets are shifted by ``unit_start``).
    """
    if not spans:
        return "not applied"
    if spans == ((unit_start, unit_end),):
        return "applied to the whole unit"
    quoted = " … ".join(f"«{text[s - unit_start:e - unit_start]}»" for s, e in spans)
    return f"applied to {quoted}"


# -- which units are compared ---------------------------------------------------------

def compared_units(conn: sqlite3.Connection, coder_a: str, coder_b: str, level: str, language: str = "en",
                   scope=None):
    """Respondent units at ``level`` in the scope of both coders (``units.compared_paragraphs``),
    a turn partly in scope trimmed to its compared paragraphs (``units.restrict_units``)."""
    from qualcode.units import compared_paragraphs, load_units

    if scope is None:
        scope = compared_paragraphs(conn, coder_a, coder_b)
    if not scope.unit_ids:
        return []
    return scope.restrict(load_units(conn, level, documents=scope.document_ids, language=language))


def inside_segments(segments, start: int, end: int, text: str, text_start: int) -> bool:
    """Whether ``start``–``end`` lies in the unit's segments; white space between two segments counts
    as inside (a turn trimmed to adjacent paragraphs), anything else between them does not."""
    position = start
    for _, segment_start, segment_end in segments:
        if segment_end <= position:
            continue
        if segment_start > position and text[position - text_start:min(segment_start, end) - text_start].strip():
            return False
        position = max(position, segment_end)
        if position >= end:
            return True
    return position >= end


def with_decision(d: Disagreement, decision: str, note: str | None) -> Disagreement:
    from dataclasses import replace

    return replace(d, decision=decision, decision_note=note)
