"""The rule engine: what matches, what is vetoed, which spans are coded, and what a run replaces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qualcode import codebook as cb
from qualcode import codings, documents, store, units
from qualcode.apply import apply_codebook, explain_coding
from qualcode.errors import CodebookError, InputError
from tests.conftest import document_from_turns

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "codebooks"
SMALL = FIXTURES / "small.yaml"


def add_document(project, name, respondent, turns):
    """Add a document of (speaker, paragraph) turns; 'Interviewer' marks the interviewer."""
    with project.transaction() as conn:
        documents.add_document(conn, source_format="txt", **document_from_turns(name, respondent, turns))


def write_codebook(tmp_path, body, name="book.yaml"):
    path = tmp_path / name
    path.write_text("name: Test\nlanguage: en\ncodes:\n" + body, encoding="utf-8")
    return path


def coded(project, coder="auto"):
    """{(code, coded text)} of a coder's codings."""
    conn = project.connect()
    result = set()
    for coding in codings.load_codings(conn, coders=[coder]):
        text = conn.execute("SELECT substr(text, ?, ?) FROM documents WHERE document_id = ?",
                            (coding.start + 1, coding.end - coding.start, coding.document_id)).fetchone()[0]
        result.add((coding.code_key, text))
    return result


def snapshot(conn):
    return {table: [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
            for table in ("codes", "codebook_versions", "meta", "codings", "coders", "sentences", "history")}


def test_small_codebook_codes_the_expected_sentences(tiny_project):
    result = apply_codebook(tiny_project, SMALL)
    assert coded(tiny_project) == {
        ("work.caseload", "I've got forty people on my books and that's too many."),
        ("work.toll", "I take it home with me."),
        ("work.toll", "Some nights I don't sleep."),
        ("sup.supervision", "Supervision helps a bit."),
        ("sup.peer", "My team are brilliant, we cover for each other."),
        ("sup.supervision", "Monthly supervision with my manager, which is fine."),
        ("work.caseload", "Caseloads are the big one."),
        ("work.caseload", "We've had vacancies for months."),
        ("work.toll", "And people burn out."),
    }
    assert result.codings_added == 9 and result.codings_replaced == 0
    summary = {row["code"]: row for row in result.summary}
    assert (summary["work.caseload"]["units"], summary["work.caseload"]["respondents"]) == (3, 2)
    assert (summary["sup.supervision"]["units"], summary["sup.supervision"]["respondents"]) == (2, 2)
    conn = tiny_project.connect()
    assert {c.origin for c in codings.load_codings(conn)} == {"rule"}
    assert {c.codebook_version_id for c in codings.load_codings(conn)} == {cb.current_version_id(conn)}


def test_summary_agrees_with_the_stored_codings(tiny_project):
    result = apply_codebook(tiny_project, SMALL)
    conn = tiny_project.connect()
    sentence_units = units.load_units(conn, "sentence")
    by_span = {(u.document_id, u.start, u.end): u for u in sentence_units}
    for row in result.summary:
        mine = [c for c in codings.load_codings(conn, coders=["auto"]) if c.code_key == row["code"]]
        assert row["units"] == len(mine)
        assert row["respondents"] == len({by_span[(c.document_id, c.start, c.end)].respondent_id for c in mine})


def test_sentence_codings_are_exactly_the_units_modules_sentences(tiny_project, tmp_path):
    add_document(tiny_project, "SF3.txt", "SF3", [
        ("SF3", "The waiting list is long. Dr. Smith said so! Is it? Yes… the waiting list, again.\nNew line here."),
    ])
    path = write_codebook(tmp_path, "  - key: w\n    label: W\n    rules: {phrases: [waiting list, yes, new line]}\n")
    apply_codebook(tiny_project, path)
    conn = tiny_project.connect()
    spans = {(u.document_id, u.start, u.end) for u in units.load_units(conn, "sentence")}
    mine = codings.load_codings(conn, coders=["auto"])
    assert len(mine) >= 3
    assert all((c.document_id, c.start, c.end) in spans for c in mine)


def test_phrases_match_lemmas_case_insensitively(tiny_project, tmp_path):
    add_document(tiny_project, "SF3.txt", "SF3", [
        ("SF3", "Waiting Lists are awful. The waiting lists grow. I waited on a waiting list. A list of waiting."),
    ])
    path = write_codebook(tmp_path, "  - key: w\n    label: W\n    rules: {phrases: [waiting list]}\n")
    apply_codebook(tiny_project, path)
    assert coded(tiny_project) == {("w", "Waiting Lists are awful."), ("w", "The waiting lists grow."),
                                   ("w", "I waited on a waiting list.")}


def test_token_patterns_and_regex(tiny_project, tmp_path):
    add_document(tiny_project, "SF3.txt", "SF3", [
        ("SF3", "I waited two years for therapy. We had 30 clients. We had thirty CLIENTS. The cmht rang."),
    ])
    path = write_codebook(tmp_path, (
        "  - key: delay\n    label: Delay\n    rules:\n"
        "      patterns:\n        - [{LEMMA: wait}, {LIKE_NUM: true}, {LEMMA: year}]\n"
        "  - key: numbers\n    label: Numbers\n    rules:\n      regex: ['\\b\\d+ clients\\b', 'thirty clients']\n"
        "  - key: cmht\n    label: CMHT\n    rules:\n      regex: ['\\b(?-i:CMHT)\\b']\n"))
    apply_codebook(tiny_project, path)
    assert coded(tiny_project) == {("delay", "I waited two years for therapy."), ("numbers", "We had 30 clients."),
                                   ("numbers", "We had thirty CLIENTS.")}


def test_unless_phrase_vetoes_only_its_own_sentence(tiny_project, tmp_path):
    add_document(tiny_project, "SF3.txt", "SF3", [
        ("SF3", "Of course it was a training course. The course was good."),
    ])
    path = write_codebook(tmp_path, "  - key: t\n    label: T\n    rules: {phrases: [course], unless: [of course]}\n")
    apply_codebook(tiny_project, path)
    assert coded(tiny_project) == {("t", "The course was good.")}


def test_unless_pattern_and_unless_code(tiny_project, tmp_path):
    add_document(tiny_project, "SF3.txt", "SF3", [
        ("SF3", "Supervision is where I take it home less. Supervision is monthly. Sleeping badly, no crisis team."),
    ])
    path = write_codebook(tmp_path, (
        "  - key: sup\n    label: Supervision\n    rules:\n      phrases: [supervision]\n"
        "      unless: [{code: toll}]\n"
        "  - key: toll\n    label: Toll\n    rules:\n      phrases: [take it home, crisis]\n"
        "      unless: [[{LOWER: crisis}, {LOWER: team}]]\n"))
    apply_codebook(tiny_project, path)
    paragraph = "Supervision is where I take it home less. Supervision is monthly. Sleeping badly, no crisis team."
    mine = {pair for pair in coded(tiny_project) if pair[1] in paragraph}
    assert mine == {("toll", "Supervision is where I take it home less."), ("sup", "Supervision is monthly.")}


def test_interviewer_speech_is_coded_only_when_a_rule_asks(tiny_project, tmp_path):
    path = write_codebook(tmp_path, "  - key: c\n    label: C\n    rules: {phrases: [caseload]}\n")
    apply_codebook(tiny_project, path)
    assert "How is your caseload at the moment?" not in {text for _, text in coded(tiny_project)}
    path = write_codebook(tmp_path, "  - key: c\n    label: C\n    rules: {phrases: [caseload], roles: [interviewer]}\n",
                          name="interviewer.yaml")
    apply_codebook(tiny_project, path)
    assert coded(tiny_project) == {("c", "How is your caseload at the moment?")}


def test_speakers_filter(tiny_project, tmp_path):
    path = write_codebook(tmp_path, "  - key: s\n    label: S\n    rules: {phrases: [supervision], speakers: [sf2]}\n")
    apply_codebook(tiny_project, path)
    assert coded(tiny_project) == {("s", "Monthly supervision with my manager, which is fine.")}


@pytest.mark.parametrize("unit", ["paragraph", "turn"])
def test_paragraph_and_turn_units(tiny_project, tmp_path, unit):
    add_document(tiny_project, "SF3.txt", "SF3", [("Interviewer", "Go on."), ("SF3", "First paragraph about caseload.")])
    conn = tiny_project.connect()
    document_id = conn.execute("SELECT document_id FROM documents WHERE name = 'SF3.txt'").fetchone()[0]
    # a turn of two paragraphs: only the second mentions caseload
    with tiny_project.transaction() as conn:
        text = conn.execute("SELECT text FROM documents WHERE document_id = ?", (document_id,)).fetchone()[0]
        conn.execute("DELETE FROM units WHERE document_id = ?", (document_id,))
        second_start = text.index("First")
        conn.execute("UPDATE documents SET text = ? WHERE document_id = ?",
                     (text[:second_start] + "Opening words.\n\n" + text[second_start:], document_id))
        text = conn.execute("SELECT text FROM documents WHERE document_id = ?", (document_id,)).fetchone()[0]
        opening = text.index("Opening words.")
        first = text.index("First")
        conn.executemany(
            "INSERT INTO units (document_id, seq, turn, start, end, speaker, role, respondent_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(document_id, 1, 1, text.index("Go on."), text.index("Go on.") + 6, "Interviewer", "interviewer", None),
             (document_id, 2, 2, opening, opening + 14, "SF3", "respondent", "SF3"),
             (document_id, 3, 2, first, first + len("First paragraph about caseload."), "SF3", "respondent", "SF3")])
    path = write_codebook(tmp_path, "  - key: c\n    label: C\n    rules: {phrases: [caseload]}\n")
    apply_codebook(tiny_project, path, unit=unit, documents="SF3*")
    [coding] = codings.load_codings(tiny_project.connect(), coders=["auto"])
    expected_start = opening if unit == "turn" else first
    assert (coding.start, coding.end) == (expected_start, first + len("First paragraph about caseload."))
    assert coding.detail["unit"] == ("SF3.txt#t2" if unit == "turn" else "SF3.txt#3")


