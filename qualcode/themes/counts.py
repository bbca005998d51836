"""Respondent counts per theme, subtheme and code, and the roll-up beneath each theme.

The counting rule (docs/counts.md): a respondent counts for a code when at
least one coding of that code — or, for a theme, of any code beneath it —
overlaps a unit that belongs to that respondent. Units are paragraphs of
respondent turns, so interviewer speech never counts: a coding that spans an
interviewer turn and a respondent turn counts only for the respondent turn.
A theme's n is the number of distinct respondents coded anywhere beneath it,
never a sum of its children.

The denominator is the number of respondents with at least one respondent
unit (some transcript text); respondents without text are left out of it and
named in a notice.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from qualcode.codebook import CodeTree, load_tree
from qualcode.errors import InputError, NotFound


LEVELS = ("theme", "subtheme", "code")
LEVEL_DEPTH = {"theme": 1, "subtheme": 2, "code": None}
NOT_RECORDED = "not recorded"
MATRIX_CELLS = ("count", "presence", "text")


def percent(n: int, denominator: int, digits: int = 0) -> float | None:
    """``n`` of ``denominator`` as a percentage rounded half up (so 12.5 → 13, not 12)."""
    if not denominator:
        return None
    quantum = Decimal(1).scaleb(-digits)
    value = (Decimal(n) * 100 / Decimal(denominator)).quantize(quantum, rounding=ROUND_HALF_UP)
    return float(value)


def percent_text(n: int, denominator: int) -> str:
    """``'86%'`` — a whole-number percentage as papers print it."""
    value = percent(n, denominator)
    return "" if value is None else f"{int(value)}%"


def ids_text(respondent_ids) -> str:
    """``'[SF3; SF5; SF10]'``: respondent ids in natural order (SF2 before SF10); '' when there are none."""
    from natsort import natsorted

    ids = natsorted(set(respondent_ids))
    return "[" + "; ".join(ids) + "]" if ids else ""


def n_text(n: int) -> str:
    return f"({n})"


# --------------------------------------------------------------------------- coverage


@dataclass
class NodeCoverage:
    """Who and what a code (rolled up over everything beneath it) touches."""

    respondents: set[str] = field(default_factory=set)
    unit_indexes: set[int] = field(default_factory=set)
    documents: set[int] = field(default_factory=set)


@dataclass
class CodedRespondents:
    """One coder's codings turned into respondents per code, with everything counts are built from.

    ``by_node`` is rolled up: a theme holds the union of its own codings and
    those of every code beneath it. ``respondents`` are the respondents with
    text (the denominator), in natural order.
    """

    coder: str
    tree: CodeTree
    respondents: list[str]
    without_text: list[str]
    attributes: dict[str, dict[str, str | None]]
    units: list  # qualcode.units.Unit, respondent paragraphs
    by_node: dict[str, NodeCoverage]
    codings: dict[int, object]  # coding_id -> qualcode.codings.Coding
    overlaps: dict[tuple[int, int], int]  # (unit index, coding_id) -> characters
    uncounted_codings: int = 0  # codings that touch no respondent unit (interviewer speech only)
    # respondents whose paragraphs this coder was handed, when the coder was given a sample
    sampled_respondents: list[str] | None = None
    documents_without_respondent: int = 0  # documents whose respondent units belong to nobody

    @property
    def denominator(self) -> int:
        return len(self.respondents)

    def attribute_names(self) -> list[str]:
        names: list[str] = []
        for attrs in self.attributes.values():
            for name in attrs:
                if name not in names:
                    names.append(name)
        return names

    def attribute_value(self, respondent_id: str, attribute: str) -> str:
        value = self.attributes.get(respondent_id, {}).get(attribute)
        return NOT_RECORDED if value is None or str(value).strip() == "" else str(value)

    def check_attribute(self, attribute: str) -> None:
        if attribute not in self.attribute_names():
            known = ", ".join(self.attribute_names()) or "none — import respondents.csv first"
            raise NotFound(f"no respondent attribute '{attribute}' (known attributes: {known})")

    def groups(self, attribute: str) -> dict[str, list[str]]:
        """Respondents with text grouped by their value of ``attribute`` (values in natural order, missing last)."""
        from natsort import natsorted

        self.check_attribute(attribute)
        grouped: dict[str, list[str]] = {}
        for respondent in self.respondents:
            grouped.setdefault(self.attribute_value(respondent, attribute), []).append(respondent)
        order = natsorted(v for v in grouped if v != NOT_RECORDED)
        if NOT_RECORDED in grouped:
            order.append(NOT_RECORDED)
        return {value: grouped[value] for value in order}

    def notices(self) -> list[str]:
        out = []
        if self.without_text:
            out.append(
                f"left out of the denominator (no respondent text): {', '.join(self.without_text)}"
            )
        coded = set().union(*(c.respondents for c in self.by_node.values())) if self.by_node else set()
        # a coder handed a sample (e.g. the second coder) whose codings stay inside it; a consensus
        # that carries the first coder's work beyond the sample is not one
        if (self.sampled_respondents is not None and len(self.sampled_respondents) < len(self.respondents)
                and coded <= set(self.sampled_respondents)):
            out.append(
                f"'{self.coder}' coded a sample: paragraphs of {len(self.sampled_respondents)} of the"
                f" {len(self.respondents)} respondents ({', '.join(self.sampled_respondents)}); n and % still use all"
                f" {len(self.respondents)} as the denominator. For the study's counts use --coder consensus"
                " or the coder who coded everything"
            )
        if self.uncounted_codings:
            out.append(
                f"{self.uncounted_codings} coding(s) by '{self.coder}' lie entirely in interviewer speech"
                " (or text of no respondent) and are not counted"
            )
        return out


def resolve_coder(conn: sqlite3.Connection, coder: str | None) -> str:
    """The coder to report from: the one named (it must exist), else the default coder.

    The default is 'consensus' when it has codings, else the only coder with
    codings. Several coders and no consensus is an error asking for --coder.
    """
    from qualcode import store
    from qualcode.codings import default_coder

    if coder is not None:
        store.coder_id(conn, coder)
        return coder
    chosen = default_coder(conn)
    if chosen is not None:
        return chosen
    names = [r[0] for r in conn.execute(
        "SELECT DISTINCT k.name FROM codings c JOIN coders k USING (coder_id) ORDER BY k.name")]
    if not names:
        raise InputError("there are no codings in this project yet; code some transcripts first (e.g. 'qualcode apply')")
    raise InputError(
        f"several coders have codings ({', '.join(names)}) and there is no 'consensus' coder;"
        " choose one with --coder NAME (or reconcile them into 'consensus')"
    )


def coded_respondents(conn: sqlite3.Connection, *, coder: str | None = None) -> CodedRespondents:
    """Apply the counting rule to one coder's codings (default: see ``resolve_coder``)."""
    from natsort import natsorted

    from qualcode import units as units_module
    from qualcode.codings import load_codings
    from qualcode.respondents import load_attributes

    coder = resolve_coder(conn, coder)
    tree = load_tree(conn)
    if not len(tree):
        raise InputError("the project has no codebook yet; import one with 'qualcode codebook import FILE'")
    units = [u for u in units_module.load_units(conn, "paragraph", respondents_only=True) if u.respondent_id]
    attributes = load_attributes(conn)
    with_text = natsorted({u.respondent_id for u in units})
    without_text = natsorted(set(attributes) - set(with_text))
    for respondent in with_text:
        attributes.setdefault(respondent, {})

    codings = {c.coding_id: c for c in load_codings(conn, coders=[coder]) if c.code_key in tree}
    overlaps = units_module.coverage(units, ((c.coding_id, c.document_id, c.start, c.end) for c in codings.values()))
    direct: dict[str, NodeCoverage] = {}
    touched: set[int] = set()
    for (unit_index, coding_id) in overlaps:
        touched.add(coding_id)
        unit = units[unit_index]
        coverage = direct.setdefault(codings[coding_id].code_key, NodeCoverage())
        coverage.respondents.add(unit.respondent_id)
        coverage.unit_indexes.add(unit_index)
        coverage.documents.add(unit.segments[0][0])
    by_node: dict[str, NodeCoverage] = {}
    for key in tree.preorder():
        rolled = NodeCoverage()
        for below in tree.descendants(key):
            part = direct.get(below)
            if part is not None:
                rolled.respondents |= part.respondents
                rolled.unit_indexes |= part.unit_indexes
                rolled.documents |= part.documents
        by_node[key] = rolled
    assigned = [r[0] for r in conn.execute(
        "SELECT DISTINCT u.respondent_id FROM assignments a JOIN units u USING (unit_id)"
        " JOIN coders k ON k.coder_id = a.coder_id WHERE k.name = ? AND u.role = 'respondent'"
        " AND u.respondent_id IS NOT NULL", (coder,))]
    return CodedRespondents(
        coder=coder, tree=tree, respondents=with_text, without_text=without_text, attributes=attributes,
        units=units, by_node=by_node, codings=codings, overlaps=overlaps,
        uncounted_codings=len(codings) - len(touched),
        sampled_respondents=natsorted(assigned) if assigned else None,
        documents_without_respondent=conn.execute(
            "SELECT count(DISTINCT document_id) FROM units WHERE role = 'respondent' AND respondent_id IS NULL"
        ).fetchone()[0],
    )


