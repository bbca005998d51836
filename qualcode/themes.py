"""Respondent counts per theme, the theme table, the framework matrix and manuscript fill.

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

import re
import sqlite3
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from qualcode.codebook import CodeTree, load_tree
from qualcode.errors import InputError, NotFound, QualcodeError

LEVELS = ("theme", "subtheme", "code")
LEVEL_DEPTH = {"theme": 1, "subtheme": 2, "code": None}
NOT_RECORDED = "not recorded"
MATRIX_CELLS = ("count", "presence", "text")


# --------------------------------------------------------------------------- formatting


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
    if level not in LEVELS:
        raise InputError(f"unknown level '{level}'; choose one of {', '.join(LEVELS)}")
    return level


def _selected_keys(tree: CodeTree, level: str, codes) -> list[str]:
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


def _require_respondent_text(data: CodedRespondents) -> None:
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

    _require_respondent_text(data)
    tree = data.tree
    keys = _selected_keys(tree, level, codes)
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


# --------------------------------------------------------------------------- theme table


@dataclass
class ThemeTable:
    """The table papers print: theme / subtheme / n (%) / description / respondent ids.

    ``table`` is the display DataFrame; ``depths`` gives each row's depth in
    the codebook (1 = theme row) so writers can group subthemes under themes.
    """

    table: object  # pandas.DataFrame
    depths: list[int]
    caption: str
    counts: CountsResult


def theme_table(
    conn: sqlite3.Connection, *, coder: str | None = None, level: str = "subtheme", by: str | None = None
) -> ThemeTable:
    """The theme table for a manuscript, from ``compute_counts``."""
    counts = compute_counts(conn, coder=coder, level=level, by=by)
    return theme_table_from(counts)


def theme_table_from(counts: CountsResult) -> ThemeTable:
    import pandas as pd

    tree = counts.tree
    rows, depths = [], []
    for record in counts.table.to_dict("records"):
        depth = record["depth"]
        node = tree.by_key[record["key"]]
        label = record["label"] if depth <= 2 else "– " * (depth - 2) + record["label"]
        row = {
            "Theme": label if depth == 1 else "",
            "Subtheme": "" if depth == 1 else label,
            "n (%)": f"{record['n']} ({percent_text(record['n'], record['denominator'])})",
        }
        for value, denominator in counts.group_denominators.items():
            group_n = record[f"n ({value})"]
            row[f"{value} (N = {denominator})"] = f"{group_n} ({percent_text(group_n, denominator)})"
        row["Description"] = " ".join((node.definition or "").split())
        row["Respondents"] = record["ids"]
        rows.append(row)
        depths.append(depth)
    columns = ["Theme", "Subtheme", "n (%)", *[f"{v} (N = {d})" for v, d in counts.group_denominators.items()],
               "Description", "Respondents"]
    table = pd.DataFrame(rows, columns=columns)
    caption = (f"Themes and subthemes with the number (%) of respondents coded under each "
               f"(N = {counts.denominator} respondents; coder: {counts.coder}).")
    return ThemeTable(table=table, depths=depths, caption=caption, counts=counts)


THEME_TABLE_FORMATS = ("docx", "xlsx", "md", "tex", "csv", "json")


def write_theme_table(result: ThemeTable, path: Path | str, *, force: bool = False) -> Path:
    """Write the theme table to .docx, .xlsx, .md, .tex (booktabs), .csv or .json."""
    from qualcode.exports import atomic_write, format_from_path, table_to_text, write_xlsx

    path = Path(path)
    fmt = format_from_path(path)
    if fmt not in THEME_TABLE_FORMATS:
        raise InputError(
            f"cannot write a theme table as '{path.suffix}'; use one of {', '.join('.' + f for f in THEME_TABLE_FORMATS)}"
        )
    with atomic_write(path, force) as tmp:
        if fmt == "docx":
            _theme_table_docx(result, tmp)
        elif fmt == "xlsx":
            write_xlsx({"Themes": result.table}, tmp,
                       finish=lambda workbook: _bold_theme_rows_xlsx(workbook, result.depths))
        elif fmt == "tex":
            tmp.write_text(theme_table_latex(result), encoding="utf-8")
        elif fmt == "md":
            tmp.write_text(theme_table_markdown(result), encoding="utf-8")
        else:
            tmp.write_text(table_to_text(result.table, fmt), encoding="utf-8")
    return path


def theme_table_markdown(result: ThemeTable) -> str:
    """Markdown with theme names in bold and the caption below the table."""
    from qualcode.exports import markdown_table

    table = result.table.copy()
    for index, depth in enumerate(result.depths):
        if depth == 1 and table.at[index, "Theme"]:
            table.at[index, "Theme"] = f"**{table.at[index, 'Theme']}**"
    return markdown_table(table) + "\n" + result.caption + "\n"


def _bold_theme_rows_xlsx(workbook, depths: list[int]) -> None:
    from openpyxl.styles import Alignment, Font

    sheet = workbook.active
    for row_number, depth in enumerate(depths, start=2):
        for cell in sheet[row_number]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if depth == 1:
                cell.font = Font(bold=True)


def _set_cell_borders(cell, **edges) -> None:
    """Set Word cell borders, e.g. top="single:8" (style:eighths of a point)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    for edge, spec in edges.items():
        style, size = spec.split(":")
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), style)
        element.set(qn("w:sz"), size)
        element.set(qn("w:space"), "0")
        element.set(qn("w:color"), "000000")
        borders.append(element)


