"""`qualcode documents` through the command line; values checked against the library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qualcode import documents, transcripts
from qualcode.cli import app
from qualcode.project import Project

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"
runner = CliRunner()

COLUMNS = ["document", "format", "respondent", "respondent_units", "interviewer_units", "other_units", "words",
           "respondent_words", "imported_at", "sha256"]


@pytest.fixture
def project_dir(tmp_path) -> Path:
    with Project.create(tmp_path / "study") as project:
        transcripts.import_paths(project, [FIXTURES])
    return tmp_path / "study"


def test_json_lists_every_document_with_its_counts(project_dir):
    result = runner.invoke(app, ["documents", "--format", "json", "-p", str(project_dir)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert list(rows[0]) == COLUMNS
    assert [(r["document"], r["format"], r["respondent"]) for r in rows] == [
        ("SF1.txt", "txt", "SF1"), ("SF3.vtt", "vtt", "SF3"), ("TL4.srt", "srt", "TL4")]
    with Project.find(project_dir) as project:
        conn = project.connect()
        stored = documents.get_document(conn, "SF1.txt")
        respondents = {r["respondent"]: r for r in
                       json.loads(runner.invoke(app, ["respondents", "-f", "json", "-p", str(project_dir)]).stdout)}
    sf1 = rows[0]
    assert (sf1["respondent_units"], sf1["interviewer_units"], sf1["other_units"]) == (3, 2, 0)
    assert (sf1["words"], sf1["respondent_words"]) == (34, respondents["SF1"]["words"])
    assert sf1["sha256"] == stored.sha256[:12]
    assert sf1["imported_at"]


def test_csv_md_and_table(project_dir):
    as_csv = runner.invoke(app, ["documents", "-f", "csv", "-p", str(project_dir)])
    assert as_csv.exit_code == 0 and as_csv.stdout.splitlines()[0] == ",".join(COLUMNS)
    assert len(as_csv.stdout.splitlines()) == 4
    as_md = runner.invoke(app, ["documents", "-f", "md", "-p", str(project_dir)])
    assert as_md.exit_code == 0 and "TL4.srt" in as_md.stdout and "|" in as_md.stdout
    table = runner.invoke(app, ["documents", "-p", str(project_dir)], env={"COLUMNS": "220"})
    assert table.exit_code == 0
    header = " ".join(table.stdout.split())
    assert "respondent ┃" in header and "interviewer ┃" in header and "imported at" in header


def test_unattributed_documents_get_a_hint(project_dir):
    with Project.find(project_dir) as project, project.transaction() as conn:
        documents.add_document(conn, name="from-nvivo.txt", text="Q: Hi?\n\nYes.\n", source_format="qdpx",
                               units=[{"start": 3, "end": 6, "role": "interviewer"},
                                      {"start": 8, "end": 12, "role": "respondent"}])
    result = runner.invoke(app, ["documents", "-f", "json", "-p", str(project_dir)])
    assert result.exit_code == 0
    row = next(r for r in json.loads(result.stdout) if r["document"] == "from-nvivo.txt")
    assert row["respondent"] == "" and row["respondent_units"] == 1
    assert "1 document(s) have respondent speech that belongs to no respondent (from-nvivo.txt);" \
           " 'qualcode respondents assign DOCUMENT RESPONDENT_ID' attributes them." in " ".join(result.stderr.split())


def test_empty_project_and_bad_format(tmp_path):
    Project.create(tmp_path / "empty").close()
    result = runner.invoke(app, ["documents", "-p", str(tmp_path / "empty")])
    assert result.exit_code == 0 and result.stdout == "" and "No documents yet" in result.stderr
    bad = runner.invoke(app, ["documents", "-f", "xml", "-p", str(tmp_path / "empty")])
    assert bad.exit_code == 1 and "unknown format 'xml'" in bad.stderr


def test_help_has_an_example():
    result = runner.invoke(app, ["documents", "--help"])
    assert result.exit_code == 0 and "Example:" in result.stdout


def test_table_shows_bracketed_names_as_written(project_dir, tmp_path):
    # a name like "[draft] SF9.txt" is text, not terminal markup that would be dropped
    source = tmp_path / "[draft] SF9.txt"
    source.write_text("Interviewer: How are you?\n\nSF9: Fine, thanks.\n", encoding="utf-8")
    imported = runner.invoke(app, ["import", str(source), "--respondent", "SF9", "-p", str(project_dir)],
                             env={"COLUMNS": "200"})
    assert imported.exit_code == 0, imported.output
    assert "[draft] SF9.txt" in imported.stdout
    listed = runner.invoke(app, ["documents", "-p", str(project_dir)], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "[draft] SF9.txt" in listed.stdout
    with Project.find(project_dir) as project:
        assert documents.get_document(project.connect(), "[draft] SF9.txt").respondent_id == "SF9"
