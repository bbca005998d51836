"""The framework matrix (respondents × codes) and code co-occurrence."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from qualcode.errors import InputError
from qualcode.themes.counts import (
    CodedRespondents, LEVEL_DEPTH, MATRIX_CELLS, check_level, coded_respondents, require_respondent_text,
    selected_keys,
)


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
    require_respondent_text(data)
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
        keys = selected_keys(tree, level, None)
        keys = [k for k in keys if tree.depth(k) == LEVEL_DEPTH[level] or not tree.by_key[k].children]
    sets = {k: (data.by_node[k].respondents if by == "respondents" else data.by_node[k].unit_indexes) for k in keys}
    matrix = [[len(sets[a] & sets[b]) for b in keys] for a in keys]
    return pd.DataFrame(matrix, index=keys, columns=keys)