def _theme_table_docx(result: ThemeTable, path: Path) -> None:
    """A journal-style Word table: rules above and below the header and at the end, no grid;
    theme rows in bold, their subthemes indented beneath them; header repeated on each page."""
    import docx
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    document = docx.Document()
    section = document.sections[0]  # the table is sized to fit this portrait text block
    caption = document.add_paragraph()
    caption_run = caption.add_run("Table. ")
    caption_run.bold = True
    caption.add_run(result.caption)
    df = result.table
    table = document.add_table(rows=1, cols=len(df.columns))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = True
    header = table.rows[0]
    for cell, column in zip(header.cells, df.columns):
        run = cell.paragraphs[0].add_run(str(column))
        run.bold = True
        _set_cell_borders(cell, top="single:12", bottom="single:6")
    tr_pr = header._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)
    rows = list(df.itertuples(index=False))
    for row_index, (values, depth) in enumerate(zip(rows, result.depths)):
        cells = table.add_row().cells
        for column_index, (cell, value) in enumerate(zip(cells, values)):
            paragraph = cell.paragraphs[0]
            run = paragraph.add_run("" if value is None else str(value))
            if depth == 1:
                run.bold = True
            if column_index == 1 and depth > 1:
                paragraph.paragraph_format.left_indent = Cm(0.3)
            if depth == 1 and row_index > 0:
                paragraph.paragraph_format.space_before = Pt(4)
            if row_index == len(rows) - 1:
                _set_cell_borders(cell, bottom="single:12")
    for row in table.rows:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(9)
    widths = _docx_column_widths(list(df.columns), section.page_width - section.left_margin - section.right_margin)
    # Word reads the cell widths, LibreOffice the grid columns: set both.
    for column, width in zip(table.columns, widths):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width
    document.save(path)


def _docx_column_widths(columns: list[str], total) -> list:
    """Narrow columns for labels and counts, the rest for the description."""
    weights = []
    for column in columns:
        if column in ("Theme", "Subtheme"):
            weights.append(3.0)
        elif column == "Description":
            weights.append(5.0)
        elif column == "Respondents":
            weights.append(3.0)
        else:
            weights.append(1.6)
    scale = int(total) / sum(weights)
    from docx.shared import Emu

    return [Emu(int(w * scale)) for w in weights]


def _latex_escape(value) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\\", "\x00")
    for char, replacement in (("&", r"\&"), ("%", r"\%"), ("$", r"\$"), ("#", r"\#"), ("_", r"\_"),
                              ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"),
                              ("^", r"\textasciicircum{}")):
        text = text.replace(char, replacement)
    return text.replace("\x00", r"\textbackslash{}")


