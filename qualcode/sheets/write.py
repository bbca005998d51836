"""Writing a coding sheet for one coder (blind: only that coder's own earlier codings are
pre-filled) and recording the units handed out.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from qualcode import store
from qualcode.errors import InputError, NotFound
from qualcode.sheets.layout import (
    BY_CHOICES, CHECK_COLUMNS, CODEBOOK_SHEET, CODE_COLUMN_WIDTH, CODE_KEY_PREFIX, CODING_SHEET,
    FIRST_DATA_ROW, HEADER_ROW, ID_COLUMNS, INSTRUCTIONS_SHEET, KEY_ROW, META_SHEET, SHEET_FORMAT,
    SHEET_FORMAT_VERSION, SheetUnit, cell_text, load_sheet_units, resolve_codes, text_hash,
)
from qualcode.sheets.sample import draw_coder_sample


@dataclass
class SheetExportResult:
    """What ``export_sheet`` wrote and recorded."""

    path: Path
    coder: str
    units: int
    codes: list[str]
    respondents: list[str]
    documents: list[str]
    prefilled: int
    sample_id: int | None = None
    fraction: float | None = None
    seed: int | None = None
    by: str | None = None
    sampled_groups: list[str] = field(default_factory=list)
    reused_sample: bool = False
    replaced_sample: int | None = None


def _document_ids(conn: sqlite3.Connection, names: list[str] | None) -> list[int] | None:
    if not names:
        return None
    from qualcode.documents import document_ids_by_name

    by_name = document_ids_by_name(conn)
    stems: dict[str, list[int]] = {}
    for name, document_id in by_name.items():
        stems.setdefault(Path(name).stem, []).append(document_id)
    ids = []
    for name in names:
        if name in by_name:
            ids.append(by_name[name])
        elif len(stems.get(name, [])) == 1:
            ids.append(stems[name][0])
        else:
            raise NotFound(f"no document '{name}' in the project; give a document name such as "
                           f"'{next(iter(sorted(by_name)), 'SF1.txt')}'")
    return ids


def _coverage_marks(conn: sqlite3.Connection, coder_id: int, units: list[SheetUnit], code_ids: dict[int, str]):
    """{(unit key, code key)} for every unit this coder's codings of these codes overlap
    (``units.coverage``, the overlap rule counts and agreement use)."""
    from qualcode.units import Unit, coverage

    if not units or not code_ids:
        return set()
    documents = {unit.document_id for unit in units}
    spans = [(code_ids[code_id], document_id, start, end) for code_id, document_id, start, end in conn.execute(
        "SELECT code_id, document_id, start, end FROM codings WHERE coder_id = ?", (coder_id,))
        if code_id in code_ids and document_id in documents]
    paragraphs = [Unit(u.key, "paragraph", ((u.document_id, u.start, u.end),), u.respondent_id, u.speaker,
                       "respondent", u.document, (u.unit_id,)) for u in units]
    return {(units[index].key, code_key) for index, code_key in coverage(paragraphs, spans)}


def export_sheet(
    project,
    coder: str,
    out: Path | str,
    *,
    codes: list[str] | None = None,
    documents: list[str] | None = None,
    sample: float | None = None,
    seed: int | None = None,
    by: str = "respondent",
    force: bool = False,
    new_sample: bool = False,
) -> SheetExportResult:
    """Write a coding sheet for ``coder`` and record the units handed out.

    Kept whole so that the sample, the assignments, the history and the file are visibly one transaction.

    ``codes`` narrows the columns to these codes (a theme stands for the codes
    beneath it); ``documents`` narrows the rows; ``sample`` (a fraction) with
    ``seed`` and ``by`` draws a reproducible double-coding sample of
    respondents or documents (a seed is chosen and reported when none is
    given). The sample is stored in ``samples`` and the units in
    ``assignments``. Only ``coder``'s own earlier codings are pre-filled.

    A coder has one double-coding sample at a time. When ``coder`` already
    has one, a sheet with the same fraction, seed and grouping is a re-export
    (the recorded sample is reused; without ``seed`` its seed is reused), and
    a different draw is an InputError unless ``new_sample``, which drops the
    coder's sampled assignments and records the new draw (codings already
    imported stay; units outside the new sample no longer count as compared).
    """
    from qualcode.codebook import current_version_id, load_tree
    from qualcode.exports import atomic_write, check_overwrite

    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise InputError(f"{out.name}: a coding sheet is an Excel workbook; give a file name ending in .xlsx")
    check_overwrite(out, force)
    if by not in BY_CHOICES:
        raise InputError(f"unknown sample grouping '{by}'; use --by respondent or --by document")
    if sample is None and seed is not None:
        raise InputError("--seed only makes sense with --sample FRACTION; add --sample 0.3 (for example)")
    with project.transaction() as conn:
        coder_name = coder.strip()
        coder_id = store.get_or_create_coder(conn, coder_name)
        tree = load_tree(conn)
        code_keys = resolve_codes(tree, codes)
        if not code_keys:
            raise InputError("none of the given --codebook keys has codable codes beneath it")
        units = load_sheet_units(conn, _document_ids(conn, documents))
        if not units:
            raise InputError("there are no respondent paragraphs to code" + (" in the given --documents" if documents else
                             "; import transcripts first"))
        units, sample_id, sampled, seed, reused, replaced = draw_coder_sample(
            conn, coder_id, coder_name, units, sample=sample, seed=seed, by=by, new_sample=new_sample)
        conn.executemany(
            "INSERT INTO assignments (coder_id, unit_id, sample_id) VALUES (?, ?, ?)"
            " ON CONFLICT (coder_id, unit_id) DO UPDATE SET sample_id = COALESCE(excluded.sample_id, sample_id)",
            [(coder_id, u.unit_id, sample_id) for u in units])
        code_ids = {tree.by_key[k].code_id: k for k in code_keys}
        marks = _coverage_marks(conn, coder_id, units, code_ids)
        meta = {
            "format": SHEET_FORMAT, "format_version": SHEET_FORMAT_VERSION, "coder": coder_name,
            "project": project.name, "exported_at": store.now(),
            "codebook_version": current_version_id(conn),
            "sample_fraction": sample, "sample_seed": seed if sample is not None else None,
            "sample_by": by if sample is not None else None,
            "sampled": ", ".join(sampled),
        }
        store.record_history(conn, "sheet export", coder=coder_name, path=str(out), units=len(units),
                             codes=len(code_keys), sample_id=sample_id, fraction=sample,
                             seed=seed if sample is not None else None, by=by if sample is not None else None,
                             replaced_sample_id=replaced)
        # the file last, inside the transaction: if writing it fails, the sample and assignments
        # are rolled back; nothing is left to fail after it but the commit
        with atomic_write(out, force) as tmp:
            _write_workbook(tmp, tree, code_keys, units, marks, meta)
    from natsort import natsorted

    return SheetExportResult(
        path=out, coder=coder_name, units=len(units), codes=code_keys,
        respondents=natsorted({u.respondent_id for u in units if u.respondent_id}),
        documents=natsorted({u.document for u in units}), prefilled=len(marks),
        sample_id=sample_id, fraction=sample, seed=seed if sample is not None else None,
        by=by if sample is not None else None, sampled_groups=sampled, reused_sample=reused,
        replaced_sample=replaced,
    )


def _write_workbook(path: Path, tree, code_keys: list[str], units: list[SheetUnit], marks, meta: dict) -> None:
    """Write the four sheets; kept whole because the Coding sheet's key row, header, rows and styles share one
    column layout."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from qualcode.exports import safe_cell

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = CODING_SHEET

    columns = [(key, header, width) for key, header, width in ID_COLUMNS]
    columns += [(CODE_KEY_PREFIX + k, tree.by_key[k].label, CODE_COLUMN_WIDTH) for k in code_keys]
    columns += CHECK_COLUMNS
    first_code_col = len(ID_COLUMNS) + 1
    last_code_col = len(ID_COLUMNS) + len(code_keys)

    bold = Font(bold=True)
    thin = Side(style="thin", color="BBBBBB")
    code_fill = PatternFill("solid", fgColor="FFF9E5")
    header_fill = PatternFill("solid", fgColor="E8EEF7")
    for index, (key, header, width) in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.cell(KEY_ROW, index, key)
        cell = sheet.cell(HEADER_ROW, index, safe_cell(header))
        cell.font = bold
        cell.fill = header_fill
        sheet.column_dimensions[letter].width = width
        if first_code_col <= index <= last_code_col:
            node = tree.by_key[key[len(CODE_KEY_PREFIX):]]
            cell.alignment = Alignment(text_rotation=90, horizontal="center", vertical="bottom", wrap_text=True)
            comment = _code_comment(tree, node)
            cell.comment = Comment(comment, "qualcode", width=320, height=min(60 + 15 * (len(comment) // 45), 400))
        else:
            cell.alignment = Alignment(vertical="bottom", wrap_text=True)
    sheet.row_dimensions[KEY_ROW].hidden = True
    longest_label = max((len(tree.by_key[k].label) for k in code_keys), default=10)
    # rotated labels wrap onto a second line within the narrow column, so about 4 points a character
    sheet.row_dimensions[HEADER_ROW].height = min(max(60, 4.0 * longest_label), 160)

    # Named styles: assigning one per cell is cheap, building a style per cell is not (thousands of rows)
    unit_style = NamedStyle(name="qualcode unit", alignment=Alignment(vertical="top", wrap_text=True))
    mark_style = NamedStyle(name="qualcode mark", alignment=Alignment(horizontal="center", vertical="top"),
                            fill=code_fill, border=Border(left=thin, right=thin, top=thin, bottom=thin))
    workbook.add_named_style(unit_style)
    workbook.add_named_style(mark_style)
    for row_number, unit in enumerate(units, start=FIRST_DATA_ROW):
        values = [unit.respondent_id, unit.document, unit.key, unit.speaker, cell_text(unit.text)]
        for index, value in enumerate(values, start=1):
            cell = sheet.cell(row_number, index, safe_cell(value) if index != 5 else value)
            cell.style = unit_style.name
        for offset, key in enumerate(code_keys):
            cell = sheet.cell(row_number, first_code_col + offset, 1 if (unit.key, key) in marks else None)
            cell.style = mark_style.name
        sheet.cell(row_number, last_code_col + 1, unit.key)
        sheet.cell(row_number, last_code_col + 2, text_hash(unit.text))
        sheet.row_dimensions[row_number].height = _row_height(unit.text, ID_COLUMNS[4][2])
    last_row = FIRST_DATA_ROW + len(units) - 1

    for index in (last_code_col + 1, last_code_col + 2):
        sheet.column_dimensions[get_column_letter(index)].hidden = True
    sheet.freeze_panes = sheet.cell(FIRST_DATA_ROW, first_code_col)
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(last_code_col)}{last_row}"
    validation = DataValidation(
        type="list", formula1='"1,x"', allow_blank=True, showErrorMessage=True, showInputMessage=False,
        errorTitle="1 or x", error="Type 1 or x where the code applies; leave the cell empty where it does not.",
    )
    validation.add(f"{get_column_letter(first_code_col)}{FIRST_DATA_ROW}:"
                   f"{get_column_letter(last_code_col)}{last_row}")
    sheet.add_data_validation(validation)
    sheet.sheet_view.zoomScale = 110

    _write_codebook_sheet(workbook.create_sheet(CODEBOOK_SHEET), tree, code_keys)
    _write_instructions_sheet(workbook.create_sheet(INSTRUCTIONS_SHEET), meta, len(units), len(code_keys))
    meta_sheet = workbook.create_sheet(META_SHEET)
    meta_sheet.sheet_state = "veryHidden"
    meta_sheet.append(["field", "value", "extra"])
    for name, value in meta.items():
        meta_sheet.append([name, safe_cell(value) if isinstance(value, str) else value])
    for key in code_keys:
        meta_sheet.append(["code", key, safe_cell(tree.by_key[key].label)])
    for unit in units:
        meta_sheet.append(["unit", unit.key, text_hash(unit.text)])
    workbook.active = 0
    workbook.save(path)


def _code_comment(tree, node) -> str:
    parts = [f"{node.label} ({node.key})"]
    if node.definition:
        parts.append(node.definition.strip())
    if node.include:
        parts.append("Include: " + node.include.strip())
    if node.exclude:
        parts.append("Exclude: " + node.exclude.strip())
    return "\n".join(parts)


def _row_height(text: str, width: int) -> float:
    """Points for a wrapped text cell: about 1.1 characters per width unit, 15 points a line."""
    per_line = max(int(width * 1.1), 20)
    lines = sum(max(1, math.ceil(len(line) / per_line)) for line in text.split("\n"))
    return float(min(409, max(18, 15 * lines + 3)))


def _write_codebook_sheet(sheet, tree, code_keys: list[str]) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from qualcode.exports import safe_cell

    headers = [("Theme", 34), ("Label", 28), ("Key", 18), ("Definition", 50), ("Include", 40), ("Exclude", 40),
               ("Examples", 50)]
    sheet.append([h for h, _ in headers])
    for index, (_, width) in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.cell(1, index).font = Font(bold=True)
    for key in code_keys:
        node = tree.by_key[key]
        parent_path = tree.label_path(node.parent_key) if node.parent_key in tree.by_key else ""
        examples = "\n".join(f"“{e}”" for e in node.examples) if node.examples else None
        sheet.append([safe_cell(v) for v in (parent_path, node.label, key, node.definition, node.include,
                                              node.exclude, examples)])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:G{max(1, len(code_keys) + 1)}"


INSTRUCTIONS = [
    "How to code",
    "1. Go to the Coding sheet. Each row is one paragraph spoken by a respondent; read the Text column.",
    "2. For every code that applies to the paragraph, type 1 (or x) in that code's column. Leave the cell empty "
    "where the code does not apply. A paragraph may carry several codes, or none.",
    "3. Hover over a code's column header to read its definition; the Codebook sheet has the full definitions, "
    "what to include and exclude, and examples.",
    "4. You may sort and filter the rows, hide columns, widen them and change colours.",
    "",
    "Please do not",
    "- edit the text, the unit ids or the respondent/document columns (the import checks them);",
    "- add, delete, rename or merge columns or rows, or merge cells;",
    "- look at another coder's sheet: this sheet is for you alone (blind double coding).",
    "",
    "When you are done, save the file as an Excel workbook (.xlsx) — not .xls, .ods or .csv — and return it.",
    "It is read back with: qualcode sheet import FILE.xlsx --coder NAME",
]


def _write_instructions_sheet(sheet, meta: dict, unit_count: int, code_count: int) -> None:
    from openpyxl.styles import Alignment, Font

    from qualcode.exports import safe_cell

    sheet.column_dimensions["A"].width = 110
    sheet.append(["Coding sheet"])
    sheet["A1"].font = Font(bold=True, size=14)
    facts = [
        f"Coder: {meta['coder']}",
        f"Project: {meta['project']}",
        f"Exported: {meta['exported_at']}",
        f"{unit_count} paragraphs to code with {code_count} codes.",
    ]
    if meta.get("sample_fraction") is not None:
        facts.append(
            f"Double-coding sample: {meta['sample_fraction']:g} of {meta['sample_by']}s, seed {meta['sample_seed']}"
            f" ({meta['sampled']})."
        )
    for line in facts + [""] + INSTRUCTIONS:
        sheet.append([safe_cell(line)])
    for row in sheet.iter_rows(min_row=2):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
        if row[0].value in ("How to code", "Please do not"):
            row[0].font = Font(bold=True)
