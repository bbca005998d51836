"""Reconciliation: two coders' disagreements → decisions → a consensus coder.

A reconciliation session compares coder A and coder B unit by unit (paragraph,
turn or sentence; respondent speech only) over the paragraphs both coders
coded — ``units.compared_paragraphs``, the rule ``agree`` uses too: each
coder's assignments, or the documents a coder without assignments coded. A
turn only partly in that scope is trimmed to its compared paragraphs. For
every (unit, code):

- neither coder applied the code: nothing to do;
- both applied it with the same boundaries inside the unit: an *agreement*,
  copied into the consensus coder and recorded as decision ``agreed``;
- exactly one applied it: a disagreement of kind ``presence``;
- both applied it with different boundaries inside the unit: a disagreement
  of kind ``boundary``.

Each disagreement is settled by one decision — ``apply`` (the union of the
coders' spans inside the unit, or a span the caller chooses), ``reject``,
``A`` (A's span), ``B`` (B's span) — saved in its own transaction together
with the consensus codings it creates, so an interrupted session loses
nothing. ``skip`` leaves a disagreement open (saved only when it carries a
note). ``undo_last`` marks the latest decision undone and removes its
codings. Decisions refer to codes by code_id, so a renamed code keeps them.

The consensus is an ordinary coder whose codings have origin ``reconcile``;
each carries ``{"decision_id": N}`` in its detail, which is how undo finds it.
Library code: nothing here prints or prompts.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from qualcode import store
from qualcode.errors import InputError, NotFound, SheetError
from qualcode.units import clip_spans, merge_intervals

RECONCILE_LEVELS = ("paragraph", "turn", "sentence")
CLOSING_DECISIONS = ("apply", "reject", "A", "B")
DECISIONS = CLOSING_DECISIONS + ("skip",)
SHEET_NAME = "Decisions"
ABOUT_SHEET = "About"


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


# -- the session -----------------------------------------------------------------------

class Session:
    """A reconciliation of ``coder_a`` and ``coder_b`` into ``into`` at one unit level.

    Create with ``open_session``. The comparison of A and B is computed once;
    decisions are read from the database on every call, so several sessions
    (or a crash and a restart) see the same state.
    """

    def __init__(self, project, coder_a: str, coder_b: str, *, into: str, unit: str, codes: list[str] | None,
                 carry_single: bool = True):
        self.project = project
        self.coder_a = coder_a
        self.coder_b = coder_b
        self.into = into
        self.unit = unit
        self.code_filter = codes
        self.carry_single = carry_single
        self._analyse()

    # -- analysis -------------------------------------------------------------------
    def _analyse(self) -> None:
        from qualcode.codebook import load_tree
        from qualcode.units import compared_paragraphs

        conn = self.project.connect()
        a_id = store.coder_id(conn, self.coder_a)
        b_id = store.coder_id(conn, self.coder_b)
        tree = load_tree(conn, include_inactive=True)
        code_ids: set[int] | None = None
        if self.code_filter:
            code_ids = set()
            for key in self.code_filter:
                code_ids.update(tree.by_key[k].code_id for k in tree.descendants(key))
        self.scope = compared_paragraphs(conn, self.coder_a, self.coder_b)
        self.units = compared_units(conn, self.coder_a, self.coder_b, self.unit, self.project.language,
                                    scope=self.scope)
        rows = conn.execute(
            "SELECT coder_id, code_id, document_id, start, end FROM codings WHERE coder_id IN (?, ?)", (a_id, b_id))
        codings = [(("A" if r[0] == a_id else "B", r[1]), r[2], r[3], r[4]) for r in rows
                   if code_ids is None or r[1] in code_ids]
        clipped = clip_spans(self.units, codings)
        texts: dict[int, str] = {}
        self._disagreements: list[Disagreement] = []
        self._agreements: list[Agreement] = []
        order = {key: i for i, key in enumerate(tree.preorder())}
        pairs = sorted({(index, code_id) for (index, (_, code_id)) in clipped},
                       key=lambda p: (p[0], order.get(tree.by_id[p[1]].key, len(order)), p[1]))
        for index, code_id in pairs:
            unit = self.units[index]
            a_spans = clipped.get((index, ("A", code_id)), ())
            b_spans = clipped.get((index, ("B", code_id)), ())
            node = tree.by_id[code_id]
            if a_spans and a_spans == b_spans:
                self._agreements.append(Agreement(unit.key, unit.document_id, unit.start, unit.end, code_id,
                                                  node.key, a_spans))
                continue
            if unit.document_id not in texts:
                texts[unit.document_id] = conn.execute(
                    "SELECT text FROM documents WHERE document_id = ?", (unit.document_id,)).fetchone()[0]
            self._disagreements.append(Disagreement(
                unit_key=unit.key, unit_level=self.unit, document_id=unit.document_id, document=unit.document,
                start=unit.start, end=unit.end, respondent_id=unit.respondent_id, speaker=unit.speaker,
                code_id=code_id, code_key=node.key, code_label=node.label, definition=node.definition,
                include=node.include, exclude=node.exclude, a_spans=a_spans, b_spans=b_spans,
                kind="boundary" if a_spans and b_spans else "presence",
                text=texts[unit.document_id][unit.start:unit.end],
            ))
        self._by_ident = {d.ident: d for d in self._disagreements}
        self._segments = {unit.key: unit.segments for unit in self.units}
        self._tree = tree
        self._carried = self._single_coded(conn, codings, tree) if self.carry_single else []

    def _single_coded(self, conn, codings, tree) -> list[Carried]:
        """Codings on respondent paragraphs in one coder's scope only, taken from that coder (every
        paragraph in both scopes lies in a compared unit, since partly compared turns are trimmed)."""
        from qualcode.units import load_units

        scope_a, scope_b = self.scope.scope_a, self.scope.scope_b
        covered = {unit_id for unit in self.units for unit_id in unit.unit_ids}
        single = (scope_a | scope_b) - covered
        if not single:
            return []
        paragraphs = [u for u in load_units(conn, "paragraph") if u.unit_ids[0] in single]
        owner = ["A" if u.unit_ids[0] in scope_a else "B" for u in paragraphs]
        carried = []
        for (index, (who, code_id)), spans in sorted(clip_spans(paragraphs, codings).items(),
                                                     key=lambda item: (item[0][0], item[0][1][1])):
            if who == owner[index]:
                carried.append(Carried(paragraphs[index].key, paragraphs[index].document_id, code_id,
                                       tree.by_id[code_id].key, self.coder_a if who == "A" else self.coder_b,
                                       spans))
        return carried

    def _session_where(self) -> tuple[str, tuple]:
        return ("coder_a = ? AND coder_b = ? AND into_coder = ? AND unit_level = ?",
                (self.coder_a, self.coder_b, self.into, self.unit))

    def _active_decisions(self) -> dict[tuple[str, int], sqlite3.Row]:
        where, params = self._session_where()
        rows = self.project.connect().execute(
            f"SELECT * FROM decisions WHERE {where} AND undone = 0 AND decision IN ('apply', 'reject', 'A', 'B')"
            " ORDER BY decision_id", params)
        return {(r["unit_key"], r["code_id"]): r for r in rows}

    # -- reading --------------------------------------------------------------------
    def disagreements(self, state: str | None = None) -> list[Disagreement]:
        """Every disagreement in unit order (then codebook order), with its current decision.

        ``state``: ``"open"`` or ``"decided"`` to filter; ``None`` for all.
        """
        if state not in (None, "open", "decided"):
            raise InputError(f"unknown state '{state}'; choose open or decided")
        decided = self._active_decisions()
        out = []
        for d in self._disagreements:
            row = decided.get(d.ident)
            current = d if row is None else _with_decision(d, row["decision"], row["note"])
            if state is None or (state == "open") == current.is_open:
                out.append(current)
        return out

    def agreements(self) -> list[Agreement]:
        """The (unit, code) pairs both coders applied with the same spans."""
        return list(self._agreements)

    def carried(self) -> list[Carried]:
        """Codings of single-coded paragraphs that go into the consensus unchanged (empty when
        the session was opened with ``carry_single=False``)."""
        return list(self._carried)

    def find(self, unit_key: str, code_id: int) -> Disagreement | None:
        """The disagreement on ``unit_key`` × ``code_id`` with its current decision, if there is one."""
        base = self._by_ident.get((unit_key, code_id))
        if base is None:
            return None
        row = self._active_decisions().get(base.ident)
        return base if row is None else _with_decision(base, row["decision"], row["note"])

    def status(self):
        """Progress per code: a DataFrame with code, label, agreed, disagreements, decided, open and
        single (paragraphs coded by one coder only, carried into the consensus); codes in codebook
        order, then a row ``all`` with the totals. Counts are unit × code pairs."""
        import pandas as pd

        def blank() -> dict[str, int]:
            return {"agreed": 0, "disagreements": 0, "decided": 0, "single": 0}

        counts: dict[int, dict[str, int]] = {}
        for a in self._agreements:
            counts.setdefault(a.code_id, blank())["agreed"] += 1
        for c in self._carried:
            counts.setdefault(c.code_id, blank())["single"] += 1
        for d in self.disagreements():
            entry = counts.setdefault(d.code_id, blank())
            entry["disagreements"] += 1
            entry["decided"] += 0 if d.is_open else 1
        order = {key: i for i, key in enumerate(self._tree.preorder())}
        rows = []
        for code_id in sorted(counts, key=lambda c: order.get(self._tree.by_id[c].key, len(order))):
            node = self._tree.by_id[code_id]
            c = counts[code_id]
            rows.append({"code": node.key, "label": node.label, "agreed": c["agreed"],
                         "disagreements": c["disagreements"], "decided": c["decided"],
                         "open": c["disagreements"] - c["decided"], "single": c["single"]})
        columns = ["agreed", "disagreements", "decided", "open", "single"]
        total = {"code": "all", "label": "", **{k: sum(r[k] for r in rows) for k in columns}}
        return pd.DataFrame(rows + [total], columns=["code", "label", *columns])

    # -- writing --------------------------------------------------------------------
    def record_agreements(self) -> int:
        """Copy every agreement not yet recorded into the consensus coder, as decisions
        ``agreed``, and refresh the single-coded paragraphs carried into it; one transaction.
        Returns how many agreements were recorded."""
        from qualcode.codings import add_codings

        where, params = self._session_where()
        with self.project.transaction() as conn:
            self._refresh_carried(conn)
            self._assign_compared(conn)
            done = {(r[0], r[1]) for r in conn.execute(
                f"SELECT unit_key, code_id FROM decisions WHERE {where} AND undone = 0 AND decision = 'agreed'",
                params)}
            into_id = store.get_or_create_coder(conn, self.into)
            version = _codebook_version(conn)
            recorded = 0
            for agreement in self._agreements:
                if (agreement.unit_key, agreement.code_id) in done:
                    continue
                decision_id = self._insert_decision(
                    conn, unit_key=agreement.unit_key, document_id=agreement.document_id, start=agreement.start,
                    end=agreement.end, code_id=agreement.code_id, a_applied=1, b_applied=1, decision="agreed",
                    spans=agreement.spans, note=None)
                add_codings(conn, _coding_rows(into_id, agreement.code_id, agreement.document_id, agreement.spans,
                                               decision_id, version))
                recorded += 1
        return recorded

    def _assign_compared(self, conn) -> None:
        """Record the compared paragraphs as the consensus coder's assignments, so that
        ``agree A consensus`` compares the double-coded units only (not the carried ones)."""
        into_id = store.get_or_create_coder(conn, self.into)
        conn.execute("DELETE FROM assignments WHERE coder_id = ?", (into_id,))
        conn.executemany("INSERT INTO assignments (coder_id, unit_id) VALUES (?, ?)",
                         sorted({(into_id, unit_id) for unit in self.units for unit_id in unit.unit_ids}))

    def _refresh_carried(self, conn) -> None:
        """Replace the consensus codings carried from single-coded paragraphs with the current ones
        (they follow the coders' codings; they are not decisions, so they are not in the log)."""
        from qualcode.codings import add_codings

        into_id = store.get_or_create_coder(conn, self.into)
        conn.execute("DELETE FROM codings WHERE coder_id = ? AND origin = 'reconcile'"
                     " AND json_extract(detail, '$.carried_from') IS NOT NULL", (into_id,))
        if not self._carried:
            return
        version = _codebook_version(conn)
        add_codings(conn, [
            {"coder_id": into_id, "code_id": c.code_id, "document_id": c.document_id, "start": start, "end": end,
             "origin": "reconcile", "codebook_version_id": version,
             "detail": {"carried_from": c.coder, "unit": c.unit_key}}
            for c in self._carried for start, end in c.spans
        ])

    def decide(self, disagreement: Disagreement, decision: str, note: str | None = None,
               span: tuple[int, int] | None = None) -> int | None:
        """Settle ``disagreement`` and save it at once (its own transaction). Returns the decision_id.

        ``decision``: ``apply`` (the union of both coders' spans in the unit,
        or ``span`` — document offsets inside the unit — when given),
        ``reject``, ``A`` (A's span), ``B`` (B's span) or ``skip`` (stays
        open; saved only when ``note`` is given, else returns None).
        """
        from qualcode.codings import add_codings

        if decision not in DECISIONS:
            raise InputError(f"'{decision}' is not a decision; choose one of {', '.join(DECISIONS)}")
        base = self._by_ident.get(disagreement.ident)
        if base is None:
            raise NotFound(f"{disagreement.unit_key} × {disagreement.code_key} is not a disagreement between"
                           f" {self.coder_a} and {self.coder_b}")
        note = (note or "").strip() or None
        if span is not None:
            if decision != "apply":
                raise InputError("a span can be given only with the decision 'apply'")
            start, end = int(span[0]), int(span[1])
            if not base.start <= start < end <= base.end:
                raise InputError(f"span {start}–{end} does not lie inside unit {base.unit_key}"
                                 f" ({base.start}–{base.end})")
            if not _inside_segments(self._segments[base.unit_key], start, end, base.text, base.start):
                raise InputError(f"span {start}–{end} runs over a paragraph of unit {base.unit_key} that was not"
                                 " compared; choose a span inside the compared paragraphs")
        if decision == "skip" and note is None:
            return None
        spans: tuple[tuple[int, int], ...] = ()
        if decision == "apply":
            spans = ((start, end),) if span is not None else merge_intervals(base.a_spans + base.b_spans)
        elif decision == "A":
            spans = base.a_spans
        elif decision == "B":
            spans = base.b_spans
        with self.project.transaction() as conn:
            if decision in CLOSING_DECISIONS:
                where, params = self._session_where()
                previous = conn.execute(
                    f"SELECT decision FROM decisions WHERE {where} AND undone = 0 AND unit_key = ? AND code_id = ?"
                    " AND decision IN ('apply', 'reject', 'A', 'B')", (*params, base.unit_key, base.code_id)).fetchone()
                if previous is not None:
                    raise InputError(f"{base.unit_key} × {base.code_key} is already decided ('{previous[0]}');"
                                     " undo that decision first")
            decision_id = self._insert_decision(
                conn, unit_key=base.unit_key, document_id=base.document_id, start=base.start, end=base.end,
                code_id=base.code_id, a_applied=int(base.a_applied), b_applied=int(base.b_applied),
                decision=decision, spans=spans, note=note)
            if spans:
                into_id = store.get_or_create_coder(conn, self.into)
                add_codings(conn, _coding_rows(into_id, base.code_id, base.document_id, spans, decision_id,
                                               _codebook_version(conn)))
        return decision_id

    def undo_last(self) -> Undone | None:
        """Revert the latest decision of this session that a person made (not an automatic
        ``agreed``): mark it undone and delete its consensus codings. None if there is none.
        The returned ``Undone`` carries the decision's note, so a caller can offer it again."""
        where, params = self._session_where()
        with self.project.transaction() as conn:
            row = conn.execute(
                f"SELECT d.decision_id, d.unit_key, d.code_id, d.decision, c.key, d.note FROM decisions d"
                f" JOIN codes c USING (code_id) WHERE {where} AND d.undone = 0"
                " AND d.decision != 'agreed' ORDER BY d.decision_id DESC LIMIT 1", params).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE decisions SET undone = 1 WHERE decision_id = ?", (row[0],))
            _delete_decision_codings(conn, self.into, row[0])
        return Undone(row[0], row[1], row[4], row[3], self.find(row[1], row[2]), row[5])

    def _insert_decision(self, conn, *, unit_key, document_id, start, end, code_id, a_applied, b_applied,
                         decision, spans, note) -> int:
        span_start = spans[0][0] if spans else None
        span_end = spans[-1][1] if spans else None
        return conn.execute(
            "INSERT INTO decisions (coder_a, coder_b, into_coder, unit_level, unit_key, document_id, start, end,"
            " code_id, a_applied, b_applied, decision, span_start, span_end, note, decided_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.coder_a, self.coder_b, self.into, self.unit, unit_key, document_id, start, end, code_id,
             a_applied, b_applied, decision, span_start, span_end, note, store.now()),
        ).lastrowid


