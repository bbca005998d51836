"""REFI-QDA exchange: .qdpx projects and .qdc codebooks in and out.

REFI-QDA is the exchange standard of NVivo, ATLAS.ti, MAXQDA, QualCoder,
Taguette and others. A ``.qdpx`` file is a zip holding ``project.qde`` (XML)
and the sources' plain text under ``Sources/``; a ``.qdc`` file is a codebook
alone.

Mapping (REFI → qualcode):

- ``User`` → coder (by name; the GUID when the user has no name)
- ``Code`` → code-tree node; GUID kept in ``codes.guid``; the key is a slug of
  the code path (``parent_name.child_name``), made unique; the REFI name is the
  label and ``Description`` the definition
- ``TextSource`` → document, with one unit per paragraph (split at blank
  lines); REFI sources have no speaker turns
- ``Case`` → respondent (the case name); ``VariableValue`` → attribute;
  ``Case/SourceRef`` → the document's respondent and its units' respondent
- ``PlainTextSelection`` + ``Coding`` → one coding per ``Coding`` (origin
  ``refi``, coder from ``Coding/@creatingUser``, selection GUID in
  ``codings.guid``, selection description and notes in ``codings.memo``)

Positions. The spec counts code points from 0 over the plain-text source,
end exclusive; producers differ (see docs/refi-qda.md). Each source gets an
explicit map from the producer's positions over the raw .txt to code points
of the stored text (BOM removed, NFC, ``\\n`` line ends), and every selection
is mapped through it and checked; one that cannot be mapped is reported and
skipped, never shifted.

Safety. XML is parsed with DTDs, entities and external references forbidden
(defusedxml); the zip is read in memory with its entry count and
decompressed size capped, counting bytes as they are read, and entries with
absolute paths or ``..`` are refused.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from qualcode import store
from qualcode.errors import CodebookError, InputError, RefiError

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
CODEBOOK_NS_PREFIX = "urn:QDA-XML:codebook"
PROJECT_NS_PREFIX = "urn:QDA-XML:project"

# Limits on what a .qdpx may make us read (zip bombs). Real projects are far
# below these: the NVivo test project is 1.4 MB with five entries.
MAX_ZIP_ENTRIES = 20_000
MAX_TOTAL_BYTES = 2 * 1024**3
MAX_MEMBER_BYTES = 512 * 1024**2
READ_CHUNK = 1024 * 1024

METADATA_NOTE_NAME = "qualcode metadata"
SELECTION_NAME_LENGTH = 100
# A selection name this long that occurs in the source is taken to quote it.
MIN_QUOTED_NAME = 8

GUID_RE = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")
RGB_RE = re.compile(r"^#([A-Fa-f0-9]{6}|[A-Fa-f0-9]{3})$")
# characters XML 1.0 cannot carry, even escaped
XML_INVALID_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Why a coding was not imported (keys of RefiImportResult.codings_skipped).
SKIP_SOURCE_MISSING = "source text missing from the file"
SKIP_NON_TEXT = "non-text source (picture, PDF, audio or video)"
SKIP_OUT_OF_RANGE = "position outside the source text"
SKIP_SPLITS_CHARACTER = "position splits a character"
SKIP_EMPTY = "empty or reversed selection"
SKIP_TEXT_MISMATCH = "text differs from the selection's name"
SKIP_UNKNOWN_CODE = "unknown code"
SKIP_UNKNOWN_USER = "unknown user"
SKIP_NO_USER = "no coding user"
SKIP_DUPLICATE = "already in the project"


# -- small helpers --------------------------------------------------------------------------

def normalise_guid(value: str | None) -> str | None:
    """``'{AB-…}'`` → ``'ab-…'``: GUIDs compare case-insensitively and are written lowercase."""
    if value is None:
        return None
    value = value.strip().strip("{}").lower()
    return value or None


def valid_guid(value: str | None) -> bool:
    return bool(value) and bool(GUID_RE.match(value))


def new_guid() -> str:
    return str(uuid.uuid4())


def _local(tag) -> str:
    """The local name of an element tag (namespace dropped), so every namespace variant reads the same."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element, name: str) -> list:
    return [child for child in element if _local(child.tag) == name]


def _child(element, name: str):
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _text(element) -> str | None:
    """The text of an element, None when absent or blank."""
    if element is None or element.text is None:
        return None
    return element.text if element.text.strip() else None


