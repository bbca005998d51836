"""Respondent counts, roll-up, denominators, theme table, matrix, co-occurrence and manuscript fill."""

from __future__ import annotations

import csv

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualcode import codings, documents, store, themes
from qualcode.codebook import load_tree
from qualcode.errors import InputError, NotFound, OverwriteRefused
from tests.conftest import code_phrase


def add_respondent_document(conn, respondent: str, paragraph: str, attributes: dict | None = None) -> None:
    text = f"Interviewer: Tell me more.\n\n{respondent}: {paragraph}\n"
    start = text.index(paragraph)
    documents.add_document(conn, name=f"{respondent}.txt", text=text, source_format="txt", respondent_id=respondent,
                           units=[{"start": 13, "end": 26, "role": "interviewer", "speaker": "Interviewer"},
                                  {"start": start, "end": start + len(paragraph), "role": "respondent",
                                   "speaker": respondent, "respondent_id": respondent}])
    for position, (name, value) in enumerate((attributes or {}).items()):
        conn.execute("INSERT INTO respondent_attributes (respondent_id, name, value, position) VALUES (?, ?, ?, ?)",
                     (respondent, name, value, position))


def row(result, key):
    return result.table.set_index("key").loc[key]


# --------------------------------------------------------------------------- counting rule


def test_theme_counts_a_respondent_coded_under_two_subthemes_once(tiny_project):
    with tiny_project.transaction() as conn:
        code_phrase(conn, "alice", "work.caseload", "SF1.txt", "forty people")
        code_phrase(conn, "alice", "work.toll", "SF1.txt", "I take it home")
    result = themes.compute_counts(tiny_project.connect())
    assert row(result, "work.caseload")["n"] == 1
    assert row(result, "work.toll")["n"] == 1
    assert row(result, "work")["n"] == 1  # not 2: distinct respondents, never a sum of children
    assert row(result, "work")["units"] == 2
    assert row(result, "work")["ids"] == "[SF1]"
    assert row(result, "support")["n"] == 0
    assert row(result, "support")["ids"] == ""


def test_theme_rolls_up_respondents_from_different_subthemes(tiny_project):
    with tiny_project.transaction() as conn:
        code_phrase(conn, "alice", "work.caseload", "SF1.txt", "forty people")
        code_phrase(conn, "alice", "work.toll", "TL1.txt", "people burn out")
        code_phrase(conn, "alice", "work", "SF2.txt", "Monthly supervision")  # coded at the theme itself
    result = themes.compute_counts(tiny_project.connect())
    assert row(result, "work")["n"] == 3
    assert row(result, "work")["ids"] == "[SF1; SF2; TL1]"
    assert row(result, "work")["documents"] == 3


def test_interviewer_speech_never_counts(tiny_project):
    with tiny_project.transaction() as conn:
        # entirely inside an interviewer question
        code_phrase(conn, "alice", "sup.supervision", "SF2.txt", "And supervision?")
        # spans the interviewer's question and SF1's answer: counts once, for SF1
        code_phrase(conn, "alice", "work.caseload", "SF1.txt", "How is your caseload", until="forty people")
    result = themes.compute_counts(tiny_project.connect())
    assert row(result, "sup.supervision")["n"] == 0
    assert row(result, "work.caseload")["n"] == 1
    assert row(result, "work.caseload")["ids"] == "[SF1]"
    assert row(result, "work.caseload")["units"] == 1
    assert any("interviewer speech" in notice and notice.startswith("1 coding") for notice in result.notices)


def test_denominator_leaves_out_respondents_without_text(tiny_project):
    with tiny_project.transaction() as conn:
        documents.ensure_respondent(conn, "SF11")  # in respondents.csv, never interviewed
        code_phrase(conn, "alice", "work.caseload", "SF1.txt", "forty people")
        code_phrase(conn, "alice", "work.caseload", "TL1.txt", "Caseloads")
    result = themes.compute_counts(tiny_project.connect())
    assert result.denominator == 3
    assert result.respondents == ["SF1", "SF2", "TL1"]
    assert result.left_out == ["SF11"]
    assert any("SF11" in notice and "denominator" in notice for notice in result.notices)
    assert row(result, "work.caseload")["denominator"] == 3
    assert row(result, "work.caseload")["pct"] == 66.7