def theme_table_latex(result: ThemeTable) -> str:
    """A booktabs table: theme rows in bold, a little space between theme groups,
    wrapped description column. Needs \\usepackage{booktabs}."""
    df = result.table
    spec = []
    for column in df.columns:
        if column in ("Theme", "Subtheme"):
            spec.append(r"p{0.17\linewidth}")
        elif column == "Description":
            spec.append(r"p{0.28\linewidth}")
        elif column == "Respondents":
            spec.append(r"p{0.16\linewidth}")
        else:
            spec.append("r")
    lines = [r"\begin{table}[htbp]", r"\centering", r"\small",
             r"\caption{" + _latex_escape(result.caption) + "}",
             r"\begin{tabular}{" + "".join(spec) + "}", r"\toprule",
             " & ".join(r"\textbf{" + _latex_escape(c) + "}" for c in df.columns) + r" \\", r"\midrule"]
    for index, (values, depth) in enumerate(zip(df.itertuples(index=False), result.depths)):
        if depth == 1 and index > 0:
            lines.append(r"\addlinespace")
        cells = [_latex_escape(v) for v in values]
        if depth == 1:
            cells = [r"\textbf{" + c + "}" if c else c for c in cells]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- framework matrix


@dataclass
class MatrixResult:
    """Respondents × codes. ``sheets`` has one DataFrame per top-level theme (for xlsx);
    ``flat`` is one table with every code column (for csv)."""

    sheets: dict[str, object]
    flat: object
    cells: str
    coder: str
    notices: list[str]


def trim_words(text: str, max_words: int) -> str:
    """The first ``max_words`` words of ``text`` (whitespace collapsed), with '…' when cut."""
    words = text.split()
    if len(words) <= max_words:
        return " ".join(words)
    return " ".join(words[:max_words]) + " …"


def framework_matrix(
    conn: sqlite3.Connection,
    *,
    coder: str | None = None,
    cells: str = "count",
    by: str | None = None,
    max_words: int = 60,
) -> MatrixResult:
    """The framework matrix: one row per respondent with text (natural order, or grouped by
    ``by``), their attributes, then one column per code grouped by top-level theme.

    ``cells``: 'count' — coded respondent paragraphs; 'presence' — 1 when coded, else 0;
    'text' — the coded passages in document order, trimmed to ``max_words`` words
    ('…' marks a cut). A theme that has codes beneath it is shown through them.
    """
    import pandas as pd

    from qualcode.exports import sheet_title

    if cells not in MATRIX_CELLS:
        raise InputError(f"unknown cell type '{cells}'; choose one of {', '.join(MATRIX_CELLS)}")
    data = coded_respondents(conn, coder=coder)
    _require_respondent_text(data)
    tree = data.tree
    if by:
        data.check_attribute(by)
        respondents = [r for members in data.groups(by).values() for r in members]
    else:
        respondents = list(data.respondents)
    attribute_names = data.attribute_names()
    if by and by in attribute_names:
        attribute_names = [by] + [a for a in attribute_names if a != by]

    units_of: dict[tuple[str, str], int] = {}
    for key, coverage in data.by_node.items():
        for index in coverage.unit_indexes:
            pair = (data.units[index].respondent_id, key)
            units_of[pair] = units_of.get(pair, 0) + 1
    passages = _coded_passages(conn, data) if cells == "text" else {}

    def cell(respondent: str, key: str):
        if cells == "count":
            return units_of.get((respondent, key), 0)
        if cells == "presence":
            return 1 if (respondent, key) in units_of else 0
        return trim_words(" / ".join(passages.get((respondent, key), [])), max_words)

    base_rows = [{"respondent": r, **{a: data.attributes.get(r, {}).get(a) for a in attribute_names}}
                 for r in respondents]
    sheets: dict[str, object] = {}
    sheet_titles: set[str] = set()
    flat = pd.DataFrame(base_rows, columns=["respondent", *attribute_names])
    for theme in tree.roots:
        columns = tree.descendants(theme, include_self=False) or [theme]
        sheet = pd.DataFrame(base_rows, columns=["respondent", *attribute_names])
        for key in columns:
            values = [cell(r, key) for r in respondents]
            label = tree.by_key[key].label
            if tree.depth(key) > 2:
                label = tree.label_path(key)[len(tree.by_key[theme].label) + 3:]
            sheet[f"{label} [{key}]"] = values
            flat[f"{tree.label_path(key)} [{key}]"] = values
        sheets[sheet_title(tree.by_key[theme].label, sheet_titles)] = sheet
    return MatrixResult(sheets=sheets, flat=flat, cells=cells, coder=data.coder, notices=data.notices())


