"""Coding exchange: codings made elsewhere (R, a script, another tool) in and out as CSV.

Two formats, told apart by their header row (see docs/coding-sheets.md):

- ``spans``: ``coder,document,start,end,code`` — character offsets (Python
  string indices, end exclusive) into the document text as stored;
- ``units``: ``coder,unit,code`` — a paragraph unit id such as ``SF4.docx#12``;
  the coding covers the whole paragraph.

An optional ``memo`` column is kept in both. Imports are validated row by row
(unknown document, unit or code, a span outside its document) before anything
is written, and are all or nothing. A coder who is not in the project yet is
created. Rows identical to a coding the coder already has are not added twice.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from qualcode import store
from qualcode.errors import InputError

FORMATS = {
    "spans": ("coder", "document", "start", "end", "code"),
    "units": ("coder", "unit", "code"),
}
OPTIONAL_COLUMNS = ("memo",)
MAX_PROBLEMS_SHOWN = 5


@dataclass
class ExchangeImportResult:
    """What ``import_codings`` read and stored."""

    path: Path
    format: str
    rows: int
    added: int
    already_present: int
    coders: list[str] = field(default_factory=list)
    created_coders: list[str] = field(default_factory=list)
    # how the file was read, e.g. decoded as Windows-1252; for the user to check
    notices: list[str] = field(default_factory=list)


@dataclass
class ExchangeExportResult:
    """What ``export_codings`` wrote (``text`` holds the CSV when no file was given)."""

    path: Path | None
    format: str
    rows: int
    coders: list[str]
    text: str | None = None


def detect_format(header: list[str]) -> str | None:
    """``spans`` or ``units`` from a header row (case and surrounding spaces ignored), else None."""
    columns = {h.strip().lower() for h in header if h is not None}
    for name, required in FORMATS.items():
        if set(required) <= columns:
            return name
    return None


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]], list[str]]:
    """Header, ``(file line, cells)`` rows and reading notices of an exchange CSV (the shared reader:
    UTF-8, UTF-16 or Windows-1252; comma, semicolon, tab or bar)."""
    from qualcode.tables import CsvEmpty, read_csv

    if path.suffix.lower() in (".xlsx", ".xls", ".ods"):
        raise InputError(f"{path.name} is a spreadsheet; save it as CSV first, or, for a coding sheet, "
                         "use 'qualcode sheet import'")
    try:
        table = read_csv(path, what="coding")
    except CsvEmpty:
        raise InputError(f"{path.name} is empty; it needs a header row such as coder,document,start,end,code") from None
    return table.header, [(row.line, row.cells) for row in table.rows], table.notices


def import_codings(project, path: Path | str, fmt: str | None = None) -> ExchangeImportResult:
    """Import codings from a CSV in the spans or units format (detected from the header when ``fmt`` is None).

    Every row is checked before anything is written; problems name the line
    (``codings.csv line 7: unknown code 'work.tol'``). Codings get origin
    ``import`` and the project's current codebook version. All or nothing.
    """
    from qualcode.codebook import load_tree

    path = Path(path)
    header, records, notices = _read_rows(path)
    fmt, index = _checked_layout(path, header, fmt)
    if not records:
        raise InputError(f"{path.name} has a header but no codings")
    conn = project.connect()
    tree = load_tree(conn)
    parsed = _parsed_records(conn, path, fmt, index, records, tree)
    return _store_codings(project, path, fmt, parsed, tree, notices)


def _checked_layout(path: Path, header: list[str], fmt: str | None) -> tuple[str, dict[str, int]]:
    """The layout (given or detected from the header) and the position of each of its columns."""
    columns = [h.strip().lower() for h in header]
    detected = detect_format(columns)
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"unknown exchange layout '{fmt}'; choose spans or units")
    fmt = fmt or detected
    if fmt is None or not set(FORMATS[fmt]) <= set(columns):
        wanted = " or ".join(",".join(cols) for name, cols in FORMATS.items() if fmt in (None, name))
        raise InputError(f"{path.name} line 1: the header must name the columns {wanted} (found: {','.join(header)})")
    allowed = set(FORMATS[fmt]) | set(OPTIONAL_COLUMNS)
    unknown = [h for h in columns if h and h not in allowed]
    if unknown:
        raise InputError(f"{path.name} line 1: column '{unknown[0]}' is not part of the {fmt} format "
                         f"({', '.join(FORMATS[fmt])}, optional memo); remove it")
    return fmt, {name: columns.index(name) for name in allowed if name in columns}


def _parsed_records(conn: sqlite3.Connection, path: Path, fmt: str, index: dict[str, int], records, tree) -> list:
    """Each row as (coder, code, document_id, start, end, memo), or an InputError listing every row's problem."""
    from qualcode.documents import document_ids_by_name
    from qualcode.units import parse_paragraph_key

    documents = document_ids_by_name(conn)
    lengths = {r[0]: r[1] for r in conn.execute("SELECT document_id, length(text) FROM documents")}
    paragraph_spans = {}
    if fmt == "units":
        for document_id, seq, start, end in conn.execute("SELECT document_id, seq, start, end FROM units"):
            paragraph_spans[(document_id, seq)] = (start, end)

    problems: list[str] = []
    parsed = []
    for line, record in records:
        def cell(name: str) -> str:
            position = index.get(name)
            return record[position].strip() if position is not None and position < len(record) else ""

        where = f"line {line}"
        coder = cell("coder")
        code = cell("code")
        if not coder:
            problems.append(f"{where}: the coder is empty")
        if code not in tree:
            problems.append(f"{where}: unknown code '{code[:40]}'; use a code key from 'qualcode codebook show'")
        elif tree.by_key[code].children:
            problems.append(f"{where}: '{code}' is a theme, not a code; code with the codes beneath it")
        if fmt == "spans":
            document = cell("document")
            document_id = documents.get(document)
            if document_id is None:
                problems.append(f"{where}: unknown document '{document[:60]}'")
                continue
            try:
                start, end = int(cell("start")), int(cell("end"))
            except ValueError:
                problems.append(f"{where}: start and end must be whole numbers (character offsets)")
                continue
            if not 0 <= start < end <= lengths[document_id]:
                problems.append(f"{where}: span {start}–{end} does not lie inside {document} "
                                f"(0–{lengths[document_id]}, start before end)")
                continue
        else:
            unit = cell("unit")
            try:
                document, seq = parse_paragraph_key(unit)
            except InputError:
                problems.append(f"{where}: '{unit[:60]}' is not a paragraph unit id such as SF4.docx#12")
                continue
            document_id = documents.get(document)
            if document_id is None or (document_id, seq) not in paragraph_spans:
                problems.append(f"{where}: unknown unit '{unit[:60]}'")
                continue
            start, end = paragraph_spans[(document_id, seq)]
        if coder and code in tree and not tree.by_key[code].children:
            parsed.append((coder, code, document_id, start, end, cell("memo") or None))
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = len(problems) - MAX_PROBLEMS_SHOWN
        raise InputError(f"{path.name}: {len(problems)} problem{'s' if len(problems) != 1 else ''}, nothing was "
                         f"imported: {shown}" + (f"; and {more} more" if more > 0 else ""))
    return parsed


