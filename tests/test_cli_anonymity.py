"""qualcode check-anonymity through CliRunner: output, formats, exit codes, bad input, privacy."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qualcode import documents
from qualcode.cli import app
from qualcode.cli.anonymity import FINDINGS_EXIT_CODE

runner = CliRunner()

PLANTED = "SF9: Ring me on 07700 900 461, or ask Bernadette at 14 Acacia Road.\n"


@pytest.fixture
def project(tiny_project):
    """The tiny project plus one document with planted identifiers."""
    with tiny_project.transaction() as conn:
        documents.add_document(conn, name="SF9.txt", source_format="txt", respondent_id="SF9", text=PLANTED,
                               units=[{"start": 5, "end": len(PLANTED) - 1, "role": "respondent",
                                       "respondent_id": "SF9"}])
    tiny_project.close()
    return tiny_project


def invoke(project, *args):
    return runner.invoke(app, ["check-anonymity", "--names", "heuristic", *args, "--project", str(project.root)])


def _database_bytes(project) -> bytes:
    return b"".join(path.read_bytes() for path in project.root.glob("qualcode.db*"))


def test_lists_findings_masked_as_csv(project):
    result = invoke(project, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    # the fixture's document has no source file, so places are in the stored text, with the unit key
    assert [(r["where"], r["kind"], r["masked"]) for r in rows] == [
        ("SF9.txt (as stored) line 1, column 17; unit SF9.txt#1", "phone", "0770• ••• •••"),
        ("SF9.txt (as stored) line 1, column 39; unit SF9.txt#1", "name", "B•••••••••"),
        ("SF9.txt (as stored) line 1, column 53; unit SF9.txt#1", "address", "1• A••••• R•••"),
    ]
    assert [(r["line"], r["column"], r["unit"], r["located"], r["status"]) for r in rows][0] == (
        "1", "17", "SF9.txt#1", "stored", "found")
    assert "Bernadette" not in result.output and "900 461" not in result.output
    assert "3 likely identifier(s) in 1 of 4 documents" in result.stderr


def test_json_and_md_formats(project):
    result = invoke(project, "SF9.txt", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [r["kind"] for r in json.loads(result.stdout)] == ["phone", "name", "address"]
    result = invoke(project, "SF9", "--format", "md")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("| where | document | line | column | kind | masked |")


def test_table_format_and_document_selection(project, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # the location column must not wrap inside the asserted text
    result = invoke(project, "SF9")
    assert result.exit_code == 0, result.output
    assert "SF9.txt (as stored) line 1, column 17; unit SF9.txt#1" in result.stdout
    assert "B•••••••••" in result.stdout
    assert "3 of the findings could not be placed in a source file" in result.stderr
    assert "located" not in result.stdout and "unit " in result.stdout  # the table shows where, kind and masked
    clean = invoke(project, "SF1.txt", "TL1")
    assert clean.exit_code == 0, clean.output
    assert clean.stdout == ""
    assert "No likely identifiers found in 2 documents." in clean.stderr


def test_fail_on_findings_exit_code(project):
    assert invoke(project, "--fail-on-findings").exit_code == FINDINGS_EXIT_CODE == 3
    assert invoke(project, "SF1.txt", "--fail-on-findings").exit_code == 0


def test_identifiers_file_is_used_but_never_stored_or_printed(project, tmp_path):
    names = tmp_path / "real-names.txt"
    names.write_text("Eastbrook\nhonestly\n", encoding="utf-8")
    before = _database_bytes(project)
    result = invoke(project, "--identifiers", str(names), "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["where"], r["kind"], r["masked"]) for r in rows if r["kind"] == "identifier"] == [
        ("SF1.txt (as stored) line 3, column 6; unit SF1.txt#2", "identifier", "H•••••••")]
    assert "Honestly" not in result.output
    after = _database_bytes(project)
    assert after == before
    assert b"Eastbrook" in after  # the attribute stored by the fixture…
    assert b"real-names" not in after  # …but nothing about the list


def test_files_not_yet_imported(tmp_path, project):
    new = tmp_path / "SF12.txt"
    new.write_text("Interviewer: Hi\nSF12: Email me at ann@example.org.\n", encoding="utf-8")
    clean = tmp_path / "SF13.txt"
    clean.write_text("Interviewer: Hi\nSF13: Nothing to see.\n", encoding="utf-8")
    result = runner.invoke(app, ["check-anonymity", "--files", str(new), str(clean), "--format", "csv",
                                 "--fail-on-findings", "--names", "heuristic"])
    assert result.exit_code == FINDINGS_EXIT_CODE, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["where"], r["line"], r["column"], r["kind"], r["masked"]) for r in rows] == [
        (f"{new}:2:19", "2", "19", "email", "an•@•••••••.•••")]
    assert "1 likely identifier(s) in 1 of 2 files" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["SF99"], "no document 'SF99' in the project"),
    (["--identifiers", "missing-names.txt"], "identifiers file missing-names.txt does not exist"),
    (["--names", "guess"], "unknown --names 'guess'"),
    (["--format", "xml"], "unknown format 'xml'"),
    (["--files"], "--files needs at least one transcript file"),
])
def test_bad_input_is_a_clear_error(project, args, message):
    before = _database_bytes(project)
    result = invoke(project, *args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert _database_bytes(project) == before


def test_empty_files_are_errors(project, tmp_path):
    empty_names = tmp_path / "names.txt"
    empty_names.write_text("\n# nothing\n", encoding="utf-8")
    result = invoke(project, "--identifiers", str(empty_names))
    assert result.exit_code == 1
    assert "holds no names" in result.stderr
    empty = tmp_path / "SF14.txt"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["check-anonymity", "--files", str(empty)])
    assert result.exit_code == 1
    assert "1 of 1 file could not be checked: SF14.txt is empty" in result.stderr


def test_no_project_is_an_error_except_with_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check-anonymity"])
    assert result.exit_code == 1
    assert "no qualcode project" in result.stderr
    text = tmp_path / "diary.txt"
    text.write_text("Visited three clients. Marcus was off sick.\n", encoding="utf-8")
    result = runner.invoke(app, ["check-anonymity", "--files", str(text), "--names", "heuristic", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "M•••••" in result.stdout


def test_command_is_listed_in_help():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "check-anonymity" in result.output


@pytest.mark.parametrize("content, message", [
    (b"", "holds no names"),
    (b"# real names to come\n\n", "holds no names"),
    (b"Marchetti\nCaf\xe9 Rouge\n", "is not UTF-8"),
])
def test_import_reads_the_identifiers_file_like_the_check(project, tmp_path, content, message):
    """import --identifiers and check-anonymity --identifiers share one reader: same files refused, same words."""
    names = tmp_path / "real-names.txt"
    names.write_bytes(content)
    transcript = tmp_path / "SF15.txt"
    transcript.write_text("SF15: I spoke to Marchetti about it.\n", encoding="utf-8")
    before = _database_bytes(project)
    result = runner.invoke(app, ["import", str(transcript), "--identifiers", str(names),
                                 "--project", str(project.root)])
    assert result.exit_code == 1
    assert message in result.stderr and "real-names.txt" in result.stderr
    assert "Marchetti" not in result.output and "Caf" not in result.output
    assert _database_bytes(project) == before
    checked = invoke(project, "--identifiers", str(names))
    assert checked.exit_code == 1 and message in checked.stderr


# -- places a researcher can find ------------------------------------------------------------------

def _docx(path, paragraphs):
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(path)
    return path


def test_imported_documents_are_placed_in_their_source_files(project, tmp_path):
    text_file = tmp_path / "SF4.txt"
    text_file.write_text("Interviewer  0:02\nHow was it?\n\nSF4  0:09\nFine. I\nrang Debbie at home.\n",
                         encoding="utf-8")
    word_file = _docx(tmp_path / "SF10.docx", ["Q: Hello.", "", "A: Hi.", "A: Ring 01632 960 418 any time."])
    imported = runner.invoke(app, ["import", str(text_file), str(word_file), "--project", str(project.root)])
    assert imported.exit_code == 0, imported.output
    # the import's own warnings use the same places
    assert "Warning: SF4.txt:6:6: person name D•••••" in imported.stderr
    assert "Warning: SF10.docx paragraph 3: phone number 0163• ••• •••" in imported.stderr
    result = invoke(project, "SF4", "SF10", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["where"], r["kind"], r["paragraph"], r["unit"], r["located"]) for r in rows] == [
        ("SF4.txt:6:6", "name", "", "SF4.txt#2", "source"),
        ("SF10.docx paragraph 3", "phone", "3", "SF10.docx#3", "source"),
    ]
    assert "Debbie" not in result.output and "960 418" not in result.output
    assert "as stored" not in result.stderr
    # once the source file is gone, the place is in the stored text, and the summary says so
    text_file.unlink()
    moved = invoke(project, "SF4")
    assert moved.exit_code == 0, moved.output
    assert "SF4.txt (as stored) line 3, column 19; unit SF4.txt#2" in moved.stdout
    assert "1 of the findings could not be placed in a source file" in moved.stderr


def test_import_strict_names_the_place_of_the_first_finding(project, tmp_path):
    word_file = _docx(tmp_path / "SF11.docx", ["Q: Hello.", "A: Ring 01632 960 418 any time."])
    result = runner.invoke(app, ["import", str(word_file), "--strict", "--project", str(project.root)])
    assert result.exit_code == 1
    assert "1 likely identifier(s), first at SF11.docx paragraph 2;" in result.output


def test_a_thank_you_in_welsh_is_not_a_name(project, tmp_path):
    transcript = tmp_path / "SF9.txt"
    transcript.write_text("Q: Anything else?\n\nA: No, I think that covers it. Diolch – thank you. [laughs]\n",
                          encoding="utf-8")
    result = runner.invoke(app, ["check-anonymity", "--files", str(transcript), "--names", "heuristic"])
    assert result.exit_code == 0, result.output
    assert "No likely identifiers found in 1 file." in result.stderr


def test_a_malformed_caption_file_does_not_stop_the_check(tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "SF12.txt").write_text("Interviewer: Hi\n\nSF12: Email me at ann@example.org.\n", encoding="utf-8")
    (folder / "TL9.vtt").write_text("WEBVTT\n\n00:00:01.000 --> 00:00:xx.000\nHi\n", encoding="utf-8")
    (folder / "TL8.srt").write_text("1\n00:00:01,000 --> 00:00:03,000\nTL8: Ring 07700 900 461.\n", encoding="utf-8")
    result = runner.invoke(app, ["check-anonymity", "--files", str(folder), "--names", "heuristic", "--format", "csv"])
    assert result.exit_code == 1, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(Path(r["where"]).name, r["kind"], r["status"]) for r in rows] == [
        ("SF12.txt:3:19", "email", "found"), ("TL8.srt cue 1 (line 3)", "phone", "found"),
        ("TL9.vtt", "", "failed")]
    assert rows[2]["message"] == ("TL9.vtt: line 3 (cue 1) has a malformed time '00:00:xx.000' (expected"
                                  " HH:MM:SS.mmm); correct it in a text editor and import again")
    assert "2 likely identifier(s) in 2 of 2 files" in result.stderr
    assert "Error: 1 of 3 files could not be checked: TL9.vtt: line 3 (cue 1) has a malformed time" in result.stderr
    # on screen: the findings, then the files not checked
    table = runner.invoke(app, ["check-anonymity", "--files", str(folder), "--names", "heuristic",
                                "--fail-on-findings"])
    assert table.exit_code == 1  # a failed file is an error, even with --fail-on-findings
    assert "Files not checked" in table.stdout and "TL9.vtt" in table.stdout and "failed" in table.stdout
    assert "ann@example.org" not in table.output
