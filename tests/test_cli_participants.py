"""qualcode participants table through the command line."""

from __future__ import annotations

import csv
import io

import pytest
from typer.testing import CliRunner

from qualcode.cli import app

runner = CliRunner()


@pytest.fixture
def described(tiny_project):
    with tiny_project.transaction() as conn:
        for respondent, years in (("SF1", "4"), ("SF2", "10"), ("TL1", "7")):
            conn.execute("INSERT INTO respondent_attributes (respondent_id, name, value, position) VALUES (?, ?, ?, 5)",
                         (respondent, "years_in_role", years))
    return tiny_project


def invoke(project, *args):
    return runner.invoke(app, ["participants", "table", *args, "--project", str(project.root)],
                         env={"COLUMNS": "200"})


def test_table_on_stdout(described):
    result = invoke(described)
    assert result.exit_code == 0, result.output
    assert "Participants (N = 3)" in result.stdout
    assert "Support worker" in result.stdout and "2 (67%)" in result.stdout
    assert "7.0 (4–10)" in result.stdout


def test_csv_keeps_tidy_columns(described):
    result = invoke(described, "--by", "role,years_in_role", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["characteristic"], r["category"], r["n"]) for r in rows] == [
        ("role", "Support worker", "2"), ("role", "not recorded", "1"), ("years_in_role", "mean (range)", "3")]
    assert rows[2]["mean"] == "7.0" and rows[2]["min"] == "4.0" and rows[2]["max"] == "10.0"


def test_docx_and_xlsx(described, tmp_path):
    import docx
    from openpyxl import load_workbook

    out = tmp_path / "participants.docx"
    assert invoke(described, "--by", "site", "--out", str(out)).exit_code == 0
    cells = [[c.text for c in row.cells] for row in docx.Document(str(out)).tables[0].rows]
    assert cells == [["Characteristic", "Category", "Participants (N = 3)"], ["site", "Eastbrook", "1 (33%)"],
                     ["", "Northvale", "1 (33%)"], ["", "not recorded", "1 (33%)"]]
    xlsx = tmp_path / "participants.xlsx"
    assert invoke(described, "--out", str(xlsx)).exit_code == 0
    rows = list(load_workbook(xlsx)["Participants"].iter_rows(values_only=True))
    assert rows[0][:4] == ("characteristic", "category", "n", "pct")
    assert rows[1][:4] == ("role", "Support worker", 2, 66.7)


def test_unknown_attribute_exit_1(described):
    before = "\n".join(described.connect().iterdump())
    result = invoke(described, "--by", "role,gender")
    assert result.exit_code == 1
    assert "no respondent attribute 'gender'" in result.stderr
    assert "\n".join(described.connect().iterdump()) == before
