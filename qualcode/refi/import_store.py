"""Storing a read .qdpx project: coders from users, codes and a codebook
version, cases as respondents, documents, and codings with their memos,
all in one transaction.
"""

from __future__ import annotations

import re
from pathlib import Path

from qualcode import store
from qualcode.errors import InputError
from qualcode.refi.common import (
    MIN_QUOTED_NAME,
    SKIP_DUPLICATE,
    SKIP_EMPTY,
    SKIP_NO_USER,
    SKIP_OUT_OF_RANGE,
    SKIP_SPLITS_CHARACTER,
    SKIP_TEXT_MISMATCH,
    SKIP_UNKNOWN_CODE,
    SKIP_UNKNOWN_USER,
    child_element,
    child_elements,
    element_text,
    int_attribute,
    normalise_guid,
    slug,
)
from qualcode.refi.qdc import read_codes, unique_key
from qualcode.refi.quirks import check_against_name, squash
from qualcode.refi.results import RefiImportResult, Source, detail_selection


def skip_source_codings(element, name: str, result: RefiImportResult, reason: str) -> None:
    for selection in child_elements(element, "PlainTextSelection"):
        result.selections += 1
        detail_selection(result, name, selection, int_attribute(selection, "startPosition"),
                          int_attribute(selection, "endPosition"), reason, len(child_elements(selection, "Coding")))
    whole = len(child_elements(element, "Coding"))
    if whole:
        detail_selection(result, name, None, None, None, reason, whole)


def _coders_from_users(conn, root, result: RefiImportResult) -> dict[str, int]:
    """``{user guid: coder_id}``; a user without a name is known by its GUID."""
    coders: dict[str, int] = {}
    users_element = child_element(root, "Users")
    if users_element is None:
        return coders
    for user in child_elements(users_element, "User"):
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
    from qualcode.codebook.model import store_nodes

    codebook_element = child_element(root, "CodeBook")
    codes = read_codes(child_element(codebook_element, "Codes") if codebook_element is not None else None)
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
                key = code.key = unique_key(wanted, taken)
                node = {"key": key, "label": code.name, "parent": code.parent.key if code.parent else None,
                        "definition": code.description, "color": code.color, "guid": code.guid}
                for extra in ("include", "exclude", "examples", "memo", "rules"):
                    if known.get(extra) is not None:
                        node[extra] = known[extra]
                new_nodes.append(node)
        all_nodes.append({"key": code.key, "label": code.name, "parent": code.parent.key if code.parent else None,
                          "definition": code.description, "color": code.color, "guid": code.guid})
    if new_nodes:
        stored = store_nodes(conn, new_nodes)
        for code in codes:
            if code.guid and code.guid not in ids and code.key in stored:
                ids[code.guid] = stored[code.key]
        result.codes_added = len(new_nodes)
    return ids, all_nodes


def _store_cases(conn, root, result: RefiImportResult) -> dict[str, str]:
    """Cases → respondents with attributes; return ``{source guid: respondent_id}``."""
    from qualcode.documents import ensure_respondent

    variables: dict[str, str] = {}
    variables_element = child_element(root, "Variables")
    if variables_element is not None:
        for variable in child_elements(variables_element, "Variable"):
            guid = normalise_guid(variable.get("guid"))
            if guid:
                variables[guid] = (variable.get("name") or guid).strip() or guid
    variable_order = {guid: index for index, guid in enumerate(variables)}
    source_case: dict[str, str] = {}
    cases_element = child_element(root, "Cases")
    if cases_element is None:
        return source_case
    conflicts = 0
    for case in child_elements(cases_element, "Case"):
        respondent = (case.get("name") or "").strip() or normalise_guid(case.get("guid"))
        if not respondent:
            continue
        ensure_respondent(conn, respondent)
        if respondent not in result.respondents:
            result.respondents.append(respondent)
        for value_element in child_elements(case, "VariableValue"):
            ref = child_element(value_element, "VariableRef")
            variable_guid = normalise_guid(ref.get("targetGUID")) if ref is not None else None
            if variable_guid not in variables:
                continue
            value = None
            for kind in ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue", "DateTimeValue"):
                value_child = child_element(value_element, kind)
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
        for ref in child_elements(case, "SourceRef"):
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
    from qualcode.codebook.model import Codebook

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


def _store_document(conn, source: Source, respondent: str | None, path: Path, result: RefiImportResult) -> int:
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
    description = element_text(child_element(selection, "Description"))
    if description:
        parts.append(description.strip())
    for ref in child_elements(selection, "NoteRef"):
        note = notes.get(normalise_guid(ref.get("targetGUID")) or "")
        if note:
            parts.append(note.strip())
    return "\n\n".join(parts) or None


def store_import(conn, root, sources: list[Source], result: RefiImportResult, metadata: dict,
                  notes: dict[str, str], path: Path, progress) -> None:
    # long: the body of the one import transaction, step by step (coders, codes, cases, documents, codings); each step is a helper already
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
                ref = child_element(coding, "CodeRef")
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
                    detail_selection(result, source.name, selection, start, end, reason, 1)
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
        for selection in child_elements(source.element, "PlainTextSelection"):
            result.selections += 1
            codings = child_elements(selection, "Coding")
            start = int_attribute(selection, "startPosition")
            end = int_attribute(selection, "endPosition")
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
                            squashed_text = squash(offsets.text)
                        if squash(name) in squashed_text:
                            check = False
                    if check is False:
                        reason = SKIP_TEXT_MISMATCH
                    elif check:
                        result.selections_verified += 1
                    else:
                        result.selections_unverified += 1
            if reason:
                detail_selection(result, source.name, selection, start, end, reason, len(codings))
                continue
            add(codings, selection, mapped_start, mapped_end, _memo(selection, notes))
        whole_source = child_elements(source.element, "Coding")
        if whole_source and offsets.text:
            add(whole_source, None, 0, len(offsets.text), None)
        elif whole_source:
            detail_selection(result, source.name, None, None, None, SKIP_EMPTY, len(whole_source))
        result.codings_imported += add_codings(conn, rows)
        if progress is not None:
            progress(done, len(sources), source.name)
    store.record_history(
        conn, "refi-import", file=path.name, origin=result.origin, documents=len(result.documents_added),
        codes=result.codes_added, codings=result.codings_imported, skipped=result.codings_skipped,
    )


def paragraph_units(text: str, respondent_id: str | None) -> list[dict]:
    """One respondent unit per paragraph (text between blank lines), whitespace trimmed."""
    units = []
    for match in re.finditer(r"\S(?:.*?\S)?(?=\n[ \t]*\n|\s*\Z)", text, flags=re.S):
        units.append({"start": match.start(), "end": match.end(), "role": "respondent",
                      "respondent_id": respondent_id, "speaker": None})
    return units