def test_rerun_replaces_only_this_coders_rule_codings(tiny_project):
    apply_codebook(tiny_project, SMALL)
    with tiny_project.transaction() as conn:
        auto = store.coder_id(conn, "auto")
        other = store.get_or_create_coder(conn, "A")
        peer = cb.load_tree(conn).node("sup.peer").code_id
        codings.add_codings(conn, [
            {"coder_id": auto, "code_id": peer, "document_id": 1, "start": 0, "end": 5, "origin": "manual"},
            {"coder_id": other, "code_id": peer, "document_id": 1, "start": 0, "end": 5, "origin": "rule"},
        ])
    before = {c.coding_id for c in codings.load_codings(tiny_project.connect(), coders=["auto"], origins=["rule"])}
    result = apply_codebook(tiny_project)  # the project's current codebook
    conn = tiny_project.connect()
    after = codings.load_codings(conn, coders=["auto"], origins=["rule"])
    assert result.codings_replaced == len(before) == len(after) == 9
    # the same codings again: kept with their ids, nothing added or removed
    assert before == {c.coding_id for c in after}
    assert (result.codings_new, result.codings_kept, result.codings_removed) == (0, 9, 0)
    assert len(codings.load_codings(conn, coders=["auto"], origins=["manual"])) == 1
    assert len(codings.load_codings(conn, coders=["A"])) == 1