def test_ids_are_in_natural_order(tiny_project):
    with tiny_project.transaction() as conn:
        add_respondent_document(conn, "SF10", "Forty on my caseload too.")
        code_phrase(conn, "alice", "work.caseload", "SF10.txt", "Forty")
        code_phrase(conn, "alice", "work.caseload", "SF2.txt", "cover for each other")
        code_phrase(conn, "alice", "work.caseload", "SF1.txt", "forty people")
    result = themes.compute_counts(tiny_project.connect())
    assert row(result, "work.caseload")["ids"] == "[SF1; SF2; SF10]"
    assert themes.ids_text(["TL2", "SF10", "SF9", "SF1"]) == "[SF1; SF9; SF10; TL2]"


def test_split_by_attribute_has_per_value_denominators(tiny_project):
    with tiny_project.transaction() as conn:
        code_phrase(conn, "alice", "work.caseload", "SF1.txt", "forty people")
        code_phrase(conn, "alice", "work.caseload", "TL1.txt", "Caseloads")
    result = themes.compute_counts(tiny_project.connect(), by="role")
    assert result.group_denominators == {"Support worker": 2, "not recorded": 1}
    caseload = row(result, "work.caseload")
    assert caseload["n (Support worker)"] == 1
    assert caseload["pct (Support worker)"] == 50.0
    assert caseload["n (not recorded)"] == 1
    assert caseload["pct (not recorded)"] == 100.0
    shown = result.display().set_index("key").loc["work.caseload"]
    assert shown["label"] == "  Caseload pressure"  # indented one step: a code beneath its theme
    assert (shown["n"], shown["%"]) == (2, "67%")
    assert (shown["n (Support worker)"], shown["% (Support worker)"]) == (1, "50%")
    assert (shown["n (not recorded)"], shown["% (not recorded)"]) == (1, "100%")


def test_unknown_attribute_is_an_error(tiny_project):
    with tiny_project.transaction() as conn:
        code_phrase(conn, "alice", "work.caseload", "SF1.txt", "forty people")
    with pytest.raises(NotFound, match="no respondent attribute 'gender'.*role, site"):
        themes.compute_counts(tiny_project.connect(), by="gender")


def test_levels_limit_the_rows(tiny_project):
    with tiny_project.transaction() as conn:
        code_phrase(conn, "alice", "work.caseload", "SF1.txt", "forty people")
    conn = tiny_project.connect()
    assert themes.compute_counts(conn, level="theme").table["key"].tolist() == ["work", "support"]
    assert themes.compute_counts(conn, level="code").table["key"].tolist() == [
        "work", "work.caseload", "work.toll", "support", "sup.supervision", "sup.peer"]
    assert themes.compute_counts(conn, codes=["sup.peer", "work"]).table["key"].tolist() == ["work", "sup.peer"]
    with pytest.raises(NotFound, match="no code 'nope'"):
        themes.compute_counts(conn, codes=["nope"])
    with pytest.raises(InputError, match="unknown level"):
        themes.compute_counts(conn, level="category")


def test_level_subtheme_stops_at_depth_two(tiny_project):
    with tiny_project.transaction() as conn:
        from qualcode.codebook import store_nodes

        store_nodes(conn, [{"key": "work.caseload.vacancies", "label": "Vacancies", "parent": "work.caseload"}])
        code_phrase(conn, "alice", "work.caseload.vacancies", "TL1.txt", "vacancies for months")
    conn = tiny_project.connect()
    subtheme = themes.compute_counts(conn, level="subtheme")
    assert "work.caseload.vacancies" not in subtheme.table["key"].tolist()
    assert row(subtheme, "work.caseload")["n"] == 1  # rolled up from the code beneath it
    code = themes.compute_counts(conn, level="code")
    assert row(code, "work.caseload.vacancies")["depth"] == 3


def test_default_coder_is_consensus_else_error_asking_for_coder(tiny_project):
    with tiny_project.transaction() as conn:
        code_phrase(conn, "alice", "work.caseload", "SF1.txt", "forty people")
        code_phrase(conn, "bob", "work.caseload", "TL1.txt", "Caseloads")
    conn = tiny_project.connect()
    with pytest.raises(InputError, match=r"several coders.*alice, bob.*--coder"):
        themes.compute_counts(conn)
    assert row(themes.compute_counts(conn, coder="bob"), "work.caseload")["ids"] == "[TL1]"
    with pytest.raises(NotFound, match="no coder named 'carol'"):
        themes.compute_counts(conn, coder="carol")
    with tiny_project.transaction() as conn:
        code_phrase(conn, "consensus", "work.caseload", "SF2.txt", "cover for each other")
    result = themes.compute_counts(tiny_project.connect())
    assert result.coder == "consensus"
    assert row(result, "work.caseload")["ids"] == "[SF2]"


