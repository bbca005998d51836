import pytest

from qualcode import memos, store
from qualcode.errors import InputError, NotFound
from tests.conftest import code_phrase


@pytest.fixture
def coded(tiny_project):
    with tiny_project.transaction() as conn:
        code_phrase(conn, "A", "work.caseload", "SF1.txt", "forty people on my books")
        code_phrase(conn, "B", "work.toll", "SF1.txt", "Some nights I don't sleep")
    return tiny_project


def coding_of(conn, coder):
    return conn.execute("SELECT c.coding_id FROM codings c JOIN coders k USING (coder_id) WHERE k.name = ?",
                        (coder,)).fetchone()[0]


def test_add_list_update_delete_round_trip(coded):
    with coded.transaction() as conn:
        document_memo = memos.add_memo(conn, "B", "  Reads as tired, not overloaded. ", document_id=1)
        coding_memo = memos.add_memo(conn, "B", "Check with A", coding_id=coding_of(conn, "B"))
    conn = coded.connect()
    assert document_memo.text == "Reads as tired, not overloaded."  # trimmed
    assert (document_memo.document_id, document_memo.coding_id, document_memo.coder) == (1, None, "B")
    assert coding_memo.document_id is None and coding_memo.coding_id == coding_of(conn, "B")
    assert [m.id for m in memos.list_memos(conn, coder="B")] == [document_memo.id, coding_memo.id]
    # a document's memos include those on its codings
    assert [m.id for m in memos.list_memos(conn, document_id=1)] == [document_memo.id, coding_memo.id]
    assert [m.id for m in memos.list_memos(conn, coding_id=coding_memo.coding_id)] == [coding_memo.id]
    assert memos.list_memos(conn, coder="A") == []
    with coded.transaction() as conn:
        changed = memos.update_memo(conn, coding_memo.id, "Checked", coder="B")
    assert changed.text == "Checked" and changed.created_at == coding_memo.created_at
    assert memos.coding_memos(conn, [coding_memo.coding_id], coder="B") == {coding_memo.coding_id: "Checked"}
    with coded.transaction() as conn:
        assert memos.delete_memo(conn, document_memo.id, coder="B") == document_memo.id
    assert [m.id for m in memos.list_memos(conn)] == [coding_memo.id]


def test_a_coder_cannot_touch_another_coders_memos_or_codings(coded):
    conn = coded.connect()
    with coded.transaction():
        memo = memos.add_memo(conn, "A", "A's note", document_id=1)
    with pytest.raises(NotFound, match="coder 'B' has no memo"):
        memos.update_memo(conn, memo.id, "overwritten", coder="B")
    with pytest.raises(NotFound, match="coder 'B' has no memo"):
        memos.delete_memo(conn, memo.id, coder="B")
    with pytest.raises(NotFound, match="coder 'B' has no coding"):
        memos.add_memo(conn, "B", "on A's coding", coding_id=coding_of(conn, "A"))
    assert [m.text for m in memos.list_memos(conn)] == ["A's note"]


def test_bad_memos_are_refused_with_one_line(coded):
    conn = coded.connect()
    with pytest.raises(InputError, match="cannot be empty"):
        memos.add_memo(conn, "B", "   ", document_id=1)
    with pytest.raises(InputError, match="exactly one"):
        memos.add_memo(conn, "B", "x", document_id=1, coding_id=coding_of(conn, "B"))
    with pytest.raises(InputError, match="exactly one"):
        memos.add_memo(conn, "B", "x")
    with pytest.raises(NotFound, match="document 99"):
        memos.add_memo(conn, "B", "x", document_id=99)
    with pytest.raises(InputError, match="at most"):
        memos.add_memo(conn, "B", "x" * (memos.MAX_MEMO_LENGTH + 1), document_id=1)
    assert memos.list_memos(conn) == []


def test_a_memo_on_a_coding_goes_with_the_coding(coded):
    from qualcode.codings import delete_codings

    conn = coded.connect()
    with coded.transaction():
        memos.add_memo(conn, "B", "note", coding_id=coding_of(conn, "B"))
        delete_codings(conn, store.coder_id(conn, "B"))
    assert memos.list_memos(conn) == []


