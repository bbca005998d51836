import pytest
from hypothesis import given
from hypothesis import strategies as st

from qualcode import spans
from qualcode.codings import load_codings
from qualcode.errors import InputError, NotFound
from tests.conftest import assign_paragraphs, code_phrase


def text_of(conn, document_id):
    return conn.execute("SELECT text FROM documents WHERE document_id = ?", (document_id,)).fetchone()[0]


def test_add_coding_stores_the_span_for_the_coder(tiny_project):
    with tiny_project.transaction() as conn:
        coding = spans.add_coding(conn, coder="B", code="work.toll", document_id=1, start=10, end=30)
    assert (coding.coder, coding.code_key, coding.start, coding.end, coding.origin) == ("B", "work.toll", 10, 30,
                                                                                      "browser")
    assert [c.coding_id for c in load_codings(conn, coders=["B"])] == [coding.coding_id]
    assert coding.codebook_version_id is None  # the tiny project has no imported codebook version


@pytest.mark.parametrize("change, message", [
    ({"start": 5, "end": 5}, "does not lie inside"),
    ({"start": -1}, "does not lie inside"),
    ({"end": 10_000}, "does not lie inside"),
    ({"code": "work"}, "is a theme"),
    ({"code": "nope"}, "no code 'nope'"),
    ({"code": ""}, "no code given"),
    ({"start": "3"}, "whole number"),
    ({"start": True}, "whole number"),
    ({"document_id": 99}, "document 99"),
])
def test_bad_codings_are_refused_and_nothing_is_stored(tiny_project, change, message):
    arguments = {"coder": "B", "code": "work.toll", "document_id": 1, "start": 0, "end": 10, **change}
    conn = tiny_project.connect()
    with pytest.raises(InputError, match=message):
        with tiny_project.transaction():
            spans.add_coding(conn, **arguments)
    assert load_codings(conn) == []


def test_an_inactive_code_cannot_be_applied(tiny_project):
    conn = tiny_project.connect()
    conn.execute("UPDATE codes SET active = 0 WHERE key = 'work.toll'")
    with pytest.raises(InputError, match="no longer in the current codebook"):
        spans.add_coding(conn, coder="B", code="work.toll", document_id=1, start=0, end=10)


def test_change_and_remove_only_the_coders_own_codings(tiny_project):
    with tiny_project.transaction() as conn:
        code_phrase(conn, "A", "work.caseload", "SF1.txt", "forty people")
        theirs = load_codings(conn, coders=["A"])[0]
        mine = spans.add_coding(conn, coder="B", code="work.toll", document_id=1, start=0, end=10)
    with pytest.raises(NotFound, match="coder 'B' has no coding"):
        spans.change_code(conn, theirs.coding_id, "work.toll", coder="B")
    with pytest.raises(NotFound, match="coder 'B' has no coding"):
        spans.remove_coding(conn, theirs.coding_id, coder="B")
    changed = spans.change_code(conn, mine.coding_id, "sup.peer", coder="B")
    assert (changed.coding_id, changed.code_key, changed.start, changed.end) == (mine.coding_id, "sup.peer", 0, 10)
    assert spans.remove_coding(conn, mine.coding_id, coder="B") == mine.coding_id
    with pytest.raises(NotFound):
        spans.get_coding(conn, mine.coding_id, coder="B")
    assert [c.coding_id for c in load_codings(conn)] == [theirs.coding_id]


def test_progress_counts_one_coders_work(tiny_project):
    with tiny_project.transaction() as conn:
        code_phrase(conn, "A", "work.caseload", "SF1.txt", "forty people")
        code_phrase(conn, "B", "work.toll", "SF1.txt", "Some nights")
        code_phrase(conn, "B", "sup.supervision", "SF1.txt", "Supervision helps")
    rows = spans.documents_progress(conn, ["B"])
    assert [(r.name, r.units, r.units_coded, r.codings) for r in rows] == [
        ("SF1.txt", 4, 1, 2), ("SF2.txt", 4, 0, 0), ("TL1.txt", 3, 0, 0)]
    assert [r.codings for r in spans.documents_progress(conn, [], [1])] == [0]


def test_outline_has_turns_and_paragraphs(tiny_project):
    outline = spans.document_outline(tiny_project.connect(), 3)
    assert outline["name"] == "TL1.txt" and outline["text"].startswith("Interviewer: ")
    assert [(t["speaker"], t["role"], t["respondent_id"]) for t in outline["turns"]] == [
        ("Interviewer", "interviewer", None), ("TL1", "respondent", "TL1"), ("TL1", "respondent", "TL1")]
    assert [u["role"] for u in outline["units"]] == ["interviewer", "respondent", "respondent"]
    with pytest.raises(NotFound):
        spans.document_outline(tiny_project.connect(), 42)


def test_codebook_shortcuts_colours_and_counts(tiny_project):
    with tiny_project.transaction() as conn:
        code_phrase(conn, "A", "work.caseload", "SF1.txt", "forty people")
        code_phrase(conn, "B", "work.toll", "SF1.txt", "Some nights")
    view = spans.codebook_for_coding(conn, ["B"])
    by_key = {c["key"]: c for c in view["codes"]}
    assert [c["key"] for c in view["codes"]][:3] == ["work", "work.caseload", "work.toll"]
    assert [c["shortcut"] for c in view["codes"]] == [None, "1", "2", None, "3", "4"]
    assert by_key["work"]["codable"] is False and by_key["work.toll"]["codable"] is True
    assert (by_key["work.caseload"]["count"], by_key["work.toll"]["count"], by_key["work"]["count"]) == (0, 1, 1)
    assert len({c["color"] for c in view["codes"]}) == len(view["codes"])
    assert view == spans.codebook_for_coding(conn, ["B"])  # stable
    assert all(c["count"] == 0 for c in spans.codebook_for_coding(conn, [])["codes"])


def test_sample_documents(tiny_project):
    conn = tiny_project.connect()
    with pytest.raises(NotFound, match="none is recorded yet"):
        spans.sample_document_ids(conn, 1)
    with tiny_project.transaction():
        conn.execute("INSERT INTO coders (name) VALUES ('B')")
        conn.execute("INSERT INTO samples (coder_id, fraction, seed, by, created_at) VALUES (1, 0.3, 7, 'respondent', 'now')")
    assign_paragraphs(tiny_project, "B", ["SF2.txt#2", "SF2.txt#4"])
    conn.execute("UPDATE assignments SET sample_id = 1")
    assert spans.sample_document_ids(conn, 1) == [2]
    with pytest.raises(NotFound, match="recorded samples: 1"):
        spans.sample_document_ids(conn, 2)


class FakeDisagreement:
    def __init__(self, unit_key, code_id):
        self.unit_key, self.code_id = unit_key, code_id


@given(st.text(min_size=1), st.integers(min_value=1, max_value=10**9))
def test_disagreement_ids_round_trip_and_are_url_safe(unit_key, code_id):
    ident = spans.disagreement_id(FakeDisagreement(unit_key, code_id))
    assert spans.parse_disagreement_id(ident) == (unit_key, code_id)
    assert all(ch.isalnum() or ch in "-_" for ch in ident)


@pytest.mark.parametrize("ident", ["", "x-abc", "12", "12-", "12-@@@"])
def test_bad_disagreement_ids_are_not_found(ident):
    with pytest.raises(NotFound):
        spans.parse_disagreement_id(ident)
