"""What every REFI-QDA module shares: the namespaces, GUIDs, names, and XML
parsed with DTDs, entities and external references forbidden (defusedxml).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Iterable

from qualcode.errors import RefiError


PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
CODEBOOK_NS_PREFIX = "urn:QDA-XML:codebook"
PROJECT_NS_PREFIX = "urn:QDA-XML:project"


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


def local_name(tag) -> str:
    """The local name of an element tag (namespace dropped), so every namespace variant reads the same."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def child_elements(element, name: str) -> list:
    return [child for child in element if local_name(child.tag) == name]


def child_element(element, name: str):
    for child in element:
        if local_name(child.tag) == name:
            return child
    return None


def element_text(element) -> str | None:
    """The text of an element, None when absent or blank."""
    if element is None or element.text is None:
        return None
    return element.text if element.text.strip() else None


def xml_safe(value: str) -> str:
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
    except LookupError:  # an XML declaration naming an encoding that does not exist (encoding="TTF-8")
        raise RefiError(
            f"{where} declares a text encoding that does not exist in its first line; the file is damaged —"
            " export it again from the program that made it"
        ) from None
    except ET.ParseError as exc:
        line, column = exc.position
        raise RefiError(
            f"{where} is not well-formed XML (line {line}, column {column}); the file is damaged or truncated —"
            " export it again from the program that made it"
        ) from None


def xml_element(parent, tag_name: str, namespace: str, **attributes):
    from lxml import etree

    tag = f"{{{namespace}}}{tag_name}"
    element = etree.Element(tag, nsmap={None: namespace}) if parent is None else etree.SubElement(parent, tag)
    for key, value in attributes.items():
        if value is not None:
            element.set(key, xml_safe(str(value)))
    return element


def add_description(parent, text: str | None, namespace: str) -> None:
    if text:
        xml_element(parent, "Description", namespace).text = xml_safe(text)


def xsd_datetime(value: str | None) -> str | None:
    """A stored ISO timestamp as xsd:dateTime, or None when it is not one."""
    if not value:
        return None
    from datetime import datetime

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.isoformat()


def serialise_xml(root, namespace: str) -> bytes:
    from lxml import etree

    return etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)


def int_attribute(element, name: str) -> int | None:
    value = element.get(name)
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _guid_namespace(conn) -> uuid.UUID:
    """A per-project namespace for GUIDs derived from names (cases, variables, codings)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'refi_guid_namespace'").fetchone()
    if row is not None:
        return uuid.UUID(row[0])
    namespace = uuid.uuid4()
    conn.execute("INSERT INTO meta (key, value) VALUES ('refi_guid_namespace', ?)", (str(namespace),))
    return namespace



def ensure_guids(conn, table: str, id_column: str, ids: Iterable[int] | None = None) -> dict[int, str]:
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