def test_codings_list_shows_each_codings_memo(coded):
    import json

    from tests.conftest import run_cli

    conn = coded.connect()
    with coded.transaction():
        memos.add_memo(conn, "B", "Tired rather than busy; a long note that runs past the table's width", coding_id=coding_of(conn, "B"))
    coded.close()
    listed = run_cli("--project", coded.root, "codings", "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    by_coder = {row["coder"]: row["memo"] for row in json.loads(listed.stdout)}
    assert by_coder == {"A": "", "B": "Tired rather than busy; a long note that runs past the table's width"}
    table = run_cli("--project", coded.root, "codings", "list", "--coder", "B")
    # the table wraps a long memo within its column at the terminal's width; its first word starts the cell
    assert table.exit_code == 0 and "memo" in table.stdout and "Tired" in table.stdout


def test_shown_memo_is_the_coders_own_else_the_imported_one(coded):
    from qualcode.codings import load_codings

    with coded.transaction() as conn:
        conn.execute("UPDATE codings SET memo = 'imported with the coding' WHERE coding_id = ?",
                     (coding_of(conn, "A"),))
        conn.execute("UPDATE codings SET memo = 'imported for B' WHERE coding_id = ?", (coding_of(conn, "B"),))
        memos.add_memo(conn, "B", "B's own note", coding_id=coding_of(conn, "B"))
        memos.add_memo(conn, "B", "and a second", coding_id=coding_of(conn, "B"))
    conn = coded.connect()
    codings = load_codings(conn)
    shown = memos.shown_memos(conn, codings)
    assert shown == {coding_of(conn, "A"): "imported with the coding",
                     coding_of(conn, "B"): "B's own note\n\nand a second"}
    # one coder's codings alone: nothing of the other coder's
    assert memos.shown_memos(conn, [c for c in codings if c.coder == "A"]) == {
        coding_of(conn, "A"): "imported with the coding"}
    with coded.transaction() as conn:
        conn.execute("UPDATE codings SET memo = NULL")
    assert memos.shown_memos(coded.connect(), [c for c in load_codings(coded.connect()) if c.coder == "A"]) == {}


def test_refi_export_carries_memos_as_notes_and_descriptions_and_stays_blind(coded, tmp_path, shared_fixtures):
    import io
    import zipfile
    from xml.etree import ElementTree as ET

    import xmlschema

    from qualcode import refi

    ns = "{urn:QDA-XML:project:1.0}"
    with coded.transaction() as conn:
        memos.add_memo(conn, "B", "B's note on the whole interview", document_id=1)
        memos.add_memo(conn, "B", "B's note on the toll", coding_id=coding_of(conn, "B"))
        memos.add_memo(conn, "A", "A-SECRET on the document", document_id=1)
        memos.add_memo(conn, "A", "A-SECRET on a coding", coding_id=coding_of(conn, "A"))
    out = tmp_path / "b.qdpx"
    refi.export_project(coded, out, coders=["B"])
    qde = zipfile.ZipFile(out).read("project.qde")
    xmlschema.XMLSchema(str(shared_fixtures / "refi" / "schema" / "Project.xsd")).validate(io.BytesIO(qde))
    assert b"A-SECRET" not in qde  # a blind export carries only its coder's memos
    root = ET.fromstring(qde)
    notes = {n.get("guid"): n for n in root.iter(f"{ns}Note")}
    memo_notes = [n for n in notes.values() if n.get("name", "").startswith("Memo by")]
    assert [n.findtext(f"{ns}PlainTextContent") for n in memo_notes] == ["B's note on the whole interview"]
    assert memo_notes[0].get("name") == "Memo by B on SF1.txt"
    source = next(s for s in root.iter(f"{ns}TextSource") if s.get("name") == "SF1.txt")
    assert [r.get("targetGUID") for r in source.findall(f"{ns}NoteRef")] == [memo_notes[0].get("guid")]
    descriptions = [s.findtext(f"{ns}Description") for s in source.iter(f"{ns}PlainTextSelection")]
    assert descriptions == ["B's note on the toll"]

    full = tmp_path / "all.qdpx"
    refi.export_project(coded, full)
    everything = zipfile.ZipFile(full).read("project.qde")
    assert b"A-SECRET on the document" in everything and b"A-SECRET on a coding" in everything