def test_no_codings_is_an_error(tiny_project):
    with pytest.raises(InputError, match="no codings"):
        themes.compute_counts(tiny_project.connect())


def test_percent_rounds_half_up():
    assert themes.percent(1, 8) == 13.0  # 12.5 → 13, where round() would give 12
    assert themes.percent(1, 3, 1) == 33.3
    assert themes.percent_text(12, 14) == "86%"
    assert themes.percent(1, 0) is None


# Codings placed anywhere in the tiny project's documents: roll-up invariants hold.
spans = st.lists(st.tuples(st.sampled_from(["SF1.txt", "SF2.txt", "TL1.txt"]),
                           st.sampled_from(["work.caseload", "work.toll", "sup.supervision", "sup.peer"]),
                           st.integers(0, 400), st.integers(1, 120)), max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spans)
def test_roll_up_invariants(tiny_project, generated):
    conn = tiny_project.connect()
    tree = load_tree(conn)
    lengths = dict(conn.execute("SELECT name, length(text) FROM documents").fetchall())
    doc_ids = dict(conn.execute("SELECT name, document_id FROM documents").fetchall())
    conn.execute("BEGIN IMMEDIATE")
    try:
        coder_id = store.get_or_create_coder(conn, "alice")
        rows = []
        for document, key, start, length in generated:
            start = start % (lengths[document] - 1)
            rows.append({"coder_id": coder_id, "code_id": tree.by_key[key].code_id, "document_id": doc_ids[document],
                         "start": start, "end": min(start + length, lengths[document]), "origin": "manual"})
        codings.add_codings(conn, rows)
        if not rows:
            return
        result = themes.compute_counts(conn, coder="alice")
        by_key = result.table.set_index("key")
        for theme in tree.roots:
            children = [by_key.loc[k, "n"] for k in tree.descendants(theme, include_self=False)]
            assert max(children) <= by_key.loc[theme, "n"] <= min(sum(children), result.denominator)
            assert by_key.loc[theme, "units"] <= sum(by_key.loc[k, "units"] for k in tree.descendants(theme, False))
        for key, n, ids in zip(result.table["key"], result.table["n"], result.table["ids"]):
            assert n == (len(ids.strip("[]").split("; ")) if ids else 0)
    finally:
        conn.execute("ROLLBACK")


# --------------------------------------------------------------------------- theme table


@pytest.fixture
def coded(tiny_project):
    with tiny_project.transaction() as conn:
        code_phrase(conn, "consensus", "work.caseload", "SF1.txt", "forty people")
        code_phrase(conn, "consensus", "work.toll", "SF1.txt", "I take it home")
        code_phrase(conn, "consensus", "work.caseload", "TL1.txt", "Caseloads are the big one")
        code_phrase(conn, "consensus", "sup.peer", "SF2.txt", "we cover for each other")
        code_phrase(conn, "consensus", "sup.supervision", "SF1.txt", "Supervision helps a bit")
        code_phrase(conn, "consensus", "sup.supervision", "SF2.txt", "Monthly supervision")
    return tiny_project


def test_theme_table_rows_group_subthemes_under_themes(coded):
    result = themes.theme_table(coded.connect())
    table = result.table
    assert table.columns.tolist() == ["Theme", "Subtheme", "n (%)", "Description", "Respondents"]
    assert table["Theme"].tolist() == ["Workload and capacity", "", "", "Support for staff", "", ""]
    assert table["Subtheme"].tolist() == ["", "Caseload pressure", "Emotional toll", "", "Supervision", "Peer support"]
    assert table["n (%)"].tolist() == ["2 (67%)", "2 (67%)", "1 (33%)", "2 (67%)", "2 (67%)", "1 (33%)"]
    assert table["Respondents"].tolist()[3] == "[SF1; SF2]"
    assert table["Description"].tolist()[1] == "Numbers of clients, being stretched."
    assert result.depths == [1, 2, 2, 1, 2, 2]
    assert "N = 3" in result.caption and "consensus" in result.caption


