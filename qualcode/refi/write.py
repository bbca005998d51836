"""Writing a .qdpx project valid against ``Project.xsd``: codes, cases,
sources with their text, selections with their codings and memos.
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace
from dataclasses import dataclass
from pathlib import Path

from qualcode import store
from qualcode.refi.common import (
    METADATA_NOTE_NAME,
    PROJECT_NS,
    SELECTION_NAME_LENGTH,
    _guid_namespace,
    add_description,
    ensure_guids,
    new_guid,
    normalise_guid,
    plural,
    serialise_xml,
    valid_guid,
    xml_element,
    xml_safe,
    xsd_datetime,
)
from qualcode.refi.qdc import code_elements, load_export_tree


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


def _selection_name(text: str) -> str:
    squashed = " ".join(text.split())
    if len(squashed) <= SELECTION_NAME_LENGTH:
        return squashed
    return squashed[:SELECTION_NAME_LENGTH].rstrip() + "…"


def _group_selections(conn, codings, memo_of: dict[int, str]) -> dict[int, dict[tuple, dict]]:
    """The codings by document, grouped into selections ``{(guid, start, end, memo): {memo, codings}}``.

    One selection per span: codings that came in on one selection keep its GUID; codings of
    the same span without a usable GUID share one (stored, so the next export matches).
    ``memo_of``: each coding's memo as ``memos.shown_memos`` gives it (the selection's description).
    """
    selections: dict[int, dict[tuple, dict]] = {}
    span_guids: dict[tuple, str] = {}
    for coding in codings:
        # a selection's description is every coding's memo, so codings with different memos part
        span = (coding["document_id"], coding["start"], coding["end"], memo_of.get(coding["coding_id"], ""))
        guid = normalise_guid(coding["guid"]) if valid_guid(coding["guid"]) else None
        by_doc = selections.setdefault(coding["document_id"], {})
        if guid is not None and any(k[0] == guid and k[1:] != span[1:] for k in by_doc):
            guid = None  # a GUID reused for another span would make two selections share it
        if guid is None:
            guid = span_guids.get(span) or new_guid()
        span_guids.setdefault(span, guid)
        if guid != coding["guid"]:
            conn.execute("UPDATE codings SET guid = ? WHERE coding_id = ?", (guid, coding["coding_id"]))
        entry = by_doc.setdefault((guid, *span[1:]), {"memo": memo_of.get(coding["coding_id"]), "codings": []})
        entry["codings"].append(coding)
    return selections


def _sources_element(root, documents, document_guids, selections, coder_guids, code_guids, namespace,
                     files: dict[str, bytes], note_guids: dict[int, list[str]]) -> int:
    """Add ``Sources`` (each text into ``files``) with their selections, codings and references to their
    document memos (``note_guids``: the Notes' GUIDs per document); return the selection count."""
    ns = PROJECT_NS
    selection_count = 0
    if documents:
        sources_element = xml_element(root, "Sources", ns)
        for document in documents:
            guid = document_guids[document["document_id"]]
            files[f"Sources/{guid}.txt"] = document["text"].encode("utf-8")
            source = xml_element(sources_element, "TextSource", ns, guid=guid, name=document["name"],
                              plainTextPath=f"internal://{guid}.txt")
            for (selection_guid, start, end, _), entry in selections.get(document["document_id"], {}).items():
                selection_count += 1
                first = entry["codings"][0]
                selection = xml_element(
                    source, "PlainTextSelection", ns, guid=selection_guid,
                    name=_selection_name(document["text"][start:end]), startPosition=start, endPosition=end,
                    creatingUser=coder_guids.get(first["coder_id"]))
                add_description(selection, entry["memo"], ns)
                written = set()
                for coding in entry["codings"]:
                    coder_guid = coder_guids[coding["coder_id"]]
                    code_guid = code_guids[coding["code_id"]]
                    if (coder_guid, code_guid) in written:
                        continue  # the same coder gave the same code twice to one span
                    written.add((coder_guid, code_guid))
                    coding_element = xml_element(
                        selection, "Coding", ns,
                        guid=str(uuid.uuid5(namespace, f"coding:{selection_guid}:{code_guid}:{coder_guid}")),
                        creatingUser=coder_guid, creationDateTime=xsd_datetime(coding["created_at"]))
                    xml_element(coding_element, "CodeRef", ns, targetGUID=code_guid)
            for note_guid in note_guids.get(document["document_id"], []):
                xml_element(source, "NoteRef", ns, targetGUID=note_guid)
    return selection_count


def _document_memos(conn, wanted_coders, documents) -> list:
    """The exported coders' memos on whole documents (a blind export carries only its coders' memos)."""
    from qualcode.memos import list_memos

    served = {d["document_id"] for d in documents}
    return [memo for _, name in wanted_coders for memo in list_memos(conn, coder=name)
            if memo.coding_id is None and memo.document_id in served]


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
    # long: the one transaction that reads the project and writes the archive; sources and selections are helpers
    import zipfile

    from qualcode import __version__
    from qualcode.exports import atomic_write, check_overwrite
    from qualcode.memos import shown_memos
    from qualcode.respondents import load_attributes

    out = check_overwrite(out, force)  # refuse before the whole project is read and serialised
    with project.transaction() as conn:
        if coders:
            for name in coders:
                store.coder_id(conn, name)
        namespace = _guid_namespace(conn)
        coder_rows = conn.execute("SELECT coder_id, name FROM coders ORDER BY name").fetchall()
        wanted_coders = [r for r in coder_rows if not coders or r[1] in coders]
        coder_guids = ensure_guids(conn, "coders", "coder_id", {r[0] for r in wanted_coders})
        tree = load_export_tree(conn)
        code_guids = ensure_guids(conn, "codes", "code_id", {n.code_id for n in tree.by_key.values()})
        document_guids = ensure_guids(conn, "documents", "document_id")
        documents = conn.execute(
            "SELECT document_id, name, text, respondent_id FROM documents ORDER BY name").fetchall()
        coding_sql = (
            "SELECT c.coding_id, c.guid, c.document_id, c.start, c.end, c.memo, c.coder_id, c.code_id, c.created_at,"
            " k.name AS coder"
            " FROM codings c JOIN coders k USING (coder_id)"
        )
        params: list = []
        if coders:
            coding_sql += f" WHERE k.name IN ({','.join('?' * len(coders))})"
            params = list(coders)
        coding_sql += " ORDER BY c.document_id, c.start, c.end, c.coding_id"
        codings = [c for c in conn.execute(coding_sql, params).fetchall() if c["code_id"] in code_guids]
        shown = shown_memos(conn, [SimpleNamespace(coding_id=c["coding_id"], coder=c["coder"], memo=c["memo"])
                                   for c in codings])
        selections = _group_selections(conn, codings, shown)
        document_memos = _document_memos(conn, wanted_coders, documents)
        note_guids: dict[int, list[str]] = {}
        for memo in document_memos:
            note_guids.setdefault(memo.document_id, []).append(str(uuid.uuid5(namespace, f"memo:{memo.id}")))
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
        root = xml_element(None, "Project", ns, name=project.name, origin=f"qualcode {__version__}")
        if wanted_coders:
            users = xml_element(root, "Users", ns)
            for coder_id, name in wanted_coders:
                xml_element(users, "User", ns, guid=coder_guids[coder_id], name=name)
        if tree.roots:
            codebook_element = xml_element(root, "CodeBook", ns)
            codes_element = xml_element(codebook_element, "Codes", ns)
            code_elements(codes_element, tree, code_guids, ns)
        variable_guids = {name: str(uuid.uuid5(namespace, f"variable:{name}")) for name in variable_names}
        if variable_names:
            variables_element = xml_element(root, "Variables", ns)
            for name in variable_names:
                xml_element(variables_element, "Variable", ns, guid=variable_guids[name], name=name,
                         typeOfVariable="Text")
        if respondents:
            cases_element = xml_element(root, "Cases", ns)
            for respondent in respondents:
                case = xml_element(cases_element, "Case", ns, guid=str(uuid.uuid5(namespace, f"case:{respondent}")),
                                name=respondent)
                for name, value in attributes.get(respondent, {}).items():
                    if value is None:
                        continue
                    value_element = xml_element(case, "VariableValue", ns)
                    xml_element(value_element, "VariableRef", ns, targetGUID=variable_guids[name])
                    xml_element(value_element, "TextValue", ns).text = xml_safe(value)
                for document in documents:
                    if document["respondent_id"] == respondent:
                        xml_element(case, "SourceRef", ns, targetGUID=document_guids[document["document_id"]])
        files: dict[str, bytes] = {}
        selection_count = _sources_element(root, documents, document_guids, selections, coder_guids, code_guids,
                                           namespace, files, note_guids)
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
        notes_element = xml_element(root, "Notes", ns)
        names = {d["document_id"]: d["name"] for d in documents}
        coder_guid_of = {name: coder_guids[coder_id] for coder_id, name in wanted_coders}
        for memo in document_memos:
            memo_note = xml_element(notes_element, "Note", ns, guid=str(uuid.uuid5(namespace, f"memo:{memo.id}")),
                                    name=f"Memo by {memo.coder} on {names[memo.document_id]}",
                                    creatingUser=coder_guid_of[memo.coder],
                                    creationDateTime=xsd_datetime(memo.created_at))
            xml_element(memo_note, "PlainTextContent", ns).text = xml_safe(memo.text)
        note = xml_element(notes_element, "Note", ns, guid=str(uuid.uuid5(namespace, "note:qualcode-metadata")),
                        name=METADATA_NOTE_NAME)
        add_description(note, "Code keys, coding criteria and speaker turns, so qualcode can restore them; other"
                               " programs may ignore this note.", ns)
        xml_element(note, "PlainTextContent", ns).text = json.dumps(metadata, ensure_ascii=False, sort_keys=True)
        files["project.qde"] = serialise_xml(root, ns)
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