def test_rerun_with_a_changed_codebook_keeps_unchanged_codings_and_their_exemplar_marks(tiny_project, tmp_path):
    apply_codebook(tiny_project, SMALL)
    conn = tiny_project.connect()
    first = codings.load_codings(conn, coders=["auto"])
    toll = [c for c in first if c.code_key == "work.toll"]
    kept_codings = [c for c in first if c.code_key != "work.toll"]
    assert toll and kept_codings
    marked = kept_codings[0]
    with tiny_project.transaction() as conn:
        conn.execute("INSERT INTO exemplars (coding_id, marked_at) VALUES (?, ?)", (marked.coding_id, store.now()))
    # work.toll loses its rules; sup.peer gains the phrase "caseload" (new codings)
    changed = tmp_path / "changed.yaml"
    changed.write_text(SMALL.read_text(encoding="utf-8")
                       .replace("          phrases: [take it home, burn out]\n          regex: ['\\bdon''t sleep\\b']\n", "")
                       .replace("phrases: [each other]", "phrases: [each other, caseload]"), encoding="utf-8")
    assert "burn out" not in changed.read_text(encoding="utf-8")
    result = apply_codebook(tiny_project, changed)
    conn = tiny_project.connect()
    after = codings.load_codings(conn, coders=["auto"])
    by_id = {c.coding_id: c for c in after}
    # unchanged codings keep their ids (and their passage); the exemplar mark survives
    for coding in kept_codings:
        assert (by_id[coding.coding_id].code_key, by_id[coding.coding_id].start) == (coding.code_key, coding.start)
    assert [r[0] for r in conn.execute("SELECT coding_id FROM exemplars")] == [marked.coding_id]
    assert not {c.coding_id for c in toll} & set(by_id)
    new = [c for c in after if c.coding_id not in {k.coding_id for k in first}]
    assert new and {c.code_key for c in new} == {"sup.peer"}
    assert (result.codings_new, result.codings_kept, result.codings_removed) == (
        len(new), len(kept_codings), len(toll))
    assert result.codings_added == len(after)
    # every kept coding now records the new codebook version
    assert {c.codebook_version_id for c in after} == {result.version_id}


