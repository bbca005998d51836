"""The decisions sheet: every disagreement written to an Excel sheet, and the reviewed sheet read
back into decisions and consensus codings.
"""

from __future__ import annotations

from pathlib import Path

from qualcode import store
from qualcode.errors import SheetError
from qualcode.reconcile.disagreements import Disagreement, describe_action
from qualcode.reconcile.session import Session, open_session


SHEET_NAME = "Decisions"
ABOUT_SHEET = "About"


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
    from qualcode.tables import WorkbookError, open_workbook

    path = Path(path)
    if not path.is_file():
        raise SheetError(f"{path}: no such file; check the path")
    try:
        # data_only=False: a cell the user typed as "=1+1 note" is read as typed. With
        # data_only=True openpyxl returns the cached result, which is None for a formula no
        # spreadsheet program has calculated, and the note would be lost.
        workbook = open_workbook(path, data_only=False)
    except WorkbookError as exc:
        raise SheetError(str(exc)) from None
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
    header, columns = _sheet_columns(path, session, about, rows)

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


def _sheet_columns(path: Path, session: Session, about: dict, rows: list) -> tuple[list[str], dict[str, int]]:
    """The header row and the index of each column apply_sheet reads, once the sheet is known to be written
    for this session's coders and unit."""
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
    return header, columns


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
