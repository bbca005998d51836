import subprocess
import sys

from typer.testing import CliRunner

from qualcode.cli import app
from qualcode.project import Project

runner = CliRunner()


def test_init_creates_a_project(tmp_path):
    result = runner.invoke(app, ["init", str(tmp_path / "s"), "--name", "Bridge", "--interviewer", "Q"])
    assert result.exit_code == 0, result.output
    project = Project.find(tmp_path / "s")
    assert project.name == "Bridge"
    assert project.interviewer_labels == ["Q"]
    project.close()


def test_init_twice_is_a_clear_error(tmp_path):
    runner.invoke(app, ["init", str(tmp_path / "s")])
    result = runner.invoke(app, ["init", str(tmp_path / "s")])
    assert result.exit_code == 1
    assert "already holds a qualcode project" in result.output
    assert "Traceback" not in result.output


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from qualcode.cli import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "heavy = [m for m in ('spacy', 'pandas', 'numpy', 'openpyxl', 'docx', 'lxml', 'matplotlib') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "qualcode", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.startswith("qualcode ")


def test_project_option_before_the_command(tmp_path, monkeypatch):
    runner.invoke(app, ["init", str(tmp_path / "s"), "--name", "Bridge"])
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["--project", str(tmp_path / "s"), "respondents", "--format", "csv"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["respondents", "--format", "csv"])  # no project here, none given
    assert result.exit_code == 1
    assert "no qualcode project here" in result.output
    monkeypatch.setenv("QUALCODE_PROJECT", str(tmp_path / "s"))
    assert runner.invoke(app, ["respondents", "--format", "csv"]).exit_code == 0


def test_error_messages_with_brackets_are_printed_as_written(tiny_project):
    from tests.conftest import code_phrase

    with tiny_project.transaction() as conn:
        code_phrase(conn, "A", "work.toll", "TL1.txt", "And people burn out.")
    result = runner.invoke(app, ["quotes", "--theme", "[role]", "--project", str(tiny_project.root)])
    assert result.exit_code == 1
    assert "Error: no code '[role]' in the project's codebook" in result.output
    result = runner.invoke(app, ["quotes", "--theme", "[/]", "--project", str(tiny_project.root)])
    assert result.exit_code == 1
    assert "no code '[/]'" in result.output