def test_theme_table_docx_is_a_real_word_table(coded, tmp_path):
    import docx

    path = themes.write_theme_table(themes.theme_table(coded.connect()), tmp_path / "themes.docx")
    document = docx.Document(str(path))
    assert len(document.tables) == 1
    table = document.tables[0]
    cells = [[cell.text for cell in row.cells] for row in table.rows]
    assert cells[0] == ["Theme", "Subtheme", "n (%)", "Description", "Respondents"]
    assert cells[1][0] == "Workload and capacity" and cells[1][2] == "2 (67%)"
    assert cells[2][:3] == ["", "Caseload pressure", "2 (67%)"]
    assert cells[4][4] == "[SF1; SF2]"
    assert len(cells) == 7
    assert table.rows[1].cells[0].paragraphs[0].runs[0].bold  # theme rows bold
    assert not table.rows[2].cells[1].paragraphs[0].runs[0].bold
    assert table.style.name != "Table Grid"  # journal style: rules, not a grid
    assert "N = 3" in document.paragraphs[0].text


def test_theme_table_xlsx_md_tex(coded, tmp_path):
    from openpyxl import load_workbook

    result = themes.theme_table(coded.connect(), by="role")
    workbook = load_workbook(themes.write_theme_table(result, tmp_path / "themes.xlsx"))
    sheet = workbook.active
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert values[0] == ["Theme", "Subtheme", "n (%)", "Support worker (N = 2)", "not recorded (N = 1)",
                         "Description", "Respondents"]
    assert values[2][1:5] == ["Caseload pressure", "2 (67%)", "1 (50%)", "1 (100%)"]
    assert sheet["A2"].font.bold
    md = themes.write_theme_table(result, tmp_path / "themes.md").read_text()
    assert "| **Workload and capacity** |  | 2 (67%) |" in md
    tex = themes.write_theme_table(result, tmp_path / "themes.tex").read_text()
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert r"\textbf{Workload and capacity} &  & \textbf{2 (67\%)}" in tex
    assert r"\addlinespace" in tex
    with pytest.raises(OverwriteRefused):
        themes.write_theme_table(result, tmp_path / "themes.tex")
    with pytest.raises(InputError, match="cannot write a theme table"):
        themes.write_theme_table(result, tmp_path / "themes.pptx")


# --------------------------------------------------------------------------- matrix


def test_matrix_counts_presence_and_sheets(coded, tmp_path):
    from openpyxl import load_workbook

    conn = coded.connect()
    counts = themes.framework_matrix(conn, cells="count")
    assert list(counts.sheets) == ["Workload and capacity", "Support for staff"]
    work = counts.sheets["Workload and capacity"]
    assert work.columns.tolist() == ["respondent", "role", "site", "Caseload pressure [work.caseload]",
                                     "Emotional toll [work.toll]"]
    assert work["respondent"].tolist() == ["SF1", "SF2", "TL1"]
    assert work["Caseload pressure [work.caseload]"].tolist() == [1, 0, 1]
    presence = themes.framework_matrix(conn, cells="presence")
    assert presence.sheets["Support for staff"]["Supervision [sup.supervision]"].tolist() == [1, 1, 0]
    path = themes.write_matrix(counts, tmp_path / "matrix.xlsx")
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["Workload and capacity", "Support for staff"]
    sheet = workbook["Support for staff"]
    assert [c.value for c in sheet[1]] == ["respondent", "role", "site", "Supervision [sup.supervision]",
                                           "Peer support [sup.peer]"]
    assert [c.value for c in sheet[3]] == ["SF2", "Support worker", "Eastbrook", 1, 1]
    csv_path = themes.write_matrix(counts, tmp_path / "matrix.csv")
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert rows[2]["respondent"] == "TL1"
    assert rows[2]["Workload and capacity > Caseload pressure [work.caseload]"] == "1"
    with pytest.raises(InputError, match=r"use \.xlsx or \.csv"):
        themes.write_matrix(counts, tmp_path / "matrix.docx")