def _inside_segments(segments, start: int, end: int, text: str, text_start: int) -> bool:
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


def _with_decision(d: Disagreement, decision: str, note: str | None) -> Disagreement:
    from dataclasses import replace

    return replace(d, decision=decision, decision_note=note)


def _codebook_version(conn) -> int | None:
    from qualcode.codebook import current_version_id

    return current_version_id(conn)


def _coding_rows(into_id: int, code_id: int, document_id: int, spans, decision_id: int, version: int | None):
    return [
        {"coder_id": into_id, "code_id": code_id, "document_id": document_id, "start": start, "end": end,
         "origin": "reconcile", "codebook_version_id": version, "detail": {"decision_id": decision_id}}
        for start, end in spans
    ]


def _delete_decision_codings(conn, into: str, decision_id: int) -> int:
    return conn.execute(
        "DELETE FROM codings WHERE origin = 'reconcile' AND coder_id = (SELECT coder_id FROM coders WHERE name = ?)"
        " AND json_extract(detail, '$.decision_id') = ?", (into, decision_id)).rowcount


def open_session(project, coder_a: str, coder_b: str, *, into: str = "consensus", unit: str = "paragraph",
                 codes: list[str] | None = None, record_agreements: bool = True,
                 carry_single: bool = True) -> Session:
    """Compare ``coder_a`` and ``coder_b`` and return a Session for reconciling them into ``into``.

    ``unit``: paragraph, turn or sentence. ``codes``: code keys to reconcile
    (a theme key stands for every code beneath it); default all. With
    ``record_agreements`` (default) the agreements are copied into ``into``
    at once (one transaction); pass False for a read-only look. With
    ``carry_single`` (default) paragraphs only one coder was in scope for —
    the rest of a study when the second coder double-coded a sample — go into
    ``into`` with that coder's codings unchanged, so the consensus covers the
    whole study; pass False for a consensus of the compared units only.
    """
    if unit not in RECONCILE_LEVELS:
        raise InputError(f"cannot reconcile at unit '{unit}'; choose one of {', '.join(RECONCILE_LEVELS)}")
    into = (into or "").strip()
    if coder_a == coder_b:
        raise InputError(f"coder A and coder B are both '{coder_a}'; name two different coders")
    if not into:
        raise InputError("the consensus coder needs a name; give one with --into NAME")
    if into in (coder_a, coder_b):
        raise InputError(f"the consensus coder '{into}' cannot be one of the coders being reconciled;"
                         " choose another --into")
    conn = project.connect()
    store.coder_id(conn, coder_a)
    store.coder_id(conn, coder_b)
    if codes:
        from qualcode.codebook import load_tree

        tree = load_tree(conn, include_inactive=True)
        for key in codes:
            tree.node(key)
    other = conn.execute(
        "SELECT DISTINCT coder_a, coder_b, unit_level FROM decisions WHERE into_coder = ? AND undone = 0"
        " AND NOT (coder_a = ? AND coder_b = ? AND unit_level = ?)", (into, coder_a, coder_b, unit)).fetchone()
    if other is not None:
        raise InputError(f"'{into}' already holds the reconciliation of {other[0]} and {other[1]} by {other[2]};"
                         " choose another --into, or the same coders and --unit")
    session = Session(project, coder_a, coder_b, into=into, unit=unit, codes=list(codes) if codes else None,
                      carry_single=carry_single)
    if record_agreements:
        session.record_agreements()
    return session