def _xml_safe(value: str) -> str:
    return XML_INVALID_RE.sub("", value)


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 code``, ``2 codes`` (``many`` for irregular plurals)."""
    return f"{count} {word}" if count == 1 else f"{count} {many or word + 's'}"


def slug(name: str, limit: int = 40) -> str:
    """A key component from a REFI code name: ASCII, lowercase, words joined by ``_``."""
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_text = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).encode("ascii", "ignore").decode()
    component = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:limit].strip("_")
    return component or "code"


# -- reading XML safely ------------------------------------------------------------------------

def parse_xml(data: bytes, where: str):
    """Parse XML bytes with DTDs, entity declarations and external references refused.

    A UTF-8 byte-order mark (QualCoder writes one before the XML declaration)
    and leading whitespace are dropped first. Raises RefiError with the line
    and column of a syntax error; never includes the file's text.
    """
    import xml.etree.ElementTree as ET

    from defusedxml import ElementTree as SafeET
    from defusedxml.common import DefusedXmlException

    while data.startswith(b"\xef\xbb\xbf"):
        data = data[3:].lstrip()
    data = data.lstrip(b" \t\r\n")
    if not data:
        raise RefiError(f"{where} is empty; export it again from the program that made it")
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise RefiError(
            f"{where} declares a DTD or entities, which REFI-QDA files never use; refusing to read it"
            " (entity-expansion and external-entity files are a known attack)"
        ) from None
    except ET.ParseError as exc:
        line, column = exc.position
        raise RefiError(
            f"{where} is not well-formed XML (line {line}, column {column}); the file is damaged or truncated —"
            " export it again from the program that made it"
        ) from None


# -- reading the zip safely --------------------------------------------------------------------

class _Archive:
    """A .qdpx zip, read in memory only, with caps on entries and decompressed bytes."""

    def __init__(self, path: Path):
        import zipfile

        self.path = path
        self.label = path.name
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise InputError(f"{path} does not exist; check the path") from None
            raise RefiError(f"{self.label} is not a REFI-QDA project (a .qdpx file is a zip archive): {exc}") from None
        infos = self.zip.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise RefiError(f"{self.label} holds {len(infos)} entries (limit {MAX_ZIP_ENTRIES}); refusing to read it")
        declared = 0
        self.members: dict[str, object] = {}
        for info in infos:
            name = info.filename
            parts = re.split(r"[\\/]", name)
            if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
                raise RefiError(
                    f"{self.label} contains an entry with an absolute path or '..' ({name[:80]}); refusing to read it"
                )
            declared += info.file_size
            if info.is_dir():
                continue
            self.members[name.replace("\\", "/").lower()] = info
        if declared > MAX_TOTAL_BYTES:
            raise RefiError(
                f"{self.label} would decompress to {declared / 1024**2:.0f} MB (limit {MAX_TOTAL_BYTES // 1024**2} MB);"
                " refusing to read it"
            )
        self.bytes_read = 0

    def close(self) -> None:
        self.zip.close()

    def find(self, name: str):
        return self.members.get(name.replace("\\", "/").lower())

    def read(self, info) -> bytes:
        """A member's bytes, counted while reading: more than declared or than the caps is refused."""
        import zipfile

        limit = min(info.file_size, MAX_MEMBER_BYTES)
        if info.file_size > MAX_MEMBER_BYTES:
            raise RefiError(f"{self.label}: {info.filename} is larger than {MAX_MEMBER_BYTES // 1024**2} MB;"
                            " refusing to read it")
        chunks, size = [], 0
        try:
            with self.zip.open(info) as handle:
                while True:
                    chunk = handle.read(READ_CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    self.bytes_read += len(chunk)
                    if size > limit or self.bytes_read > MAX_TOTAL_BYTES:
                        raise RefiError(
                            f"{self.label}: {info.filename} decompresses to more than it declares; refusing to read it"
                        )
                    chunks.append(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            raise RefiError(f"{self.label}: cannot read {info.filename} ({exc}); the file is damaged") from None
        except zipfile.LargeZipFile as exc:  # pragma: no cover - needs a zip64 archive
            raise RefiError(f"{self.label}: cannot read {info.filename} ({exc})") from None
        return b"".join(chunks)

    def project_entry(self):
        """The single ``*.qde`` (any case); ``project.qde`` wins when there are several."""
        qdes = [info for name, info in self.members.items() if name.endswith(".qde")]
        if not qdes:
            raise RefiError(f"{self.label} holds no project.qde; it is not a REFI-QDA project")
        if len(qdes) > 1:
            preferred = [info for info in qdes if info.filename.replace("\\", "/").lower() == "project.qde"]
            if len(preferred) != 1:
                names = ", ".join(sorted(info.filename for info in qdes))
                raise RefiError(f"{self.label} holds several .qde files ({names}); keep one and try again")
            return preferred[0]
        return qdes[0]

    def source_entry(self, path: str | None):
        """The zip entry a ``plainTextPath`` names, or None when it is not in the archive.

        Accepts ``internal://x.txt``, a bare ``x.txt`` and, as a last resort, the
        file name of a ``relative:///`` or absolute path looked up in Sources/.
        """
        if not path:
            return None
        path = path.strip().replace("\\", "/")
        scheme, sep, rest = path.partition("://")
        candidates = []
        if sep and scheme.lower() == "internal":
            candidates += [f"sources/{rest.lstrip('/')}", rest.lstrip("/")]
        elif sep:
            candidates.append(f"sources/{rest.rsplit('/', 1)[-1]}")
        else:
            candidates += [f"sources/{path.lstrip('/')}", path.lstrip("/"), f"sources/{path.rsplit('/', 1)[-1]}"]
        for candidate in candidates:
            if ".." in candidate.split("/"):
                continue
            info = self.find(candidate)
            if info is not None:
                return info
        return None


# -- position conventions ----------------------------------------------------------------------

@dataclass(frozen=True)
class Counting:
    """How a producer counts positions over the raw plain text (after its BOM)."""

    utf16: bool  # UTF-16 code units (astral characters count two) instead of code points
    crlf_as_two: bool  # CR LF counts as two positions (False: as one)
    description: str


SPEC_COUNTING = Counting(False, True, "code points over the source text (the REFI-QDA rule)")
NVIVO_COUNTING = Counting(True, True, "NVivo: UTF-16 code units, CR LF counted as two")
ONE_CRLF_COUNTING = Counting(False, False, "code points, CR LF counted as one")


def counting_for_origin(origin: str | None) -> Counting:
    """The position convention of the program named in ``Project/@origin``."""
    text = (origin or "").lower()
    if "nvivo" in text:
        return NVIVO_COUNTING
    if "atlas.ti" in text or "atlas ti" in text or "atlasti" in text:
        return Counting(False, False, "ATLAS.ti: code points, CR LF counted as one")
    if "qualcoder" in text:
        return Counting(False, False, "QualCoder: code points, CR LF counted as one")
    if "maxqda" in text:
        return Counting(False, False, "MAXQDA: code points, CR LF counted as one")
    return SPEC_COUNTING


# Characters that may compose with the character before them under NFC although
# their combining class is 0 (Hangul vowel and final jamo, some Indic vowel parts).
_NFC_SECOND_STARTERS = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3)) | {
    0x09BE, 0x09D7, 0x0B3E, 0x0B56, 0x0B57, 0x0BBE, 0x0BD7, 0x0C56, 0x0CC2, 0x0CD5, 0x0CD6, 0x0D3E, 0x0D57,
    0x0DCF, 0x0DDF, 0x102E, 0x1B35, 0x3099, 0x309A,
}


def _nfc_boundary(ch: str) -> bool:
    """True when NFC never joins ``ch`` to what comes before it."""
    code = ord(ch)
    if code < 0x300:
        return True
    return unicodedata.combining(ch) == 0 and code not in _NFC_SECOND_STARTERS


@dataclass
class OffsetMap:
    """Stored text of a source and a map from producer positions to indices into it.

    ``positions[p]`` is the stored index for producer position ``p`` (0 … total),
    or None where ``p`` falls inside a character (half of a surrogate pair, or
    inside a sequence that NFC changed).
    """

    text: str
    positions: list[int | None]

    @property
    def total(self) -> int:
        return len(self.positions) - 1


def build_offset_map(raw: str, counting: Counting) -> OffsetMap:
    """Normalise ``raw`` (a source's text, BOM already removed) and map the producer's positions.

    Line ends become ``\\n`` (CR LF and lone CR), then the text is put in NFC.
    A position between CR and LF (when CR LF counts as two) maps to just
    before the line end.
    """
    positions: list[int | None] = []
    lf_chars: list[str] = []
    index = 0
    length = len(raw)
    while index < length:
        ch = raw[index]
        here = len(lf_chars)
        if ch == "\r":
            positions.append(here)
            if index + 1 < length and raw[index + 1] == "\n":
                if counting.crlf_as_two:
                    positions.append(here)
                index += 2
            else:
                index += 1
            lf_chars.append("\n")
            continue
        positions.append(here)
        if counting.utf16 and ord(ch) > 0xFFFF:
            positions.append(None)
        lf_chars.append(ch)
        index += 1
    positions.append(len(lf_chars))
    lf_text = "".join(lf_chars)
    if unicodedata.is_normalized("NFC", lf_text):
        return OffsetMap(lf_text, positions)
    # Normalise chunk by chunk so each chunk boundary keeps an exact position.
    chunk_starts = [i for i, ch in enumerate(lf_text) if i == 0 or _nfc_boundary(ch)] + [len(lf_text)]
    lf_to_stored: list[int | None] = [None] * (len(lf_text) + 1)
    pieces: list[str] = []
    stored_length = 0
    for start, end in zip(chunk_starts, chunk_starts[1:]):
        chunk = lf_text[start:end]
        normal = unicodedata.normalize("NFC", chunk)
        lf_to_stored[start] = stored_length
        if normal == chunk:
            for offset in range(1, end - start):
                lf_to_stored[start + offset] = stored_length + offset
        pieces.append(normal)
        stored_length += len(normal)
    lf_to_stored[len(lf_text)] = stored_length
    stored = "".join(pieces)
    if stored != unicodedata.normalize("NFC", lf_text):
        # The chunks were not independent: only the two ends of the text stay exact.
        stored = unicodedata.normalize("NFC", lf_text)
        lf_to_stored = [None] * (len(lf_text) + 1)
        lf_to_stored[0], lf_to_stored[-1] = 0, len(stored)
    return OffsetMap(stored, [None if p is None else lf_to_stored[p] for p in positions])