def test_documents_pattern_limits_the_run_and_the_replacement(tiny_project):
    apply_codebook(tiny_project, SMALL)
    conn = tiny_project.connect()
    kept = {c.coding_id for c in codings.load_codings(conn, coders=["auto"]) if c.document != "TL1.txt"}
    result = apply_codebook(tiny_project, documents="TL*")
    assert result.documents == 1 and result.codings_replaced == 3
    now = codings.load_codings(conn, coders=["auto"])
    assert kept <= {c.coding_id for c in now} and len(now) == 9
    with pytest.raises(InputError, match="no document matches 'XX\\*'; 'qualcode documents' lists them"):
        apply_codebook(tiny_project, documents="XX*")


def test_dry_run_writes_nothing(tiny_project):
    conn = tiny_project.connect()
    before = snapshot(conn)
    result = apply_codebook(tiny_project, SMALL, dry_run=True)
    assert result.dry_run and result.codings_added == 9 and result.version_id is None
    assert (result.codings_new, result.codings_kept, result.codings_removed) == (9, 0, 0)
    assert snapshot(conn) == before
    apply_codebook(tiny_project, SMALL)
    before = snapshot(conn)
    again = apply_codebook(tiny_project, dry_run=True)
    assert (again.codings_new, again.codings_kept, again.codings_removed) == (0, 9, 0)
    assert snapshot(conn) == before


def test_detail_and_explain_say_which_rule_matched_which_words(tiny_project):
    apply_codebook(tiny_project, SMALL)
    conn = tiny_project.connect()
    coding = next(c for c in codings.load_codings(conn) if c.code_key == "work.caseload" and c.document == "SF1.txt")
    assert coding.detail["kind"] in ("phrase", "pattern")
    matched = {(m["kind"], m["matched"]) for m in coding.detail["matches"]}
    assert matched == {("pattern", "forty people"), ("phrase", "on my books")}
    info = explain_coding(conn, coding.coding_id)
    assert info["text"] == "I've got forty people on my books and that's too many."
    assert info["respondent"] == "SF1" and info["document"] == "SF1.txt" and info["units"] == ["SF1.txt#2"]
    assert info["code_label"] == "Workload and capacity > Caseload pressure"
    for match in info["matches"]:
        assert info["text"][match["start"]:match["end"]] == match["matched"]
    assert {m["rule"] for m in info["matches"]} == {"phrase 2: on my books",
                                                    'pattern 1: [{"LIKE_NUM": true}, {"LOWER": "people"}]'}


