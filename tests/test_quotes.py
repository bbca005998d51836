import json

import pytest

from qualcode import documents, quotes
from qualcode.errors import InputError
from tests.conftest import code_phrase


@pytest.fixture
def coded(tiny_project):
    with tiny_project.transaction() as conn:
        # spans the interviewer's question between two SF1 answers
        code_phrase(conn, "A", "work.caseload", "SF1.txt", "Honestly", until="Supervision helps a bit.")
        code_phrase(conn, "A", "work.caseload", "TL1.txt", "Caseloads are the big one.")
        code_phrase(conn, "A", "work.toll", "TL1.txt", "And people burn out.")
        code_phrase(conn, "A", "sup.peer", "SF2.txt", "My team are brilliant, we cover for each other.")
        code_phrase(conn, "A", "sup.supervision", "SF2.txt", "Monthly supervision with my manager, which is fine.")
        code_phrase(conn, "B", "sup.supervision", "SF1.txt", "Supervision helps a bit.")
    return tiny_project


def test_interviewer_speech_is_left_out_and_marked(coded):
    result = quotes.collect_quotations(coded.connect(), coder="A", themes=["work"])
    first = result.quotations[0]
    assert first.respondent_id == "SF1"
    assert first.text == ("Honestly, it's a lot. I've got forty people on my books and that's too many. […] "
                          "I take it home with me. Some nights I don't sleep. Supervision helps a bit.")
    assert "And how does that feel" not in first.text
    assert "SF1:" not in first.text


def test_quotations_are_grouped_by_theme_and_ordered(coded):
    result = quotes.collect_quotations(coded.connect(), coder="A")
    assert [(q.theme_key, q.respondent_id, q.code_key) for q in result.quotations] == [
        ("work", "SF1", "work.caseload"), ("work", "TL1", "work.caseload"), ("work", "TL1", "work.toll"),
        ("support", "SF2", "sup.peer"), ("support", "SF2", "sup.supervision"),
    ]
    assert result.quotations[1].path == "Workload and capacity > Caseload pressure"


def test_other_coders_work_is_not_quoted(coded):
    result = quotes.collect_quotations(coded.connect(), coder="B")
    assert [q.text for q in result.quotations] == ["Supervision helps a bit."]


def test_label_templates_draw_on_attributes(coded):
    result = quotes.collect_quotations(coded.connect(), coder="A", themes=["support"], label="{role} {number}, {site}")
    assert {q.label for q in result.quotations} == {"Support worker 2, Eastbrook"}


def test_missing_attribute_names_it(coded):
    with pytest.raises(InputError, match="attribute 'role', which respondent TL1 does not have"):
        quotes.collect_quotations(coded.connect(), coder="A", themes=["work"], label="{role} {number}")


def test_malformed_template_is_refused(coded):
    with pytest.raises(InputError, match="label template"):
        quotes.collect_quotations(coded.connect(), coder="A", label="[{respondent!r}]")


def test_per_theme_spreads_across_respondents_and_prefers_exemplars(coded):
    conn = coded.connect()
    picked = quotes.collect_quotations(conn, coder="A", themes=["work"], per_theme=2).quotations
    assert [q.respondent_id for q in picked] == ["SF1", "TL1"]
    toll = next(q for q in quotes.collect_quotations(conn, coder="A", themes=["work"]).quotations
                if q.code_key == "work.toll")
    with coded.transaction() as tx:
        quotes.mark_exemplar(tx, toll.coding_id)
    picked = quotes.collect_quotations(conn, coder="A", themes=["work"], per_theme=2).quotations
    assert [(q.respondent_id, q.code_key) for q in picked] == [("TL1", "work.toll"), ("SF1", "work.caseload")]
    only = quotes.collect_quotations(conn, coder="A", exemplars_only=True).quotations
    assert [q.coding_id for q in only] == [toll.coding_id]


def test_spread_never_repeats_a_respondent_before_all_appear():
    def q(respondent, start):
        return quotes.Quotation(start, "t", "T", "c", "C", "T > C", respondent, f"[{respondent}]", "x", "d", start,
                                start + 1, "A", None, False)

    candidates = [q("SF10", 1), q("SF2", 2), q("SF2", 3), q("SF2", 4), q("TL1", 5), q("SF10", 6)]
    picked = quotes.spread(candidates, 5)
    assert [p.respondent_id for p in picked] == ["SF2", "SF10", "TL1", "SF2", "SF10"]


def test_trimming_cuts_at_sentence_boundaries():
    text = "First point here. Second point is longer than that. Third one."
    assert quotes.trim_to_words(text, 9) == ("First point here. Second point is longer than that. […]", True)
    assert quotes.trim_to_words(text, 2) == ("First point here. […]", True)
    assert quotes.trim_to_words(text, 50) == (text, False)


def test_curly_quotes_and_dashes_survive(tmp_path, tiny_project):
    text = "SF9: She said “it’s fine” – but it wasn’t — really.\n"
    with tiny_project.transaction() as conn:
        documents.add_document(conn, name="SF9.txt", text=text, source_format="txt", respondent_id="SF9",
                               units=[{"start": 5, "end": len(text) - 1, "role": "respondent", "speaker": "SF9",
                                       "respondent_id": "SF9"}])
        code_phrase(conn, "A", "sup.peer", "SF9.txt", "She said", until="really.")
    result = quotes.collect_quotations(tiny_project.connect(), coder="A", themes=["support"])
    assert "She said “it’s fine” – but it wasn’t — really." in [q.text for q in result.quotations]


