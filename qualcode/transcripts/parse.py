"""One transcript file parsed into the stored text and its units.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from qualcode.errors import ImportFailed, QualcodeError
from qualcode.transcripts.readers import CAPTION_SUFFIXES, READERS, SUPPORTED_SUFFIXES
from qualcode.transcripts.speakers import Speakers, build_document, cue_turns, mask_label, parse_turns
from qualcode.transcripts.text import read_bytes

@dataclass
class ParsedTranscript:
    """One file parsed: the text to store, its units (dicts for ``documents.add_document``),
    the source format (``txt``, ``docx``, …) and notices about the import."""

    text: str
    units: list[dict]
    source_format: str
    warnings: list[str] = field(default_factory=list)
    respondent_id: str | None = None


def parse_file(
    path: Path | str,
    *,
    interviewer_labels: Iterable[str],
    speaker_map: dict[str, str] | None = None,
    respondent_id: str | None = None,
    data: bytes | None = None,
    format_hint: str | None = None,
) -> ParsedTranscript:
    """Read one transcript file into stored text and units.

    ``speaker_map`` maps speaker labels (case-insensitive) to respondent ids,
    ``"interviewer"`` or ``"other"``; unmapped labels that are not interviewer
    labels belong to ``respondent_id``. ``data`` is the file's bytes when the
    caller has read them already; ``format_hint`` (``vtt``, ``txt``, …) reads
    the file as that format whatever its extension. Raises ImportFailed with
    a one-line message.
    """
    path = Path(path)
    name = path.name
    suffix = f".{format_hint.lower().lstrip('.')}" if format_hint else path.suffix.lower()
    reader = READERS.get(suffix)
    if reader is None:
        raise ImportFailed(f"{name}: unsupported format '{suffix or '(none)'}'; qualcode imports"
                           f" {', '.join(SUPPORTED_SUFFIXES)} — save the transcript in one of these")
    if data is None:
        data = read_bytes(path)
    if not data.strip():
        raise ImportFailed(f"{name} is empty; check that it is the right file (nothing was imported)")
    warnings: list[str] = []
    speakers = Speakers(interviewer_labels, speaker_map, respondent_id)
    try:
        content = reader(data, name, warnings)
        turns = cue_turns(content, speakers) if suffix in CAPTION_SUFFIXES else parse_turns(content, speakers)
    except QualcodeError:
        raise
    except Exception as exc:
        if os.environ.get("QUALCODE_DEBUG") == "1":
            raise
        raise ImportFailed(f"{name}: could not be read as {suffix[1:]} ({type(exc).__name__}); open and re-save"
                           " the file, or save it as .txt") from None
    if not turns:
        raise ImportFailed(f"{name} has no text (only blank lines, labels or markup); check that it is the right file")
    text, units = build_document(turns, speakers)
    respondent_labels = sorted({u["speaker"] for u in units if u["role"] == "respondent" and u["speaker"]
                                and u["speaker"].casefold() not in speakers.map})
    if len(respondent_labels) > 1:
        # Caption speaker labels are often real names: show them masked.
        shown = ", ".join(mask_label(label, respondent_id) for label in respondent_labels)
        warnings.append(f"{name}: {len(respondent_labels)} speakers ({shown}) are all assigned to respondent"
                        f" {respondent_id}; if they are different people or include the interviewer, map their"
                        f" labels (as written in the transcript) in a [speaker_map.{path.stem}] table in"
                        " qualcode.toml or with --speaker-map, then import the file again with --replace")
    used = {u["respondent_id"] for u in units} - {None}
    document_respondent = respondent_id
    if speakers.map and respondent_id not in used:
        # A focus group mapped to its participants has no respondent of its own.
        document_respondent = next(iter(used)) if len(used) == 1 else None
    return ParsedTranscript(text=text, units=units, source_format=suffix[1:], warnings=warnings,
                            respondent_id=document_respondent)