# --------------------------------------------------------------------------- counts


@dataclass
class CountsResult:
    """Respondent counts per codebook node.

    ``table`` columns: key, label, depth, path, n, pct, denominator, units,
    documents, ids — and with ``by`` one ``n (VALUE)`` and ``pct (VALUE)``
    column pair per attribute value (``group_denominators`` gives each
    value's denominator).
    """

    table: object  # pandas.DataFrame
    coder: str
    level: str
    denominator: int
    respondents: list[str]
    left_out: list[str]
    notices: list[str]
    by: str | None = None
    group_denominators: dict[str, int] = field(default_factory=dict)
    tree: CodeTree | None = None

    def description(self) -> str:
        """'coder: consensus; N = 14 respondents with text' (+ groups), for titles and captions."""
        text = f"coder: {self.coder}; N = {self.denominator} respondents with text"
        if self.by:
            groups = ", ".join(f"{value} {n}" for value, n in self.group_denominators.items())
            text += f"; by {self.by}: {groups}"
        return text

    def display(self):
        """The counts as a terminal table shows them: labels indented by depth, whole
        percentages (rounded half up from the counts, not re-rounded from the 1-decimal
        ``pct``) beside each n, then units, documents and ids."""
        view = self.table.copy()
        view["label"] = ["  " * (depth - 1) + label for label, depth in zip(view["label"], view["depth"])]
        view["%"] = [percent_text(n, d) for n, d in zip(view["n"], view["denominator"])]
        groups = [c[len("n ("):-1] for c in self.table.columns if c.startswith("n (")]
        for value in groups:
            view[f"% ({value})"] = [percent_text(n, self.group_denominators[value]) for n in view[f"n ({value})"]]
        keep = ["key", "label", "n", "%"] + [c for value in groups for c in (f"n ({value})", f"% ({value})")] + \
               ["units", "documents", "ids"]
        return view[keep]


