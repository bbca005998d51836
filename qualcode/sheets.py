"""Excel coding sheets: out to a coder, back into the project, validated.

A coding sheet is an ``.xlsx`` workbook a coder fills in with no other
software: one row per paragraph unit, one column per code, ``1`` or ``x``
where the code applies. ``export_sheet`` writes it (and records which units
the coder was handed, drawing a reproducible double-coding sample when asked);
``import_sheet`` checks every cell before writing anything and turns each
marked cell into a coding over the whole unit with origin ``sheet``.

Workbook layout (see docs/coding-sheets.md):

- ``Coding``: row 1 is hidden and holds a machine key for every column
  (``#unit``, ``code:work.toll`` …) so columns are matched by key, not by
  position; row 2 is the visible header (code labels, with the definition as
  a cell comment); units start on row 3. Two hidden integrity columns hold
  the unit id again and the first 12 hex digits of the SHA-256 of the text.
- ``Codebook``: theme path, label, key, definition, include, exclude, examples.
- ``Instructions``: what to do, for the coder named on the sheet.
- ``_qualcode`` (very hidden): the coder, the sample, the exported code
  columns and units, so an import can tell what was handed out.

Blind coding: a sheet carries only the named coder's own earlier codings.
"""

from __future__ import annotations

import hashlib
import math
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from qualcode import store
from qualcode.errors import InputError, NotFound, SheetError

CODING_SHEET = "Coding"
CODEBOOK_SHEET = "Codebook"
INSTRUCTIONS_SHEET = "Instructions"
META_SHEET = "_qualcode"
SHEET_FORMAT = "qualcode-coding-sheet"
SHEET_FORMAT_VERSION = 1

KEY_ROW = 1
HEADER_ROW = 2
FIRST_DATA_ROW = 3

# Fixed columns: (key in the hidden row, visible header, width). The first four
# are frozen with the text so a coder always sees what a row is about.
ID_COLUMNS = [
    ("#respondent", "Respondent", 12),
    ("#document", "Document", 14),
    ("#unit", "Unit", 14),
    ("#speaker", "Speaker", 11),
    ("#text", "Text", 80),
]
CHECK_COLUMNS = [
    ("#check_unit", "Unit id (do not edit)", 14),
    ("#check_hash", "Text check (do not edit)", 14),
]
CODE_KEY_PREFIX = "code:"
CODE_COLUMN_WIDTH = 6

MARK_VALUES = {"1", "x", "X"}
HASH_LENGTH = 12
# Excel's limit on the characters of one cell
MAX_CELL_CHARS = 32767
TRUNCATION_MARK = " [… text continues in the transcript]"

BY_CHOICES = ("respondent", "document")
MAX_PROBLEMS_SHOWN = 5


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


@dataclass(frozen=True)
class SheetUnit:
    """One paragraph unit as it appears on a sheet."""

    key: str
    unit_id: int
    document_id: int
    document: str
    start: int
    end: int
    respondent_id: str | None
    speaker: str | None
    text: str


# --------------------------------------------------------------------------- helpers


def text_hash(text: str) -> str:
    """First 12 hex digits of the SHA-256 of a unit's text (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


_ILLEGAL_XLSX_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def cell_text(text: str) -> str:
    """The unit text as written into its cell: characters xlsx cannot hold dropped,
    formula-like starts neutralised, cut at Excel's cell limit."""
    from qualcode.exports import safe_cell

    cleaned = _ILLEGAL_XLSX_CHARS.sub("", text)
    if len(cleaned) > MAX_CELL_CHARS - 1:
        cleaned = cleaned[: MAX_CELL_CHARS - 1 - len(TRUNCATION_MARK)] + TRUNCATION_MARK
    return safe_cell(cleaned)


def load_sheet_units(conn: sqlite3.Connection, document_ids: list[int] | None = None) -> list[SheetUnit]:
    """Respondent paragraph units with their text, documents in natural order."""
    from natsort import natsort_keygen

    from qualcode.units import load_units

    units = load_units(conn, "paragraph", documents=document_ids, respondents_only=True)
    texts: dict[int, str] = {}
    result = []
    for unit in units:
        document_id, start, end = unit.segments[0]
        if document_id not in texts:
            texts[document_id] = conn.execute(
                "SELECT text FROM documents WHERE document_id = ?", (document_id,)).fetchone()[0]
        result.append(SheetUnit(unit.key, unit.unit_ids[0], document_id, unit.document, start, end,
                                unit.respondent_id, unit.speaker, texts[document_id][start:end]))
    natural = natsort_keygen()
    result.sort(key=lambda u: (natural(u.document), int(u.key.rpartition("#")[2])))
    return result


def resolve_codes(tree, keys: list[str] | None) -> list[str]:
    """The codable (leaf) codes of the tree, or those beneath the given keys, in codebook order."""
    if not len(tree):
        raise NotFound("the project has no codebook yet; import one with 'qualcode codebook import FILE.yaml'")
    leaves = tree.leaves()
    if not keys:
        return leaves
    wanted: set[str] = set()
    for key in keys:
        node_keys = tree.descendants(key)  # NotFound names an unknown key
        wanted.update(k for k in node_keys if not tree.by_key[k].children)
    return [k for k in leaves if k in wanted]