def test_matrix_text_cells_hold_coded_passages_without_interviewer_speech(tiny_project, tmp_path):
    from openpyxl import load_workbook

    with tiny_project.transaction() as conn:
        code_phrase(conn, "alice", "work.caseload", "SF1.txt", "How is your caseload", until="forty people")
        code_phrase(conn, "alice", "work.toll", "SF1.txt", "I take it home")
        code_phrase(conn, "alice", "work.toll", "SF1.txt", "Some nights I don't sleep")
        add_respondent_document(conn, "SF3", "=HYPERLINK(\"http://x\") is what one client typed.")
        code_phrase(conn, "alice", "sup.peer", "SF3.txt", "=HYPERLINK")
    result = themes.framework_matrix(tiny_project.connect(), cells="text")
    work = result.sheets["Workload and capacity"].set_index("respondent")
    # the interviewer's question is clipped away; the respondent's part stays
    assert work.loc["SF1", "Caseload pressure [work.caseload]"] == "Honestly, it's a lot. I've got forty people"
    assert work.loc["SF1", "Emotional toll [work.toll]"] == "I take it home / Some nights I don't sleep"
    assert work.loc["SF2", "Emotional toll [work.toll]"] == ""
    trimmed = themes.framework_matrix(tiny_project.connect(), cells="text", max_words=5)
    assert trimmed.sheets["Workload and capacity"].set_index("respondent").loc[
        "SF1", "Caseload pressure [work.caseload]"] == "Honestly, it's a lot. I've …"
    workbook = load_workbook(themes.write_matrix(result, tmp_path / "m.xlsx"))
    sheet = workbook["Support for staff"]
    sf3 = next(r for r in sheet.iter_rows(values_only=True) if r[0] == "SF3")
    assert sf3[-1] == "'=HYPERLINK"  # a formula-like cell is neutralised
    # passage columns are widened and wrapped
    passages = workbook["Workload and capacity"]
    assert passages["D1"].value == "Caseload pressure [work.caseload]"
    assert passages.column_dimensions["D"].width == 45 and passages["D2"].alignment.wrap_text


def test_matrix_by_attribute_groups_rows(coded):
    result = themes.framework_matrix(coded.connect(), by="site")
    sheet = result.sheets["Workload and capacity"]
    assert sheet.columns.tolist()[:3] == ["respondent", "site", "role"]
    assert sheet["respondent"].tolist() == ["SF2", "SF1", "TL1"]  # Eastbrook, Northvale, not recorded
    with pytest.raises(InputError, match="unknown cell type"):
        themes.framework_matrix(coded.connect(), cells="colour")


def test_trim_words():
    assert themes.trim_words("one  two\nthree", 3) == "one two three"
    assert themes.trim_words("one two three four", 2) == "one two …"


# --------------------------------------------------------------------------- co-occurrence


def test_cooccurrence_by_respondents_and_units(coded):
    conn = coded.connect()
    by_respondents = themes.cooccurrence(conn, by="respondents")
    assert by_respondents.index.tolist() == ["work.caseload", "work.toll", "sup.supervision", "sup.peer"]
    assert by_respondents.loc["work.caseload", "work.toll"] == 1  # SF1
    assert by_respondents.loc["sup.supervision", "sup.peer"] == 1  # SF2
    assert by_respondents.loc["work.caseload", "work.caseload"] == 2
    assert (by_respondents.to_numpy() == by_respondents.to_numpy().T).all()
    by_units = themes.cooccurrence(conn, by="units")
    assert by_units.loc["work.toll", "sup.supervision"] == 1  # the same paragraph of SF1
    assert by_units.loc["work.caseload", "work.toll"] == 0  # different paragraphs
    themes_level = themes.cooccurrence(conn, level="theme")
    assert themes_level.loc["work", "support"] == 1  # only SF1 is coded under both themes
    assert themes_level.loc["support", "support"] == 2


# --------------------------------------------------------------------------- manuscript fill


def test_fill_markdown_every_placeholder_form(coded, tmp_path):
    source = tmp_path / "results.md"
    source.write_text(
        "# Results\n"
        "Workload was raised by most {{n:work}} {{ids:work}}, {{pct:work}} of respondents.\n"
        "Support workers {{ n : work.caseload | role = Support worker }} and {{pct:work.caseload|role=Support worker}}.\n"
        "Either site {{n:sup.supervision|site=Northvale,site=Eastbrook}}; both filters {{ids:support|role=Support worker,site=\"Eastbrook\"}}.\n"
        "Nobody {{ids:work.toll|site=Eastbrook}}.\n",
        encoding="utf-8",
    )
    result = themes.fill_manuscript(coded.connect(), source, tmp_path / "filled.md")
    assert result.problems == []
    assert len(result.placeholders) == 8
    assert (tmp_path / "filled.md").read_text(encoding="utf-8") == (
        "# Results\n"
        "Workload was raised by most (2) [SF1; TL1], 67% of respondents.\n"
        "Support workers (1) and 50%.\n"
        "Either site (2); both filters [SF2].\n"
        "Nobody [none].\n"
    )


