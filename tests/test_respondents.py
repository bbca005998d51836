"""Respondent attributes from CSV, and the respondents listing."""

from __future__ import annotations

from pathlib import Path

import pytest

from qualcode import transcripts
from qualcode.errors import InputError
from qualcode.project import Project
from qualcode.respondents import import_respondents, list_respondents, load_attributes

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"


@pytest.fixture
def project(tmp_path) -> Project:
    project = Project.create(tmp_path / "study")
    transcripts.import_paths(project, [FIXTURES])
    yield project
    project.close()


def snapshot(project) -> tuple:
    conn = project.connect()
    return (conn.execute("SELECT * FROM respondents ORDER BY 1").fetchall(),
            conn.execute("SELECT * FROM respondent_attributes ORDER BY 1, 2").fetchall())


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_semicolon_csv(project):
    result = import_respondents(project, FIXTURES / "respondents_semicolon.csv")
    assert result.updated == ["SF1", "SF3", "TL4"] and result.new == []
    assert result.attributes == ["role", "site"]
    assert load_attributes(project.connect())["SF3"] == {"role": "Support worker", "site": "Harlow Fields"}


def test_bom_csv_with_respondent_id_column_and_empty_cell(project):
    import_respondents(project, FIXTURES / "respondents_bom.csv")
    attributes = load_attributes(project.connect())
    assert attributes["TL4"] == {"role": "Team leader", "years": "18"}
    assert attributes["SF3"] == {"role": "Support worker", "years": None}


def test_reimport_replaces_attributes(project, tmp_path):
    import_respondents(project, FIXTURES / "respondents_semicolon.csv")
    import_respondents(project, write(tmp_path, "r.csv", "id,gender\nSF1,woman\n"))
    attributes = load_attributes(project.connect())
    assert attributes["SF1"] == {"gender": "woman"}
    assert attributes["SF3"] == {"role": "Support worker", "site": "Harlow Fields"}


def test_duplicate_ids_are_refused_with_row_numbers(project, tmp_path):
    before = snapshot(project)
    path = write(tmp_path, "r.csv", "respondent,role\nSF1,a\nSF3,b\nSF1,c\nTL4,d\n")
    with pytest.raises(InputError) as caught:
        import_respondents(project, path)
    assert str(caught.value) == "r.csv: duplicate respondent ids (SF1 in rows 2, 4); keep one row per respondent"
    assert snapshot(project) == before


def test_unknown_ids_are_refused_unless_allow_new(project, tmp_path):
    before = snapshot(project)
    path = write(tmp_path, "r.csv", "respondent,role\nSF1,a\nSF01,b\nTL9,c\n")
    with pytest.raises(InputError) as caught:
        import_respondents(project, path)
    assert "ids not in the project: SF01 (row 3), TL9 (row 4)" in str(caught.value)
    assert "--allow-new" in str(caught.value)
    assert snapshot(project) == before
    result = import_respondents(project, path, allow_new=True)
    assert result.new == ["SF01", "TL9"] and result.not_in_file == ["SF3", "TL4"]
    assert load_attributes(project.connect())["TL9"] == {"role": "c"}


def test_a_project_without_respondents_accepts_any_ids(tmp_path):
    project = Project.create(tmp_path / "empty")
    result = import_respondents(project, FIXTURES / "respondents_semicolon.csv")
    assert result.new == ["SF1", "SF3", "TL4"]
    project.close()


@pytest.mark.parametrize("content, expected", [
    ("name,role\nSF1,a\n", "r.csv: no id column (expected one named respondent, respondent_id or id; found name, role);"
                           " name it with --id-column COLUMN"),
    ("respondent,role\n,a\n", "r.csv: row 2 has no respondent id; fill it in or delete the row"),
    ("respondent,role\nSF1,a,b\n", "r.csv: row 2 has 3 cells but the header has 2 columns"),
    ("respondent,role,role\nSF1,a,b\n", "names column(s) role twice"),
    ("respondent,,site\nSF1,a,b\n", "column 2 of the header row has no name"),
    ("", "r.csv is empty"),
    ("respondent,role\n", "r.csv has a header but no respondent rows"),
])
def test_bad_csv(project, tmp_path, content, expected):
    before = snapshot(project)
    with pytest.raises(InputError) as caught:
        import_respondents(project, write(tmp_path, "r.csv", content))
    assert expected in str(caught.value)
    assert snapshot(project) == before


def test_id_column_option(project, tmp_path):
    path = write(tmp_path, "r.csv", "code\tsite\nSF1\tNorthvale\n")
    import_respondents(project, path, id_column="Code")
    assert load_attributes(project.connect())["SF1"] == {"site": "Northvale"}
    with pytest.raises(InputError, match="no column named 'pid'"):
        import_respondents(project, path, id_column="pid")


def test_list_respondents_counts_respondent_speech_only(project):
    import_respondents(project, FIXTURES / "respondents_semicolon.csv")
    table = list_respondents(project.connect())
    assert list(table.columns) == ["respondent", "role", "site", "documents", "units", "words"]
    rows = {r["respondent"]: r for r in table.to_dict("records")}
    assert list(table["respondent"]) == ["SF1", "SF3", "TL4"]
    # SF1.txt: three respondent paragraphs; interviewer questions not counted
    assert (rows["SF1"]["documents"], rows["SF1"]["units"], rows["SF1"]["words"]) == (1, 3, 10 + 6 + 7)  # "Twenty-six" counts as two words
    # SF3.vtt: two cues of SF3 merged into one turn
    assert (rows["SF3"]["units"], rows["SF3"]["words"]) == (1, 10)
    assert rows["TL4"]["site"] == "Eastbrook"


def test_list_natural_order_and_respondents_without_documents(tmp_path):
    project = Project.create(tmp_path / "p")
    import_respondents(project, write(tmp_path, "r.csv", "id,role\nSF10,a\nSF2,b\n"))
    table = list_respondents(project.connect())
    assert list(table["respondent"]) == ["SF2", "SF10"]
    assert list(table["units"]) == [0, 0]
    project.close()


def test_excel_sep_line_and_row_numbers_count_it(project, tmp_path):
    path = write(tmp_path, "r.csv", "sep=;\nrespondent;role\nSF1;a\nSF1;b\n")
    with pytest.raises(InputError, match=r"SF1 in rows 3, 4"):
        import_respondents(project, path)
    import_respondents(project, write(tmp_path, "ok.csv", "sep=;\nrespondent;role\nSF1;a, b\n"))
    assert load_attributes(project.connect())["SF1"] == {"role": "a, b"}
