"""The check over a project's documents or over files not yet imported.
"""

from __future__ import annotations

from pathlib import Path
from qualcode.anonymity.locate import stored_source, locate_findings, scan_document
from qualcode.anonymity.scan import scan_text


def check_documents(
    conn,
    documents: list[str] | None = None,
    *,
    identifiers: list[str] | None = None,
    language: str = "en",
    names: str = "auto",
) -> list[dict]:
    """Findings in documents already in the project (all of them when ``documents`` is empty).

    Returns one dict per finding (columns :data:`FINDING_COLUMNS`), documents in name order. Findings
    are placed in the source file when it is still at the path it was imported from and unchanged
    (``SF4.txt:62:251``, ``SF9.docx paragraph 14``, ``TL1.vtt cue 12 (line 47)``), otherwise in the
    stored text with its unit key (``SF4.txt (as stored) line 41, column 256; unit SF4.txt#12``).
    Unknown document names raise NotFound before anything is scanned.
    """
    from qualcode.documents import get_document

    if documents:
        selected = [_find_document(conn, name) for name in dict.fromkeys(documents)]
    else:
        selected = [get_document(conn, document_id) for (document_id,) in
                    conn.execute("SELECT document_id FROM documents ORDER BY name")]
    rows: list[dict] = []
    for document in selected:
        findings = scan_text(document.text, identifiers=identifiers, language=language, names=names)
        if not findings:
            continue  # a clean document's source file is not read and hashed
        units = conn.execute("SELECT start, end FROM units WHERE document_id = ? ORDER BY seq",
                             (document.document_id,)).fetchall()
        rows += locate_findings(document.name, document.text, findings,
                                source=stored_source(document.source_path, document.sha256),
                                source_format=document.source_format, units=[tuple(u) for u in units])
    return rows


def _find_document(conn, name: str):
    """A document by its name (SF4.txt), or by the name without extension (SF4) when that is unambiguous."""
    from qualcode.documents import get_document
    from qualcode.errors import NotFound

    try:
        return get_document(conn, name)
    except NotFound:
        matches = [found for (found,) in conn.execute("SELECT name FROM documents") if Path(found).stem == name]
        if len(matches) == 1:
            return get_document(conn, matches[0])
        raise


# Plain-text files are scanned as they are, so line and column point into the
# file itself; other formats are scanned in the text qualcode would import.
_RAW_TEXT_SUFFIXES = (".txt", ".md")


def read_file_text(path: Path | str, *, interviewer_labels: list[str] | None = None) -> str:
    """The text of a transcript file not yet imported (errors name the file, never its content)."""
    from qualcode.transcripts.parse import parse_file
    from qualcode.transcripts.text import decode_text
    from qualcode.errors import InputError
    from qualcode.project import DEFAULT_INTERVIEWER_LABELS

    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder; give transcript files (e.g. {path}/*.txt)")
    if not path.exists():
        raise InputError(f"{path} does not exist; check the path")
    if path.suffix.lower() in _RAW_TEXT_SUFFIXES:
        data = path.read_bytes()
        if not data.strip():
            raise InputError(f"{path} is empty; check that it is the right file")
        return decode_text(data, path.name)[0]
    return parse_file(path, interviewer_labels=interviewer_labels or DEFAULT_INTERVIEWER_LABELS).text


def _failed_row(name: str, message: str) -> dict:
    return {"where": name, "document": name, "line": None, "column": None, "kind": "", "masked": "",
            "paragraph": None, "cue": None, "unit": "", "located": "", "start": None, "end": None,
            "status": "failed", "message": message}


def check_files(
    paths: list[Path | str],
    *,
    identifiers: list[str] | None = None,
    language: str = "en",
    names: str = "auto",
    interviewer_labels: list[str] | None = None,
) -> list[dict]:
    """Findings in transcript files not yet imported; rows as in :func:`check_documents`, named by path.

    Each file is read as ``qualcode import`` reads it and its findings are placed in the file (line and
    column, paragraph or cue). Folders are searched recursively for supported transcript files, as
    ``qualcode import`` does. A file that cannot be read does not stop the others: it gets one row with
    status ``failed`` and a message naming the file and the problem (finding rows have status ``found``).
    """
    from qualcode.transcripts.import_ import collect_files
    from qualcode.transcripts.parse import parse_file
    from qualcode.transcripts.text import read_bytes
    from qualcode.errors import InputError, QualcodeError
    from qualcode.project import DEFAULT_INTERVIEWER_LABELS

    files = collect_files(paths)
    if not files:
        raise InputError(f"no transcript files in {', '.join(str(p) for p in paths)}; qualcode reads .txt, .md,"
                         " .docx, .odt, .rtf, .vtt and .srt files")
    rows: list[dict] = []
    for path in files:
        try:
            data = read_bytes(path)
            parsed = parse_file(path, interviewer_labels=interviewer_labels or DEFAULT_INTERVIEWER_LABELS,
                                            data=data)
        except QualcodeError as exc:
            rows.append(_failed_row(str(path), str(exc)))
            continue
        rows += scan_document(str(path), parsed.text, source=data, source_format=parsed.source_format,
                              units=parsed.units, identifiers=identifiers, language=language, names=names)
    return rows


# -- evaluation on a labelled set ----------------------------------------------------
