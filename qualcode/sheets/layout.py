"""The coding sheet's layout (sheet names, key and header rows, fixed columns, mark values) and the
paragraph units a sheet carries, shared by writing and reading it.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass

from qualcode.errors import NotFound


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
