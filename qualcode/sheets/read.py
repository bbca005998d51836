"""Reading a filled coding sheet back: every cell validated before anything is stored, then the
coder's marks turned into codings over whole units.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from qualcode import store
from qualcode.errors import InputError, SheetError
from qualcode.sheets.layout import (
    CHECK_COLUMNS, CODE_KEY_PREFIX, CODING_SHEET, FIRST_DATA_ROW, HEADER_ROW, ID_COLUMNS, KEY_ROW,
    MARK_VALUES, MAX_PROBLEMS_SHOWN, META_SHEET, SHEET_FORMAT, SheetUnit, cell_text, load_sheet_units,
    text_hash,
)
from qualcode.sheets.sample import recorded_sample


@dataclass
class SheetImportResult:
    """What ``import_sheet`` changed: counts of (unit, code) marks."""

    path: Path
    coder: str
    units: int
    codes: list[str]
    added: int
    removed: int
    kept: int
    marked: int
    exported_for: str | None = None
    notes: list[str] = field(default_factory=list)


class _Problems:
    """Collects every problem found, so a coder can fix them all in one go."""

    def __init__(self, path: Path):
        self.path = path
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = "; ".join(self.items[:MAX_PROBLEMS_SHOWN])
        more = len(self.items) - MAX_PROBLEMS_SHOWN
        suffix = f"; and {more} more problem{'s' if more != 1 else ''}" if more > 0 else ""
        plural = "s" if len(self.items) != 1 else ""
        raise SheetError(f"{self.path.name}: {len(self.items)} problem{plural}, nothing was imported: {shown}{suffix}")


def _open_workbook(path: Path):
    from qualcode.tables import WorkbookError, open_workbook

    suffix = path.suffix.lower()
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give the coding sheet (.xlsx)")
    if suffix == ".xls":
        raise SheetError(f"{path.name} is an old-style Excel .xls file; open it in Excel or LibreOffice, "
                         "save it as an Excel Workbook (.xlsx) and import that file")
    if suffix == ".ods":
        raise SheetError(f"{path.name} is an OpenDocument spreadsheet; open it in LibreOffice, use File > Save As "
                         "with the type 'Excel 2007-365 (.xlsx)' and import that file")
    if suffix in (".csv", ".tsv", ".txt"):
        raise SheetError(f"{path.name} is a {suffix[1:]} file, which cannot keep the sheet's hidden checks; save the "
                         "coding sheet as an Excel Workbook (.xlsx) (codings in the exchange formats are read by "
                         "'qualcode codings import')")
    if suffix not in (".xlsx", ".xlsm"):
        raise SheetError(f"{path.name} is not an Excel workbook; a coding sheet is an .xlsx file")
    try:
        return open_workbook(path, data_only=False)
    except WorkbookError as exc:
        raise SheetError(str(exc)) from None


def _read_meta(workbook) -> dict:
    """The export record in the hidden sheet: scalars, code columns and units."""
    meta: dict = {"codes": {}, "units": {}}
    if META_SHEET not in workbook.sheetnames:
        return meta
    for row in workbook[META_SHEET].iter_rows(min_row=2, values_only=True):
        if not row or row[0] is None:
            continue
        name = str(row[0])
        value = row[1] if len(row) > 1 else None
        extra = row[2] if len(row) > 2 else None
        if name == "code":
            meta["codes"][str(value)] = "" if extra is None else str(extra)
        elif name == "unit":
            meta["units"][str(value)] = None if extra is None else str(extra)
        else:
            meta[name] = value
    return meta


def _formula_text(value) -> str | None:
    """The formula text of a cell read with data_only=False (``=1+0``), else None. A formula's
    result is not stored by every program, so a formula never counts as a mark."""
    text = getattr(value, "text", None)  # openpyxl ArrayFormula
    if text is not None and not isinstance(value, str):
        return str(text)
    if isinstance(value, str) and value.startswith("=") and len(value) > 1:
        return value
    return None


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _mark(value) -> bool | None:
    """True for a mark (1, x, X), False for blank, None for anything else."""
    if _blank(value):
        return False
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return True if value == 1 else None
    if isinstance(value, str) and value.strip() in MARK_VALUES:
        return True
    return None


def _show(value) -> str:
    """A cell value for an error message: short, quoted, never more than 20 characters."""
    text = str(value)
    if len(text) > 20:
        text = text[:20] + "…"
    return f'"{text}"'


def _header_text(value) -> str:
    return "" if value is None else str(value).strip().lstrip("'").strip()


def _same_text(cell_value, expected: str) -> bool:
    if not isinstance(cell_value, str):
        return False
    value = cell_value.replace("\r\n", "\n").replace("\r", "\n")
    return value == expected or (expected.startswith("'") and value == expected[1:])


def import_sheet(project, path: Path | str, coder: str, *, force_coder: bool = False) -> SheetImportResult:
    """Read a filled coding sheet and store ``coder``'s codings from it, all or nothing.

    Every cell is checked before anything is written: the workbook layout,
    that it was exported for ``coder`` (unless ``force_coder``), unit ids,
    unchanged unit texts, code columns (matched by their hidden key, so
    reordered columns are fine; renamed or added columns are not), values
    (1, x, X or blank), and no duplicated, missing or added rows. Problems are
    reported by sheet and cell (``Coding!F17``) in one SheetError.

    Each marked cell becomes a coding over the whole unit with origin
    ``sheet``. A re-import replaces the coder's earlier sheet codings for the
    sheet's units and codes; the result counts added, removed and kept marks.
    The units are recorded as the coder's assignments (with the sample the
    sheet was drawn for, if any).
    """
    from qualcode.codebook import load_tree

    path = Path(path)
    workbook = _open_workbook(path)
    coder_name = coder.strip()
    if not coder_name:
        raise InputError("a coder name cannot be empty; give one with --coder NAME")
    sheet, meta = _coding_sheet(path, workbook, coder_name, force_coder)
    exported_for = meta.get("coder")
    problems = _Problems(path)
    max_row, max_col = sheet.max_row, sheet.max_column
    fixed, code_columns = _read_columns(path, sheet, max_row, max_col, meta["codes"], problems)
    problems.raise_if_any()

    conn = project.connect()
    tree = load_tree(conn)
    _check_code_columns(tree, code_columns, problems)
    units_by_key = {u.key: u for u in load_sheet_units(conn)}
    sheet_units, marks = _read_rows(path, sheet, max_row, max_col, fixed, code_columns, units_by_key, meta["units"],
                                    problems)
    problems.raise_if_any()

    code_keys = list(code_columns)
    code_ids = {k: tree.by_key[k].code_id for k in code_keys}
    result = SheetImportResult(path=path, coder=coder_name, units=len(sheet_units), codes=code_keys, added=0,
                               removed=0, kept=0, marked=len(marks), exported_for=exported_for)
    with project.transaction() as conn:
        _store_marks(conn, result, meta=meta, code_ids=code_ids, sheet_units=sheet_units, units_by_key=units_by_key,
                     marks=marks, force_coder=force_coder)
    return result


def _coding_sheet(path: Path, workbook, coder_name: str, force_coder: bool):
    """The Coding sheet and the hidden metadata, once the workbook is known to be ours, for this coder,
    unmerged and not empty."""
    if CODING_SHEET not in workbook.sheetnames:
        raise SheetError(f"{path.name} has no sheet named '{CODING_SHEET}'; import the workbook that "
                         "'qualcode sheet export' wrote (sheet names must not be changed)")
    sheet = workbook[CODING_SHEET]
    meta = _read_meta(workbook)
    exported_for = meta.get("coder")
    if meta.get("format") != SHEET_FORMAT:
        if not force_coder:
            raise SheetError(f"{path.name} was not written by 'qualcode sheet export' (its hidden '{META_SHEET}' "
                             "sheet is missing), so the coder it was made for is unknown; export a sheet with "
                             "'qualcode sheet export', or add --force-coder to import it anyway")
    elif str(exported_for) != coder_name and not force_coder:
        raise SheetError(f"{path.name} was exported for coder '{exported_for}', not '{coder_name}'; import it with "
                         f"--coder {exported_for}, or add --force-coder if it really is {coder_name}'s work")

    merged = [str(r) for r in sheet.merged_cells.ranges]
    if merged:
        raise SheetError(f"{path.name}: {CODING_SHEET}!{merged[0]} is a merged cell range"
                         f"{f' (and {len(merged) - 1} more)' if len(merged) > 1 else ''}; unmerge the cells "
                         "(Home > Merge > Unmerge) and import again")
    if all(_blank(cell.value) for row in sheet.iter_rows() for cell in row):
        raise SheetError(f"{path.name}: the {CODING_SHEET} sheet is empty; import the sheet as exported and filled in")
    return sheet, meta


def _read_columns(path: Path, sheet, max_row: int, max_col: int, exported_codes: dict[str, str], problems: _Problems):
    """The fixed columns and the code columns by their hidden key: ({key: column}, {code_key: column}).

    Added, duplicated, renamed or deleted columns are added to ``problems``."""
    from openpyxl.utils import get_column_letter

    keys_row = [sheet.cell(KEY_ROW, c).value for c in range(1, max_col + 1)]
    header_row = [sheet.cell(HEADER_ROW, c).value for c in range(1, max_col + 1)]
    if "#unit" not in keys_row:
        raise SheetError(f"{path.name}: {CODING_SHEET}!A{KEY_ROW}: the hidden key row is missing or changed; "
                         "rows 1 and 2 must stay as exported — export a new sheet and copy the marks across")
    fixed: dict[str, int] = {}
    code_columns: dict[str, int] = {}
    for column, (key, header) in enumerate(zip(keys_row, header_row), start=1):
        letter = get_column_letter(column)
        if _blank(key):
            if not _blank(header):
                problems.add(f"{CODING_SHEET}!{letter}{HEADER_ROW}: column {_show(header)} was added; codes cannot "
                             "be added on a sheet — delete the column (add codes to the codebook instead)")
            elif any(not _blank(sheet.cell(r, column).value) for r in range(FIRST_DATA_ROW, max_row + 1)):
                problems.add(f"{CODING_SHEET}!{letter}{HEADER_ROW}: a column without a header holds values; "
                             "delete it")
            continue
        key = str(key)
        if key.startswith(CODE_KEY_PREFIX):
            code_key = key[len(CODE_KEY_PREFIX):]
            if code_key in code_columns:
                problems.add(f"{CODING_SHEET}!{letter}{HEADER_ROW}: code '{code_key}' has a second column "
                             f"(also column {get_column_letter(code_columns[code_key])}); delete the copy")
                continue
            code_columns[code_key] = column
            expected = exported_codes.get(code_key)
            if expected is not None and _header_text(header) != _header_text(expected):
                problems.add(f"{CODING_SHEET}!{letter}{HEADER_ROW}: the column for code '{code_key}' was renamed to "
                             f"{_show(header)} (exported as {_show(expected)}); restore the header")
        elif key in fixed:
            problems.add(f"{CODING_SHEET}!{letter}{HEADER_ROW}: column '{key.lstrip('#')}' appears twice; delete the copy")
        else:
            fixed[key] = column
    for key, _header, _width in ID_COLUMNS + CHECK_COLUMNS:
        if key not in fixed:
            problems.add(f"{CODING_SHEET}: the column '{_header}' was deleted; restore it from the exported sheet")
    for code_key in exported_codes:
        if code_key not in code_columns:
            problems.add(f"{CODING_SHEET}: the column for code '{code_key}' ({_show(exported_codes[code_key])}) "
                         "was deleted; restore it")
    return fixed, code_columns


def _check_code_columns(tree, code_columns: dict[str, int], problems: _Problems) -> None:
    """Every code column must still be a code (not a theme) in the project's codebook."""
    from openpyxl.utils import get_column_letter

    for code_key, column in code_columns.items():
        if code_key not in tree:
            problems.add(f"{CODING_SHEET}!{get_column_letter(column)}{HEADER_ROW}: code '{code_key}' is no longer in "
                         "the project's codebook; restore it there or delete the column")
        elif tree.by_key[code_key].children:
            problems.add(f"{CODING_SHEET}!{get_column_letter(column)}{HEADER_ROW}: '{code_key}' is now a theme with "
                         "codes beneath it, not a code; export a new sheet")