def check_level(level: str) -> str:
    """``level`` itself when it is one of LEVELS; an InputError naming the choices otherwise."""
    if level not in LEVELS:
        raise InputError(f"unknown level '{level}'; choose one of {', '.join(LEVELS)}")
    return level


def selected_keys(tree: CodeTree, level: str, codes) -> list[str]:
    """The codebook keys (preorder) a table at ``level`` shows, limited to ``codes`` when given."""
    max_depth = LEVEL_DEPTH[check_level(level)]
    keys = [k for k in tree.preorder() if max_depth is None or tree.depth(k) <= max_depth]
    if codes is not None:
        wanted = list(codes)
        for key in wanted:
            tree.node(key)
        keys = [k for k in keys if k in set(wanted)]
    return keys


def compute_counts(
    conn: sqlite3.Connection,
    *,
    coder: str | None = None,
    level: str = "code",
    by: str | None = None,
    codes=None,
) -> CountsResult:
    """Distinct respondents per codebook node (rolled up), with %, units, documents and ids.

    ``level`` limits the rows: 'theme' (depth 1), 'subtheme' (depth ≤ 2) or
    'code' (every node). ``codes`` limits them to the given keys. ``by`` names
    a respondent attribute whose values split n and % into extra columns.
    """
    check_level(level)
    data = coded_respondents(conn, coder=coder)
    return counts_from(data, level=level, by=by, codes=codes)


def require_respondent_text(data: CodedRespondents) -> None:
    """Counts need respondents with text; say why there are none and what to do."""
    if data.denominator:
        return
    if data.documents_without_respondent:
        raise InputError(
            f"no respondent has any transcript text: {data.documents_without_respondent} document(s) belong to no"
            " respondent (e.g. imported from REFI-QDA without cases); attribute each with"
            " 'qualcode respondents assign DOCUMENT RESPONDENT_ID'"
        )
    raise InputError("no respondent has any transcript text in this project; import transcripts first")


def counts_from(data: CodedRespondents, *, level: str = "code", by: str | None = None, codes=None) -> CountsResult:
    """``compute_counts`` on an already computed ``CodedRespondents``."""
    import pandas as pd

    require_respondent_text(data)
    tree = data.tree
    keys = selected_keys(tree, level, codes)
    groups = data.groups(by) if by else {}
    rows = []
    for key in keys:
        node = tree.by_key[key]
        coverage = data.by_node[key]
        n = len(coverage.respondents)
        row = {
            "key": key, "label": node.label, "depth": tree.depth(key), "path": tree.label_path(key),
            "n": n, "pct": percent(n, data.denominator, 1), "denominator": data.denominator,
            "units": len(coverage.unit_indexes), "documents": len(coverage.documents),
            "ids": ids_text(coverage.respondents),
        }
        for value, members in groups.items():
            group_n = len(coverage.respondents & set(members))
            row[f"n ({value})"] = group_n
            row[f"pct ({value})"] = percent(group_n, len(members), 1)
        rows.append(row)
    columns = ["key", "label", "depth", "path", "n", "pct", "denominator", "units", "documents", "ids"]
    for value in groups:
        columns += [f"n ({value})", f"pct ({value})"]
    table = pd.DataFrame(rows, columns=columns)
    return CountsResult(
        table=table, coder=data.coder, level=level, denominator=data.denominator,
        respondents=list(data.respondents), left_out=list(data.without_text), notices=data.notices(),
        by=by, group_denominators={value: len(members) for value, members in groups.items()}, tree=tree,
    )