def test_catastrophic_regex_stops_with_the_rule_named_and_changes_nothing(tiny_project, monkeypatch):
    import qualcode.rules as rules_module

    monkeypatch.setattr(rules_module, "REGEX_TIMEOUT_SECONDS", 0.2)
    add_document(tiny_project, "SF3.txt", "SF3", [("SF3", "a" * 40 + "!")])
    conn = tiny_project.connect()
    before = snapshot(conn)
    with pytest.raises(CodebookError) as caught:
        apply_codebook(tiny_project, FIXTURES / "catastrophic_regex.yaml")
    message = str(caught.value)
    assert "code 'a': regex 2 (^(a|a)*$) took more than 0.2 s" in message and "SF3.txt" in message
    assert "aaaa!" not in message  # never transcript text
    assert snapshot(conn) == before


@pytest.mark.parametrize("name", ["malformed.yaml", "unknown_unless.yaml", "bad_pattern.yaml", "bad_language.yaml"])
def test_bad_codebooks_change_nothing(tiny_project, name):
    conn = tiny_project.connect()
    before = snapshot(conn)
    with pytest.raises(CodebookError):
        apply_codebook(tiny_project, FIXTURES / name)
    assert snapshot(conn) == before


def test_language_mismatch_and_no_rules(tiny_project, tmp_path):
    path = tmp_path / "de.yaml"
    path.write_text("language: de\ncodes:\n  - {key: a, label: A, rules: {phrases: [x]}}\n", encoding="utf-8")
    with pytest.raises(CodebookError, match="written for language 'de' but the project's language is 'en'"):
        apply_codebook(tiny_project, path)
    path = write_codebook(tmp_path, "  - {key: a, label: A}\n")
    with pytest.raises(CodebookError, match="no rules"):
        apply_codebook(tiny_project, path)
    with pytest.raises(InputError, match="cannot code by 'word'"):
        apply_codebook(tiny_project, SMALL, unit="word")


def test_parallel_jobs_give_the_same_codings(tiny_project):
    apply_codebook(tiny_project, SMALL, coder="one")
    apply_codebook(tiny_project, SMALL, coder="two", jobs=2)
    conn = tiny_project.connect()

    def spans(coder):
        return sorted((c.code_key, c.document, c.start, c.end, json.dumps(c.detail, sort_keys=True))
                      for c in codings.load_codings(conn, coders=[coder]))

    assert spans("one") == spans("two")


def test_history_records_the_run(tiny_project):
    apply_codebook(tiny_project, SMALL, coder="robot", unit="paragraph")
    event = tiny_project.connect().execute("SELECT detail FROM history WHERE action = 'apply'").fetchone()
    detail = json.loads(event[0])
    assert (detail["coder"], detail["unit"], detail["codings"]) == ("robot", "paragraph", 7)


# -- invariant: the engine agrees with a naive search over each sentence unit ------------------------

import re  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_WORDS = ["waiting", "Waiting", "lists", "list", "List", "the", "is", "long", "not", "never", "care", "plan",
          "waiting list", "Waiting Lists", "care plan", "care plans"]
_sentence = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=8).map(
    lambda words: " ".join(words).capitalize() + ".")