def _coded_passages(conn: sqlite3.Connection, data: CodedRespondents) -> dict[tuple[str, str], list[str]]:
    """The coded text of each (respondent, node), in document order: each coding clipped to the
    respondent paragraphs it overlaps (so interviewer speech never appears), overlaps merged."""
    segments: dict[tuple[str, str], list[tuple[str, int, int, int]]] = {}
    for (unit_index, coding_id) in data.overlaps:
        unit = data.units[unit_index]
        coding = data.codings[coding_id]
        document_id, unit_start, unit_end = unit.segments[0]
        start, end = max(coding.start, unit_start), min(coding.end, unit_end)
        for key in data.tree.path(coding.code_key):
            segments.setdefault((unit.respondent_id, key), []).append((unit.document or "", document_id, start, end))
    texts: dict[int, str] = {}
    result: dict[tuple[str, str], list[str]] = {}
    for pair, spans in segments.items():
        spans.sort()
        merged: list[list] = []
        for document, document_id, start, end in spans:
            if merged and merged[-1][1] == document_id and start <= merged[-1][3]:
                merged[-1][3] = max(merged[-1][3], end)
            else:
                merged.append([document, document_id, start, end])
        out = []
        for _, document_id, start, end in merged:
            if document_id not in texts:
                texts[document_id] = conn.execute(
                    "SELECT text FROM documents WHERE document_id = ?", (document_id,)).fetchone()[0]
            passage = " ".join(texts[document_id][start:end].split())
            if passage:
                out.append(passage)
        result[pair] = out
    return result


def write_matrix(result: MatrixResult, path: Path | str, *, force: bool = False) -> Path:
    """xlsx: one sheet per top-level theme; csv: the flat table. Formula-like cells neutralised."""
    from qualcode.exports import atomic_write, format_from_path, table_to_text, write_xlsx

    path = Path(path)
    fmt = format_from_path(path)
    if fmt not in ("xlsx", "csv"):
        raise InputError(f"cannot write a matrix as '{path.suffix or path.name}'; use .xlsx or .csv")
    with atomic_write(path, force) as tmp:
        if fmt == "xlsx":
            write_xlsx(result.sheets, tmp, finish=_wrap_text_columns if result.cells == "text" else None)
        else:
            tmp.write_text(table_to_text(result.flat, "csv"), encoding="utf-8")
    return path


def _wrap_text_columns(workbook) -> None:
    """Passages are long: give code columns a readable width and wrap them."""
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    for sheet in workbook.worksheets:
        for column_index, header in enumerate(sheet[1], start=1):
            if header.value and str(header.value).endswith("]"):
                sheet.column_dimensions[get_column_letter(column_index)].width = 45
                for (cell,) in sheet.iter_rows(min_row=2, min_col=column_index, max_col=column_index):
                    cell.alignment = Alignment(wrap_text=True, vertical="top")


# --------------------------------------------------------------------------- co-occurrence


