"""A reconciliation session: the comparison of two coders, decisions saved one at a time, and the
consensus coder's codings they create (undo included).
"""

from __future__ import annotations

import sqlite3

from qualcode import store
from qualcode.errors import InputError, NotFound
from qualcode.reconcile.disagreements import (
    Agreement, CLOSING_DECISIONS, Carried, DECISIONS, Disagreement, RECONCILE_LEVELS, Undone, compared_units,
    inside_segments, with_decision,
)
from qualcode.units import clip_spans, merge_intervals


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
            current = d if row is None else with_decision(d, row["decision"], row["note"])
            if state is None or (state == "open") == current.is_open:
                out.append(current)
        return out

    def disagreements_at(self, unit_key: str, state: str | None = None) -> list[Disagreement]:
        """The disagreements on one unit (``unit_key``, e.g. ``SF1.txt#4``) in codebook order, each with its
        current decision; ``state`` filters as in ``disagreements``. Empty when the unit has none."""
        return [d for d in self.disagreements(state) if d.unit_key == unit_key]

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
        return base if row is None else with_decision(base, row["decision"], row["note"])

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
            if not inside_segments(self._segments[base.unit_key], start, end, base.text, base.start):
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
