"""OpenDocument .odt transcripts: paragraphs, headings, lists and tables in order.
"""

from __future__ import annotations

from typing import Iterable

from qualcode.errors import ImportFailed
from qualcode.transcripts.containers import open_zip, parse_xml
from qualcode.transcripts.text import normalise_text

_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


def _odt_inline(element, parts: list[str]) -> None:
    if element.text:
        parts.append(element.text)
    for child in element:
        tag = child.tag
        if tag == f"{{{_TEXT_NS}}}s":
            parts.append(" " * int(child.get(f"{{{_TEXT_NS}}}c", "1") or 1))
        elif tag == f"{{{_TEXT_NS}}}tab":
            parts.append("\t")
        elif tag == f"{{{_TEXT_NS}}}line-break":
            parts.append("\n")
        elif tag in (f"{{{_TEXT_NS}}}note", f"{{{OFFICE_NS}}}annotation"):
            pass  # footnotes and comments are not part of the spoken text
        else:
            _odt_inline(child, parts)
        if child.tail:
            parts.append(child.tail)


def odt_blocks(element) -> Iterable[str]:
    for child in element:
        if child.tag in (f"{{{_TEXT_NS}}}p", f"{{{_TEXT_NS}}}h"):
            parts: list[str] = []
            _odt_inline(child, parts)
            yield "".join(parts)
        elif child.tag not in (f"{{{_TEXT_NS}}}tracked-changes", f"{{{_TEXT_NS}}}sequence-decls"):
            yield from odt_blocks(child)


def read_odt(data: bytes, name: str, warnings: list[str]) -> str:
    """Paragraphs and headings of an OpenDocument text, separated by blank lines."""
    root = parse_xml(open_zip(data, name, "content.xml", "OpenDocument .odt", ".odt"), name, "OpenDocument")
    body = root.find(f"{{{OFFICE_NS}}}body")
    if body is None:
        raise ImportFailed(f"{name}: the OpenDocument file has no body; open and re-save the file")
    text = "\n\n".join(p for p in odt_blocks(body) if p.strip())
    return normalise_text(text, name, warnings)
