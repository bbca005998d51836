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


FULL = ("respondent,role,site,country,gender,years_in_role\n"
        "SF1,Support worker,Northvale,England,woman,6\n"
        "SF3,Support worker,Harlow Fields,England,man,3\n"
        "TL4,Team leader,Eastbrook,Scotland,woman,18\n")


def test_reimport_updates_the_file_attributes_and_keeps_the_others(project, tmp_path):
    import_respondents(project, write(tmp_path, "full.csv", FULL))
    result = import_respondents(project, write(tmp_path, "roles.csv", "respondent,role\nSF1,Senior support worker\n"
                                                                      "SF3,Support worker\n"))
    assert result.attributes == ["role"] and result.updated == ["SF1", "SF3"]
    assert result.kept == ["site", "country", "gender", "years_in_role"] and result.removed == []
    attributes = load_attributes(project.connect())
    assert attributes["SF1"] == {"role": "Senior support worker", "site": "Northvale", "country": "England",
                                 "gender": "woman", "years_in_role": "6"}
    assert attributes["TL4"]["site"] == "Eastbrook"
    assert list(list_respondents(project.connect()).columns[1:6]) == ["role", "site", "country", "gender",
                                                                      "years_in_role"]


def test_reimport_adds_new_attributes_after_the_existing_ones(project, tmp_path):
    import_respondents(project, FIXTURES / "respondents_semicolon.csv")
    import_respondents(project, write(tmp_path, "r.csv", "id,gender\nSF1,woman\n"))
    attributes = load_attributes(project.connect())
    assert attributes["SF1"] == {"role": "Support worker", "site": "Northvale", "gender": "woman"}
    assert attributes["SF3"] == {"role": "Support worker", "site": "Harlow Fields"}
    assert list(list_respondents(project.connect()).columns[1:4]) == ["role", "site", "gender"]


def test_replace_removes_the_listed_respondents_attributes_not_in_the_file(project, tmp_path):
    import_respondents(project, write(tmp_path, "full.csv", FULL))
    result = import_respondents(project, write(tmp_path, "roles.csv", "respondent,role\nSF1,Manager\n"), replace=True)
    assert result.removed == ["site", "country", "gender", "years_in_role"] and result.kept == []
    attributes = load_attributes(project.connect())
    assert attributes["SF1"] == {"role": "Manager"}
    assert attributes["SF3"]["site"] == "Harlow Fields"  # not in the file: unchanged


def test_empty_cell_sets_the_attribute_missing(project, tmp_path):
    import_respondents(project, write(tmp_path, "full.csv", FULL))
    import_respondents(project, write(tmp_path, "r.csv", "respondent,gender\nSF1,\n"))
    assert load_attributes(project.connect())["SF1"]["gender"] is None


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



@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_windows_excel_csv(project, tmp_path, encoding):
    path = write(tmp_path, "r.csv", "sep=;\r\nrespondent;site\r\nSF1;Zürich\r\nSF3;Genève\r\n".encode(encoding))
    import_respondents(project, path)
    attributes = load_attributes(project.connect())
    assert (attributes["SF1"], attributes["SF3"]) == ({"site": "Zürich"}, {"site": "Genève"})


def test_binary_file_is_refused_in_one_line(project, tmp_path):
    before = snapshot(project)
    with pytest.raises(InputError) as caught:
        import_respondents(project, write(tmp_path, "r.csv", b"PK\x03\x04" + bytes(range(256))))
    assert str(caught.value) == ("r.csv is not a CSV file (it contains binary data): it is a zip package such as an"
                                 " .xlsx workbook; save the sheet as CSV and give that file")
    assert snapshot(project) == before

# -- attributing documents imported without a respondent ------------------------------------

def add_unattributed(project, name: str, speakers: list[str]) -> None:
    """A document as a REFI-QDA project without cases leaves it: no respondent anywhere."""
    from qualcode import documents

    text, units = "", []
    for turn, speaker in enumerate(speakers, start=1):
        text += f"{speaker}: "
        start = len(text)
        text += f"words of turn {turn}"
        role = "interviewer" if speaker == "Moderator" else "respondent"
        units.append({"start": start, "end": len(text), "speaker": speaker, "role": role, "turn": turn})
        text += "\n\n"
    with project.transaction() as conn:
        documents.add_document(conn, name=name, text=text, source_format="qdpx", units=units)


def unit_owners(project, name: str) -> list[tuple]:
    return [tuple(r) for r in project.connect().execute(
        "SELECT u.speaker, u.respondent_id FROM units u JOIN documents d USING (document_id)"
        " WHERE d.name = ? AND u.role = 'respondent' ORDER BY u.seq", (name,))]


