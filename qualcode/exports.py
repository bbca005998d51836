"""Writers shared by every command that produces a file or a listing.

Files are written to a temporary file beside the target and renamed into
place, so a reader never sees half a file and a failure leaves nothing. An
existing file is not overwritten without ``force``. Any text cell that a
spreadsheet would read as a formula is neutralised.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from qualcode.errors import InputError, OverwriteRefused

# A cell starting with one of these is evaluated by Excel or LibreOffice
# (OWASP "CSV injection"): prefix it with an apostrophe-like neutraliser.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """Neutralise a text value that a spreadsheet would evaluate as a formula.

    The value keeps its visible text behind a leading apostrophe (which Excel
    and LibreOffice hide and treat as "this is text"). Non-text values pass
    through unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def check_overwrite(path: Path | str, force: bool) -> Path:
    """Refuse to replace an existing file unless ``force``; return the path."""
    path = Path(path)
    if path.exists() and not force:
        raise OverwriteRefused(f"{path} already exists; choose another name or add --force to replace it")
    if path.exists() and path.is_dir():
        raise InputError(f"{path} is a folder; give a file name")
    if not path.parent.exists():
        raise InputError(f"the folder {path.parent} does not exist; create it first")
    return path


def _default_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_write(path: Path | str, force: bool = False) -> Iterator[Path]:
    """``with atomic_write(out, force) as tmp:`` write to ``tmp``; it replaces ``out`` on success."""
    path = check_overwrite(path, force)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates files readable by the owner only; give the output the
        # mode an ordinary new file would get (or keep the replaced file's mode).
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else _default_file_mode())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


TABLE_FORMATS = ("table", "csv", "json", "md")
FILE_FORMATS = ("csv", "json", "md", "xlsx", "docx", "tex")


def format_from_path(path: Path | str) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"markdown": "md", "latex": "tex"}.get(suffix, suffix)


def table_to_text(df, fmt: str) -> str:
    """A DataFrame as csv, json (records) or markdown text, formula cells (and headers) neutralised for csv."""
    if fmt == "csv":
        return df.map(safe_cell).rename(columns=safe_cell).to_csv(index=False)
    if fmt == "json":
        return df.to_json(orient="records", force_ascii=False, indent=2) + "\n"
    if fmt == "md":
        return markdown_table(df)
    raise InputError(f"unknown format '{fmt}'; choose csv, json or md")


def _md_escape(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).replace("|", "\\|").replace("\n", "<br>")


def markdown_table(df) -> str:
    """A GitHub-flavoured markdown table (no extra dependency)."""
    columns = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(_md_escape(c) for c in columns) + " |",
             "| " + " | ".join("---" for _ in columns) + " |"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_md_escape(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def write_table(df, path: Path | str, *, force: bool = False, sheet_name: str = "Table", title: str | None = None) -> Path:
    """Write a DataFrame to csv, json, md, xlsx or docx, chosen by the file suffix."""
    path = Path(path)
    fmt = format_from_path(path)
    if fmt not in FILE_FORMATS:
        raise InputError(f"cannot write '{path.suffix}' files; use one of: {', '.join('.' + f for f in FILE_FORMATS)}")
    with atomic_write(path, force) as tmp:
        if fmt in ("csv", "json", "md"):
            tmp.write_text(table_to_text(df, fmt), encoding="utf-8")
        elif fmt == "xlsx":
            write_xlsx({sheet_name: df}, tmp)
        elif fmt == "docx":
            write_docx_table(df, tmp, title=title)
        elif fmt == "tex":
            tmp.write_text(latex_table(df, caption=title), encoding="utf-8")
    return path


def write_xlsx(sheets: dict, path: Path | str, *, finish: Callable | None = None) -> None:
    """Write {sheet name: DataFrame} to an xlsx workbook: bold frozen header, autofilter,
    wrapped text, sensible column widths, formula-like cells neutralised.

    ``finish(workbook)``, if given, adds a caller's own styling (bold rows, wider
    columns) to the openpyxl workbook just before it is saved, so the file is
    written once rather than saved, read back and saved again."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for name, df in sheets.items():
        sheet = workbook.create_sheet(title=sheet_title(name, used))
        sheet.append([safe_cell(str(c)) for c in df.columns])  # a header from a label is text too
        for row in df.itertuples(index=False):
            sheet.append([_xlsx_value(v) for v in row])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        if len(df.columns):
            sheet.auto_filter.ref = sheet.dimensions
        for index, column in enumerate(df.columns, start=1):
            values = [str(column)] + [str(v) for v in df[column].tolist() if v is not None]
            width = min(max((len(v) for v in values), default=8) + 2, 60)
            sheet.column_dimensions[get_column_letter(index)].width = max(width, 8)
            if width >= 60:
                for cell in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell[0].alignment = Alignment(wrap_text=True, vertical="top")
    if finish is not None:
        finish(workbook)
    workbook.save(path)


def sheet_title(name: str, used: set[str]) -> str:
    """A sheet title Excel accepts (no []:*?/\\, at most 31 characters) that is not yet in ``used``
    (compared without case, as Excel does): names cut to the same 31 characters get " 2", " 3", …"""
    base = ("".join("_" if ch in '[]:*?/\\' else ch for ch in str(name)).strip("'") or "Sheet")[:31]
    title, number = base, 2
    while title.lower() in used:
        suffix = f" {number}"
        title, number = base[:31 - len(suffix)] + suffix, number + 1
    used.add(title.lower())
    return title


def _xlsx_value(value):
    try:
        import numpy as np

        if isinstance(value, np.generic):
            value = value.item()
    except ImportError:  # pragma: no cover - numpy comes with pandas
        pass
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, (list, tuple, dict)):
        value = str(value)
    return safe_cell(value)


def write_docx_table(df, path: Path | str, *, title: str | None = None) -> None:
    """A real Word table (header row repeated on each page) for a manuscript."""
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    if title:
        document.add_heading(title, level=2)
    table = document.add_table(rows=1, cols=len(df.columns))
    table.style = "Table Grid"
    header = table.rows[0]
    for cell, column in zip(header.cells, df.columns):
        cell.text = ""
        run = cell.paragraphs[0].add_run(str(column))
        run.bold = True
    tr_pr = header._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)
    for row in df.itertuples(index=False):
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = "" if value is None or (isinstance(value, float) and value != value) else str(value)
    document.save(path)


def latex_table(df, caption: str | None = None) -> str:
    """A booktabs LaTeX table."""
    def escape(value) -> str:
        text = "" if value is None or (isinstance(value, float) and value != value) else str(value)
        for char, replacement in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"),
                                  ("#", r"\#"), ("_", r"\_"), ("{", r"\{"), ("}", r"\}"),
                                  ("~", r"\textasciitilde{}"), ("^", r"\textasciicircum{}")):
            if char == "\\":
                text = text.replace(char, "\x00")
            else:
                text = text.replace(char, replacement)
        return text.replace("\x00", r"\textbackslash{}")

    spec = "l" * len(df.columns)
    lines = [r"\begin{table}", r"\centering"]
    if caption:
        lines.append(r"\caption{" + escape(caption) + "}")
    lines += [r"\begin{tabular}{" + spec + "}", r"\toprule",
              " & ".join(escape(c) for c in df.columns) + r" \\", r"\midrule"]
    for row in df.itertuples(index=False):
        lines.append(" & ".join(escape(v) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"
