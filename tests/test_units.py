from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode import units
from qualcode.units import Unit


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