def draw_sample(units: list[SheetUnit], fraction: float, seed: int, by: str = "respondent") -> list[str]:
    """The respondents (or documents) drawn for double coding, in natural order.

    The candidates are the distinct respondent ids (or document names) of
    ``units`` in natural order (SF2 before SF10); ``round(fraction × n)`` of
    them, at least one, are drawn with ``random.Random(seed).sample``, so the
    same units, fraction and seed always give the same sample.
    """
    import random

    from natsort import natsorted

    if by not in BY_CHOICES:
        raise InputError(f"unknown sample grouping '{by}'; use --by respondent or --by document")
    if not 0 < fraction <= 1:
        raise InputError(f"the sample fraction must be above 0 and at most 1 (got {fraction}); e.g. --sample 0.3")
    groups = natsorted({_group_of(unit, by) for unit in units})
    if not groups:
        return []
    count = max(1, min(len(groups), math.floor(fraction * len(groups) + 0.5)))
    return natsorted(random.Random(seed).sample(groups, count))


def _group_of(unit: SheetUnit, by: str) -> str:
    if by == "respondent" and unit.respondent_id is not None:
        return unit.respondent_id
    return unit.document


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


# --------------------------------------------------------------------------- export


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
        sample_id = None
        sampled: list[str] = []
        reused = False
        replaced: int | None = None
        if sample is not None:
            current = current_sample(conn, coder_id)
            if current is not None and not new_sample:
                if seed is None and current["fraction"] == float(sample) and current["by"] == by:
                    seed = current["seed"]  # a re-export repeats the recorded draw
                if (current["fraction"], current["seed"], current["by"]) != (float(sample), seed, by):
                    raise InputError(
                        f"coder '{coder_name}' already has a double-coding sample (sample {current['sample_id']}: "
                        f"{current['fraction']:g} by {current['by']}, seed {current['seed']}); re-export it with "
                        f"--sample {current['fraction']:g} --seed {current['seed']} --by {current['by']}, or add "
                        "--new-sample to replace it (codings already imported stay)")
                sample_id, reused = current["sample_id"], True
            if seed is None:
                import secrets

                seed = secrets.randbelow(1_000_000)
            sampled = draw_sample(units, sample, seed, by)
            chosen = set(sampled)
            units = [u for u in units if _group_of(u, by) in chosen]
            if current is not None and new_sample:
                replaced = current["sample_id"]
                conn.execute("DELETE FROM assignments WHERE coder_id = ? AND sample_id IS NOT NULL", (coder_id,))
            if sample_id is None:
                sample_id = conn.execute(
                    "INSERT INTO samples (coder_id, fraction, seed, by, created_at) VALUES (?, ?, ?, ?, ?)",
                    (coder_id, sample, seed, by, store.now())).lastrowid
        elif new_sample:
            raise InputError("--new-sample only makes sense with --sample FRACTION; add --sample 0.3 (for example)")
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


