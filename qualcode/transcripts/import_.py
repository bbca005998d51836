"""The batch import: files found, respondent ids and speaker maps, each file stored in its own transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from qualcode.documents import sha256_bytes
from qualcode.errors import ImportFailed, InputError, QualcodeError
from qualcode.transcripts.parse import ParsedTranscript, parse_file
from qualcode.transcripts.readers import READERS, SUPPORTED_SUFFIXES
from qualcode.transcripts.speakers import count_words
from qualcode.transcripts.text import read_bytes

@dataclass
class FileResult:
    """What happened to one file: status is ``imported``, ``replaced``, ``unchanged`` or ``failed``.

    ``units`` and ``words`` count the whole document (interviewer included);
    ``respondent_units`` and ``respondent_words`` count respondent speech only,
    as ``qualcode respondents`` does.
    """

    path: str
    file: str
    status: str
    document: str | None = None
    respondent: str | None = None
    units: int = 0
    words: int = 0
    respondent_units: int = 0
    respondent_words: int = 0
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    findings: int = 0  # likely identifiers found by the anonymity check


# ---------------------------------------------------------------------------
# respondent ids, speaker maps, file discovery

def respondent_from_name(stem: str, id_rule: str) -> str:
    """The respondent id of a file stem under the project's id rule (``stem`` or a regex)."""
    if not id_rule or id_rule == "stem":
        return stem
    try:
        pattern = re.compile(id_rule)
    except re.error as exc:
        raise InputError(f"qualcode.toml: id_rule '{id_rule}' is not a valid regular expression ({exc});"
                         " fix it or use \"stem\"") from None
    match = pattern.search(stem)
    if not match:
        raise ImportFailed(f"{stem}: the file name does not match the respondent-id rule '{id_rule}';"
                           " rename the file or give the id with --respondent ID")
    value = match.groupdict().get("id") or match.group(0)
    if not value:
        raise ImportFailed(f"{stem}: the respondent-id rule '{id_rule}' matched an empty id; give --respondent ID")
    return value


def load_speaker_map_csv(path: Path | str) -> dict[str, dict[str, str]]:
    """``{document (name or stem): {speaker: respondent}}`` from a CSV with columns document,speaker,respondent."""
    from qualcode.respondents import read_csv_rows

    path = Path(path)
    header, rows = read_csv_rows(path, what="speaker")
    columns = {h.strip().casefold(): i for i, h in enumerate(header)}
    missing = [c for c in ("document", "speaker", "respondent") if c not in columns]
    if missing:
        raise InputError(f"{path.name}: missing column(s) {', '.join(missing)}; a speaker map needs the columns"
                         " document,speaker,respondent")
    result: dict[str, dict[str, str]] = {}
    for row_number, row in rows:
        document, speaker, respondent = (row[columns[c]].strip() if columns[c] < len(row) else ""
                                         for c in ("document", "speaker", "respondent"))
        if not (document and speaker and respondent):
            raise InputError(f"{path.name}: row {row_number} has an empty document, speaker or respondent;"
                             " fill it in or delete the row")
        result.setdefault(document, {})[speaker] = respondent
    return result