def cooccurrence(
    conn: sqlite3.Connection, *, coder: str | None = None, by: str = "respondents", level: str = "code"
):
    """Code × code co-occurrence as a DataFrame indexed and labelled by key.

    ``by='respondents'``: respondents coded with both; ``by='units'``: respondent
    paragraphs coded with both. The diagonal holds each code's own n (or units).
    ``level`` chooses the nodes as in ``compute_counts`` ('code' uses the leaves).
    """
    import pandas as pd

    if by not in ("respondents", "units"):
        raise InputError(f"unknown co-occurrence unit '{by}'; choose respondents or units")
    check_level(level)
    data = coded_respondents(conn, coder=coder)
    tree = data.tree
    if level == "code":
        keys = tree.leaves()
    else:
        keys = _selected_keys(tree, level, None)
        keys = [k for k in keys if tree.depth(k) == LEVEL_DEPTH[level] or not tree.by_key[k].children]
    sets = {k: (data.by_node[k].respondents if by == "respondents" else data.by_node[k].unit_indexes) for k in keys}
    matrix = [[len(sets[a] & sets[b]) for b in keys] for a in keys]
    return pd.DataFrame(matrix, index=keys, columns=keys)


# --------------------------------------------------------------------------- manuscript fill

PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
# Only braces that start with a word are ours: "{{\\em x}}" (LaTeX) or "{{ }}" is left alone.
OURS = re.compile(r"^\s*[A-Za-z]")
# Half a placeholder: "{{n:key" never closed, or "n:key}}" never opened.
UNCLOSED = re.compile(r"\{\{\s*[A-Za-z]+\s*:")
UNOPENED = re.compile(r"\b(?:n|ids|pct)\s*:\s*[\w.\-]+[^{}]*\}\}")
PLACEHOLDER_KINDS = ("n", "ids", "pct")


@dataclass(frozen=True)
class Placeholder:
    """One ``{{kind:key|attribute=value,…}}`` found in a manuscript."""

    raw: str
    kind: str
    key: str
    filters: tuple[tuple[str, str], ...]
    where: str  # "line 12" / "paragraph 4" / "table 1, row 2, cell 3"


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class FillResult:
    """What a manuscript fill found (and, unless checking, wrote)."""

    source: Path
    out: Path | None
    placeholders: list[Placeholder]
    problems: list[Problem]
    coder: str
    notices: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)  # placeholder raw text -> replacement


