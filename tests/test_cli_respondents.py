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
    assert "for 3 respondent(s)" in result.stderr
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
    for args in (["respondents", "--help"], ["respondents", "import", "--help"], ["respondents", "list", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Example:" in result.stdout
