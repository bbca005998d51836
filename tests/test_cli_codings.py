"""`qualcode codings list|explain` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qualcode import codebook as cb
from qualcode import codings, store
from qualcode.apply import apply_codebook
from qualcode.cli import app
from qualcode.project import Project
from tests.conftest import build_tiny_project

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "codebooks"
runner = CliRunner()


@pytest.fixture
def project_dir(tmp_path) -> Path:
    project = build_tiny_project(tmp_path / "tiny")
    apply_codebook(project, FIXTURES / "small.yaml")
    with project.transaction() as conn:
        coder = store.get_or_create_coder(conn, "A")
        text = conn.execute("SELECT text FROM documents WHERE name = 'SF2.txt'").fetchone()[0]
        start = text.index("The other workers")
        codings.add_codings(conn, [{"coder_id": coder, "code_id": cb.load_tree(conn).node("sup.peer").code_id,
                                    "document_id": 2, "start": start, "end": start + 30, "origin": "manual",
                                    "memo": "the team as lifeline"}])
    project.close()
    return tmp_path / "tiny"


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_list_filters_by_coder_code_and_respondent(project_dir):
    result = run("codings", "list", "--format", "json", "-p", project_dir)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 10 and {r["coder"] for r in rows} == {"auto", "A"}
    theme = json.loads(run("codings", "list", "--code", "work", "--coder", "auto", "--format", "json",
                           "-p", project_dir).stdout)
    assert {r["code"] for r in theme} == {"work.caseload", "work.toll"} and len(theme) == 6
    sf2 = json.loads(run("codings", "list", "--respondent", "SF2", "--format", "json", "-p", project_dir).stdout)
    assert {r["respondent"] for r in sf2} == {"SF2"} and len(sf2) == 3
    one = next(r for r in sf2 if r["coder"] == "auto" and r["code"] == "sup.peer")
    assert one["text"] == "My team are brilliant, we cover for each other."
    assert one["rule"] == "phrase 1: each other" and one["origin"] == "rule"


def test_list_unknown_coder_or_code_is_an_error(project_dir):
    result = run("codings", "list", "--coder", "nobody", "-p", project_dir)
    assert result.exit_code == 1 and "no coder named 'nobody'" in result.stderr
    result = run("codings", "list", "--code", "nothing", "-p", project_dir)
    assert result.exit_code == 1 and "no code 'nothing'" in result.stderr


def test_list_unknown_respondent_or_document_is_an_error_naming_the_known_ones(project_dir):
    result = run("codings", "list", "--respondent", "SF99", "-p", project_dir)
    assert result.exit_code == 1 and result.stdout == ""
    assert "Error: no respondent 'SF99' in this project (known respondents: SF1, SF2, TL1)" in result.stderr
    result = run("codings", "list", "--document", "nope.txt", "-p", project_dir)
    assert result.exit_code == 1 and result.stdout == ""
    assert "Error: no document 'nope.txt' in this project (known documents: SF1.txt, SF2.txt, TL1.txt)" in result.stderr
    # respondents match without regard to case, as the listing does; one known and one unknown is still an error
    lower = run("codings", "list", "--respondent", "sf2", "--format", "json", "-p", project_dir)
    assert lower.exit_code == 0 and {r["respondent"] for r in json.loads(lower.stdout)} == {"SF2"}
    mixed = run("codings", "list", "--respondent", "SF2", "--respondent", "XX", "-p", project_dir)
    assert mixed.exit_code == 1 and "no respondent 'XX'" in mixed.stderr
    single = run("codings", "list", "--coder", "A", "-p", project_dir)
    assert single.exit_code == 0 and "1 coding" in single.stdout and "1 codings" not in single.stdout


def test_explain_a_rule_coding(project_dir):
    rows = json.loads(run("codings", "list", "--code", "work.caseload", "--respondent", "SF1", "--format", "json",
                          "-p", project_dir).stdout)
    [row] = rows
    result = run("codings", "explain", row["id"], "-p", project_dir)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.stdout.split())
    assert "work.caseload — Workload and capacity > Caseload pressure" in flat
    assert "SF1.txt characters" in flat and "(unit SF1.txt#2.2)" in flat
    assert "I've got forty people on my books and that's too many." in flat
    assert "phrase 2: on my books matched “on my books”" in flat
    assert "matched “forty people”" in flat
    as_json = json.loads(run("codings", "explain", row["id"], "--format", "json", "-p", project_dir).stdout)
    assert as_json["respondent"] == "SF1" and as_json["origin"] == "rule"


def test_explain_a_hand_coding_and_an_unknown_id(project_dir):
    rows = json.loads(run("codings", "list", "--coder", "A", "--format", "json", "-p", project_dir).stdout)
    result = run("codings", "explain", rows[0]["id"], "-p", project_dir)
    assert result.exit_code == 0
    flat = " ".join(result.stdout.split())
    assert "made by a person (manual), not by a rule" in flat and "the team as lifeline" in flat
    missing = run("codings", "explain", 99999, "-p", project_dir)
    assert missing.exit_code == 1 and "no coding 99999" in missing.stderr


def test_help_has_examples():
    for command in ("list", "explain"):
        result = run("codings", command, "--help")
        assert result.exit_code == 0 and "Example" in result.stdout


def test_a_listing_piped_into_a_reader_that_stops_early_is_not_an_error(tiny_project_dir):
    """`qualcode codings list --format csv | head -1`: the closed pipe ends the command quietly."""
    import subprocess
    import sys

    from qualcode import codings, store

    with Project.find(tiny_project_dir) as project, project.transaction() as conn:
        coder = store.get_or_create_coder(conn, "B")
        code = conn.execute("SELECT code_id FROM codes WHERE key = 'work.toll'").fetchone()[0]
        codings.add_codings(conn, [{"coder_id": coder, "code_id": code, "document_id": 1, "start": i % 50,
                                    "end": i % 50 + 30, "origin": "manual"} for i in range(4000)])
    process = subprocess.Popen([sys.executable, "-m", "qualcode", "codings", "list", "--format", "csv",
                                "--project", str(tiny_project_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.readline()
    process.stdout.close()  # as `head -1` does
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0
    assert b"Error" not in stderr and b"Traceback" not in stderr
