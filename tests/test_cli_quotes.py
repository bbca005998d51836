import json

import pytest
from typer.testing import CliRunner

from qualcode.cli import app
from tests.conftest import code_phrase

runner = CliRunner()


@pytest.fixture
def project(tiny_project):
    with tiny_project.transaction() as conn:
        code_phrase(conn, "A", "work.caseload", "TL1.txt", "Caseloads are the big one.")
        code_phrase(conn, "A", "work.toll", "TL1.txt", "And people burn out.")
        code_phrase(conn, "A", "sup.peer", "SF2.txt", "My team are brilliant, we cover for each other.")
    return tiny_project


def _run(project, *args):
    return runner.invoke(app, ["quotes", *args, "--project", str(project.root)])


def test_quotes_to_json_on_stdout(project):
    result = _run(project, "--format", "json", "--coder", "A")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["respondent"], r["code"]) for r in rows] == [
        ("TL1", "work.caseload"), ("TL1", "work.toll"), ("SF2", "sup.peer")]


def test_quotes_file_and_overwrite_protection(project, tmp_path):
    out = tmp_path / "quotes.md"
    assert _run(project, "--out", str(out)).exit_code == 0  # the only coder is the default
    assert "> My team are brilliant, we cover for each other. [SF2]" in out.read_text(encoding="utf-8")
    again = _run(project, "--out", str(out))
    assert again.exit_code == 1
    assert "already exists" in again.output and "--force" in again.output
    assert _run(project, "--out", str(out), "--force").exit_code == 0


def test_mark_and_unmark(project):
    conn = project.connect()
    toll_id = conn.execute("SELECT coding_id FROM codings JOIN codes USING (code_id) WHERE key = 'work.toll'").fetchone()[0]
    result = runner.invoke(app, ["quotes", "mark", str(toll_id), "--project", str(project.root)])
    assert result.exit_code == 0, result.output
    assert conn.execute("SELECT count(*) FROM exemplars").fetchone()[0] == 1
    rows = json.loads(_run(project, "--format", "json", "--per-theme", "1", "--theme", "work").stdout)
    assert [r["id"] for r in rows] == [toll_id]
    assert runner.invoke(app, ["quotes", "unmark", str(toll_id), "--project", str(project.root)]).exit_code == 0
    assert conn.execute("SELECT count(*) FROM exemplars").fetchone()[0] == 0


@pytest.mark.parametrize("args, message", [
    (["--coder", "Z"], "no coder named 'Z'"),
    (["--theme", "nope"], "no code 'nope'"),
    (["--label", "{role}"], "attribute 'role'"),
    (["--out", "quotes.pdf"], "cannot write quotations as '.pdf'"),
    (["--per-theme", "0"], "--per-theme must be at least 1"),
])
def test_bad_input_is_a_clear_error(project, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = project.connect().execute("SELECT count(*) FROM history").fetchone()[0]
    result = _run(project, *args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert project.connect().execute("SELECT count(*) FROM history").fetchone()[0] == before


def test_mark_unknown_coding(project):
    result = runner.invoke(app, ["quotes", "mark", "9999", "--project", str(project.root)])
    assert result.exit_code == 1
    assert "no coding with id 9999" in result.output


def test_help_has_an_example():
    result = runner.invoke(app, ["quotes", "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
