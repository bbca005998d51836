import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode import documents
from qualcode.errors import InputError
from qualcode.search import phrase_pattern, search_documents


def add_text(project, name, text):
    with project.transaction() as conn:
        return documents.add_document(conn, name=name, text=text, source_format="txt",
                                      units=[{"start": 0, "end": len(text), "role": "respondent"}])


def test_case_insensitive_phrase_with_offsets_and_context(tiny_project):
    conn = tiny_project.connect()
    hits = search_documents(conn, "SUPERVISION")
    assert [(h.document, h.match) for h in hits] == [("SF1.txt", "Supervision"), ("SF2.txt", "supervision"),
                                                     ("SF2.txt", "supervision")]
    for hit in hits:
        text = conn.execute("SELECT text FROM documents WHERE document_id = ?", (hit.document_id,)).fetchone()[0]
        assert text[hit.start:hit.end] == hit.match
        assert text[:hit.start].replace("\n", " ").endswith(hit.before)
        assert len(hit.before) <= 60 and len(hit.after) <= 60


def test_white_space_in_the_phrase_matches_a_line_break(tiny_project):
    document_id = add_text(tiny_project, "x.txt", "We talked about the\nwaiting   list today.")
    hits = search_documents(tiny_project.connect(), "the waiting list", document_ids=[document_id])
    assert [(h.start, h.end, h.match) for h in hits] == [(16, 34, "the\nwaiting   list")]


def test_offsets_are_code_points_with_emoji_and_combining_marks(tiny_project):
    text = "Ca\u0301fe\u0301 😀 then the caf\u00e9 again 👩‍👩‍👧 cafe"
    document_id = add_text(tiny_project, "u.txt", text)
    hits = search_documents(tiny_project.connect(), "CAFÉ", document_ids=[document_id])
    assert [text[h.start:h.end] for h in hits] == ["caf\u00e9"]
    hits = search_documents(tiny_project.connect(), "cafe", document_ids=[document_id])
    assert [text[h.start:h.end] for h in hits] == ["cafe"]


def test_only_the_given_documents_and_at_most_limit(tiny_project):
    conn = tiny_project.connect()
    assert {h.document for h in search_documents(conn, "supervision", document_ids=[2])} == {"SF2.txt"}
    assert search_documents(conn, "supervision", document_ids=[]) == []
    assert len(search_documents(conn, "supervision", limit=2)) == 2


@pytest.mark.parametrize("query", ["", " ", "a", " b "])
def test_too_short_a_query_is_refused(tiny_project, query):
    with pytest.raises(InputError, match="at least 2 characters"):
        search_documents(tiny_project.connect(), query)


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=2, max_size=12).filter(lambda s: len(" ".join(s.split())) >= 2))
def test_pattern_is_literal(query):
    """Whatever the query holds (regex syntax too), it is found in a text made of it."""
    import unicodedata

    text = "before " + unicodedata.normalize("NFC", query) + " after"
    assert phrase_pattern(query).search(text) is not None