@pytest.mark.parametrize("placeholder, message", [
    ("{{n:nope}}", "no code 'nope'"),
    ("{{count:work}}", "unknown placeholder kind 'count'"),
    ("{{n}}", "is not a placeholder of the form"),
    ("{{n:work|role}}", "filter 'role' in '{{n:work|role}}' is not of the form attribute=value"),
    ("{{n:work|role=Support worker|site=Eastbrook}}", "more than one '|'"),
    ("{{n:work|gender=Woman}}", "no respondent attribute 'gender'"),
    ("{{n:work|role=Manager}}", "no respondent has role=Manager (known values: Support worker)"),
    ("{{n:work|role=\"Support worker}}", "unbalanced double quote"),
    ("{{n:work", "unmatched '{{' or '}}'"),
    ("n:work}}", "unmatched '{{' or '}}'"),
])
def test_fill_problems_name_the_line_and_write_nothing(coded, tmp_path, placeholder, message):
    source = tmp_path / "results.md"
    source.write_text(f"Fine {{{{n:work}}}}.\n\nBroken {placeholder} here.\n", encoding="utf-8")
    out = tmp_path / "filled.md"
    with pytest.raises(InputError) as raised:
        themes.fill_manuscript(coded.connect(), source, out)
    assert "line 3: " in str(raised.value) and message in str(raised.value)
    assert "nothing written" in str(raised.value)
    assert not out.exists()
    checked = themes.fill_manuscript(coded.connect(), source, check=True)
    assert [p.where for p in checked.problems] == ["line 3"]
    assert message in checked.problems[0].message


def test_fill_leaves_other_braces_alone(coded, tmp_path):
    source = tmp_path / "results.md"
    text = "LaTeX {{\\em emphasis}} and {{ }} and a set {1, {2}} stay; {{n:work}} is filled.\n"
    source.write_text(text, encoding="utf-8")
    themes.fill_manuscript(coded.connect(), source, tmp_path / "filled.md")
    assert (tmp_path / "filled.md").read_text(encoding="utf-8") == text.replace("{{n:work}}", "(2)")


def test_fill_docx_placeholder_in_a_hyperlink_is_reported(coded, tmp_path):
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    paragraph = document.add_paragraph("See ")
    relation = document.part.relate_to("https://example.org", RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), relation)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "{{n:work}}"
    run.append(text)
    link.append(run)
    paragraph._p.append(link)
    source = tmp_path / "paper.docx"
    document.save(str(source))
    checked = themes.fill_manuscript(coded.connect(), source, check=True)
    assert [str(p) for p in checked.problems] == [
        "paragraph 1: a placeholder inside a hyperlink or field cannot be filled; remove the link around it"]


