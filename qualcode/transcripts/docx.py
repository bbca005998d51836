"""Word .docx transcripts: paragraphs and tables of the document body, in order.
"""

from __future__ import annotations

from typing import Iterable

from qualcode.errors import ImportFailed
from qualcode.transcripts.containers import open_zip, parse_xml
from qualcode.transcripts.text import normalise_text

WORD_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def docx_paragraph(paragraph) -> str:
    parts = []
    for element in paragraph.iter():
        tag = element.tag
        if tag == WORD_NS + "t":
            parts.append(element.text or "")
        elif tag == WORD_NS + "tab":
            parts.append("\t")
        elif tag in (WORD_NS + "br", WORD_NS + "cr"):
            parts.append("\n")
    return "".join(parts)


def _docx_blocks(container) -> Iterable[str]:
    for child in container:
        if child.tag == WORD_NS + "p":
            yield docx_paragraph(child)
        elif child.tag == WORD_NS + "tbl":
            for row in child.iter(WORD_NS + "tr"):
                cells = [" ".join(docx_paragraph(p) for p in cell.iter(WORD_NS + "p")).strip()
                         for cell in row.findall(WORD_NS + "tc")]
                cells = [c for c in cells if c]
                # A two-column "Speaker | Text" table is a common transcript template.
                if len(cells) == 2 and len(cells[0]) <= 40 and not cells[0].endswith(":"):
                    yield f"{cells[0]}: {cells[1]}"
                elif cells:
                    yield " ".join(cells)
        elif child.tag == WORD_NS + "sdt":
            content = child.find(WORD_NS + "sdtContent")
            if content is not None:
                yield from _docx_blocks(content)


def read_docx(data: bytes, name: str, warnings: list[str]) -> str:
    """Paragraphs (and table rows) of a Word .docx body, separated by blank lines."""
    root = parse_xml(open_zip(data, name, "word/document.xml", "Word .docx", ".docx"), name, "Word")
    body = root.find(WORD_NS + "body")
    if body is None:
        raise ImportFailed(f"{name}: the Word document has no body; open and re-save the file")
    text = "\n\n".join(p for p in _docx_blocks(body) if p.strip())
    return normalise_text(text, name, warnings)