_paragraph = st.lists(_sentence, min_size=1, max_size=4).map(" ".join)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paragraphs=st.lists(_paragraph, min_size=1, max_size=3))
def test_codings_match_a_naive_search_of_each_sentence(tmp_path_factory, paragraphs):
    from qualcode.nlp import rule_pipeline
    from qualcode.project import Project

    folder = tmp_path_factory.mktemp("inv")
    with Project.create(folder / "p") as project:
        add_document(project, "SF9.txt", "SF9", [("SF9", p) for p in paragraphs])
        path = write_codebook(folder, (
            "  - key: w\n    label: W\n    rules: {phrases: [waiting list], unless: [not]}\n"
            "  - key: c\n    label: C\n    rules: {regex: ['\\bcare plan\\b']}\n"))
        dry = apply_codebook(project, path, dry_run=True)
        real = apply_codebook(project, path)
        assert dry.summary == real.summary
        conn = project.connect()
        nlp = rule_pipeline("en")
        expected = set()
        for unit in units.load_units(conn, "sentence"):
            text = units.unit_text(conn, unit)
            lemmas = [t.lemma_ for t in nlp(text)]
            pairs = list(zip(lemmas, lemmas[1:]))
            if ("wait", "list") in pairs and "not" not in lemmas:
                expected.add(("w", unit.document_id, unit.start, unit.end))
            if re.search(r"\bcare plan\b", text, re.IGNORECASE):  # the standard library, not the engine's regex
                expected.add(("c", unit.document_id, unit.start, unit.end))
        found = {(c.code_key, c.document_id, c.start, c.end) for c in codings.load_codings(conn, coders=["auto"])}
        assert found == expected


def test_regex_only_codebooks_work_in_a_language_without_lemma_tables(tmp_path):
    from qualcode.project import Project

    with Project.create(tmp_path / "fi", language="fi") as project:
        add_document(project, "H1.txt", "H1", [("H1", "Jonotus kesti kuusi kuukautta. Kaikki hyvin.")])
        regex_only = tmp_path / "regex.yaml"
        regex_only.write_text("language: fi\ncodes:\n  - {key: w, label: W, rules: {regex: ['\\bkuukau\\w*']}}\n",
                              encoding="utf-8")
        apply_codebook(project, regex_only)
        assert coded(project) == {("w", "Jonotus kesti kuusi kuukautta.")}
        phrases = tmp_path / "phrases.yaml"
        phrases.write_text("language: fi\ncodes:\n  - {key: w, label: W, rules: {phrases: [jonotus]}}\n",
                           encoding="utf-8")
        before = snapshot(project.connect())
        with pytest.raises(InputError, match="no lookup lemmatizer data for language 'fi'"):
            apply_codebook(project, phrases)
        assert snapshot(project.connect()) == before


def test_apply_with_a_codebook_that_drops_codes_refuses_only_for_codings_it_does_not_replace(tiny_project, tmp_path):
    apply_codebook(tiny_project, SMALL)
    conn = tiny_project.connect()
    assert any(c.code_key == "sup.peer" for c in codings.load_codings(conn, coders=["auto"]))
    smaller = tmp_path / "smaller.yaml"
    smaller.write_text(SMALL.read_text(encoding="utf-8").split("      - key: sup.peer")[0], encoding="utf-8")
    # only auto's own rule codings carry sup.peer: they are replaced, so the run goes ahead
    result = apply_codebook(tiny_project, smaller)
    assert not any(c.code_key == "sup.peer" for c in codings.load_codings(conn, coders=["auto"]))
    assert result.codings_removed > 0
    # a person's coding of a code the file drops stops the run, and nothing changes
    apply_codebook(tiny_project, SMALL)
    with tiny_project.transaction() as conn:
        person = store.get_or_create_coder(conn, "A")
        codings.add_codings(conn, [{"coder_id": person, "code_id": cb.load_tree(conn).node("sup.peer").code_id,
                                    "document_id": 1, "start": 0, "end": 5, "origin": "manual"}])
    before = snapshot(conn)
    with pytest.raises(InputError, match=r"inactive: sup\.peer \(1\); 1 coding would no longer be counted"):
        apply_codebook(tiny_project, smaller)
    assert snapshot(conn) == before