def _split_unquoted(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside double quotes."""
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def parse_placeholder(raw: str, where: str) -> Placeholder:
    """Parse the inside of ``{{…}}``: ``kind:key`` then optionally ``|attr=value,attr=value``.

    Values may contain spaces as they are (``role=Support worker``); a value
    containing ',', '|' or '=' is written in double quotes (``site="North, East"``).
    Raises InputError with the position on any malformation.
    """
    body = raw.strip()
    if body.count('"') % 2:
        raise InputError(f"{where}: unbalanced double quote in '{{{{{raw}}}}}'")
    head, *rest = _split_unquoted(body, "|")
    if len(rest) > 1:
        raise InputError(f"{where}: '{{{{{raw}}}}}' has more than one '|'; join filters with ','")
    kind, colon, key = head.partition(":")
    kind, key = kind.strip(), key.strip()
    if not colon or not kind or not key:
        raise InputError(f"{where}: '{{{{{raw}}}}}' is not a placeholder of the form {{{{n:KEY}}}}, {{{{ids:KEY}}}} or {{{{pct:KEY}}}}")
    if kind not in PLACEHOLDER_KINDS:
        raise InputError(f"{where}: unknown placeholder kind '{kind}' in '{{{{{raw}}}}}'; use n, ids or pct")
    filters = []
    if rest:
        for part in _split_unquoted(rest[0], ","):
            name, equals, value = part.partition("=")
            name, value = name.strip(), value.strip()
            if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
                value = value[1:-1]
            if not equals or not name or not value:
                raise InputError(f"{where}: filter '{part.strip()}' in '{{{{{raw}}}}}' is not of the form attribute=value")
            filters.append((name, value))
    return Placeholder(raw=raw, kind=kind, key=key, filters=tuple(filters), where=where)


def placeholder_value(placeholder: Placeholder, data: CodedRespondents) -> str:
    """The replacement text: '(12)', '[SF3; SF5]' or '80%'.

    Filters restrict respondents: the same attribute repeated means any of
    its values, different attributes must all match. The % uses the filtered
    respondents with text as its denominator.
    """
    data.tree.node(placeholder.key)
    population = set(data.respondents)
    wanted: dict[str, set[str]] = {}
    for name, value in placeholder.filters:
        wanted.setdefault(name, set()).add(value)
    for name, values in wanted.items():
        data.check_attribute(name)
        known = {str(v) for attrs in data.attributes.values() if (v := attrs.get(name)) not in (None, "")}
        for value in values:
            if value not in known:
                from natsort import natsorted

                raise NotFound(f"no respondent has {name}={value} (known values: {', '.join(natsorted(known))})")
        population = {r for r in population if data.attribute_value(r, name) in values}
    coded = data.by_node[placeholder.key].respondents & population
    if placeholder.kind == "n":
        return n_text(len(coded))
    if placeholder.kind == "ids":
        return ids_text(coded) or "[none]"
    if not population:
        raise InputError(f"no respondent with text matches the filters of {{{{{placeholder.raw}}}}}, so % is undefined")
    return percent_text(len(coded), len(population))


def _scan_text(text: str, where: str, placeholders: list, problems: list) -> list[tuple[int, int, Placeholder | None]]:
    """Find placeholders in one line/paragraph; record malformed ones as problems."""
    found = []
    for match in PLACEHOLDER.finditer(text):
        if not OURS.match(match.group(1)):
            continue
        try:
            placeholder = parse_placeholder(match.group(1), where)
        except QualcodeError as exc:
            problems.append(Problem(where, str(exc).removeprefix(f"{where}: ")))
            found.append((match.start(), match.end(), None))
            continue
        placeholders.append(placeholder)
        found.append((match.start(), match.end(), placeholder))
    leftover = PLACEHOLDER.sub(lambda m: "" if OURS.match(m.group(1)) else m.group(0), text)
    if UNCLOSED.search(leftover) or UNOPENED.search(leftover):
        problems.append(Problem(where, "unmatched '{{' or '}}' (a placeholder must open and close on one line)"))
    return found


def _resolve(found, data: CodedRespondents, problems: list, values: dict) -> list[tuple[int, int, str]]:
    replacements = []
    for start, end, placeholder in found:
        if placeholder is None:
            continue
        try:
            value = placeholder_value(placeholder, data)
        except QualcodeError as exc:
            problems.append(Problem(placeholder.where, str(exc)))
            continue
        values["{{" + placeholder.raw + "}}"] = value
        replacements.append((start, end, value))
    return replacements


def _apply(text: str, replacements) -> str:
    for start, end, value in sorted(replacements, reverse=True):
        text = text[:start] + value + text[end:]
    return text


def fill_manuscript(
    conn: sqlite3.Connection,
    source: Path | str,
    out: Path | str | None = None,
    *,
    coder: str | None = None,
    check: bool = False,
    force: bool = False,
) -> FillResult:
    """Replace ``{{n:key}}``, ``{{ids:key}}`` and ``{{pct:key}}`` placeholders in a markdown /
    text or docx manuscript with counts from ``coder``'s codings.

    With ``check`` nothing is written and problems are returned. Otherwise any
    problem (malformed placeholder, unknown key, attribute or value) raises
    InputError naming each one by line (markdown) or paragraph (docx), and
    nothing is written.
    """
    source = Path(source)
    if not source.is_file():
        raise InputError(f"{source} does not exist; give the manuscript file to fill")
    suffix = source.suffix.lower()
    if suffix not in (".md", ".markdown", ".txt", ".docx"):
        raise InputError(f"cannot fill '{source.suffix}' files; use a .md (or .txt) or .docx manuscript")
    if not check:
        if out is None:
            raise InputError("give the filled file's name with --out FILE")
        out = Path(out)
        if (out.suffix.lower() == ".docx") != (suffix == ".docx"):
            raise InputError(f"--out {out.name} must have the same kind of suffix as {source.name}")
        if out.resolve() == source.resolve():
            raise InputError("--out must differ from the manuscript: the placeholders are its source")
        from qualcode.exports import check_overwrite

        check_overwrite(out, force)
    data = coded_respondents(conn, coder=coder)
    placeholders: list[Placeholder] = []
    problems: list[Problem] = []
    values: dict[str, str] = {}
    if suffix == ".docx":
        document, paragraphs = _docx_paragraphs(source)
        plan = []
        for paragraph, where in paragraphs:
            text = "".join(run.text for run in paragraph.runs)
            found = _scan_text(text, where, placeholders, problems)
            if len(PLACEHOLDER.findall(paragraph.text)) > len(PLACEHOLDER.findall(text)):
                # python-docx's paragraph.text also reads hyperlinks and fields, which runs do not hold
                problems.append(Problem(where, "a placeholder inside a hyperlink or field cannot be filled;"
                                               " remove the link around it"))
            plan.append((paragraph, _resolve(found, data, problems, values)))
    else:
        try:
            lines = source.read_text(encoding="utf-8-sig").splitlines(keepends=True)
        except UnicodeDecodeError:
            raise InputError(f"{source} is not UTF-8 text; save it as UTF-8 and try again") from None
        plan = []
        for number, line in enumerate(lines, start=1):
            found = _scan_text(line, f"line {number}", placeholders, problems)
            plan.append((line, _resolve(found, data, problems, values)))
    result = FillResult(source=source, out=None if check else out, placeholders=placeholders, problems=problems,
                        coder=data.coder, notices=data.notices(), values=values)
    if check:
        return result
    if problems:
        raise InputError(
            f"{source.name}: {len(problems)} placeholder problem(s), nothing written — "
            + "; ".join(str(p) for p in problems)
        )
    from qualcode.exports import atomic_write

    with atomic_write(out, force) as tmp:
        if suffix == ".docx":
            for paragraph, replacements in plan:
                if replacements:
                    _replace_in_runs(paragraph, replacements)
            document.save(tmp)
        else:
            tmp.write_text("".join(_apply(line, replacements) for line, replacements in plan), encoding="utf-8")
    return result


def _docx_paragraphs(path: Path):
    """Every paragraph of the body (numbered) and of tables, headers and footers, with where it is."""
    import docx

    try:
        document = docx.Document(str(path))
    except Exception:
        raise InputError(f"{path} is not a readable Word (.docx) file; open and save it again in Word") from None
    out = [(paragraph, f"paragraph {number}") for number, paragraph in enumerate(document.paragraphs, start=1)]
    for table_number, table in enumerate(document.tables, start=1):
        for row_number, row in enumerate(table.rows, start=1):
            seen = set()
            for cell_number, cell in enumerate(row.cells, start=1):
                if id(cell._tc) in seen:  # merged cells repeat
                    continue
                seen.add(id(cell._tc))
                for paragraph in cell.paragraphs:
                    out.append((paragraph, f"table {table_number}, row {row_number}, cell {cell_number}"))
    for section_number, section in enumerate(document.sections, start=1):
        for part_name, part in (("header", section.header), ("footer", section.footer)):
            if part.is_linked_to_previous and section_number > 1:
                continue
            for paragraph in part.paragraphs:
                out.append((paragraph, f"section {section_number} {part_name}"))
    return document, out


def _replace_in_runs(paragraph, replacements: list[tuple[int, int, str]]) -> None:
    """Replace character ranges of a paragraph's run text, even when Word split a placeholder
    over several runs: the replacement takes the formatting of the run where the placeholder
    starts; the rest of the placeholder is removed from the following runs, whose other text
    and formatting stay as they were."""
    runs = list(paragraph.runs)
    for start, end, value in sorted(replacements, reverse=True):
        offset = 0
        first = True
        for run in runs:
            text = run.text
            run_start, run_end = offset, offset + len(text)
            offset = run_end
            if run_end <= start or run_start >= end:
                continue
            cut_from, cut_to = max(start, run_start) - run_start, min(end, run_end) - run_start
            if first:
                run.text = text[:cut_from] + value + text[cut_to:]
                first = False
            else:
                run.text = text[:cut_from] + text[cut_to:]