def _squash(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def check_against_name(selected: str, name: str | None) -> bool | None:
    """Compare a mapped selection's text with the selection's name (ATLAS.ti keeps the quote's
    first ~100 characters there, ending in an ellipsis).

    Returns True (matches), False (a quotation-like name that does not match) or
    None (no name, or a name that is a label rather than a quotation).
    Whitespace runs compare as one space.
    """
    if not name or not name.strip():
        return None
    wanted = _squash(name)
    have = _squash(selected)
    for ellipsis in ("…", "..."):
        if wanted.endswith(ellipsis):
            prefix = wanted[: -len(ellipsis)].rstrip()
            if not prefix:
                return None
            return have.startswith(prefix)
    if wanted == have:
        return True
    # A name as long as the selection is a quotation, so a difference is a mismatch;
    # a shorter or longer one is a label someone typed ("Quotation 6:1").
    return False if len(wanted) == len(have) else None


# -- the codebook ------------------------------------------------------------------------------

@dataclass
class RefiCode:
    guid: str | None
    name: str
    description: str | None
    color: str | None
    parent: "RefiCode | None"
    codable: bool = True
    key: str | None = None

    def path_names(self) -> list[str]:
        names, node = [], self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return list(reversed(names))


def _read_codes(codes_element) -> list[RefiCode]:
    """All ``Code`` elements under ``Codes``, parents before children."""
    result: list[RefiCode] = []

    def walk(element, parent):
        for code_element in _children(element, "Code"):
            name = code_element.get("name")
            guid = normalise_guid(code_element.get("guid"))
            color = code_element.get("color")
            code = RefiCode(
                guid=guid,
                name=(name if name is not None and name.strip() else (guid or "code")),
                description=_text(_child(code_element, "Description")),
                color=color if color and RGB_RE.match(color) else None,
                parent=parent,
                codable=(code_element.get("isCodable", "true").strip().lower() not in ("false", "0")),
            )
            result.append(code)
            walk(code_element, code)

    if codes_element is not None:
        walk(codes_element, None)
    return result


def _unique_key(base: str, taken: set[str]) -> str:
    """``base``, or ``base_2``, ``base_3``, … whichever is not in ``taken`` yet; it is added to ``taken``."""
    key, number = base, 2
    while key in taken:
        key = f"{base}_{number}"
        number += 1
    taken.add(key)
    return key


def _assign_keys(codes: list[RefiCode], taken: set[str]) -> None:
    """Key each code with the slug of its path (``parent.child``), unique against ``taken``."""
    for code in codes:
        base = ".".join(slug(name) for name in code.path_names()) if code.parent is None else (
            f"{code.parent.key}.{slug(code.name)}")
        code.key = _unique_key(base, taken)


def _nodes_from_codes(codes: list[RefiCode]) -> list[dict]:
    return [
        {"key": c.key, "label": c.name, "parent": c.parent.key if c.parent else None, "definition": c.description,
         "include": None, "exclude": None, "examples": [], "memo": None, "rules": None, "color": c.color,
         "guid": c.guid}
        for c in codes
    ]


def read_qdc(path: Path | str):
    """Read a REFI-QDA codebook (.qdc) into a ``qualcode.codebook.Codebook``.

    Nodes are in ``codebook.store_nodes`` format, parents first; keys are slugs
    of the code path. Accepts the namespace variants seen in the wild
    (``urn:QDA-XML:codebook:1.0``, ``…:1:0``, ``…:0:4``), BOMs, uppercase
    GUIDs and an empty ``<Sets/>``. Raises CodebookError for a file that is not
    a codebook or is damaged.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path} does not exist; check the path") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    try:
        root = parse_xml(data, str(path))
    except RefiError as exc:
        raise CodebookError(str(exc)) from None
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    if _local(root.tag) != "CodeBook" or (namespace and not namespace.startswith(CODEBOOK_NS_PREFIX)):
        what = "a REFI-QDA project" if _local(root.tag) == "Project" else f"a <{_local(root.tag)}> document"
        raise CodebookError(
            f"{path} is {what}, not a REFI-QDA codebook (<CodeBook> in {CODEBOOK_NS}); give a .qdc file"
        )
    codes = _read_codes(_child(root, "Codes"))
    if not codes:
        raise CodebookError(f"{path} has no codes; export the codebook again from the program that made it")
    _assign_keys(codes, set())
    nodes = _nodes_from_codes(codes)
    origin = root.get("origin")
    from qualcode.codebook import Codebook

    return Codebook(
        name=path.stem,
        description=f"REFI-QDA codebook from {origin}" if origin else "REFI-QDA codebook",
        version_note=None,
        nodes=nodes,
        source_format="qdc",
    )


# -- import ------------------------------------------------------------------------------------

@dataclass
class SkippedSelection:
    """A selection (or a coding of it) that was not imported. Carries no source text."""

    source: str
    selection: str | None
    start: int | None
    end: int | None
    reason: str
    codings: int


@dataclass
class RefiImportResult:
    """What ``import_project`` did."""

    path: Path
    origin: str | None
    counting: str
    documents_added: list[str] = field(default_factory=list)
    documents_reused: list[str] = field(default_factory=list)
    sources_skipped: list[tuple[str, str]] = field(default_factory=list)
    codes_added: int = 0
    codes_matched: int = 0
    coders: list[str] = field(default_factory=list)
    respondents: list[str] = field(default_factory=list)
    attributes: int = 0
    selections: int = 0
    codings_imported: int = 0
    codings_skipped: dict[str, int] = field(default_factory=dict)
    skipped_selections: list[SkippedSelection] = field(default_factory=list)
    selections_verified: int = 0
    selections_unverified: int = 0
    codebook_version_id: int | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def codings_skipped_total(self) -> int:
        return sum(self.codings_skipped.values())

    def skip(self, reason: str, count: int = 1) -> None:
        if count:
            self.codings_skipped[reason] = self.codings_skipped.get(reason, 0) + count

    def __str__(self) -> str:
        return "\n".join(self.summary_lines())

    def summary_lines(self) -> list[str]:
        """A short human summary (no source text), for the command line."""
        lines = [
            f"Read {self.path.name} (made by {self.origin or 'an unnamed program'}; positions: {self.counting}).",
            f"Documents: {len(self.documents_added)} added, {len(self.documents_reused)} already in the project,"
            f" {plural(len(self.sources_skipped), 'source')} skipped.",
            f"Codes: {self.codes_added} added, {self.codes_matched} matched to existing codes.",
            f"Coders: {', '.join(self.coders) if self.coders else 'none'}.",
            f"Respondents (cases): {len(self.respondents)}, with {plural(self.attributes, 'attribute value')}.",
            f"Codings: {self.codings_imported} imported from {plural(self.selections, 'text selection')};"
            f" {plural(self.selections_verified, 'selection')} checked against their quoted text.",
        ]
        if self.codings_skipped:
            reasons = "; ".join(f"{reason}: {count}" for reason, count in sorted(self.codings_skipped.items()))
            lines.append(f"Codings skipped: {self.codings_skipped_total} ({reasons}).")
        for source, reason in self.sources_skipped:
            lines.append(f"Source '{source}' skipped: {reason}.")
        lines.extend(self.notices)
        return lines


def _detail_selection(result, source_name, selection, start, end, reason, codings):
    result.skip(reason, codings)
    result.skipped_selections.append(SkippedSelection(
        source_name, normalise_guid(selection.get("guid")) if selection is not None else None, start, end, reason,
        codings))


def _int_attribute(element, name: str) -> int | None:
    value = element.get(name)
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _decode_source(data: bytes) -> str | None:
    """A source .txt as text, its BOM removed; None when it is neither UTF-8 nor BOM-marked UTF-16."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def paragraph_units(text: str, respondent_id: str | None) -> list[dict]:
    """One respondent unit per paragraph (text between blank lines), whitespace trimmed."""
    units = []
    for match in re.finditer(r"\S(?:.*?\S)?(?=\n[ \t]*\n|\s*\Z)", text, flags=re.S):
        units.append({"start": match.start(), "end": match.end(), "role": "respondent",
                      "respondent_id": respondent_id, "speaker": None})
    return units


def _notes_by_guid(root) -> dict[str, str]:
    notes = {}
    notes_element = _child(root, "Notes")
    if notes_element is not None:
        for note in _children(notes_element, "Note"):
            content = _text(_child(note, "PlainTextContent"))
            if content and note.get("guid"):
                notes[normalise_guid(note.get("guid"))] = content
    return notes


def _qualcode_metadata(root, origin: str | None) -> dict:
    """The metadata note a qualcode export carries (keys, criteria, units), if this file has one."""
    if not (origin or "").lower().startswith("qualcode"):
        return {}
    notes_element = _child(root, "Notes")
    if notes_element is None:
        return {}
    for note in _children(notes_element, "Note"):
        if note.get("name") == METADATA_NOTE_NAME:
            try:
                data = json.loads(_text(_child(note, "PlainTextContent")) or "{}")
            except json.JSONDecodeError:
                return {}
            return data if isinstance(data, dict) else {}
    return {}


def import_project(project, path: Path | str, *, progress: Callable[[int, int, str], None] | None = None,
                   counting: Counting | None = None) -> RefiImportResult:
    """Import a REFI-QDA project (.qdpx) into ``project`` in one transaction.

    Users become coders, the codebook becomes code-tree nodes (matched to
    existing codes by GUID, then by key and label), cases become respondents
    with their variables as attributes, text sources become documents (reused
    when a document with the same name and text exists) and each Coding of a
    PlainTextSelection becomes a coding with origin ``refi``.

    ``progress(done, total, source_name)`` is called after each source.
    ``counting`` overrides the position convention detected from
    ``Project/@origin``. Selections that cannot be mapped exactly are skipped
    and listed in the result; nothing is shifted.
    """
    path = Path(path)
    archive = _Archive(path)
    try:
        qde_info = archive.project_entry()
        root = parse_xml(archive.read(qde_info), f"{path.name}:{qde_info.filename}")
        if _local(root.tag) != "Project":
            raise RefiError(f"{path.name}: {qde_info.filename} is not a REFI-QDA project (<Project> root expected)")
        origin = root.get("origin")
        chosen = counting or counting_for_origin(origin)
        result = RefiImportResult(path=path, origin=origin, counting=chosen.description)
        metadata = _qualcode_metadata(root, origin)
        notes = _notes_by_guid(root)
        sources = _read_sources(archive, root, chosen, result, metadata)
    finally:
        archive.close()
    if counting is None:
        _choose_counting_by_names(sources, chosen, result)
    with project.transaction() as conn:
        _store_import(conn, root, sources, result, metadata, notes, path, progress)
    return result


@dataclass
class _Source:
    element: object
    guid: str | None
    name: str
    offsets: OffsetMap | None
    units: list[dict] | None = None
    raw: str = ""


ALTERNATIVE_COUNTINGS = (
    SPEC_COUNTING,
    ONE_CRLF_COUNTING,
    NVIVO_COUNTING,
    Counting(True, False, "UTF-16 code units, CR LF counted as one"),
)


def _name_evidence(sources: list[_Source], counting: Counting | None) -> tuple[int, int]:
    """(selections whose name confirms the mapped text, selections whose name contradicts it or
    whose positions do not map) under ``counting`` (None: the maps already built)."""
    confirmed = contradicted = 0
    for source in sources:
        offsets = source.offsets if counting is None else build_offset_map(source.raw, counting)
        for selection in _children(source.element, "PlainTextSelection"):
            name = selection.get("name")
            if not name or not name.strip():
                continue
            start, end = _int_attribute(selection, "startPosition"), _int_attribute(selection, "endPosition")
            if start is None or end is None or not 0 <= start < end <= offsets.total:
                contradicted += 1
                continue
            mapped_start, mapped_end = offsets.positions[start], offsets.positions[end]
            if mapped_start is None or mapped_end is None or mapped_end <= mapped_start:
                contradicted += 1
                continue
            check = check_against_name(offsets.text[mapped_start:mapped_end], name)
            confirmed += check is True
            contradicted += check is False
    return confirmed, contradicted


def _choose_counting_by_names(sources: list[_Source], detected: Counting, result: RefiImportResult) -> None:
    """When the quotations in selection names contradict the detected convention and another
    convention agrees with every one of them, use that one — and say so."""
    confirmed, contradicted = _name_evidence(sources, None)
    if not contradicted:
        return
    for alternative in ALTERNATIVE_COUNTINGS:
        if (alternative.utf16, alternative.crlf_as_two) == (detected.utf16, detected.crlf_as_two):
            continue
        other_confirmed, other_contradicted = _name_evidence(sources, alternative)
        if other_contradicted == 0 and other_confirmed > confirmed:
            for source in sources:
                source.offsets = build_offset_map(source.raw, alternative)
            result.counting = alternative.description
            result.notices.append(
                f"The selections' quoted text contradicted the positions counted as {detected.description}"
                f" ({contradicted} selections); counted as {alternative.description}, all {other_confirmed}"
                " checkable selections match, so that counting was used."
            )
            return


def _read_sources(archive: _Archive, root, counting: Counting, result: RefiImportResult,
                  metadata: dict) -> list[_Source]:
    """Every text source with its text and offset map; non-text sources are counted and left out."""
    sources_element = _child(root, "Sources")
    if sources_element is None:
        return []
    text_sources: list[_Source] = []
    non_text = 0
    for element in sources_element:
        kind = _local(element.tag)
        if kind != "TextSource":
            if kind in ("PictureSource", "PDFSource", "AudioSource", "VideoSource"):
                non_text += 1
                result.skip(SKIP_NON_TEXT, sum(1 for e in element.iter() if _local(e.tag) == "Coding"))
            continue
        guid = normalise_guid(element.get("guid"))
        name = (element.get("name") or "").strip() or guid or "source"
        content = _child(element, "PlainTextContent")
        raw: str | None = None
        if content is not None and content.text is not None:
            raw = content.text
        else:
            info = archive.source_entry(element.get("plainTextPath"))
            if info is not None:
                raw = _decode_source(archive.read(info))
                if raw is None:
                    result.sources_skipped.append((name, "its text is neither UTF-8 nor UTF-16"))
                    _skip_source_codings(element, name, result, "source text is not UTF-8")
                    continue
        if raw is None:
            result.sources_skipped.append((name, "its text is not in the file"))
            _skip_source_codings(element, name, result, SKIP_SOURCE_MISSING)
            continue
        if raw.startswith("\ufeff"):
            raw = raw[1:]
        source = _Source(element, guid, name, build_offset_map(raw, counting), raw=raw)
        units = (metadata.get("documents") or {}).get(guid or "", {}).get("units")
        if isinstance(units, list):
            source.units = units
        text_sources.append(source)
    if non_text:
        result.notices.append(f"{non_text} non-text sources (pictures, PDFs, audio, video) were ignored.")
    return text_sources


def _skip_source_codings(element, name: str, result: RefiImportResult, reason: str) -> None:
    for selection in _children(element, "PlainTextSelection"):
        result.selections += 1
        _detail_selection(result, name, selection, _int_attribute(selection, "startPosition"),
                          _int_attribute(selection, "endPosition"), reason, len(_children(selection, "Coding")))
    whole = len(_children(element, "Coding"))
    if whole:
        _detail_selection(result, name, None, None, None, reason, whole)


def _coders_from_users(conn, root, result: RefiImportResult) -> dict[str, int]:
    """``{user guid: coder_id}``; a user without a name is known by its GUID."""
    coders: dict[str, int] = {}
    users_element = _child(root, "Users")
    if users_element is None:
        return coders
    for user in _children(users_element, "User"):
        guid = normalise_guid(user.get("guid"))
        if not guid:
            continue
        name = (user.get("name") or "").strip() or (user.get("id") or "").strip() or guid
        row = conn.execute("SELECT coder_id, name FROM coders WHERE lower(guid) = ?", (guid,)).fetchone()
        if row is not None:
            coder = row[0]
            name = row[1]
        else:
            coder = store.get_or_create_coder(conn, name)
            conn.execute("UPDATE coders SET guid = ? WHERE coder_id = ? AND guid IS NULL", (guid, coder))
        coders[guid] = coder
        if name not in result.coders:
            result.coders.append(name)
    return coders


def _store_codes(conn, root, result: RefiImportResult, metadata: dict) -> tuple[dict[str, int], list[dict]]:
    """Store the codebook; return ``{code guid: code_id}`` and the node dicts of the imported tree."""
    from qualcode import codebook

    codebook_element = _child(root, "CodeBook")
    codes = _read_codes(_child(codebook_element, "Codes") if codebook_element is not None else None)
    meta_codes = metadata.get("codes") or {}
    existing_keys = {r[0] for r in conn.execute("SELECT key FROM codes")}
    by_guid = {normalise_guid(r[1]): (r[0], r[2]) for r in conn.execute(
        "SELECT code_id, guid, key FROM codes WHERE guid IS NOT NULL")}
    ids: dict[str, int] = {}
    new_nodes: list[dict] = []
    all_nodes: list[dict] = []
    claimed: set[int] = set()
    taken = set(existing_keys)
    for code in codes:
        known = meta_codes.get(code.guid or "", {}) if isinstance(meta_codes, dict) else {}
        if code.guid and code.guid in by_guid:
            code_id, key = by_guid[code.guid]
            code.key = key
            ids[code.guid] = code_id
            claimed.add(code_id)
            result.codes_matched += 1
        else:
            wanted = known.get("key") if isinstance(known.get("key"), str) else None
            if wanted is None:
                parent_key = code.parent.key if code.parent else None
                wanted = f"{parent_key}.{slug(code.name)}" if parent_key else slug(code.name)
            row = conn.execute("SELECT code_id, label, guid FROM codes WHERE key = ?", (wanted,)).fetchone()
            if row is not None and row[0] not in claimed and row[1] == code.name:
                # same key and label: the same code coded in another tool
                code.key = wanted
                claimed.add(row[0])
                if code.guid:
                    conn.execute("UPDATE codes SET guid = ? WHERE code_id = ? AND guid IS NULL", (code.guid, row[0]))
                    ids[code.guid] = row[0]
                result.codes_matched += 1
            else:
                key = code.key = _unique_key(wanted, taken)
                node = {"key": key, "label": code.name, "parent": code.parent.key if code.parent else None,
                        "definition": code.description, "color": code.color, "guid": code.guid}
                for extra in ("include", "exclude", "examples", "memo", "rules"):
                    if known.get(extra) is not None:
                        node[extra] = known[extra]
                new_nodes.append(node)
        all_nodes.append({"key": code.key, "label": code.name, "parent": code.parent.key if code.parent else None,
                          "definition": code.description, "color": code.color, "guid": code.guid})
    if new_nodes:
        stored = codebook.store_nodes(conn, new_nodes)
        for code in codes:
            if code.guid and code.guid not in ids and code.key in stored:
                ids[code.guid] = stored[code.key]
        result.codes_added = len(new_nodes)
    return ids, all_nodes


def _store_cases(conn, root, result: RefiImportResult) -> dict[str, str]:
    """Cases → respondents with attributes; return ``{source guid: respondent_id}``."""
    from qualcode.documents import ensure_respondent

    variables: dict[str, str] = {}
    variables_element = _child(root, "Variables")
    if variables_element is not None:
        for variable in _children(variables_element, "Variable"):
            guid = normalise_guid(variable.get("guid"))
            if guid:
                variables[guid] = (variable.get("name") or guid).strip() or guid
    variable_order = {guid: index for index, guid in enumerate(variables)}
    source_case: dict[str, str] = {}
    cases_element = _child(root, "Cases")
    if cases_element is None:
        return source_case
    conflicts = 0
    for case in _children(cases_element, "Case"):
        respondent = (case.get("name") or "").strip() or normalise_guid(case.get("guid"))
        if not respondent:
            continue
        ensure_respondent(conn, respondent)
        if respondent not in result.respondents:
            result.respondents.append(respondent)
        for value_element in _children(case, "VariableValue"):
            ref = _child(value_element, "VariableRef")
            variable_guid = normalise_guid(ref.get("targetGUID")) if ref is not None else None
            if variable_guid not in variables:
                continue
            value = None
            for kind in ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue", "DateTimeValue"):
                value_child = _child(value_element, kind)
                if value_child is not None:
                    value = (value_child.text or "").strip()
                    break
            name = variables[variable_guid]
            existing = conn.execute(
                "SELECT value FROM respondent_attributes WHERE respondent_id = ? AND name = ?", (respondent, name)
            ).fetchone()
            if existing is None:
                conn.execute(
                    "INSERT INTO respondent_attributes (respondent_id, name, value, position) VALUES (?, ?, ?, ?)",
                    (respondent, name, value, variable_order[variable_guid]),
                )
                result.attributes += 1
            elif existing[0] != value:
                conflicts += 1
        for ref in _children(case, "SourceRef"):
            source_guid = normalise_guid(ref.get("targetGUID"))
            if source_guid and source_guid in source_case and source_case[source_guid] != respondent:
                result.notices.append(
                    f"A source belongs to several cases ({source_case[source_guid]}, {respondent});"
                    " it was given to the first.")
                continue
            if source_guid:
                source_case[source_guid] = respondent
    if conflicts:
        result.notices.append(
            f"{conflicts} case variable values differ from attributes already in the project;"
            " the project's values were kept.")
    return source_case


def _codebook_version(conn, nodes: list[dict], name: str, origin: str | None) -> int | None:
    """Store the imported codebook as a version (the project's current one if it had none)."""
    if not nodes:
        return None
    from qualcode.codebook import Codebook

    codebook = Codebook(name=name, description=f"REFI-QDA project from {origin}" if origin else "REFI-QDA project",
                        version_note=None, nodes=nodes, source_format="qdpx")
    conn.execute(
        "INSERT OR IGNORE INTO codebook_versions (content_hash, name, source_format, content, imported_at)"
        " VALUES (?, ?, 'qdpx', ?, ?)",
        (codebook.content_hash, name, codebook.content_json(), store.now()),
    )
    version_id = conn.execute("SELECT version_id FROM codebook_versions WHERE content_hash = ?",
                              (codebook.content_hash,)).fetchone()[0]
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('codebook_version', ?)", (str(version_id),))
    return version_id


def _store_document(conn, source: _Source, respondent: str | None, path: Path, result: RefiImportResult) -> int:
    """The document for a source: an existing one with the same GUID or name and the same text, or a new one."""
    from qualcode.documents import add_document

    text = source.offsets.text
    candidates = []
    if source.guid:
        candidates += conn.execute("SELECT document_id, name, text FROM documents WHERE lower(guid) = ?",
                                   (source.guid,)).fetchall()
    candidates += conn.execute("SELECT document_id, name, text FROM documents WHERE name = ?",
                               (source.name,)).fetchall()
    for document_id, name, existing_text in candidates:
        if existing_text == text:
            result.documents_reused.append(name)
            return document_id
    name, number = source.name, 2
    while conn.execute("SELECT 1 FROM documents WHERE name = ?", (name,)).fetchone():
        name = f"{source.name} ({number})"
        number += 1
    if name != source.name:
        result.notices.append(
            f"A different document named '{source.name}' is in the project; this one was stored as '{name}'.")
    units = None
    if source.units is not None:
        try:
            units = [
                {"start": int(u[0]), "end": int(u[1]), "role": str(u[2]), "speaker": u[3], "respondent_id": u[4],
                 "turn": int(u[5])}
                for u in source.units
            ]
        except (TypeError, ValueError, IndexError):
            units = None
    if units is None:
        units = paragraph_units(text, respondent)
    try:
        document_id = add_document(conn, name=name, text=text, source_format="qdpx", units=units,
                                   source_path=str(path), respondent_id=respondent, guid=source.guid)
    except InputError:
        if source.units is None:
            raise
        document_id = add_document(conn, name=name, text=text, source_format="qdpx",
                                   units=paragraph_units(text, respondent), source_path=str(path),
                                   respondent_id=respondent, guid=source.guid)
    result.documents_added.append(name)
    return document_id


def _memo(selection, notes: dict[str, str]) -> str | None:
    parts = []
    description = _text(_child(selection, "Description"))
    if description:
        parts.append(description.strip())
    for ref in _children(selection, "NoteRef"):
        note = notes.get(normalise_guid(ref.get("targetGUID")) or "")
        if note:
            parts.append(note.strip())
    return "\n\n".join(parts) or None


def _store_import(conn, root, sources: list[_Source], result: RefiImportResult, metadata: dict,
                  notes: dict[str, str], path: Path, progress) -> None:
    from qualcode.codings import add_codings

    coders = _coders_from_users(conn, root, result)
    code_ids, nodes = _store_codes(conn, root, result, metadata)
    source_case = _store_cases(conn, root, result)
    version_id = _codebook_version(conn, nodes, root.get("name") or path.stem, result.origin)
    result.codebook_version_id = version_id
    project_user = normalise_guid(root.get("creatingUserGUID"))
    for done, source in enumerate(sources, start=1):
        respondent = source_case.get(source.guid or "")
        document_id = _store_document(conn, source, respondent, path, result)
        existing = {tuple(r) for r in conn.execute(
            "SELECT coder_id, code_id, start, end FROM codings WHERE document_id = ?", (document_id,))}
        rows: list[dict] = []

        def add(coding_elements, selection, start, end, memo):
            for coding in coding_elements:
                user = normalise_guid(coding.get("creatingUser")) or (
                    normalise_guid(selection.get("creatingUser")) if selection is not None else None) or project_user
                ref = _child(coding, "CodeRef")
                code_guid = normalise_guid(ref.get("targetGUID")) if ref is not None else None
                reason = None
                if user is None:
                    reason = SKIP_NO_USER
                elif user not in coders:
                    reason = SKIP_UNKNOWN_USER
                elif code_guid not in code_ids:
                    reason = SKIP_UNKNOWN_CODE
                elif (coders[user], code_ids[code_guid], start, end) in existing:
                    reason = SKIP_DUPLICATE
                if reason:
                    _detail_selection(result, source.name, selection, start, end, reason, 1)
                    continue
                existing.add((coders[user], code_ids[code_guid], start, end))
                rows.append({
                    "coder_id": coders[user], "code_id": code_ids[code_guid], "document_id": document_id,
                    "start": start, "end": end, "origin": "refi", "codebook_version_id": version_id,
                    "memo": memo, "guid": normalise_guid(selection.get("guid")) if selection is not None else None,
                    "detail": {"file": path.name, "coding_guid": normalise_guid(coding.get("guid"))},
                })

        offsets = source.offsets
        squashed_text = None
        for selection in _children(source.element, "PlainTextSelection"):
            result.selections += 1
            codings = _children(selection, "Coding")
            start = _int_attribute(selection, "startPosition")
            end = _int_attribute(selection, "endPosition")
            reason = None
            if start is None or end is None or start < 0 or end > offsets.total:
                reason = SKIP_OUT_OF_RANGE
            elif end <= start:
                reason = SKIP_EMPTY
            else:
                mapped_start, mapped_end = offsets.positions[start], offsets.positions[end]
                if mapped_start is None or mapped_end is None:
                    reason = SKIP_SPLITS_CHARACTER
                elif mapped_end <= mapped_start:
                    reason = SKIP_EMPTY
                else:
                    name = selection.get("name")
                    check = check_against_name(offsets.text[mapped_start:mapped_end], name)
                    if check is None and name and len(name.strip()) >= MIN_QUOTED_NAME:
                        # a name that quotes the source, yet not what the positions select, means
                        # the positions are wrong
                        if squashed_text is None:
                            squashed_text = _squash(offsets.text)
                        if _squash(name) in squashed_text:
                            check = False
                    if check is False:
                        reason = SKIP_TEXT_MISMATCH
                    elif check:
                        result.selections_verified += 1
                    else:
                        result.selections_unverified += 1
            if reason:
                _detail_selection(result, source.name, selection, start, end, reason, len(codings))
                continue
            add(codings, selection, mapped_start, mapped_end, _memo(selection, notes))
        whole_source = _children(source.element, "Coding")
        if whole_source and offsets.text:
            add(whole_source, None, 0, len(offsets.text), None)
        elif whole_source:
            _detail_selection(result, source.name, None, None, None, SKIP_EMPTY, len(whole_source))
        result.codings_imported += add_codings(conn, rows)
        if progress is not None:
            progress(done, len(sources), source.name)
    store.record_history(
        conn, "refi-import", file=path.name, origin=result.origin, documents=len(result.documents_added),
        codes=result.codes_added, codings=result.codings_imported, skipped=result.codings_skipped,
    )


# -- export ------------------------------------------------------------------------------------

@dataclass
class RefiExportResult:
    """What ``export_project`` wrote."""

    path: Path
    documents: int
    codes: int
    coders: list[str]
    cases: int
    variables: int
    selections: int
    codings: int

    def summary_lines(self) -> list[str]:
        return [
            f"Wrote {self.path}: {plural(self.documents, 'document')}, {plural(self.codes, 'code')},"
            f" {plural(self.cases, 'case')} with {plural(self.variables, 'variable')},"
            f" {plural(self.codings, 'coding')} in {plural(self.selections, 'selection')}"
            f" by {', '.join(self.coders) if self.coders else 'no coder'}.",
        ]


def _guid_namespace(conn) -> uuid.UUID:
    """A per-project namespace for GUIDs derived from names (cases, variables, codings)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'refi_guid_namespace'").fetchone()
    if row is not None:
        return uuid.UUID(row[0])
    namespace = uuid.uuid4()
    conn.execute("INSERT INTO meta (key, value) VALUES ('refi_guid_namespace', ?)", (str(namespace),))
    return namespace


def _ensure_guids(conn, table: str, id_column: str, ids: Iterable[int] | None = None) -> dict[int, str]:
    """``{row id: lowercase guid}``, giving rows without a valid GUID a new one (stored, so re-exports match)."""
    result: dict[int, str] = {}
    for row_id, guid in conn.execute(f"SELECT {id_column}, guid FROM {table}").fetchall():
        if ids is not None and row_id not in ids:
            continue
        if valid_guid(guid):
            normal = normalise_guid(guid)
            if normal != guid:
                conn.execute(f"UPDATE {table} SET guid = ? WHERE {id_column} = ?", (normal, row_id))
        else:
            normal = new_guid()
            conn.execute(f"UPDATE {table} SET guid = ? WHERE {id_column} = ?", (normal, row_id))
        result[row_id] = normal
    return result


def _element(parent, tag_name: str, namespace: str, **attributes):
    from lxml import etree

    tag = f"{{{namespace}}}{tag_name}"
    element = etree.Element(tag, nsmap={None: namespace}) if parent is None else etree.SubElement(parent, tag)
    for key, value in attributes.items():
        if value is not None:
            element.set(key, _xml_safe(str(value)))
    return element


def _add_description(parent, text: str | None, namespace: str) -> None:
    if text:
        _element(parent, "Description", namespace).text = _xml_safe(text)


def _code_elements(parent, tree, code_guids: dict[int, str], namespace: str, keys: list[str] | None = None,
                   with_codable=True) -> int:
    """Nested ``Code`` elements for ``keys`` (the roots by default); returns how many were written."""
    written = 0
    for key in keys if keys is not None else tree.roots:
        node = tree.by_key[key]
        element = _element(parent, "Code", namespace, guid=code_guids[node.code_id], name=node.label,
                           isCodable="true", color=node_color(tree, key))
        _add_description(element, node.definition, namespace)
        written += 1 + _code_elements(element, tree, code_guids, namespace, node.children)
    return written


def node_color(tree, key: str) -> str | None:
    color = getattr(tree.by_key[key], "color", None)
    return color if color and RGB_RE.match(color) else None


def _load_export_tree(conn):
    """The code tree for export: active codes, plus inactive ones that carry codings, with colours."""
    from qualcode.codebook import load_tree

    tree = load_tree(conn, include_inactive=True)
    used = {r[0] for r in conn.execute("SELECT DISTINCT code_id FROM codings")}
    colors = {r[0]: r[1] for r in conn.execute("SELECT code_id, color FROM codes")}
    keep = {node.key for node in tree.by_key.values() if node.active or node.code_id in used}
    # keep the ancestors of every kept node so the hierarchy stays whole
    for key in list(keep):
        keep.update(tree.path(key))
    from qualcode.codebook import CodeTree

    nodes = [tree.by_key[k] for k in keep]
    for node in nodes:
        node.children = []
        node.color = colors.get(node.code_id)
    return CodeTree(nodes)


def _selection_name(text: str) -> str:
    squashed = " ".join(text.split())
    if len(squashed) <= SELECTION_NAME_LENGTH:
        return squashed
    return squashed[:SELECTION_NAME_LENGTH].rstrip() + "…"


def export_project(project, out: Path | str, *, coders: list[str] | None = None,
                   force: bool = False) -> RefiExportResult:
    """Write the project as a REFI-QDA 1.0 project (.qdpx).

    Sources are UTF-8 plain text (``internal://<guid>.txt``, ``\\n`` line ends,
    positions in code points, end exclusive), with one PlainTextSelection per
    coded span and one Coding per (coder, code) on it. ``coders`` limits the
    codings (and users) to those coders — a blind hand-off carries no other
    coder's work. GUIDs given to documents, codes, coders and codings are
    stored back, so exporting again yields the same GUIDs. A metadata note lets
    qualcode restore keys, criteria and speaker turns on re-import.
    """
    import zipfile

    from qualcode import __version__
    from qualcode.exports import atomic_write, check_overwrite
    from qualcode.respondents import load_attributes

    out = check_overwrite(out, force)  # refuse before the whole project is read and serialised
    with project.transaction() as conn:
        if coders:
            for name in coders:
                store.coder_id(conn, name)
        namespace = _guid_namespace(conn)
        coder_rows = conn.execute("SELECT coder_id, name FROM coders ORDER BY name").fetchall()
        wanted_coders = [r for r in coder_rows if not coders or r[1] in coders]
        coder_guids = _ensure_guids(conn, "coders", "coder_id", {r[0] for r in wanted_coders})
        tree = _load_export_tree(conn)
        code_guids = _ensure_guids(conn, "codes", "code_id", {n.code_id for n in tree.by_key.values()})
        document_guids = _ensure_guids(conn, "documents", "document_id")
        documents = conn.execute(
            "SELECT document_id, name, text, respondent_id FROM documents ORDER BY name").fetchall()
        coding_sql = (
            "SELECT c.coding_id, c.guid, c.document_id, c.start, c.end, c.memo, c.coder_id, c.code_id, c.created_at"
            " FROM codings c JOIN coders k USING (coder_id)"
        )
        params: list = []
        if coders:
            coding_sql += f" WHERE k.name IN ({','.join('?' * len(coders))})"
            params = list(coders)
        coding_sql += " ORDER BY c.document_id, c.start, c.end, c.coding_id"
        codings = [c for c in conn.execute(coding_sql, params).fetchall() if c["code_id"] in code_guids]
        # One selection per span: codings that came in on one selection keep its GUID; codings of
        # the same span without a usable GUID share one (stored, so the next export matches).
        selections: dict[int, dict[tuple, dict]] = {}
        span_guids: dict[tuple, str] = {}
        for coding in codings:
            # a selection's description is every coding's memo, so codings with different memos part
            span = (coding["document_id"], coding["start"], coding["end"], coding["memo"] or "")
            guid = normalise_guid(coding["guid"]) if valid_guid(coding["guid"]) else None
            by_doc = selections.setdefault(coding["document_id"], {})
            if guid is not None and any(k[0] == guid and k[1:] != span[1:] for k in by_doc):
                guid = None  # a GUID reused for another span would make two selections share it
            if guid is None:
                guid = span_guids.get(span) or new_guid()
            span_guids.setdefault(span, guid)
            if guid != coding["guid"]:
                conn.execute("UPDATE codings SET guid = ? WHERE coding_id = ?", (guid, coding["coding_id"]))
            entry = by_doc.setdefault((guid, *span[1:]), {"memo": coding["memo"], "codings": []})
            entry["codings"].append(coding)
        attributes = load_attributes(conn)
        variable_names: list[str] = []
        for values in attributes.values():
            for name in values:
                if name not in variable_names:
                    variable_names.append(name)
        from qualcode.respondents import attribute_names

        ordered = attribute_names(conn)
        variable_names = [n for n in ordered if n in variable_names] + [n for n in variable_names if n not in ordered]
        from natsort import natsorted

        respondents = natsorted({*attributes, *(d["respondent_id"] for d in documents if d["respondent_id"])})
        units = {}
        for row in conn.execute(
            "SELECT document_id, start, end, role, speaker, respondent_id, turn FROM units ORDER BY document_id, seq"
        ):
            units.setdefault(row[0], []).append([row[1], row[2], row[3], row[4], row[5], row[6]])

        ns = PROJECT_NS
        root = _element(None, "Project", ns, name=project.name, origin=f"qualcode {__version__}")
        if wanted_coders:
            users = _element(root, "Users", ns)
            for coder_id, name in wanted_coders:
                _element(users, "User", ns, guid=coder_guids[coder_id], name=name)
        if tree.roots:
            codebook_element = _element(root, "CodeBook", ns)
            codes_element = _element(codebook_element, "Codes", ns)
            _code_elements(codes_element, tree, code_guids, ns)
        variable_guids = {name: str(uuid.uuid5(namespace, f"variable:{name}")) for name in variable_names}
        if variable_names:
            variables_element = _element(root, "Variables", ns)
            for name in variable_names:
                _element(variables_element, "Variable", ns, guid=variable_guids[name], name=name,
                         typeOfVariable="Text")
        if respondents:
            cases_element = _element(root, "Cases", ns)
            for respondent in respondents:
                case = _element(cases_element, "Case", ns, guid=str(uuid.uuid5(namespace, f"case:{respondent}")),
                                name=respondent)
                for name, value in attributes.get(respondent, {}).items():
                    if value is None:
                        continue
                    value_element = _element(case, "VariableValue", ns)
                    _element(value_element, "VariableRef", ns, targetGUID=variable_guids[name])
                    _element(value_element, "TextValue", ns).text = _xml_safe(value)
                for document in documents:
                    if document["respondent_id"] == respondent:
                        _element(case, "SourceRef", ns, targetGUID=document_guids[document["document_id"]])
        files: dict[str, bytes] = {}
        selection_count = 0
        if documents:
            sources_element = _element(root, "Sources", ns)
            for document in documents:
                guid = document_guids[document["document_id"]]
                files[f"Sources/{guid}.txt"] = document["text"].encode("utf-8")
                source = _element(sources_element, "TextSource", ns, guid=guid, name=document["name"],
                                  plainTextPath=f"internal://{guid}.txt")
                for (selection_guid, start, end, _), entry in selections.get(document["document_id"], {}).items():
                    selection_count += 1
                    first = entry["codings"][0]
                    selection = _element(
                        source, "PlainTextSelection", ns, guid=selection_guid,
                        name=_selection_name(document["text"][start:end]), startPosition=start, endPosition=end,
                        creatingUser=coder_guids.get(first["coder_id"]))
                    _add_description(selection, entry["memo"], ns)
                    written = set()
                    for coding in entry["codings"]:
                        coder_guid = coder_guids[coding["coder_id"]]
                        code_guid = code_guids[coding["code_id"]]
                        if (coder_guid, code_guid) in written:
                            continue  # the same coder gave the same code twice to one span
                        written.add((coder_guid, code_guid))
                        coding_element = _element(
                            selection, "Coding", ns,
                            guid=str(uuid.uuid5(namespace, f"coding:{selection_guid}:{code_guid}:{coder_guid}")),
                            creatingUser=coder_guid, creationDateTime=_xsd_datetime(coding["created_at"]))
                        _element(coding_element, "CodeRef", ns, targetGUID=code_guid)
        metadata = {
            "qualcode": __version__,
            "codes": {
                code_guids[node.code_id]: {"key": node.key, "include": node.include, "exclude": node.exclude,
                                           "examples": node.examples or None, "memo": node.memo, "rules": node.rules}
                for node in tree.by_key.values()
            },
            "documents": {document_guids[d["document_id"]]: {"units": units.get(d["document_id"], [])}
                          for d in documents},
        }
        notes_element = _element(root, "Notes", ns)
        note = _element(notes_element, "Note", ns, guid=str(uuid.uuid5(namespace, "note:qualcode-metadata")),
                        name=METADATA_NOTE_NAME)
        _add_description(note, "Code keys, coding criteria and speaker turns, so qualcode can restore them; other"
                               " programs may ignore this note.", ns)
        _element(note, "PlainTextContent", ns).text = json.dumps(metadata, ensure_ascii=False, sort_keys=True)
        files["project.qde"] = _serialise(root, ns)
        with atomic_write(out, force) as tmp:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name in ["project.qde", *sorted(n for n in files if n != "project.qde")]:
                    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, files[name])
        store.record_history(conn, "refi-export", file=out.name, coders=[r[1] for r in wanted_coders],
                             codings=len(codings))
    return RefiExportResult(
        path=out, documents=len(documents), codes=len(tree), coders=[r[1] for r in wanted_coders],
        cases=len(respondents), variables=len(variable_names), selections=selection_count, codings=len(codings),
    )


def _xsd_datetime(value: str | None) -> str | None:
    """A stored ISO timestamp as xsd:dateTime, or None when it is not one."""
    if not value:
        return None
    from datetime import datetime

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.isoformat()


def _serialise(root, namespace: str) -> bytes:
    from lxml import etree

    return etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)


def write_qdc(conn: sqlite3.Connection, path: Path | str, force: bool = False) -> Path:
    """Write the project's code tree as a REFI-QDA codebook (.qdc) valid against Codebook.xsd.

    Codes keep their GUIDs (new ones are stored back, so re-exports match),
    labels become names, definitions descriptions, and the hierarchy nests.
    """
    from qualcode import __version__
    from qualcode.exports import atomic_write, check_overwrite

    path = check_overwrite(path, force)  # before GUIDs are stored and the XML is built
    with store.transaction(conn):
        tree = _load_export_tree(conn)
        if not tree.roots:
            raise CodebookError("the project has no codes to export; import a codebook first")
        code_guids = _ensure_guids(conn, "codes", "code_id", {n.code_id for n in tree.by_key.values()})
        root = _element(None, "CodeBook", CODEBOOK_NS, origin=f"qualcode {__version__}")
        codes_element = _element(root, "Codes", CODEBOOK_NS)
        _code_elements(codes_element, tree, code_guids, CODEBOOK_NS)
        data = _serialise(root, CODEBOOK_NS)
        with atomic_write(path, force) as tmp:
            tmp.write_bytes(data)
    return path