def _read_rows(path: Path, sheet, max_row: int, max_col: int, fixed: dict[str, int], code_columns: dict[str, int],
               units_by_key: dict[str, SheetUnit], exported_units: list[str], problems: _Problems):
    """The sheet's units and its marked (unit_key, code_key) pairs, every row and cell checked into ``problems``."""
    from openpyxl.utils import get_column_letter

    unit_col, check_unit_col = fixed["#unit"], fixed["#check_unit"]
    hash_col, text_col = fixed["#check_hash"], fixed["#text"]
    seen: dict[str, int] = {}
    marks: set[tuple[str, str]] = set()
    sheet_units: list[SheetUnit] = []
    for row_number in range(FIRST_DATA_ROW, max_row + 1):
        row_values = {c: sheet.cell(row_number, c).value for c in range(1, max_col + 1)}
        if all(_blank(v) for v in row_values.values()):
            continue
        check_key = row_values.get(check_unit_col)
        visible_key = row_values.get(unit_col)
        if _blank(check_key):
            problems.add(f"{CODING_SHEET}!{get_column_letter(unit_col)}{row_number}: this row has no unit id "
                         "(rows cannot be added); delete the row")
            continue
        unit_key = str(check_key).strip()
        if _blank(visible_key) or str(visible_key).strip() != unit_key:
            problems.add(f"{CODING_SHEET}!{get_column_letter(unit_col)}{row_number}: the unit id was changed "
                         f"(the row belongs to {unit_key}); restore it")
        if unit_key in seen:
            problems.add(f"{CODING_SHEET}!{get_column_letter(unit_col)}{row_number}: unit {unit_key} appears again "
                         f"(first in row {seen[unit_key]}); delete the duplicated row")
            continue
        seen[unit_key] = row_number
        unit = units_by_key.get(unit_key)
        if unit is None:
            problems.add(f"{CODING_SHEET}!{get_column_letter(unit_col)}{row_number}: unit {unit_key} is not a "
                         "respondent paragraph in this project; was the sheet exported from another project?")
            continue
        sheet_units.append(unit)
        recorded_hash = row_values.get(hash_col)
        if str(recorded_hash or "").strip() != text_hash(unit.text):
            problems.add(f"{CODING_SHEET}!{get_column_letter(hash_col)}{row_number}: the text of unit {unit_key} in "
                         "the project differs from the text the sheet was exported with; export a new sheet")
        elif not _same_text(row_values.get(text_col), cell_text(unit.text)):
            problems.add(f"{CODING_SHEET}!{get_column_letter(text_col)}{row_number}: the text of unit {unit_key} was "
                         "edited; undo the edit (the text must stay as exported) and import again")
        for code_key, column in code_columns.items():
            value = row_values.get(column)
            mark = _mark(value)
            formula = _formula_text(value)
            if formula is not None:
                problems.add(f"{CODING_SHEET}!{get_column_letter(column)}{row_number}: holds a formula "
                             f"({_show(formula)}); type 1 or x instead, or leave the cell empty")
            elif mark is None:
                problems.add(f"{CODING_SHEET}!{get_column_letter(column)}{row_number}: {_show(value)} is not 1 or x")
            elif mark:
                marks.add((unit_key, code_key))
    if not seen and not problems.items:
        raise SheetError(f"{path.name}: the {CODING_SHEET} sheet has no unit rows; import the sheet as exported "
                         "and filled in")
    for unit_key in exported_units:
        if unit_key not in seen:
            problems.add(f"{CODING_SHEET}: the row for unit {unit_key} was deleted; restore it (rows must not be "
                         "deleted — leave a row empty if no code applies)")
    return sheet_units, marks


