"""Reading CSV tables the way spreadsheets save them.

One reader for every CSV a researcher hands to qualcode (respondents,
speaker maps, codebooks, exchanged codings), so a file Excel wrote on
Windows works everywhere or nowhere:

- encodings: UTF-8 with or without BOM, UTF-16 (with a BOM, or without one
  when the NUL pattern is clear) and, as a fallback, Windows-1252 with a
  notice (the same rules as transcripts);
- delimiters: Excel's ``sep=;`` first line names it; otherwise the one of
  comma, semicolon, tab and bar most frequent in the header line (comma on
  a tie or when none occurs);
- blank rows are skipped; every row keeps the file line it starts on, so
  messages can point at it even after multi-line cells.

Callers keep their own column checks and messages. Errors here are
:class:`CsvError` (an InputError) naming the file and line; they never
contain cell text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from qualcode.errors import InputError

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}
# A CSV of respondents, codes or codings is far below this; larger is a wrong file.
MAX_CSV_BYTES = 64 * 2**20


class CsvError(InputError):
    """A CSV file cannot be read as a table (missing, binary, undecodable, broken quoting)."""


class CsvEmpty(CsvError):
    """A CSV file holds nothing but blank lines."""


class CsvRow(NamedTuple):
    """One non-blank record: the 1-based file line it starts on (a ``sep=`` line counts) and its cells."""

    line: int
    cells: list[str]


@dataclass
class CsvTable:
    """A CSV file read as a table: its header cells (as written), rows, and how it was read."""

    path: Path
    header: list[str]
    header_line: int
    rows: list[CsvRow] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ","
    notices: list[str] = field(default_factory=list)


def _binary_error(name: str, data: bytes, what: str) -> CsvError:
    if data.startswith(b"PK\x03\x04"):
        hint = "it is a zip package such as an .xlsx workbook; save the sheet as CSV and give that file"
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        hint = "it is an old Office file such as an .xls workbook; save the sheet as CSV and give that file"
    elif data.startswith(b"%PDF"):
        hint = "it is a PDF; give the table as a CSV file"
    else:
        hint = f"check that it is the {what} table saved as CSV"
    return CsvError(f"{name} is not a CSV file (it contains binary data): {hint}")


def _looks_binary(data: bytes) -> bool:
    """Office/zip/PDF packages, or NUL bytes that are not UTF-16 text."""
    import codecs

    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF")):
        return True
    if b"\x00" not in data or data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    sample = data[:4096]
    even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
    half = max(1, len(sample) // 2)
    utf16 = (odd_nuls > 0.4 * half and even_nuls < 0.05 * half) or (even_nuls > 0.4 * half and odd_nuls < 0.05 * half)
    return not utf16


def _encoding_of(data: bytes, notices: list[str]) -> str:
    import codecs

    if any("Windows-1252" in notice for notice in notices):
        return "cp1252"
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data[:4096]:
        return "utf-16"
    return "utf-8"


def read_csv(path: Path | str, *, what: str) -> CsvTable:
    """Read a CSV file into a :class:`CsvTable` (header = the first non-blank row).

    ``what`` names one row of the table in messages ("respondent", "code",
    "coding"): an empty file is refused with "it needs a header row and one
    row per <what>". A file with a header and no rows is returned as such;
    the caller decides whether that is an error. Raises :class:`CsvError`
    (with :class:`CsvEmpty` for an empty file) naming the file and line.
    """
    import csv
    import io

    from qualcode.errors import ImportFailed
    from qualcode.transcripts.text import decode_text

    path = Path(path)
    name = path.name
    if not path.is_file():
        raise CsvError(f"{path}: no such file; check the path")
    try:
        size = path.stat().st_size
        if size > MAX_CSV_BYTES:
            raise CsvError(f"{name} is {size / 1e6:.0f} MB, above the {MAX_CSV_BYTES // 2**20} MB limit for a CSV"
                           f" table; check it is the {what} table")
        data = path.read_bytes()
    except OSError as exc:
        raise CsvError(f"{path}: cannot be read ({exc.strerror}); check the path and permissions") from None
    if _looks_binary(data):
        raise _binary_error(name, data, what)
    try:
        text, notices = decode_text(data, name)
    except ImportFailed as exc:
        if "binary data" in str(exc):
            raise _binary_error(name, data, what) from None
        raise CsvError(str(exc)) from None
    if not text.strip():
        raise CsvEmpty(f"{name} is empty; it needs a header row and one row per {what}")
    encoding = _encoding_of(data, notices)

    first_line = next((line for line in text.split("\n") if line.strip()), "")
    line_offset = 0
    if first_line.lower().startswith("sep=") and len(first_line.strip()) == 5:
        # Excel's "sep=;" hint line names the delimiter; it is not part of the table
        delimiter = first_line.strip()[4]
        skipped, _, text = text.partition(first_line)
        line_offset = skipped.count("\n") + 1
        text = text[1:] if text.startswith("\n") else text
        first_line = next((line for line in text.split("\n") if line.strip()), "")
    else:
        delimiter = max(DELIMITERS, key=first_line.count)
        if first_line.count(delimiter) == 0:
            delimiter = ","

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    header_line = 0
    rows: list[CsvRow] = []
    lines_read = 0
    try:
        for cells in reader:
            start = lines_read + 1 + line_offset
            lines_read = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header, header_line = cells, start
            else:
                rows.append(CsvRow(start, cells))
    except csv.Error as exc:
        raise CsvError(f"{name}: line {reader.line_num + line_offset} cannot be read as CSV ({exc}); fix the quoting"
                       " and try again") from None
    if header is None:
        raise CsvEmpty(f"{name} is empty; it needs a header row and one row per {what}")
    return CsvTable(path=path, header=header, header_line=header_line, rows=rows, encoding=encoding,
                    delimiter=delimiter, notices=notices)


# A coding sheet of a large study is some tens of MB inflated; openpyxl holds all of it in memory.
MAX_WORKBOOK_ENTRIES = 10_000
MAX_WORKBOOK_BYTES = 1024**3


class WorkbookError(InputError):
    """An .xlsx file that openpyxl cannot read (a broken zip, broken XML, a missing part)."""


def open_workbook(path: Path | str, *, data_only: bool = False):
    """An .xlsx workbook opened with openpyxl, or WorkbookError naming the file and what kind of damage.

    openpyxl raises many unrelated exception types for a damaged file (zip,
    XML, key and value errors). The workbook is read whole (not in read-only
    mode, where a damaged sheet raises only when its rows are read), so every
    error comes out here, as one WorkbookError.
    """
    import zipfile

    from openpyxl import load_workbook

    from qualcode.safezip import check_entries

    path = Path(path)
    try:
        with zipfile.ZipFile(path) as package:  # a zip bomb is refused before openpyxl inflates anything
            check_entries(package, path.name, WorkbookError, max_entries=MAX_WORKBOOK_ENTRIES,
                          max_total=MAX_WORKBOOK_BYTES)
    except (zipfile.BadZipFile, OSError, ValueError):
        pass  # not a zip, or unreadable: openpyxl says so below, in the same words as for any damage
    try:
        return load_workbook(path, read_only=False, data_only=data_only)
    except Exception as exc:  # the file is damaged in one of many ways; say so in one line
        raise WorkbookError(f"{path.name} is not a readable Excel workbook ({type(exc).__name__}); open it in"
                            " Excel or LibreOffice and save it again as an Excel Workbook (.xlsx)") from None
