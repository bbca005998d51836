"""`qualcode respondents` through the command line; state checked through the library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qualcode import transcripts
from qualcode.cli import app
from qualcode.project import Project
from qualcode.respondents import load_attributes

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"
runner = CliRunner()


@pytest.fixture
def project_dir(tmp_path) -> Path:
    with Project.create(tmp_path / "study") as project:
        transcripts.import_paths(project, [FIXTURES])
    return tmp_path / "study"


def attributes(project_dir: Path) -> dict:
    with Project.find(project_dir) as project:
        return load_attributes(project.connect())


def test_import_then_list_in_every_format(project_dir):
    result = runner.invoke(app, ["respondents", "import", str(FIXTURES / "respondents_semicolon.csv"),
                                 "-p", str(project_dir)])
    assert result.exit_code == 0, result.output
    assert "Updated role, site for 3 respondent(s)." in result.stderr
    assert attributes(project_dir)["TL4"] == {"role": "Team leader", "site": "Eastbrook"}
    listed = runner.invoke(app, ["respondents", "--format", "json", "-p", str(project_dir)])
    assert listed.exit_code == 0
    rows = json.loads(listed.stdout)
    assert [(r["respondent"], r["role"], r["units"]) for r in rows] == [
        ("SF1", "Support worker", 3), ("SF3", "Support worker", 1), ("TL4", "Team leader", 1)]
    as_csv = runner.invoke(app, ["respondents", "list", "-f", "csv", "-p", str(project_dir)])
    assert as_csv.stdout.splitlines()[0] == "respondent,role,site,documents,units,words"
    as_md = runner.invoke(app, ["respondents", "list", "-f", "md", "-p", str(project_dir)])
    assert "| SF1 |" in as_md.stdout.replace("  ", " ")
    table = runner.invoke(app, ["respondents", "-p", str(project_dir)])
    assert table.exit_code == 0 and "Harlow Fields" in table.stdout


def test_bom_csv(project_dir):
    result = runner.invoke(app, ["respondents", "import", str(FIXTURES / "respondents_bom.csv"), "-p", str(project_dir)])
    assert result.exit_code == 0, result.output
    assert attributes(project_dir)["SF1"] == {"role": "Support worker", "years": "6"}


@pytest.mark.parametrize("content, message", [
    ("respondent,role\nSF1,a\nSF1,b\n", "r.csv: duplicate respondent ids (SF1 in rows 2, 3); keep one row per respondent"),
    ("respondent,role\nSF1,a\nSF01,b\n", "r.csv: ids not in the project: SF01 (row 3); correct them if they are typos,"
                                         " or add --allow-new to add them as new respondents"),
])
def test_bad_csv_exits_1_and_changes_nothing(project_dir, tmp_path, content, message):
    path = tmp_path / "r.csv"
    path.write_text(content, encoding="utf-8")
    before = attributes(project_dir)
    result = runner.invoke(app, ["respondents", "import", str(path), "-p", str(project_dir)])
    assert result.exit_code == 1
    assert f"Error: {message}" in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    assert attributes(project_dir) == before


def test_allow_new(project_dir, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("respondent,role\nSF1,a\nTL9,b\n", encoding="utf-8")
    result = runner.invoke(app, ["respondents", "import", str(path), "--allow-new", "-p", str(project_dir)])
    assert result.exit_code == 0 and "new: TL9" in result.stderr
    assert attributes(project_dir)["TL9"] == {"role": "b"}


def test_unknown_format_is_an_error(project_dir):
    result = runner.invoke(app, ["respondents", "--format", "xml", "-p", str(project_dir)])
    assert result.exit_code == 1 and "unknown format 'xml'" in result.stderr


def test_help_has_examples():
    for args in (["respondents", "--help"], ["respondents", "import", "--help"], ["respondents", "list", "--help"],
                 ["respondents", "assign", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Example:" in result.stdout


FULL = ("respondent,role,site,country,gender,years_in_role\n"
        "SF1,Support worker,Northvale,England,woman,6\n"
        "SF3,Support worker,Harlow Fields,England,man,3\n"
        "TL4,Team leader,Eastbrook,Scotland,woman,18\n")


def test_import_keeps_attributes_not_in_the_file_and_says_so(project_dir, tmp_path):
    full, roles = tmp_path / "full.csv", tmp_path / "roles.csv"
    full.write_text(FULL, encoding="utf-8")
    roles.write_text("respondent,role\nSF1,Senior support worker\nSF3,Support worker\nTL4,Team leader\n",
                     encoding="utf-8")
    assert runner.invoke(app, ["respondents", "import", str(full), "-p", str(project_dir)]).exit_code == 0
    result = runner.invoke(app, ["respondents", "import", str(roles), "-p", str(project_dir)])
    assert result.exit_code == 0, result.output
    assert "Updated role for 3 respondent(s); kept site, country, gender, years_in_role (not in roles.csv)." \
        in " ".join(result.stderr.split())
    assert attributes(project_dir)["SF1"] == {"role": "Senior support worker", "site": "Northvale",
                                              "country": "England", "gender": "woman", "years_in_role": "6"}


def test_import_replace_removes_attributes_not_in_the_file_and_says_so(project_dir, tmp_path):
    full, roles = tmp_path / "full.csv", tmp_path / "roles.csv"
    full.write_text(FULL, encoding="utf-8")
    roles.write_text("respondent,role\nSF1,Manager\n", encoding="utf-8")
    runner.invoke(app, ["respondents", "import", str(full), "-p", str(project_dir)])
    result = runner.invoke(app, ["respondents", "import", str(roles), "--replace", "-p", str(project_dir)])
    assert result.exit_code == 0, result.output
    message = " ".join(result.stderr.split())
    assert "Updated role for 1 respondent(s); removed site, country, gender, years_in_role (not in roles.csv," \
           " --replace)." in message
    assert "Not in roles.csv (no attributes changed): SF3, TL4" in message
    assert attributes(project_dir)["SF1"] == {"role": "Manager"}
    assert attributes(project_dir)["SF3"]["site"] == "Harlow Fields"


def add_unattributed(project_dir: Path, name: str, speakers: list[str]) -> None:
    from qualcode import documents

    text, units = "", []
    for turn, speaker in enumerate(speakers, start=1):
        text += f"{speaker}: "
        start = len(text)
        text += f"words of turn {turn}"
        units.append({"start": start, "end": len(text), "speaker": speaker, "turn": turn,
                      "role": "interviewer" if speaker == "Moderator" else "respondent"})
        text += "\n\n"
    with Project.find(project_dir) as project, project.transaction() as conn:
        documents.add_document(conn, name=name, text=text, source_format="qdpx", units=units)


def owners(project_dir: Path, name: str) -> tuple:
    with Project.find(project_dir) as project:
        conn = project.connect()
        document = conn.execute("SELECT respondent_id FROM documents WHERE name = ?", (name,)).fetchone()[0]
        units = [tuple(r) for r in conn.execute(
            "SELECT u.speaker, u.respondent_id FROM units u JOIN documents d USING (document_id)"
            " WHERE d.name = ? AND u.role = 'respondent' ORDER BY u.seq", (name,))]
    return document, units


def dump(project_dir: Path) -> list[str]:
    with Project.find(project_dir) as project:
        return list(project.connect().iterdump())


def test_assign_a_document_and_a_speaker(project_dir):
    add_unattributed(project_dir, "interview-03.txt", ["Moderator", "Nurse", "Nurse"])
    result = runner.invoke(app, ["respondents", "assign", "interview-03.txt", "SF4", "-p", str(project_dir)])
    assert result.exit_code == 0, result.output
    assert "interview-03.txt: 2 respondent unit(s) given to SF4 (new respondent); document respondent:" \
           " none → SF4." in " ".join(result.stderr.split())
    assert owners(project_dir, "interview-03.txt") == ("SF4", [("Nurse", "SF4"), ("Nurse", "SF4")])
    add_unattributed(project_dir, "FG1.txt", ["Moderator", "Anna", "Ben"])
    result = runner.invoke(app, ["respondents", "assign", "FG1.txt", "SF1", "--speaker", "Anna",
                                 "-p", str(project_dir)])
    assert result.exit_code == 0, result.output
    assert owners(project_dir, "FG1.txt") == (None, [("Anna", "SF1"), ("Ben", None)])
    listed = json.loads(runner.invoke(app, ["respondents", "-f", "json", "-p", str(project_dir)]).stdout)
    assert {r["respondent"]: r["units"] for r in listed}["SF4"] == 2


@pytest.mark.parametrize("args, message", [
    (["FG1.txt", "SF3", "--speaker", "Anna"],
     "FG1.txt: 1 unit(s) already belong to SF1; add --force to reassign to SF3"),
    (["SF1.txt", "SF3"], "SF1.txt: the document belongs to SF1; add --force to reassign to SF3, or name one speaker"
                         " with --speaker LABEL"),
    (["FG9.txt", "SF3"], "no document 'FG9.txt' in the project; 'qualcode documents' lists them"),
    (["FG1.txt", "SF3", "--speaker", "Carl"], "FG1.txt has no respondent speech by speaker 'Carl'"),
])
def test_assign_refusals_exit_1_and_change_nothing(project_dir, args, message):
    add_unattributed(project_dir, "FG1.txt", ["Moderator", "Anna", "Ben"])
    assert runner.invoke(app, ["respondents", "assign", "FG1.txt", "SF1", "--speaker", "Anna",
                               "-p", str(project_dir)]).exit_code == 0
    before = dump(project_dir)
    result = runner.invoke(app, ["respondents", "assign", *args, "-p", str(project_dir)])
    assert result.exit_code == 1
    assert f"Error: {message}" in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    assert dump(project_dir) == before


def test_assign_force_reassigns(project_dir):
    add_unattributed(project_dir, "FG1.txt", ["Moderator", "Anna", "Ben"])
    runner.invoke(app, ["respondents", "assign", "FG1.txt", "SF1", "--speaker", "Anna", "-p", str(project_dir)])
    result = runner.invoke(app, ["respondents", "assign", "FG1.txt", "SF3", "--speaker", "Anna", "--force",
                                 "-p", str(project_dir)])
    assert result.exit_code == 0
    assert "(1 reassigned from another respondent)" in result.stderr
    assert owners(project_dir, "FG1.txt") == (None, [("Anna", "SF3"), ("Ben", None)])


def test_assign_that_changes_nothing_says_so(project_dir):
    before = dump(project_dir)
    result = runner.invoke(app, ["respondents", "assign", "SF1.txt", "SF1", "-p", str(project_dir)])
    assert result.exit_code == 0
    assert "SF1.txt: nothing to change; its respondent speech already belongs to SF1." in result.stderr
    assert [line for line in dump(project_dir) if "history" not in line] == \
        [line for line in before if "history" not in line]
