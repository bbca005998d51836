"""qualcode doctor: each kind of damage found with where it is, --fix mending only what loses nothing."""

import csv
import io
import sqlite3

from tests.conftest import code_phrase, run_cli, table_rows

from qualcode.project import Project


def damage(project_dir):
    """Break the tiny project the ways a crash, a bug or a hand edit could (foreign keys off, as sqlite3 does)."""
    with Project.find(project_dir) as project, project.transaction() as conn:
        code_phrase(conn, "B", "work.toll", "SF1.txt", "Some nights I don't sleep")
    raw = sqlite3.connect(project_dir / "qualcode.db", isolation_level=None)
    coding_id, = raw.execute("SELECT coding_id FROM codings").fetchone()
    coder_id, = raw.execute("SELECT coder_id FROM coders WHERE name = 'B'").fetchone()
    raw.execute("INSERT INTO memos (coder_id, coding_id, text, created_at, updated_at)"
                " VALUES (?, 9999, 'about a coding that is gone', 'x', 'x')", (coder_id,))
    raw.execute("UPDATE codings SET codebook_version_id = 777 WHERE coding_id = ?", (coding_id,))
    raw.execute("DELETE FROM units WHERE document_id = 2")
    # text inserted by hand after the first speaker label: the units after it no longer fit their words
    raw.execute("UPDATE documents SET text = substr(text, 1, 12) || '   ' || substr(text, 13) WHERE document_id = 3")
    raw.execute("INSERT INTO codings (coder_id, code_id, document_id, start, end, origin, created_at)"
                " SELECT coder_id, code_id, 1, 5, 10000000, 'manual', 'x' FROM codings LIMIT 1")
    raw.close()
    return coding_id


def rows_of(result) -> dict[str, dict]:
    return {row["check"]: row for row in csv.DictReader(io.StringIO(result.stdout))}


def test_a_sound_project_passes_every_check(tiny_project_dir):
    result = run_cli("doctor", "--project", tiny_project_dir, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = rows_of(result)
    assert len(rows) >= 10 and {r["status"] for r in rows.values()} == {"ok"}
    assert "Every check passed" in result.stderr


def test_damage_is_found_with_where_it_is_and_no_transcript_text(tiny_project_dir):
    coding_id = damage(tiny_project_dir)
    result = run_cli("doctor", "--project", tiny_project_dir, "--format", "csv")
    assert result.exit_code == 1
    rows = rows_of(result)
    assert rows["memo on nothing"]["problems"] == "1"
    assert rows["missing codebook version"]["where"] == f"coding {coding_id} (version 777)"
    assert rows["document without units"]["where"] == "document 2 (SF2.txt)"
    assert "at 5–10000000" in rows["coding outside its document"]["where"]
    assert rows["database integrity"]["status"] == "ok"
    assert all(r["mend"] for r in rows.values() if r["status"] == "problem")
    assert "Some nights" not in result.output  # no transcript text
    assert "about a coding that is gone" not in result.output  # nor a memo's
    assert rows["references"]["status"] == "problem"  # SQLite's foreign-key check agrees
    assert rows["unit off its text"]["where"].startswith("unit ") and "TL1.txt" in rows["unit off its text"]["where"]
    assert "6 check(s) found problems" in result.stderr


def test_fix_mends_only_what_loses_nothing(tiny_project_dir):
    coding_id = damage(tiny_project_dir)
    before = table_rows(tiny_project_dir, ["codings", "documents", "units", "codes", "decisions"])
    result = run_cli("doctor", "--fix", "--project", tiny_project_dir, "--format", "csv")
    assert result.exit_code == 1  # what --fix may not mend is still reported
    rows = rows_of(result)
    assert rows["memo on nothing"]["status"] == "fixed" and rows["memo on nothing"]["fixed"] == "1"
    assert rows["missing codebook version"]["status"] == "fixed"
    assert rows["document without units"]["status"] == "problem"
    assert rows["coding outside its document"]["status"] == "problem"
    after = table_rows(tiny_project_dir, ["codings", "documents", "units", "codes", "decisions"])
    assert len(after["codings"]) == len(before["codings"])  # no coding removed
    assert after["documents"] == before["documents"] and after["units"] == before["units"]
    with Project.find(tiny_project_dir) as project:
        conn = project.connect()
        assert conn.execute("SELECT count(*) FROM memos").fetchone()[0] == 0
        assert conn.execute("SELECT codebook_version_id FROM codings WHERE coding_id = ?",
                            (coding_id,)).fetchone()[0] is None
    again = run_cli("doctor", "--fix", "--project", tiny_project_dir, "--format", "csv")
    assert rows_of(again)["memo on nothing"]["status"] == "ok"  # nothing left to mend: idempotent


def test_a_missing_current_codebook_version_is_found(tiny_project_dir):
    raw = sqlite3.connect(tiny_project_dir / "qualcode.db", isolation_level=None)
    raw.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('codebook_version', '4242')")
    raw.close()
    result = run_cli("doctor", "--project", tiny_project_dir, "--format", "json")
    assert result.exit_code == 1
    assert "the current version 4242" in result.stdout


def test_bad_input_is_one_clear_line_and_changes_nothing(tmp_path, tiny_project_dir):
    from qualcode.doctor import check_project

    nowhere = run_cli("doctor", "--project", tmp_path / "no-such-project")
    assert nowhere.exit_code == 1 and "Traceback" not in nowhere.output
    wrong_format = run_cli("doctor", "--format", "xml", "--project", tiny_project_dir)
    assert wrong_format.exit_code == 1 and "unknown format 'xml'" in wrong_format.output
    with Project.find(tiny_project_dir) as project:  # the library agrees the project is sound and untouched
        assert all(check.ok for check in check_project(project.connect()))
    broken = tmp_path / "broken"
    assert run_cli("init", broken).exit_code == 0
    garbage = bytes(range(256)) * 16
    (broken / "qualcode.db").write_bytes(garbage)
    result = run_cli("doctor", "--fix", "--project", broken)
    assert result.exit_code == 1 and "is not a usable qualcode database" in result.output
    assert "Traceback" not in result.output
    assert (broken / "qualcode.db").read_bytes() == garbage
