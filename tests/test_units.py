import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode import units
from qualcode.errors import NotFound
from qualcode.units import Unit
from tests.conftest import add_coded_spans, add_long_turn_document, assign_paragraphs, paragraph_span, phrase_span


def _units_from_cuts(cuts: list[int]) -> list[Unit]:
    """Disjoint paragraph-like units over one document, with gaps between them."""
    bounds = sorted(set(cuts))
    result = []
    for index in range(0, len(bounds) - 1, 2):
        start, end = bounds[index], bounds[index + 1]
        result.append(Unit(f"D#{index}", "paragraph", ((1, start, end),), "R", "R", "respondent", "D", (index,)))
    return result


@settings(max_examples=200, deadline=None)
@given(
    cuts=st.lists(st.integers(0, 200), min_size=2, max_size=20),
    spans=st.lists(st.tuples(st.sampled_from(["x", "y"]), st.integers(0, 199), st.integers(1, 60)), max_size=15),
)
def test_coverage_equals_per_character_count(cuts, spans):
    unit_list = _units_from_cuts(cuts)
    coded = [(group, 1, start, min(start + length, 200)) for group, start, length in spans]
    result = units.coverage(unit_list, coded)
    for index, unit in enumerate(unit_list):
        for group in ("x", "y"):
            chars = {c for g, _, s, e in coded if g == group for c in range(s, e)}
            expected = sum(1 for c in range(unit.start, unit.end) if c in chars)
            assert result.get((index, group), 0) == expected


@settings(max_examples=200, deadline=None)
@given(
    cuts=st.lists(st.integers(0, 200), min_size=2, max_size=20),
    spans=st.lists(st.tuples(st.sampled_from(["x", "y"]), st.integers(0, 199), st.integers(1, 60)), max_size=15),
)
def test_clipped_spans_are_the_coded_characters_of_each_unit(cuts, spans):
    unit_list = _units_from_cuts(cuts)
    coded = [(group, 1, start, min(start + length, 200)) for group, start, length in spans]
    clipped = units.clip_spans(unit_list, coded)
    assert set(clipped) == set(units.coverage(unit_list, coded))
    for index, unit in enumerate(unit_list):
        for group in ("x", "y"):
            chars = {c for g, _, s, e in coded if g == group for c in range(s, e)}
            expected = {c for c in range(unit.start, unit.end) if c in chars}
            pieces = clipped.get((index, group), ())
            assert {c for s, e in pieces for c in range(s, e)} == expected
            assert list(pieces) == sorted(pieces)  # merged: sorted and disjoint
            assert all(e < s2 for (_, e), (s2, _) in zip(pieces, pieces[1:]))


def test_spans_in_other_documents_do_not_count():
    unit_list = [Unit("D#1", "paragraph", ((1, 0, 10),), "R", "R", "respondent", "D", (1,))]
    assert units.coverage(unit_list, [("x", 2, 0, 10)]) == {}


def test_levels_on_the_tiny_project(tiny_project):
    conn = tiny_project.connect()
    turns = units.load_units(conn, "turn")
    assert len(turns) == 6
    by_respondent = units.load_units(conn, "respondent")
    assert [u.key for u in by_respondent] == ["@SF1", "@SF2", "@TL1"]
    assert by_respondent[2].length == sum(u.length for u in units.load_units(conn) if u.respondent_id == "TL1")
    documents = units.load_units(conn, "document")
    assert [u.key for u in documents] == ["SF1.txt", "SF2.txt", "TL1.txt"]
    sentences = units.load_units(conn, "sentence")
    texts = [units.unit_text(conn, s) for s in sentences if s.document == "SF1.txt"]
    assert texts[:2] == ["Honestly, it's a lot.", "I've got forty people on my books and that's too many."]
    # every sentence lies inside its paragraph
    paragraphs = {u.unit_ids[0]: u for u in units.load_units(conn)}
    for sentence in sentences:
        paragraph = paragraphs[sentence.unit_ids[0]]
        assert paragraph.start <= sentence.start < sentence.end <= paragraph.end