def _store_marks(conn: sqlite3.Connection, result: SheetImportResult, *, meta: dict, code_ids: dict[str, int],
                 sheet_units: list[SheetUnit], units_by_key: dict[str, SheetUnit], marks: set[tuple[str, str]],
                 force_coder: bool) -> None:
    """Replace the coder's sheet codings for the sheet's units and codes with ``marks``, record the assignments
    and the history, and fill ``result``'s counts and notes (inside the caller's transaction)."""
    from qualcode.codebook import current_version_id
    from qualcode.codings import add_codings

    path, coder_name, exported_for = result.path, result.coder, result.exported_for
    coder_id = store.get_or_create_coder(conn, coder_name)
    existing: dict[tuple[str, str], list[int]] = {}
    by_document: dict[int, list[SheetUnit]] = {}
    for unit in sheet_units:
        by_document.setdefault(unit.document_id, []).append(unit)
    key_by_code_id = {v: k for k, v in code_ids.items()}
    other_origin: set[tuple[str, str]] = set()
    for document_id, document_units in by_document.items():
        spans = {(u.start, u.end): u.key for u in document_units}
        for coding_id, code_id, start, end, origin in conn.execute(
                "SELECT coding_id, code_id, start, end, origin FROM codings WHERE coder_id = ? AND document_id = ?",
                (coder_id, document_id)):
            if code_id not in key_by_code_id:
                continue
            if origin == "sheet" and (start, end) in spans:
                existing.setdefault((spans[(start, end)], key_by_code_id[code_id]), []).append(coding_id)
            else:
                for unit in document_units:
                    if start < unit.end and end > unit.start:
                        other_origin.add((unit.key, key_by_code_id[code_id]))
    to_delete = [i for pair, ids in existing.items() if pair not in marks for i in ids]
    result.removed = sum(1 for pair in existing if pair not in marks)
    result.kept = sum(1 for pair in existing if pair in marks)
    new_pairs = sorted(pair for pair in marks if pair not in existing)
    result.added = len(new_pairs)
    for start in range(0, len(to_delete), 900):
        chunk = to_delete[start:start + 900]
        conn.execute(f"DELETE FROM codings WHERE coding_id IN ({','.join('?' * len(chunk))})", chunk)
    version_id = current_version_id(conn)
    add_codings(conn, [
        {"coder_id": coder_id, "code_id": code_ids[code_key], "document_id": units_by_key[unit_key].document_id,
         "start": units_by_key[unit_key].start, "end": units_by_key[unit_key].end, "origin": "sheet",
         "codebook_version_id": version_id}
        for unit_key, code_key in new_pairs
    ])
    sample_id = recorded_sample(conn, coder_id, meta)
    dropped = 0
    if sample_id is not None:
        # The sample that came back is the coder's sample: units handed out on a sheet of another
        # sample (never imported, or superseded) no longer count as coded by this coder.
        dropped = conn.execute(
            "DELETE FROM assignments WHERE coder_id = ? AND sample_id IS NOT NULL AND sample_id != ?",
            (coder_id, sample_id)).rowcount
        if dropped:
            result.notes.append(
                f"{dropped} paragraph{'s' if dropped != 1 else ''} handed out in another sample of this coder "
                "no longer count as assigned (the sample of the sheet imported last is the coder's sample)")
    conn.executemany(
        "INSERT INTO assignments (coder_id, unit_id, sample_id) VALUES (?, ?, ?)"
        " ON CONFLICT (coder_id, unit_id) DO UPDATE SET sample_id = COALESCE(sample_id, excluded.sample_id)",
        [(coder_id, u.unit_id, sample_id) for u in sheet_units])
    lingering = sorted(p for p in other_origin if p not in marks)
    if lingering:
        result.notes.append(
            f"{len(lingering)} empty cell{'s' if len(lingering) != 1 else ''} still carry this coder's codings "
            "from other origins (rules or imports); those were left as they are")
    if force_coder and exported_for is not None and str(exported_for) != coder_name:
        result.notes.append(f"the sheet was exported for '{exported_for}' and imported as '{coder_name}'")
    store.record_history(conn, "sheet import", coder=coder_name, path=str(path), units=len(sheet_units),
                         added=result.added, removed=result.removed, kept=result.kept,
                         exported_for=exported_for, sample_id=sample_id, dropped_assignments=dropped)