def document_owner(project, name: str):
    return project.connect().execute("SELECT respondent_id FROM documents WHERE name = ?", (name,)).fetchone()[0]


def test_assign_a_document_without_respondent(project):
    from qualcode.respondents import assign_respondent

    add_unattributed(project, "interview-03.txt", ["Moderator", "Nurse", "Moderator", "Nurse"])
    result = assign_respondent(project, "interview-03.txt", "SF4")
    assert (result.units_set, result.units_changed, result.new_respondent) == (2, 0, True)
    assert result.previous_document_respondent is None and result.document_respondent == "SF4"
    assert document_owner(project, "interview-03.txt") == "SF4"
    assert unit_owners(project, "interview-03.txt") == [("Nurse", "SF4"), ("Nurse", "SF4")]
    listed = list_respondents(project.connect()).set_index("respondent")
    assert listed.loc["SF4", "units"] == 2 and listed.loc["SF4", "documents"] == 1


def test_assign_speakers_of_a_focus_group_one_by_one(project):
    from qualcode.respondents import assign_respondent

    add_unattributed(project, "FG1.txt", ["Moderator", "Anna", "Ben", "Anna"])
    first = assign_respondent(project, "FG1.txt", "SF1", speaker="anna")
    assert first.units_set == 2 and first.document_respondent is None
    assert unit_owners(project, "FG1.txt") == [("Anna", "SF1"), ("Ben", None), ("Anna", "SF1")]
    assign_respondent(project, "FG1.txt", "SF3", speaker="Ben")
    assert unit_owners(project, "FG1.txt") == [("Anna", "SF1"), ("Ben", "SF3"), ("Anna", "SF1")]
    assert document_owner(project, "FG1.txt") is None  # a focus group has no respondent of its own


def test_assign_sets_the_document_respondent_when_one_speaker_holds_all_the_speech(project):
    from qualcode.respondents import assign_respondent

    add_unattributed(project, "notes.txt", ["Moderator", "Speaker 2", "Speaker 2"])
    result = assign_respondent(project, "notes.txt", "TL4", speaker="Speaker 2")
    assert result.document_respondent == "TL4" and result.new_respondent is False
    assert document_owner(project, "notes.txt") == "TL4"


def test_assign_refuses_to_change_another_respondents_units_unless_forced(project):
    from qualcode.respondents import assign_respondent

    add_unattributed(project, "FG1.txt", ["Moderator", "Anna", "Ben"])
    assign_respondent(project, "FG1.txt", "SF1", speaker="Anna")
    before = snapshot(project), unit_owners(project, "FG1.txt")
    with pytest.raises(InputError) as caught:
        assign_respondent(project, "FG1.txt", "SF3", speaker="Anna")
    assert str(caught.value) == "FG1.txt: 1 unit(s) already belong to SF1; add --force to reassign to SF3"
    assert (snapshot(project), unit_owners(project, "FG1.txt")) == before
    forced = assign_respondent(project, "FG1.txt", "SF3", speaker="Anna", force=True)
    assert forced.units_changed == 1
    assert unit_owners(project, "FG1.txt") == [("Anna", "SF3"), ("Ben", None)]


def test_assign_refuses_a_document_that_belongs_to_someone_else(project):
    from qualcode.respondents import assign_respondent

    before = snapshot(project), unit_owners(project, "SF1.txt")
    with pytest.raises(InputError) as caught:
        assign_respondent(project, "SF1.txt", "SF3")
    assert "SF1.txt: the document belongs to SF1; add --force to reassign to SF3" in str(caught.value)
    assert (snapshot(project), unit_owners(project, "SF1.txt")) == before


def test_assign_unknown_document_speaker_or_role(project):
    from qualcode.errors import NotFound
    from qualcode.respondents import assign_respondent

    add_unattributed(project, "FG1.txt", ["Moderator", "Anna"])
    before = snapshot(project), unit_owners(project, "FG1.txt")
    with pytest.raises(NotFound, match="no document 'FG9.txt' in the project; 'qualcode documents' lists them"):
        assign_respondent(project, "FG9.txt", "SF1")
    with pytest.raises(InputError, match="FG1.txt has no respondent speech by speaker 'Moderator'"):
        assign_respondent(project, "FG1.txt", "SF1", speaker="Moderator")
    with pytest.raises(InputError, match="'interviewer' is a role, not a respondent id"):
        assign_respondent(project, "FG1.txt", "interviewer")
    assert (snapshot(project), unit_owners(project, "FG1.txt")) == before