def test_interviewer_units_only_on_request(tiny_project):
    conn = tiny_project.connect()
    everything = units.load_units(conn, respondents_only=False)
    assert {u.role for u in everything} == {"respondent", "interviewer"}
    assert all(u.role == "respondent" for u in units.load_units(conn))


def test_paragraph_keys_round_trip():
    assert units.parse_paragraph_key(units.paragraph_key("SF4 #2.docx", 12)) == ("SF4 #2.docx", 12)


# -- the compared scope of two coders ------------------------------------------------------

def _unit_ids(conn, keys):
    by_key = {u.key: u.unit_ids[0] for u in units.load_units(conn, "paragraph", respondents_only=False)}
    return {by_key[k] for k in keys}


def test_compared_paragraphs_come_from_assignments(tiny_project):
    with tiny_project.transaction() as conn:
        add_coded_spans(conn, [("A", "work.toll", paragraph_span(conn, "SF1.txt#2")),
                               ("B", "work.toll", paragraph_span(conn, "SF2.txt#2"))])
    # an interviewer paragraph in an assignment is never compared
    assign_paragraphs(tiny_project, "A", ["SF1.txt#1", "SF1.txt#2", "SF1.txt#4", "TL1.txt#2"])
    assign_paragraphs(tiny_project, "B", ["SF1.txt#1", "SF1.txt#4", "TL1.txt#2", "TL1.txt#3"])
    conn = tiny_project.connect()
    scope = units.compared_paragraphs(conn, "A", "B")
    assert scope.scope_a == _unit_ids(conn, ["SF1.txt#2", "SF1.txt#4", "TL1.txt#2"])
    assert scope.scope_b == _unit_ids(conn, ["SF1.txt#4", "TL1.txt#2", "TL1.txt#3"])
    assert scope.unit_ids == _unit_ids(conn, ["SF1.txt#4", "TL1.txt#2"])
    assert set(scope.spans) == set(scope.unit_ids)
    assert scope.spans[min(_unit_ids(conn, ["SF1.txt#4"]))] == paragraph_span(conn, "SF1.txt#4")
    assert scope.description == ("respondent paragraphs in the scope of both coders"
                                 " (A: 4 assigned paragraphs; B: 4 assigned paragraphs)")
    assert len(scope.document_ids) == 2


def test_a_coder_without_assignments_is_in_scope_for_the_documents_coded(tiny_project):
    with tiny_project.transaction() as conn:
        add_coded_spans(conn, [("A", "work.toll", paragraph_span(conn, "SF1.txt#2")),
                               ("A", "sup.peer", paragraph_span(conn, "SF2.txt#2")),
                               ("B", "work.toll", phrase_span(conn, "SF1.txt#4", "Supervision"))])
    conn = tiny_project.connect()
    scope = units.compared_paragraphs(conn, "A", "B")
    assert scope.scope_a == _unit_ids(conn, ["SF1.txt#2", "SF1.txt#4", "SF2.txt#2", "SF2.txt#4"])
    assert scope.unit_ids == scope.scope_b == _unit_ids(conn, ["SF1.txt#2", "SF1.txt#4"])
    assert scope.description == ("respondent paragraphs in the scope of both coders (A: no assignments recorded;"
                                 " the 2 documents A coded; B: no assignments recorded; the 1 documents B coded)")
    # assignments, where a coder has them, win over the documents coded
    assign_paragraphs(tiny_project, "B", ["SF2.txt#4"])
    scope = units.compared_paragraphs(conn, "A", "B")
    assert scope.unit_ids == _unit_ids(conn, ["SF2.txt#4"])
    assert "B: 1 assigned paragraphs" in scope.description


def test_coders_with_nothing_in_common_have_an_empty_scope(tiny_project):
    with tiny_project.transaction() as conn:
        add_coded_spans(conn, [("A", "work.toll", paragraph_span(conn, "SF1.txt#2")),
                               ("B", "work.toll", paragraph_span(conn, "TL1.txt#2"))])
    scope = units.compared_paragraphs(tiny_project.connect(), "A", "B")
    assert scope.unit_ids == frozenset() and scope.document_ids == []
    assert scope.restrict(units.load_units(tiny_project.connect(), "document")) == []
    with pytest.raises(NotFound, match="no coder named 'C'"):
        units.compared_paragraphs(tiny_project.connect(), "A", "C")


