"""Where a finding is in the file the researcher has (line, column, paragraph, cue), or in the stored
text; and the scan of one imported document.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from qualcode.anonymity.findings import Finding
from qualcode.anonymity.scan import scan_text


FINDING_COLUMNS = ["where", "document", "line", "column", "kind", "masked", "paragraph", "cue", "unit", "located",
                   "start", "end", "status", "message"]

# Where a finding is reported: in the source file the researcher has (``source``), or, when that file is gone,
# changed or the finding cannot be matched in it, in the text qualcode stored (``stored``).
LOCATED_IN_SOURCE, LOCATED_IN_STORED = "source", "stored"


@dataclass
class _SourceView:
    """The text of a source file as the researcher sees it, in pieces that each have a location.

    ``text`` holds the pieces in file order; ``starts[i]`` is where piece ``i`` begins in it and
    ``places[i]`` says where it is in the file: a line number (plain text), a paragraph number (Word,
    OpenDocument, RTF) or a (cue, line) pair (captions).
    """

    kind: str  # "line", "paragraph" or "cue"
    text: str
    starts: list[int]
    places: list


def _pieces_view(kind: str, pieces: list[tuple[str, object]], separator: str) -> _SourceView:
    starts, places, parts, position = [], [], [], 0
    for text, place in pieces:
        if parts:
            parts.append(separator)
            position += len(separator)
        starts.append(position)
        places.append(place)
        parts.append(text)
        position += len(text)
    return _SourceView(kind, "".join(parts), starts, places)


def _source_view(data: bytes, source_format: str, name: str) -> _SourceView | None:
    """The view of a source file in the format it was imported as; None when it cannot be read."""
    from qualcode.transcripts.captions import read_captions
    from qualcode.transcripts.containers import open_zip, parse_xml
    from qualcode.transcripts.docx import WORD_NS, docx_paragraph
    from qualcode.transcripts.odt import OFFICE_NS, odt_blocks
    from qualcode.transcripts.rtf import read_rtf
    from qualcode.transcripts.text import decode_text, normalise_text
    from qualcode.errors import QualcodeError

    try:
        if source_format in ("txt", "md"):
            text = decode_text(data, name)[0]
            starts = [0] + [m.end() for m in re.finditer("\n", text)]
            return _SourceView("line", text, starts, list(range(1, len(starts) + 1)))
        if source_format == "docx":
            root = parse_xml(open_zip(data, name, "word/document.xml", "Word .docx",
                                                                ".docx"), name, "Word")
            body = root.find(WORD_NS + "body")
            texts = [docx_paragraph(p) for p in body.iter(WORD_NS + "p")] if body is not None \
                else []
        elif source_format == "odt":
            root = parse_xml(open_zip(data, name, "content.xml", "OpenDocument .odt",
                                                                ".odt"), name, "OpenDocument")
            body = root.find(f"{{{OFFICE_NS}}}body")
            texts = list(odt_blocks(body)) if body is not None else []
        elif source_format == "rtf":
            texts = read_rtf(data, name, []).split("\n")
        elif source_format in ("vtt", "srt"):
            return _caption_view(read_captions(data, name, [], srt=source_format == "srt"))
        else:
            return None
    except (QualcodeError, ValueError, LookupError):
        return None
    # Paragraphs are numbered as Word counts them in its statistics: those with text, from the top.
    paragraphs = [normalise_text(t, name) for t in texts if t.strip()]
    return _pieces_view("paragraph", [(t, number) for number, t in enumerate(paragraphs, start=1)], "\n\n")


def _caption_view(cues) -> _SourceView:
    """Caption lines cleaned as the importer cleans them (tags, entities, repeated rolling lines dropped),
    with the speaker written once per turn as in the stored text: a voice tag's speaker stands before the
    first line of a turn, and a ``Name:`` label repeated on every cue of a turn is kept on the first only."""
    from qualcode.transcripts.captions import INLINE_TIME_TAG, VOICE
    from qualcode.transcripts.speakers import COLON_LABEL, GENERIC_RESPONDENT_LABELS, GENERIC_SPEAKER, clean_cue_line, label_ok
    from qualcode.project import DEFAULT_INTERVIEWER_LABELS

    rolling = any(INLINE_TIME_TAG.search(line) for cue in cues for line in cue.lines)
    recent: list[str] = []
    prepared = []  # per cue: speaker, whether from a voice tag, length of its "Name: " prefix, kept lines
    label_counts: dict[str, int] = {}
    for number, cue in enumerate(cues, start=1):
        voice = next((m.group(1).strip() for m in map(VOICE.search, cue.lines) if m), None)
        kept = []
        for offset, raw in enumerate(cue.lines, start=1):
            cleaned = clean_cue_line(raw)
            if not cleaned:
                continue
            if rolling:
                if cleaned in recent:
                    continue
                recent = (recent + [cleaned])[-3:]
            kept.append((cleaned, (number, cue.line + offset)))
        if not kept:
            continue
        label, prefix = voice, 0
        if voice is None:
            match = COLON_LABEL.match(kept[0][0])
            if match and label_ok(match["label"].strip(), "colon"):
                label, prefix = match["label"].strip(), match.end()
                label_counts[label.casefold()] = label_counts.get(label.casefold(), 0) + 1
        prepared.append((label, voice is not None, prefix, kept))
    # as the importer: a "Name:" seen once, and not a usual label, is speech
    usual = {label.casefold() for label in DEFAULT_INTERVIEWER_LABELS} | set(GENERIC_RESPONDENT_LABELS)
    pieces = []
    previous = None
    for label, from_voice, prefix, kept in prepared:
        if label is not None and not from_voice and label_counts[label.casefold()] < 2 and \
                label.casefold() not in usual and not GENERIC_SPEAKER.match(label):
            label, prefix = None, 0
        first, place = kept[0]
        if label is not None and label == previous:
            first = first[prefix:]  # the turn goes on: its label is not repeated in the stored text
        elif from_voice:
            first = f"{label}: {first}"
        kept[0] = (first, place)
        pieces += kept
        previous = label if label is not None else previous
    return _pieces_view("cue", pieces, "\n")


@lru_cache(maxsize=256)
def _occurrence_pattern(matched: str) -> re.Pattern:
    """The matched text anywhere: whitespace as any run of whitespace (hard wraps), whole words only."""
    body = r"\s+".join(re.escape(part) for part in matched.split())
    before = r"(?<!\w)" if re.match(r"\w", matched) else ""
    after = r"(?!\w)" if re.search(r"\w$", matched) else ""
    return re.compile(before + body + after)


def _align(stored: str, findings: list[Finding], view: str) -> list[int | None]:
    """Where each finding is in ``view`` (an offset), or None where it cannot be matched.

    The importer keeps the order of the text and drops little (timestamps, markup, repeated caption
    lines), so findings are matched in order: a finding that is the k-th occurrence of its text since
    the previous matched finding is taken to be the k-th occurrence in the view since that one's match.
    """
    import itertools

    positions: list[int | None] = []
    stored_from = view_from = 0
    misses = 0
    for finding in findings:
        if misses >= 50:  # a view that does not fit the stored text: stop searching it
            positions.append(None)
            continue
        pattern = _occurrence_pattern(stored[finding.start:finding.end])
        earlier = sum(1 for _ in pattern.finditer(stored, stored_from, finding.start))
        found = next(itertools.islice(pattern.finditer(view, view_from), earlier, None), None)
        if found is None:
            misses += 1
            positions.append(None)
            continue
        positions.append(found.start())
        stored_from, view_from = finding.end, found.end()
    return positions


def _unit_at(units: list[tuple[int, int]], position: int) -> int | None:
    """The 1-based number of the stored paragraph at ``position``; a label counts with the paragraph it opens."""
    starts = [start for start, _ in units]
    index = bisect.bisect_right(starts, position) - 1
    if index >= 0 and position < units[index][1]:
        return index + 1
    return index + 2 if index + 1 < len(units) else (index + 1 if index >= 0 else None)


def locate_findings(
    name: str,
    text: str,
    findings: list[Finding],
    *,
    source: bytes | None = None,
    source_format: str = "txt",
    units: list[tuple[int, int]] | None = None,
) -> list[dict]:
    """Rows for ``findings`` in the stored ``text`` of document ``name``, located where a researcher can find them.

    With the ``source`` file's bytes, each finding is placed in the file as imported: ``SF4.txt:62:251``
    (line and column) for .txt and .md, ``SF9.docx paragraph 14`` for .docx, .odt and .rtf (paragraphs
    with text, counted from 1), ``TL1.vtt cue 12 (line 47)`` for .vtt and .srt. Without it (or where a
    finding cannot be matched in it) the place is in the stored text and says so:
    ``SF4.txt (as stored) line 41, column 256; unit SF4.txt#12``. ``units`` are the stored paragraphs'
    (start, end) in order, for the unit key. Each row also keeps the stored-text ``start`` and ``end``.
    """
    if not findings:
        return []  # most documents: no need to read the source file again
    view = _source_view(source, source_format, name) if source is not None else None
    positions = _align(text, findings, view.text) if view is not None else [None] * len(findings)
    units = sorted(units or [])
    rows = []
    for finding, position in zip(findings, positions):
        number = _unit_at(units, finding.start) if units else None
        unit = f"{Path(name).name}#{number}" if number is not None else ""  # documents are named by file name
        row = {"where": "", "document": name, "line": None, "column": None, "kind": finding.kind,
               "masked": finding.masked, "paragraph": None, "cue": None, "unit": unit,
               "located": LOCATED_IN_SOURCE, "start": finding.start, "end": finding.end, "status": "found",
               "message": ""}
        if position is None:
            row.update(located=LOCATED_IN_STORED, line=finding.line, column=finding.column,
                       where=f"{name} (as stored) line {finding.line}, column {finding.column}"
                             + (f"; unit {unit}" if unit else ""))
        else:
            piece = bisect.bisect_right(view.starts, position) - 1
            place = view.places[piece]
            if view.kind == "line":
                row.update(line=place, column=position - view.starts[piece] + 1)
                row["where"] = f"{name}:{row['line']}:{row['column']}"
            elif view.kind == "paragraph":
                row.update(paragraph=place, where=f"{name} paragraph {place}")
            else:
                row.update(cue=place[0], line=place[1], where=f"{name} cue {place[0]} (line {place[1]})")
        rows.append(row)
    return rows


def scan_document(
    name: str,
    text: str,
    *,
    source: bytes | None = None,
    source_format: str = "txt",
    units: list | None = None,
    identifiers: list[str] | None = None,
    language: str = "en",
    names: str = "auto",
) -> list[dict]:
    """Findings in the stored ``text`` of one document, as rows located by :func:`locate_findings`.

    ``units`` are the stored paragraphs as (start, end) pairs or as the importer's unit dicts.
    """
    spans = [(u["start"], u["end"]) if isinstance(u, dict) else tuple(u) for u in units or ()]
    findings = scan_text(text, identifiers=identifiers, language=language, names=names)
    return locate_findings(name, text, findings, source=source, source_format=source_format, units=spans)


def stored_source(source_path: str | None, sha256: str) -> bytes | None:
    """The bytes of a document's source file when it is still where it was imported from, unchanged."""
    from qualcode.documents import sha256_bytes

    if not source_path:
        return None
    try:
        data = Path(source_path).read_bytes()
    except OSError:
        return None
    return data if sha256_bytes(data) == sha256 else None