# --------------------------------------------------------------------------- import


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
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

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
        return load_workbook(path, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise SheetError(f"{path.name} is not a readable Excel workbook ({type(exc).__name__}); open it in Excel "
                         "or LibreOffice and save it again as an Excel Workbook (.xlsx)") from None


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
    from openpyxl.utils import get_column_letter

    from qualcode.codebook import current_version_id, load_tree

    path = Path(path)
    workbook = _open_workbook(path)
    coder_name = coder.strip()
    if not coder_name:
        raise InputError("a coder name cannot be empty; give one with --coder NAME")
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

    problems = _Problems(path)
    merged = [str(r) for r in sheet.merged_cells.ranges]
    if merged:
        raise SheetError(f"{path.name}: {CODING_SHEET}!{merged[0]} is a merged cell range"
                         f"{f' (and {len(merged) - 1} more)' if len(merged) > 1 else ''}; unmerge the cells "
                         "(Home > Merge > Unmerge) and import again")
    max_row, max_col = sheet.max_row, sheet.max_column
    if all(_blank(cell.value) for row in sheet.iter_rows() for cell in row):
        raise SheetError(f"{path.name}: the {CODING_SHEET} sheet is empty; import the sheet as exported and filled in")

    # columns, by the hidden key row
    keys_row = [sheet.cell(KEY_ROW, c).value for c in range(1, max_col + 1)]
    header_row = [sheet.cell(HEADER_ROW, c).value for c in range(1, max_col + 1)]
    if "#unit" not in keys_row:
        raise SheetError(f"{path.name}: {CODING_SHEET}!A{KEY_ROW}: the hidden key row is missing or changed; "
                         "rows 1 and 2 must stay as exported — export a new sheet and copy the marks across")
    fixed: dict[str, int] = {}
    code_columns: dict[str, int] = {}
    exported_codes: dict[str, str] = meta["codes"]
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
    problems.raise_if_any()

    conn = project.connect()
    tree = load_tree(conn)
    for code_key, column in code_columns.items():
        if code_key not in tree:
            problems.add(f"{CODING_SHEET}!{get_column_letter(column)}{HEADER_ROW}: code '{code_key}' is no longer in "
                         "the project's codebook; restore it there or delete the column")
        elif tree.by_key[code_key].children:
            problems.add(f"{CODING_SHEET}!{get_column_letter(column)}{HEADER_ROW}: '{code_key}' is now a theme with "
                         "codes beneath it, not a code; export a new sheet")

    units_by_key = {u.key: u for u in load_sheet_units(conn)}
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
    for unit_key in meta["units"]:
        if unit_key not in seen:
            problems.add(f"{CODING_SHEET}: the row for unit {unit_key} was deleted; restore it (rows must not be "
                         "deleted — leave a row empty if no code applies)")
    problems.raise_if_any()

    code_keys = list(code_columns)
    code_ids = {k: tree.by_key[k].code_id for k in code_keys}
    result = SheetImportResult(path=path, coder=coder_name, units=len(sheet_units), codes=code_keys, added=0,
                               removed=0, kept=0, marked=len(marks), exported_for=exported_for)
    with project.transaction() as conn:
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
        from qualcode.codings import add_codings

        add_codings(conn, [
            {"coder_id": coder_id, "code_id": code_ids[code_key], "document_id": units_by_key[unit_key].document_id,
             "start": units_by_key[unit_key].start, "end": units_by_key[unit_key].end, "origin": "sheet",
             "codebook_version_id": version_id}
            for unit_key, code_key in new_pairs
        ])
        sample_id = _sample_for(conn, coder_id, meta)
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
    return result


def _sample_for(conn: sqlite3.Connection, coder_id: int, meta: dict) -> int | None:
    """The sample a sheet was drawn for: the matching recorded sample, or a new record of it."""
    fraction, seed, by = meta.get("sample_fraction"), meta.get("sample_seed"), meta.get("sample_by")
    if fraction is None:
        return None
    row = conn.execute(
        "SELECT sample_id FROM samples WHERE coder_id = ? AND fraction = ? AND seed IS ? AND by IS ?"
        " ORDER BY sample_id DESC LIMIT 1", (coder_id, float(fraction), seed, by)).fetchone()
    if row:
        return row[0]
    return conn.execute(
        "INSERT INTO samples (coder_id, fraction, seed, by, created_at) VALUES (?, ?, ?, ?, ?)",
        (coder_id, float(fraction), seed, by, store.now())).lastrowid


# --------------------------------------------------------------------------- the sample


def current_sample(conn: sqlite3.Connection, coder_id: int) -> dict | None:
    """The coder's current double-coding sample (the newest sample the coder's assignments
    refer to) as a dict of sample_id, fraction, seed, by; None when the coder has none."""
    row = conn.execute(
        "SELECT s.sample_id, s.fraction, s.seed, s.by FROM samples s WHERE s.sample_id ="
        " (SELECT MAX(sample_id) FROM assignments WHERE coder_id = ?)", (coder_id,)).fetchone()
    if row is None:
        return None
    return {"sample_id": row[0], "fraction": float(row[1]), "seed": row[2], "by": row[3]}


def assignments_table(conn: sqlite3.Connection, coders: list[str] | None = None):
    """Which units each coder was handed, per respondent and document: a DataFrame with
    coder, respondent, document, units, sample (fraction/seed/by or 'all')."""
    import pandas as pd
    from natsort import natsort_keygen

    sql = (
        "SELECT k.name AS coder, u.respondent_id AS respondent, d.name AS document, COUNT(*) AS units,"
        " s.sample_id, s.fraction, s.seed, s.by"
        " FROM assignments a JOIN coders k USING (coder_id) JOIN units u USING (unit_id)"
        " JOIN documents d ON d.document_id = u.document_id LEFT JOIN samples s ON s.sample_id = a.sample_id"
    )
    params: list = []
    if coders:
        sql += f" WHERE k.name IN ({','.join('?' * len(coders))})"
        params.extend(coders)
    sql += " GROUP BY k.name, u.respondent_id, d.name, s.sample_id"
    rows = [dict(r) for r in conn.execute(sql, params)]
    natural = natsort_keygen()
    rows.sort(key=lambda r: (r["coder"], natural(r["respondent"] or ""), natural(r["document"])))
    table = pd.DataFrame(
        [{
            "coder": r["coder"], "respondent": r["respondent"], "document": r["document"], "units": r["units"],
            "sample": (f"{r['fraction']:g} by {r['by']} (seed {r['seed']})" if r["sample_id"] is not None else "all"),
        } for r in rows],
        columns=["coder", "respondent", "document", "units", "sample"],
    )
    return table


def double_coded_units(conn: sqlite3.Connection, coder_a: str, coder_b: str) -> list[int]:
    """Unit ids (respondent paragraphs) both coders coded, in unit order: the scope ``agree`` and
    ``reconcile`` compare (``units.compared_paragraphs``: each coder's assignments, or for a coder
    without assignments the documents that coder coded). NotFound for an unknown coder."""
    from qualcode.units import compared_paragraphs

    return sorted(compared_paragraphs(conn, coder_a, coder_b).unit_ids)