def test_fill_check_writes_nothing_and_out_rules(coded, tmp_path):
    source = tmp_path / "results.md"
    source.write_text("All {{n:work}}.\n", encoding="utf-8")
    checked = themes.fill_manuscript(coded.connect(), source, check=True)
    assert checked.problems == [] and checked.values == {"{{n:work}}": "(2)"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.md", "tiny"]
    with pytest.raises(InputError, match="--out"):
        themes.fill_manuscript(coded.connect(), source)
    with pytest.raises(InputError, match="must differ"):
        themes.fill_manuscript(coded.connect(), source, source, force=True)
    with pytest.raises(InputError, match="same kind of suffix"):
        themes.fill_manuscript(coded.connect(), source, tmp_path / "filled.docx")
    (tmp_path / "filled.md").write_text("old", encoding="utf-8")
    with pytest.raises(OverwriteRefused):
        themes.fill_manuscript(coded.connect(), source, tmp_path / "filled.md")
    themes.fill_manuscript(coded.connect(), source, tmp_path / "filled.md", force=True)
    assert (tmp_path / "filled.md").read_text(encoding="utf-8") == "All (2).\n"


def _docx_with_split_placeholder(path):
    import docx

    document = docx.Document()
    document.add_paragraph("Results")
    paragraph = document.add_paragraph()
    first = paragraph.add_run("Most respondents raised workload {{n:")
    first.bold = True
    paragraph.add_run("wo")
    tail = paragraph.add_run("rk}} and ")
    tail.italic = True
    paragraph.add_run("named {{ids:work.caseload}}.")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Support"
    table.cell(0, 1).text = "{{pct:support}}"
    document.save(str(path))


def test_fill_docx_replaces_placeholders_split_across_runs(coded, tmp_path):
    import docx

    source = tmp_path / "paper.docx"
    _docx_with_split_placeholder(source)
    out = tmp_path / "paper_filled.docx"
    result = themes.fill_manuscript(coded.connect(), source, out)
    assert len(result.placeholders) == 3
    document = docx.Document(str(out))
    paragraph = document.paragraphs[1]
    assert paragraph.text == "Most respondents raised workload (2) and named [SF1; TL1]."
    runs = paragraph.runs
    assert runs[0].text == "Most respondents raised workload (2)" and runs[0].bold  # first run's formatting kept
    assert runs[2].text == " and " and runs[2].italic  # text after the placeholder keeps its own formatting
    assert document.tables[0].cell(0, 1).text == "67%"
    assert docx.Document(str(source)).paragraphs[1].text.count("{{") == 2  # the source is untouched


def test_fill_docx_problems_name_the_paragraph(coded, tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("Intro {{n:work}}")
    document.add_paragraph("Text")
    document.add_paragraph("Bad {{n:work.nothing}}")
    table = document.add_table(rows=2, cols=2)
    table.cell(1, 1).text = "{{pct:work|site=Mars}}"
    source = tmp_path / "paper.docx"
    document.save(str(source))
    with pytest.raises(InputError) as raised:
        themes.fill_manuscript(coded.connect(), source, tmp_path / "out.docx")
    message = str(raised.value)
    assert "paragraph 3: no code 'work.nothing'" in message
    assert "table 1, row 2, cell 2: no respondent has site=Mars" in message
    assert not (tmp_path / "out.docx").exists()


def test_fill_rejects_other_files(coded, tmp_path):
    (tmp_path / "paper.odt").write_bytes(b"x")
    with pytest.raises(InputError, match="cannot fill '.odt'"):
        themes.fill_manuscript(coded.connect(), tmp_path / "paper.odt", tmp_path / "o.odt")
    (tmp_path / "fake.docx").write_text("not a zip")
    with pytest.raises(InputError, match="not a readable Word"):
        themes.fill_manuscript(coded.connect(), tmp_path / "fake.docx", tmp_path / "o.docx")
    with pytest.raises(InputError, match="does not exist"):
        themes.fill_manuscript(coded.connect(), tmp_path / "missing.md", tmp_path / "o.md")


def test_a_sample_coder_gets_a_notice_about_the_denominator(tiny_project):
    from qualcode import codings, store, themes

    with tiny_project.transaction() as conn:
        coder = store.get_or_create_coder(conn, "B")
        unit_id, document_id, start, end = conn.execute(
            "SELECT unit_id, document_id, start, end FROM units WHERE respondent_id = 'SF1' AND role = 'respondent'"
        ).fetchone()
        conn.execute("INSERT INTO assignments (coder_id, unit_id) VALUES (?, ?)", (coder, unit_id))
        code_id = conn.execute("SELECT code_id FROM codes WHERE key = 'work.caseload'").fetchone()[0]
        codings.add_codings(conn, [{"coder_id": coder, "code_id": code_id, "document_id": document_id,
                                    "start": start, "end": end, "origin": "sheet"}])
    result = themes.compute_counts(tiny_project.connect(), coder="B")
    assert any("'B' coded a sample: paragraphs of 1 of the 3 respondents (SF1)" in n for n in result.notices)


def test_documents_without_a_respondent_get_a_useful_error(tmp_path):
    from qualcode import codebook, documents, store, themes
    from qualcode.errors import InputError
    from qualcode.project import Project

    project = Project.create(tmp_path / "p")
    with project.transaction() as conn:
        documents.add_document(conn, name="source.txt", text="Some text here.", source_format="txt",
                               units=[{"start": 0, "end": 15, "role": "respondent"}])
        codebook.store_nodes(conn, [{"key": "a", "label": "A"}])
        store_id = store.get_or_create_coder(conn, "X")
        conn.execute("INSERT INTO codings (coder_id, code_id, document_id, start, end, origin, created_at)"
                     " VALUES (?, 1, 1, 0, 4, 'refi', 'now')", (store_id,))
    with pytest.raises(InputError, match="1 document\\(s\\) belong to no respondent.*respondents assign"):
        themes.compute_counts(project.connect(), coder="X")
    project.close()