def test_a_partly_compared_turn_is_trimmed_to_its_compared_paragraphs(tiny_project):
    add_long_turn_document(tiny_project)
    conn = tiny_project.connect()
    with tiny_project.transaction() as c:
        add_coded_spans(c, [("A", "work.toll", paragraph_span(c, "SF3.txt#2")),
                            ("B", "work.toll", paragraph_span(c, "SF3.txt#4"))])
    assign_paragraphs(tiny_project, "A", ["SF3.txt#2", "SF3.txt#3", "SF3.txt#4"])
    assign_paragraphs(tiny_project, "B", ["SF3.txt#2", "SF3.txt#4", "SF1.txt#2"])
    scope = units.compared_paragraphs(conn, "A", "B")
    turns = units.load_units(conn, "turn", documents=scope.document_ids)
    assert [t.key for t in turns] == ["SF3.txt#t2"]
    trimmed = scope.restrict(turns)
    assert [t.key for t in trimmed] == ["SF3.txt#t2"]  # kept, under its own key
    assert set(trimmed[0].unit_ids) == _unit_ids(conn, ["SF3.txt#2", "SF3.txt#4"])
    assert trimmed[0].segments == (paragraph_span(conn, "SF3.txt#2"), paragraph_span(conn, "SF3.txt#4"))
    # the uncompared middle paragraph's text is not read
    assert "supervision" not in units.unit_text(conn, trimmed[0])
    # a unit wholly in scope comes back unchanged; paragraphs outside the scope are left out
    paragraphs = units.load_units(conn, "paragraph", documents=scope.document_ids)
    assert [p.key for p in scope.restrict(paragraphs)] == ["SF3.txt#2", "SF3.txt#4"]
    whole = units.restrict_units(turns, {u: paragraph_span(conn, k) for k, u in zip(
        ["SF3.txt#2", "SF3.txt#3", "SF3.txt#4"], sorted(turns[0].unit_ids))})
    assert whole == turns


@settings(max_examples=100, deadline=None)
@given(assigned_a=st.sets(st.integers(0, 5)), assigned_b=st.sets(st.integers(0, 5)))
def test_compared_paragraphs_are_the_intersection_of_both_scopes(assigned_a, assigned_b):
    """Symmetric in the coders, and always inside either coder's scope."""
    import tempfile
    from pathlib import Path

    from qualcode import store
    from tests.conftest import build_tiny_project

    keys = ["SF1.txt#2", "SF1.txt#4", "SF2.txt#2", "SF2.txt#4", "TL1.txt#2", "TL1.txt#3"]
    with tempfile.TemporaryDirectory() as folder:
        project = build_tiny_project(Path(folder) / "p")
        try:
            with project.transaction() as conn:
                store.get_or_create_coder(conn, "A")
                store.get_or_create_coder(conn, "B")
            assign_paragraphs(project, "A", [keys[i] for i in assigned_a])
            assign_paragraphs(project, "B", [keys[i] for i in assigned_b])
            conn = project.connect()
            forward = units.compared_paragraphs(conn, "A", "B")
            backward = units.compared_paragraphs(conn, "B", "A")
            assert forward.unit_ids == backward.unit_ids == forward.scope_a & forward.scope_b
            if assigned_a:
                assert forward.scope_a == _unit_ids(conn, [keys[i] for i in assigned_a])
            if assigned_a and assigned_b:
                assert forward.unit_ids == _unit_ids(conn, [keys[i] for i in assigned_a & assigned_b])
        finally:
            project.close()


def test_opening_marks_start_the_sentence_they_open():
    from qualcode.nlp import load_pipeline

    nlp = load_pipeline("en")
    for text, expected in [
        ("Then the front step. [laughs] It was fine.", ["Then the front step.", "[laughs] It was fine."]),
        ('He said "no." Then left.', ['He said "no."', "Then left."]),
        ("One. Two.", ["One.", "Two."]),
    ]:
        assert [text[a:b] for a, b in units.sentence_spans(text, nlp(text))] == expected
