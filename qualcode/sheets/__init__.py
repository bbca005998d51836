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

Modules (the public names are re-exported here):

- ``layout``: sheet names, key/header rows, fixed columns, mark values; the paragraph units a sheet carries
- ``sample``: the reproducible double-coding sample, recorded per coder, and each coder's assignments
- ``write``: ``export_sheet`` and the workbook it writes
- ``read``: ``import_sheet``, validating every cell before anything is stored
"""

from __future__ import annotations

from qualcode.sheets.layout import (
    BY_CHOICES, CHECK_COLUMNS, CODEBOOK_SHEET, CODE_COLUMN_WIDTH, CODE_KEY_PREFIX, CODING_SHEET,
    FIRST_DATA_ROW, HASH_LENGTH, HEADER_ROW, ID_COLUMNS, INSTRUCTIONS_SHEET, KEY_ROW, MARK_VALUES,
    MAX_CELL_CHARS, MAX_PROBLEMS_SHOWN, META_SHEET, SHEET_FORMAT, SHEET_FORMAT_VERSION, SheetUnit,
    TRUNCATION_MARK, cell_text, load_sheet_units, resolve_codes, text_hash,
)
from qualcode.sheets.sample import (
    assignments_table, current_sample, double_coded_units, draw_coder_sample, draw_sample, recorded_sample,
)
from qualcode.sheets.write import INSTRUCTIONS, SheetExportResult, export_sheet
from qualcode.sheets.read import SheetImportResult, import_sheet

__all__ = [
    "BY_CHOICES",
    "CHECK_COLUMNS",
    "CODEBOOK_SHEET",
    "CODE_COLUMN_WIDTH",
    "CODE_KEY_PREFIX",
    "CODING_SHEET",
    "FIRST_DATA_ROW",
    "HASH_LENGTH",
    "HEADER_ROW",
    "ID_COLUMNS",
    "INSTRUCTIONS",
    "INSTRUCTIONS_SHEET",
    "KEY_ROW",
    "MARK_VALUES",
    "MAX_CELL_CHARS",
    "MAX_PROBLEMS_SHOWN",
    "META_SHEET",
    "SHEET_FORMAT",
    "SHEET_FORMAT_VERSION",
    "SheetExportResult",
    "SheetImportResult",
    "SheetUnit",
    "TRUNCATION_MARK",
    "assignments_table",
    "cell_text",
    "current_sample",
    "double_coded_units",
    "draw_coder_sample",
    "draw_sample",
    "export_sheet",
    "import_sheet",
    "load_sheet_units",
    "recorded_sample",
    "resolve_codes",
    "text_hash",
]
