"""The theme table papers print (theme / subtheme / n (%) / description / ids), and its writers."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from qualcode.errors import InputError
from qualcode.themes.counts import CountsResult, compute_counts, percent_text


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