def _map_for(name: str, stem: str, maps: dict[str, dict[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for key, mapping in maps.items():
        if key.casefold() in (name.casefold(), stem.casefold()):
            merged.update(mapping)
    return merged


# Notes that travel with a folder of transcripts but are not transcripts.
FOLDER_SKIP_STEMS = {"README", "LICENSE", "LICENCE", "CHANGELOG", "NOTES"}


def collect_files(paths: Iterable[Path | str]) -> list[Path]:
    """Files named directly (any suffix: unsupported ones fail later with a message) plus the
    supported files in named folders, recursively and in name order. In folders, hidden files,
    Office lock files (``~$…``) and README/LICENSE/NOTES files are skipped."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found = [p for p in path.rglob("*")
                     if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
                     and not any(part.startswith(".") for part in p.relative_to(path).parts)
                     and not p.name.startswith("~$") and p.stem.upper() not in FOLDER_SKIP_STEMS]
            files.extend(sorted(found, key=lambda p: [s.casefold() for s in p.relative_to(path).parts]))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{raw}: no such file or folder; check the path")
    return files


# ---------------------------------------------------------------------------
# the import itself

KIND_NAMES = {"email": "e-mail address", "phone": "phone number", "url": "web address", "handle": "@handle",
              "postcode": "postcode", "date": "full date", "address": "street address", "name": "person name",
              "identifier": "listed identifier"}


def anonymity_warnings(name: str, parsed: ParsedTranscript, data: bytes, identifiers: list[str] | None,
                        language: str) -> list[str]:
    """One warning per likely identifier, placed in the file as the researcher has it (``SF4.txt:62:251:``,
    ``SF9.docx paragraph 14:``, ``TL1.vtt cue 12 (line 47):``), then its kind and masked text."""
    from qualcode.anonymity.locate import scan_document

    return [f"{row['where']}: {KIND_NAMES.get(row['kind'], row['kind'])} {row['masked']}"
            for row in scan_document(name, parsed.text, source=data, source_format=parsed.source_format,
                                     units=parsed.units, identifiers=identifiers, language=language)]


def _has_codings(conn, document_id: int) -> bool:
    """Codings, reconciliation decisions or sample assignments refer to the document's positions."""
    return bool(
        conn.execute("SELECT 1 FROM codings WHERE document_id = ? LIMIT 1", (document_id,)).fetchone()
        or conn.execute("SELECT 1 FROM decisions WHERE document_id = ? LIMIT 1", (document_id,)).fetchone()
        or conn.execute("SELECT 1 FROM assignments a JOIN units u USING (unit_id) WHERE u.document_id = ? LIMIT 1",
                        (document_id,)).fetchone())


def delete_document(conn, document_id: int) -> None:
    """Remove a document that has no codings (units, sentences and assignments go with it)."""
    conn.execute("DELETE FROM documents WHERE document_id = ?", (document_id,))


def _unit_key(unit: dict) -> tuple:
    return (unit["start"], unit["end"], unit.get("speaker"), unit["role"], unit.get("respondent_id"),
            unit.get("timestamp"), unit.get("turn"))


def _stored_parse(conn, document_id: int) -> tuple:
    """What a document's parse looks like in the database: (text, units, respondent), comparable
    with :func:`_parsed_key`."""
    text, respondent_id = conn.execute("SELECT text, respondent_id FROM documents WHERE document_id = ?",
                                       (document_id,)).fetchone()
    units = [tuple(row) for row in conn.execute(
        "SELECT start, end, speaker, role, respondent_id, timestamp, turn FROM units WHERE document_id = ?"
        " ORDER BY seq", (document_id,))]
    return text, units, respondent_id


def _parsed_key(parsed: ParsedTranscript) -> tuple:
    return parsed.text, [_unit_key(u) for u in parsed.units], parsed.respondent_id


def _set_counts(result: FileResult, text: str, units: list[tuple[int, int, str]]) -> None:
    """Units and words of the whole document and of respondent speech only; units are (start, end, role)."""
    result.units = len(units)
    result.words = count_words("\n".join(text[start:end] for start, end, _ in units))
    spoken = [(start, end) for start, end, role in units if role == "respondent"]
    result.respondent_units = len(spoken)
    result.respondent_words = count_words("\n".join(text[start:end] for start, end in spoken))


CODED_REFUSAL = (
    "{name} already has codings, reconciliation decisions or units in a coding sample, whose positions refer to"
    " the stored text, so it cannot be {what}; {how}")


def import_file(
    project,
    path: Path,
    *,
    respondent: str | None = None,
    strict: bool = False,
    identifiers: list[str] | None = None,
    replace: bool = False,
    speaker_maps: dict[str, dict[str, str]] | None = None,
    seen: dict[str, Path] | None = None,
    format_hint: str | None = None,
) -> FileResult:
    """Import one file in its own transaction; never raises for a bad file (status ``failed``).

    A file already imported with the same bytes is ``unchanged``, unless
    ``replace`` and the current settings (speaker map, interviewer labels,
    id rule, ``respondent``) parse it differently from the stored document:
    then it is re-parsed and ``replaced``, like a changed file.
    """
    # long: read, check, then store one document in one transaction; each stage is a call, the stages share the parse
    name = path.name
    result = FileResult(path=str(path), file=name, status="failed")
    try:
        resolved = path.resolve()
        if seen is not None:
            earlier = seen.get(name.casefold())
            if earlier is not None and earlier != resolved:
                raise ImportFailed(f"{name}: another file with this name ({earlier}) is in this import; documents"
                                   " are named by file name, so rename one of them")
            seen[name.casefold()] = resolved
        data = read_bytes(path)
        digest = sha256_bytes(data)
        conn = project.connect()
        existing = conn.execute(
            "SELECT document_id, sha256, source_path, respondent_id FROM documents WHERE name = ?", (name,)
        ).fetchone()
        same_bytes = existing is not None and existing["sha256"] == digest
        if existing is not None and not same_bytes and not replace:
            other_folder = existing["source_path"] and Path(existing["source_path"]).parent != resolved.parent
            where = f" from {Path(existing['source_path']).parent}" if other_folder else ""
            raise ImportFailed(
                f"{name} is already imported{where} with different content; to replace it run"
                f" `qualcode import --replace {path}`" + (" (or rename one of the files)" if other_folder else ""))

        def parse() -> ParsedTranscript:
            respondent_id = respondent or respondent_from_name(path.stem, project.id_rule)
            return parse_file(path, interviewer_labels=project.interviewer_labels,
                              speaker_map=_map_for(name, path.stem, speaker_maps or {}),
                              respondent_id=respondent_id, data=data, format_hint=format_hint)

        if same_bytes:
            stored = _stored_parse(conn, existing["document_id"])
            try:
                parsed = parse()
            except QualcodeError:
                if replace:
                    raise
                parsed = None  # the settings no longer fit the file; it stays as it was imported
            differs = parsed is not None and _parsed_key(parsed) != stored
            if not (replace and differs):
                result.status, result.document, result.respondent = "unchanged", name, existing["respondent_id"]
                _set_counts(result, stored[0], [(u[0], u[1], u[3]) for u in stored[1]])
                result.message = "already imported (same content)"
                if differs:
                    result.message += ("; the current settings (speaker map, interviewer labels, id rule,"
                                       " --respondent) read it differently: run"
                                       f" `qualcode import --replace {path}` to apply them")
                return result
        else:
            parsed = parse()
        result.warnings.extend(parsed.warnings)
        findings = anonymity_warnings(name, parsed, data, identifiers, project.language)
        result.findings = len(findings)
        if findings and strict:
            result.warnings.extend(findings)
            first = findings[0].split(": ")[0]
            raise ImportFailed(f"{name}: {len(findings)} likely identifier(s), first at {first};"
                               " remove them from the transcript (see the warnings) or import without --strict")
        result.warnings.extend(findings)
        from qualcode import documents, store

        with project.transaction() as conn:
            replaced = False
            if existing is not None:
                if _has_codings(conn, existing["document_id"]):
                    if same_bytes:
                        how = (f"to attribute its speakers to respondents run `qualcode respondents assign {name}"
                               " RESPONDENT --speaker LABEL` (positions stay as they are)")
                        raise ImportFailed(CODED_REFUSAL.format(name=name, what="re-read with the current settings",
                                                                how=how))
                    raise ImportFailed(CODED_REFUSAL.format(
                        name=name, what="replaced", how="import the new version under another file name"))
                delete_document(conn, existing["document_id"])
                replaced = True
            documents.add_document(conn, name=name, text=parsed.text, source_format=parsed.source_format,
                                   units=parsed.units, sha256=digest, source_path=str(resolved),
                                   respondent_id=parsed.respondent_id)
            store.record_history(conn, "import", document=name, sha256=digest, units=len(parsed.units),
                                 replaced=replaced, format=parsed.source_format,
                                 **({"reason": "settings"} if same_bytes else {}))
        result.status = "replaced" if replaced else "imported"
        result.document, result.respondent = name, parsed.respondent_id
        _set_counts(result, parsed.text, [(u["start"], u["end"], u["role"]) for u in parsed.units])
        if same_bytes:
            result.message = "re-read with the current settings"
        elif replaced:
            result.message = "replaced the earlier version"
        if findings:
            result.message = (result.message + "; " if result.message else "") + \
                f"{len(findings)} possible identifier(s)"
    except QualcodeError as exc:
        result.status = "failed"
        result.message = str(exc)
    return result


class ImportInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``import_paths``: ``results`` holds the files finished before it (all saved);
    ``current`` is the file being imported, whose transaction was rolled back."""

    def __init__(self, results: list[FileResult], current: str | None):
        super().__init__()
        self.results = results
        self.current = current


def import_paths(
    project,
    paths: Iterable[Path | str],
    *,
    respondent: str | None = None,
    strict: bool = False,
    identifiers: list[str] | None = None,
    progress: Callable[[int, int, FileResult], None] | None = None,
    replace: bool = False,
    speaker_map: Path | str | dict[str, dict[str, str]] | None = None,
    format_hint: str | None = None,
) -> list[FileResult]:
    """Import transcript files and folders (recursively) into ``project``.

    Each file is one transaction: a failed file leaves nothing behind and does
    not stop the others. An identical file already imported is ``unchanged``;
    a changed file under an existing name fails unless ``replace`` (refused
    when the document has codings). With ``replace`` an identical file is
    re-parsed, and replaced if the current settings read it differently. ``respondent`` overrides the project's
    id rule; ``speaker_map`` is a CSV path (document,speaker,respondent) or a
    dict, merged over the project's ``[speaker_map.*]`` settings.
    ``identifiers`` (real names and places) feed the anonymity check and are
    never stored; with ``strict`` a file with findings is refused.
    ``progress(done, total, result)`` is called after each file.
    ``format_hint`` reads every file as that format (e.g. ``vtt`` for
    captions saved as .txt). Ctrl-C raises :class:`ImportInterrupted` (a
    KeyboardInterrupt) carrying the results of the files finished before it.
    """
    if format_hint is not None and f".{format_hint.lower().lstrip('.')}" not in READERS:
        raise InputError(f"unknown format '{format_hint}'; choose one of"
                         f" {', '.join(s[1:] for s in SUPPORTED_SUFFIXES)}")
    files = collect_files(paths)
    maps = dict(project.speaker_map)
    if isinstance(speaker_map, (str, Path)):
        extra = load_speaker_map_csv(speaker_map)
    else:
        extra = speaker_map or {}
    for key, mapping in extra.items():
        maps[key] = {**maps.get(key, {}), **mapping}
    results: list[FileResult] = []
    seen: dict[str, Path] = {}
    current: str | None = None
    try:
        for done, path in enumerate(files, start=1):
            current = path.name
            result = import_file(project, path, respondent=respondent, strict=strict, identifiers=identifiers,
                                 replace=replace, speaker_maps=maps, seen=seen, format_hint=format_hint)
            results.append(result)
            current = None
            if progress is not None:
                progress(done, len(files), result)
    except KeyboardInterrupt:
        raise ImportInterrupted(results, current) from None
    return results


RESULT_COLUMNS = ["file", "document", "respondent", "units", "respondent_units", "words", "respondent_words",
                  "status", "message"]


def results_frame(results: list[FileResult]):
    """The import results as a DataFrame with :data:`RESULT_COLUMNS`.

    ``units`` and ``words`` count the whole document (interviewer included);
    ``respondent_units`` and ``respondent_words`` respondent speech only, the
    way ``qualcode respondents`` counts.
    """
    import pandas as pd

    return pd.DataFrame(
        [{"file": r.file, "document": r.document or "", "respondent": r.respondent or "", "units": r.units,
          "respondent_units": r.respondent_units, "words": r.words, "respondent_words": r.respondent_words,
          "status": r.status, "message": r.message} for r in results],
        columns=RESULT_COLUMNS,
    )


def list_documents(conn):
    """One row per document: document, format, respondent, respondent_units, interviewer_units,
    other_units, words (all speech), respondent_words, imported_at, sha256 (first 12 hex digits).

    A DataFrame in natural name order (SF2 before SF10). ``respondent`` is the
    document's own respondent, empty for a focus group or a document imported
    without one (see ``qualcode respondents assign``). ``frame.attrs["unattributed"]``
    names the documents with respondent speech that belongs to no respondent.
    """
    import pandas as pd
    from natsort import natsorted

    rows = []
    unattributed: list[str] = []
    for document_id, name, source_format, respondent_id, imported_at, sha256 in conn.execute(
        "SELECT document_id, name, source_format, respondent_id, imported_at, sha256 FROM documents"
    ):
        text = conn.execute("SELECT text FROM documents WHERE document_id = ?", (document_id,)).fetchone()[0]
        units = conn.execute("SELECT start, end, role, respondent_id FROM units WHERE document_id = ? ORDER BY seq",
                             (document_id,)).fetchall()
        roles = [u[2] for u in units]
        counts = FileResult(path="", file=name, status="")
        _set_counts(counts, text, [(u[0], u[1], u[2]) for u in units])
        rows.append({"document": name, "format": source_format, "respondent": respondent_id or "",
                     "respondent_units": counts.respondent_units, "interviewer_units": roles.count("interviewer"),
                     "other_units": roles.count("other"), "words": counts.words,
                     "respondent_words": counts.respondent_words, "imported_at": imported_at,
                     "sha256": sha256[:12]})
        if any(role == "respondent" and respondent is None for _, _, role, respondent in units):
            unattributed.append(name)
        del text
    columns = ["document", "format", "respondent", "respondent_units", "interviewer_units", "other_units", "words",
               "respondent_words", "imported_at", "sha256"]
    frame = pd.DataFrame(natsorted(rows, key=lambda r: r["document"]), columns=columns)
    frame.attrs["unattributed"] = natsorted(unattributed)
    return frame