def recorded_sessions(project) -> list[dict]:
    """The reconciliations recorded in the project: coder_a, coder_b, into, unit, decisions."""
    rows = project.connect().execute(
        "SELECT coder_a, coder_b, into_coder, unit_level, COUNT(*) FROM decisions WHERE undone = 0"
        " GROUP BY coder_a, coder_b, into_coder, unit_level ORDER BY MIN(decision_id)")
    return [{"coder_a": r[0], "coder_b": r[1], "into": r[2], "unit": r[3], "decisions": r[4]} for r in rows]


# -- the sheet route ---------------------------------------------------------------------

SHEET_COLUMNS = ["Unit", "Respondent", "Speaker", "Text", "Code", "Label", "Definition", "Include", "Exclude",
                 "Coder A", "Coder B", "Decision", "Note"]
SHEET_CHOICES = ("apply", "reject", "A", "B")


def write_sheet(session: Session, path: Path | str, *, force: bool = False) -> int:
    """Write the open disagreements to an xlsx decisions sheet; return the number of rows.

    Sheet ``Decisions``: one row per disagreement with the unit text, the
    code's label, definition, include and exclude, what each coder did, a
    Decision column restricted to apply / reject / A / B (blank = skip) and a
    Note column. Sheet ``About`` names the coders, consensus coder and unit,
    which ``apply_sheet`` checks. Nothing in the project changes. With no
    open disagreement there is nothing to decide: no file is written and 0 is
    returned.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from qualcode.exports import atomic_write, safe_cell

    open_ones = session.disagreements("open")
    if not open_ones:
        return 0
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_NAME
    sheet.append(SHEET_COLUMNS)
    for d in open_ones:
        sheet.append([safe_cell(v) for v in (
            d.unit_key, d.respondent_id, d.speaker, d.text, d.code_key, d.code_label, d.definition, d.include,
            d.exclude, describe_action(d.a_spans, d.start, d.end, d.text),
            describe_action(d.b_spans, d.start, d.end, d.text), None, None)])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "B2"
    widths = {"Unit": 14, "Respondent": 11, "Speaker": 10, "Text": 60, "Code": 18, "Label": 22, "Definition": 36,
              "Include": 30, "Exclude": 30, "Coder A": 40, "Coder B": 40, "Decision": 11, "Note": 36}
    wrap = Alignment(wrap_text=True, vertical="top")
    for index, name in enumerate(SHEET_COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = widths[name]
        for row in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            row[0].alignment = wrap
    decision_letter = get_column_letter(SHEET_COLUMNS.index("Decision") + 1)
    fill = PatternFill("solid", fgColor="FFF2CC")
    for row in range(2, len(open_ones) + 2):
        sheet[f"{decision_letter}{row}"].fill = fill
    validation = DataValidation(type="list", formula1='"' + ",".join(SHEET_CHOICES) + '"', allow_blank=True,
                                showErrorMessage=True, errorTitle="Decision",
                                error="Choose apply, reject, A (A's span) or B (B's span); leave blank to skip.")
    validation.add(f"{decision_letter}2:{decision_letter}{max(len(open_ones) + 1, 2) + 500}")
    sheet.add_data_validation(validation)
    about = workbook.create_sheet(ABOUT_SHEET)
    for key, value in (("coder_a", session.coder_a), ("coder_b", session.coder_b), ("into", session.into),
                       ("unit", session.unit), ("written_at", store.now()),
                       ("decisions", "apply = code the unit (union of both spans); reject = do not code it;"
                                     " A / B = take that coder's span; blank = leave open")):
        about.append([key, safe_cell(value)])
    about.column_dimensions["A"].width = 12
    about.column_dimensions["B"].width = 80
    with atomic_write(path, force) as tmp:
        workbook.save(tmp)
    return len(open_ones)


def _read_sheet(path: Path | str):
    from openpyxl import load_workbook

    path = Path(path)
    if not path.is_file():
        raise SheetError(f"{path}: no such file; check the path")
    try:
        # data_only=False: a cell the user typed as "=1+1 note" is read as typed. With
        # data_only=True openpyxl returns the cached result, which is None for a formula no
        # spreadsheet program has calculated, and the note would be lost.
        workbook = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises several unrelated types for a broken file
        raise SheetError(f"{path}: not a readable xlsx workbook ({type(exc).__name__}); save it as .xlsx") from None
    if SHEET_NAME not in workbook.sheetnames:
        raise SheetError(f"{path}: no sheet named '{SHEET_NAME}'; write a decisions sheet with 'qualcode reconcile"
                         " A B --sheet FILE.xlsx'")
    about = {}
    if ABOUT_SHEET in workbook.sheetnames:
        for row in workbook[ABOUT_SHEET].iter_rows(values_only=True):
            if row and row[0] is not None:
                about[str(row[0]).strip()] = None if len(row) < 2 or row[1] is None else str(row[1]).strip()
    rows = [[_typed(v) for v in r] for r in workbook[SHEET_NAME].iter_rows(values_only=True)]
    workbook.close()
    return about, rows


def _typed(value):
    """A cell's value as the user typed it: formula cells as their formula text, verbatim
    (``=1+1 note``), array formulas too; every other value unchanged."""
    text = getattr(value, "text", None)  # openpyxl ArrayFormula
    if text is not None and not isinstance(value, str):
        return str(text) if str(text).startswith("=") else "=" + str(text)
    return value


def sheet_settings(path: Path | str) -> dict:
    """The coders, consensus coder and unit a decisions sheet was written for (its About sheet):
    ``{"coder_a", "coder_b", "into", "unit"}``; SheetError if any is missing."""
    about, _ = _read_sheet(path)
    missing = [key for key in ("coder_a", "coder_b", "into", "unit") if not about.get(key)]
    if missing:
        raise SheetError(f"{Path(path).name}: the '{ABOUT_SHEET}' sheet lacks {', '.join(missing)}; give the coders"
                         " on the command line instead")
    return {key: about[key] for key in ("coder_a", "coder_b", "into", "unit")}


def _cell_text(value) -> str:
    if value is None:
        return ""
    text = str(value).strip()
    return text


def apply_sheet(session: Session, path: Path | str) -> dict:
    """Apply a filled decisions sheet, all or nothing (one transaction).

    Every row is validated first; the first bad cell raises SheetError naming
    it (``Decisions!L7: "maybe" is not apply, reject, A or B``) and nothing is
    saved. Blank decisions are skipped (a blank decision with a note saves the
    note as a ``skip``). A row already decided the same way is left alone.
    Returns counts: ``applied``, ``skipped``, ``unchanged``.
    """
    from openpyxl.utils import get_column_letter

    path = Path(path)
    about, rows = _read_sheet(path)
    for key, expected in (("coder_a", session.coder_a), ("coder_b", session.coder_b), ("unit", session.unit)):
        if about.get(key) not in (None, "", expected):
            option = {"unit": "--unit"}.get(key, "the coder names")
            raise SheetError(f"{path.name}: the sheet was written for {key.replace('_', ' ')} '{about[key]}', not"
                             f" '{expected}'; use {option} it was written with")
    if not rows:
        raise SheetError(f"{path.name}: the sheet '{SHEET_NAME}' is empty; write one with --sheet")
    header = [_cell_text(v) for v in rows[0]]
    columns = {}
    for name in ("Unit", "Code", "Decision", "Note"):
        if name not in header:
            if name == "Note":
                continue
            raise SheetError(f"{path.name}: sheet '{SHEET_NAME}' has no '{name}' column in row 1; keep the header"
                             " row as written by --sheet")
        columns[name] = header.index(name)

    def ref(column: str, row_number: int) -> str:
        return f"{SHEET_NAME}!{get_column_letter(columns[column] + 1)}{row_number}"

    conn = session.project.connect()
    code_ids = {r[0]: r[1] for r in conn.execute("SELECT key, code_id FROM codes")}
    unit_keys = {u.key for u in session.units}
    planned: list[tuple[Disagreement, str, str | None]] = []
    seen: dict[tuple[str, int], str] = {}
    unchanged = skipped = 0
    for row_number, row in enumerate(rows[1:], start=2):
        cells = row + [None] * (len(header) - len(row))
        unit_key = _cell_text(cells[columns["Unit"]])
        code_key = _cell_text(cells[columns["Code"]])
        raw_decision = _cell_text(cells[columns["Decision"]])
        note = _cell_text(cells[columns["Note"]]) if "Note" in columns else ""
        if not unit_key and not code_key and not raw_decision and not note:
            continue
        # cells echoed in an error are cut short: a cell pasted over with transcript text
        # (a shifted column) must not carry that text into the message
        if not unit_key:
            raise SheetError(f"{ref('Unit', row_number)}: the unit id is empty; restore it from the sheet as written")
        if unit_key not in unit_keys:
            raise SheetError(f"{ref('Unit', row_number)}: unit '{unit_key[:60]}' is not among the units"
                             f" {session.coder_a} and {session.coder_b} both coded at {session.unit} level;"
                             " write a new sheet with --sheet")
        if code_key not in code_ids:
            raise SheetError(f"{ref('Code', row_number)}: no code '{code_key[:40]}' in the codebook"
                             " (renamed or removed?); write a new sheet with --sheet")
        decision = {"apply": "apply", "reject": "reject", "a": "A", "b": "B", "": "skip"}.get(raw_decision.lower())
        if decision is None:
            raise SheetError(f'{ref("Decision", row_number)}: "{raw_decision[:20]}" is not apply, reject, A or B;'
                             " fix the cell (or leave it blank to decide later)")
        disagreement = session.find(unit_key, code_ids[code_key])
        if disagreement is None:
            raise SheetError(f"{ref('Unit', row_number)}: {unit_key} × {code_key} is no longer a disagreement between"
                             f" {session.coder_a} and {session.coder_b}; write a new sheet with --sheet")
        if disagreement.ident in seen:
            raise SheetError(f"{ref('Decision', row_number)}: {unit_key} × {code_key} appears twice (also row"
                             f" {seen[disagreement.ident]}); keep one row")
        seen[disagreement.ident] = str(row_number)
        if not disagreement.is_open:
            if decision in (disagreement.decision, "skip"):
                unchanged += 1
                continue
            raise SheetError(f"{ref('Decision', row_number)}: {unit_key} × {code_key} is already decided"
                             f" ('{disagreement.decision}'); leave the cell blank or as decided")
        if decision == "skip" and not note:
            skipped += 1
            continue
        planned.append((disagreement, decision, note or None))
    applied = 0
    # One transaction around all decisions: decide() joins it, so a failure saves none.
    with session.project.transaction():
        for disagreement, decision, note in planned:
            session.decide(disagreement, decision, note=note)
            if decision == "skip":
                skipped += 1
            else:
                applied += 1
        store.record_history(session.project.connect(), "reconcile-sheet", file=path.name, coder_a=session.coder_a,
                             coder_b=session.coder_b, into=session.into, applied=applied)
    return {"applied": applied, "skipped": skipped, "unchanged": unchanged}


def reconcile_from_sheet(project, coder_a: str, coder_b: str, path: Path | str, *, into: str = "consensus",
                         unit: str = "paragraph", codes: list[str] | None = None, carry_single: bool = True) -> dict:
    """Record the agreements and apply a filled decisions sheet, in one transaction.

    The non-interactive reconciliation: nothing is saved if any cell is bad.
    Returns ``agreements`` (newly recorded), ``applied``, ``skipped``,
    ``unchanged``, ``open`` (disagreements still open afterwards) and
    ``single`` (single-coded paragraph × code pairs carried into ``into``).
    """
    session = open_session(project, coder_a, coder_b, into=into, unit=unit, codes=codes, record_agreements=False,
                           carry_single=carry_single)
    with project.transaction():
        agreements = session.record_agreements()
        summary = apply_sheet(session, path)
    return {"agreements": agreements, **summary, "open": len(session.disagreements("open")),
            "single": len(session.carried())}


# -- the log -------------------------------------------------------------------------------

LOG_COLUMNS = ["decided_at", "coder_a", "coder_b", "into", "unit", "respondent", "code", "label", "kind", "A", "B",
               "decision", "span", "note"]


def decision_log(project, *, coder_a: str | None = None, coder_b: str | None = None, into: str | None = None,
                 include_undone: bool = False):
    """Every reconciliation decision in the order made, as a DataFrame (the audit trail).

    Columns: decided_at, coder_a, coder_b, into, unit, respondent, code,
    label, kind (agreement / presence / boundary), A and B (applied / not
    applied), decision (agreed, apply, reject, A, B, skip), span (the
    consensus span's characters, ``start–end``), note. Undone decisions are
    left out unless ``include_undone`` (then a column ``undone`` marks them).
    """
    import pandas as pd

    clauses, params = [], []
    for column, value in (("d.coder_a", coder_a), ("d.coder_b", coder_b), ("d.into_coder", into)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if not include_undone:
        clauses.append("d.undone = 0")
    sql = (
        "SELECT d.*, c.key AS code, c.label AS label, (SELECT u.respondent_id FROM units u WHERE"
        " u.document_id = d.document_id AND u.start <= d.start AND u.end > d.start LIMIT 1) AS respondent"
        " FROM decisions d JOIN codes c USING (code_id)"
    )
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY d.decision_id"
    records = []
    for r in project.connect().execute(sql, params):
        kind = "agreement" if r["decision"] == "agreed" else (
            "boundary" if r["a_applied"] and r["b_applied"] else "presence")
        record = {
            "decided_at": r["decided_at"], "coder_a": r["coder_a"], "coder_b": r["coder_b"], "into": r["into_coder"],
            "unit": r["unit_key"], "respondent": r["respondent"], "code": r["code"], "label": r["label"],
            "kind": kind, "A": "applied" if r["a_applied"] else "not applied",
            "B": "applied" if r["b_applied"] else "not applied", "decision": r["decision"],
            "span": f"{r['span_start']}–{r['span_end']}" if r["span_start"] is not None else "",
            "note": r["note"] or "",
        }
        if include_undone:
            record["undone"] = "undone" if r["undone"] else ""
        records.append(record)
    return pd.DataFrame(records, columns=LOG_COLUMNS + (["undone"] if include_undone else []))
