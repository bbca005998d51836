"""Reading a .qdpx project: the archive, the producer's position convention,
the sources mapped to stored text; storing is ``import_store``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from qualcode.errors import RefiError
from qualcode.refi.archive import Archive
from qualcode.refi.common import (
    METADATA_NOTE_NAME,
    SKIP_NON_TEXT,
    SKIP_SOURCE_MISSING,
    child_element,
    child_elements,
    element_text,
    int_attribute,
    local_name,
    normalise_guid,
    parse_xml,
)
from qualcode.refi.import_store import skip_source_codings, store_import
from qualcode.refi.quirks import (
    Counting,
    NVIVO_COUNTING,
    ONE_CRLF_COUNTING,
    SPEC_COUNTING,
    build_offset_map,
    check_against_name,
    counting_for_origin,
    decode_source,
)
from qualcode.refi.results import RefiImportResult, Source


def _notes_by_guid(root) -> dict[str, str]:
    notes = {}
    notes_element = child_element(root, "Notes")
    if notes_element is not None:
        for note in child_elements(notes_element, "Note"):
            content = element_text(child_element(note, "PlainTextContent"))
            if content and note.get("guid"):
                notes[normalise_guid(note.get("guid"))] = content
    return notes


def _qualcode_metadata(root, origin: str | None) -> dict:
    """The metadata note a qualcode export carries (keys, criteria, units), if this file has one."""
    if not (origin or "").lower().startswith("qualcode"):
        return {}
    notes_element = child_element(root, "Notes")
    if notes_element is None:
        return {}
    for note in child_elements(notes_element, "Note"):
        if note.get("name") == METADATA_NOTE_NAME:
            try:
                data = json.loads(element_text(child_element(note, "PlainTextContent")) or "{}")
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
    archive = Archive(path)
    try:
        qde_info = archive.project_entry()
        root = parse_xml(archive.read(qde_info), f"{path.name}:{qde_info.filename}")
        if local_name(root.tag) != "Project":
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
        store_import(conn, root, sources, result, metadata, notes, path, progress)
    return result


ALTERNATIVE_COUNTINGS = (
    SPEC_COUNTING,
    ONE_CRLF_COUNTING,
    NVIVO_COUNTING,
    Counting(True, False, "UTF-16 code units, CR LF counted as one"),
)


def _name_evidence(sources: list[Source], counting: Counting | None) -> tuple[int, int]:
    """(selections whose name confirms the mapped text, selections whose name contradicts it or
    whose positions do not map) under ``counting`` (None: the maps already built)."""
    confirmed = contradicted = 0
    for source in sources:
        offsets = source.offsets if counting is None else build_offset_map(source.raw, counting)
        for selection in child_elements(source.element, "PlainTextSelection"):
            name = selection.get("name")
            if not name or not name.strip():
                continue
            start, end = int_attribute(selection, "startPosition"), int_attribute(selection, "endPosition")
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


def _choose_counting_by_names(sources: list[Source], detected: Counting, result: RefiImportResult) -> None:
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


def _read_sources(archive: Archive, root, counting: Counting, result: RefiImportResult,
                  metadata: dict) -> list[Source]:
    """Every text source with its text and offset map; non-text sources are counted and left out."""
    sources_element = child_element(root, "Sources")
    if sources_element is None:
        return []
    text_sources: list[Source] = []
    non_text = 0
    for element in sources_element:
        kind = local_name(element.tag)
        if kind != "TextSource":
            if kind in ("PictureSource", "PDFSource", "AudioSource", "VideoSource"):
                non_text += 1
                result.skip(SKIP_NON_TEXT, sum(1 for e in element.iter() if local_name(e.tag) == "Coding"))
            continue
        guid = normalise_guid(element.get("guid"))
        name = (element.get("name") or "").strip() or guid or "source"
        content = child_element(element, "PlainTextContent")
        raw: str | None = None
        if content is not None and content.text is not None:
            raw = content.text
        else:
            info = archive.source_entry(element.get("plainTextPath"))
            if info is not None:
                raw = decode_source(archive.read(info))
                if raw is None:
                    result.sources_skipped.append((name, "its text is neither UTF-8 nor UTF-16"))
                    skip_source_codings(element, name, result, "source text is not UTF-8")
                    continue
        if raw is None:
            result.sources_skipped.append((name, "its text is not in the file"))
            skip_source_codings(element, name, result, SKIP_SOURCE_MISSING)
            continue
        if raw.startswith("\ufeff"):
            raw = raw[1:]
        source = Source(element, guid, name, build_offset_map(raw, counting), raw=raw)
        units = (metadata.get("documents") or {}).get(guid or "", {}).get("units")
        if isinstance(units, list):
            source.units = units
        text_sources.append(source)
    if non_text:
        result.notices.append(f"{non_text} non-text sources (pictures, PDFs, audio, video) were ignored.")
    return text_sources
