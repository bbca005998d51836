"""qualcode demo: the whole workflow on the example study, through the command line."""

from typer.testing import CliRunner

from qualcode import store
from qualcode.cli import app
from qualcode.project import Project

runner = CliRunner()


def test_demo_builds_the_whole_study_and_refuses_a_used_folder(tmp_path):
    target = tmp_path / "demo"
    result = runner.invoke(app, ["demo", str(target)])
    assert result.exit_code == 0, result.output
    assert "Done. The demo project is in" in result.output

    project = Project.find(target)
    conn = project.connect()
    assert store.coder_names(conn) == ["A", "B", "auto", "consensus"]
    assert conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 14
    assert conn.execute("SELECT count(*) FROM decisions WHERE decision != 'agreed'").fetchone()[0] == 16
    outputs = {p.name for p in (target / "outputs").iterdir()}
    assert {"bridge.qdpx", "themes.docx", "matrix.xlsx", "quotes.docx", "results_filled.md",
            "reconcile_log.md", "coding_sheet_B.xlsx"} <= outputs
    codings_before = conn.execute("SELECT count(*) FROM codings").fetchone()[0]
    project.close()

    again = runner.invoke(app, ["demo", str(target)])
    assert again.exit_code == 1
    assert "is not empty" in again.output and "--force" in again.output
    assert "Traceback" not in again.output
    project = Project.find(target)
    assert project.connect().execute("SELECT count(*) FROM codings").fetchone()[0] == codings_before
    project.close()

    rebuilt = runner.invoke(app, ["demo", str(target), "--force"])
    assert rebuilt.exit_code == 0, rebuilt.output