def _store_codings(project, path: Path, fmt: str, parsed: list, tree, notices) -> ExchangeImportResult:
    """Add the parsed codings in one transaction, skipping those already in the project."""
    from qualcode.codebook import current_version_id
    from qualcode.codings import add_codings

    conn = project.connect()
    known_coders = set(store.coder_names(conn))
    result = ExchangeImportResult(path=path, format=fmt, rows=len(parsed), added=0, already_present=0,
                                  notices=notices)
    with project.transaction() as conn:
        coder_ids = {name: store.get_or_create_coder(conn, name) for name in dict.fromkeys(p[0] for p in parsed)}
        existing = {
            tuple(r) for r in conn.execute("SELECT coder_id, code_id, document_id, start, end FROM codings")
        }
        version_id = current_version_id(conn)
        new_rows = []
        for coder, code, document_id, start, end, memo in parsed:
            signature = (coder_ids[coder], tree.by_key[code].code_id, document_id, start, end)
            if signature in existing:
                result.already_present += 1
                continue
            existing.add(signature)
            new_rows.append({"coder_id": coder_ids[coder], "code_id": tree.by_key[code].code_id,
                             "document_id": document_id, "start": start, "end": end, "origin": "import",
                             "codebook_version_id": version_id, "memo": memo})
        result.added = add_codings(conn, new_rows)
        result.coders = sorted(coder_ids)
        result.created_coders = sorted(set(coder_ids) - known_coders)
        store.record_history(conn, "codings import", path=str(path), format=fmt, rows=len(parsed),
                             added=result.added, coders=result.coders)
    return result


def codings_rows(conn: sqlite3.Connection, fmt: str, coders: list[str] | None = None) -> list[dict]:
    """The project's codings as exchange rows: spans (one per coding) or units (one per coder,
    paragraph and code that a coding overlaps), sorted by coder, document and position."""
    from natsort import natsort_keygen

    from qualcode.codings import load_codings
    from qualcode.units import coverage, load_units

    if fmt not in FORMATS:
        raise InputError(f"unknown exchange layout '{fmt}'; choose spans or units")
    if coders:
        for name in coders:
            store.coder_id(conn, name)  # NotFound lists the known coders
    codings = load_codings(conn, coders=coders or None)
    natural = natsort_keygen()
    if fmt == "spans":
        rows = [{"coder": c.coder, "document": c.document, "start": c.start, "end": c.end, "code": c.code_key,
                 "memo": c.memo or ""} for c in codings]
        rows.sort(key=lambda r: (r["coder"], natural(r["document"]), r["start"], r["end"], r["code"]))
        return rows
    paragraphs = load_units(conn, "paragraph", respondents_only=False)
    covered = coverage(paragraphs, (((c.coder, c.code_key), c.document_id, c.start, c.end) for c in codings))
    rows = [{"coder": coder, "unit": paragraphs[i].key, "code": code, "_order": (natural(paragraphs[i].document), i)}
            for (i, (coder, code)) in covered]
    rows.sort(key=lambda r: (r["coder"], r["_order"], r["code"]))
    for row in rows:
        del row["_order"]
    return rows


def export_codings(
    conn: sqlite3.Connection,
    out: Path | str | None,
    fmt: str = "spans",
    coders: list[str] | None = None,
    *,
    force: bool = False,
) -> ExchangeExportResult:
    """Write codings as CSV in the spans or units format to ``out`` (or return the text when ``out``
    is None or ``-``). Cells a spreadsheet would read as formulas are neutralised."""
    from qualcode.exports import atomic_write, safe_cell

    rows = codings_rows(conn, fmt, coders)
    columns = list(FORMATS[fmt]) + (["memo"] if fmt == "spans" else [])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(row[c]) for c in columns])
    text = buffer.getvalue()
    names = sorted({r["coder"] for r in rows})
    if out is None or str(out) == "-":
        return ExchangeExportResult(path=None, format=fmt, rows=len(rows), coders=names, text=text)
    out = Path(out)
    if out.suffix.lower() != ".csv":
        raise InputError(f"{out.name}: codings are exchanged as CSV; give a file name ending in .csv (or - for stdout)")
    with atomic_write(out, force) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return ExchangeExportResult(path=out, format=fmt, rows=len(rows), coders=names)