@pytest.fixture
def formula_project(tiny_project):
    text = "Interviewer: Anything else?\n\nTL2: =HYPERLINK(\"http://x\",\"click\") is what I'd type.\n"
    with tiny_project.transaction() as conn:
        start = text.index("=HYPERLINK")
        documents.add_document(conn, name="TL2.txt", text=text, source_format="txt", respondent_id="TL2", units=[
            {"start": 13, "end": 27, "role": "interviewer", "speaker": "Interviewer"},
            {"start": start, "end": len(text) - 1, "role": "respondent", "speaker": "TL2", "respondent_id": "TL2"}])
        code_phrase(conn, "A", "work.toll", "TL2.txt", "=HYPERLINK", until="I'd type.")
    return tiny_project


def test_every_format_reads_back(formula_project, tmp_path):
    import csv

    import docx
    import openpyxl

    result = quotes.collect_quotations(formula_project.connect(), coder="A", themes=["work"])
    texts = [q.text for q in result.quotations]
    labels = [q.label for q in result.quotations]

    quotes.write_quotes(result, tmp_path / "q.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "q.xlsx")["Quotations"]
    header = [c.value for c in sheet[1]]
    text_column = header.index("text")
    cells = [row[text_column].value for row in sheet.iter_rows(min_row=2)]
    assert cells == [quotes_safe(t) for t in texts]
    assert any(c.startswith("'=HYPERLINK") for c in cells)
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref

    quotes.write_quotes(result, tmp_path / "q.csv")
    with open(tmp_path / "q.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["text"] for r in rows] == [quotes_safe(t) for t in texts]
    assert not any(r["text"].startswith("=") for r in rows)

    quotes.write_quotes(result, tmp_path / "q.json")
    assert [r["text"] for r in json.loads((tmp_path / "q.json").read_text(encoding="utf-8"))] == texts

    quotes.write_quotes(result, tmp_path / "q.md")
    md = (tmp_path / "q.md").read_text(encoding="utf-8")
    assert md.startswith("## Workload and capacity\n")
    for text, label in zip(texts, labels):
        assert f"> {text} {label}" in md

    quotes.write_quotes(result, tmp_path / "q.docx")
    table = docx.Document(tmp_path / "q.docx").tables[0]
    rows = [[c.text for c in row.cells] for row in table.rows]
    assert rows[0] == ["Quotation", "Participant"]
    assert rows[1] == ["Workload and capacity", "Workload and capacity"]  # merged theme row
    assert rows[2:] == [[t, l] for t, l in zip(texts, labels)]


def quotes_safe(text):
    from qualcode.exports import safe_cell

    return safe_cell(text)


def test_split_writes_one_sheet_per_theme(coded, tmp_path):
    import openpyxl

    result = quotes.collect_quotations(coded.connect(), coder="A")
    quotes.write_quotes(result, tmp_path / "q.xlsx", split=True)
    assert openpyxl.load_workbook(tmp_path / "q.xlsx").sheetnames == ["Workload and capacity", "Support for staff"]


def test_group_by_attribute(coded):
    result = quotes.collect_quotations(coded.connect(), coder="A", themes=["work"], by="site")
    assert [(q.attribute, q.respondent_id) for q in result.quotations] == [
        ("(none)", "TL1"), ("(none)", "TL1"), ("Northvale", "SF1")]
    with pytest.raises(InputError, match="no respondent attribute 'ward'"):
        quotes.collect_quotations(coded.connect(), coder="A", by="ward")


def test_trimming_keeps_the_words_exactly_as_spoken():
    text = "I said “Why not?” and [laughs] she agreed. Then we went home. It was late, and far too long a day."
    trimmed, cut = quotes.trim_to_words(text, 12)
    assert cut
    assert trimmed.startswith("I said “Why not?” and [laughs] she agreed.")
    assert trimmed.endswith(" […]")
    assert text.startswith(trimmed[: -len(" […]")])


def test_later_themes_prefer_voices_not_yet_quoted(coded):
    result = quotes.collect_quotations(coded.connect(), coder="A", per_theme=1)
    # the workload theme takes SF1 (lowest id); support has only SF2; neither repeats the other
    assert [(q.theme_key, q.respondent_id) for q in result.quotations] == [("work", "SF1"), ("support", "SF2")]
    picked = quotes.spread(
        [quotes.Quotation(i, "t", "T", "c", "C", "T > C", r, f"[{r}]", "x", "d", i, i + 1, "A", None, False)
         for i, r in enumerate(["SF1", "SF2", "TL1"])], 1, quoted={"SF1": 2, "SF2": 1})
    assert [q.respondent_id for q in picked] == ["TL1"]


def test_markdown_sets_plain_labels_off_in_parentheses(coded, tmp_path):
    result = quotes.collect_quotations(coded.connect(), coder="A", themes=["support"], label="{role} {number}")
    quotes.write_quotes(result, tmp_path / "q.md")
    assert "> My team are brilliant, we cover for each other. (Support worker 2)" in (tmp_path / "q.md").read_text(encoding="utf-8")
