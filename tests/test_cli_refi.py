"""qualcode export qdpx (and qualcode import qdpx, which hands .qdpx files to qualcode.refi)."""

from __future__ import annotations

import zipfile
from xml.etree import ElementTree as ET

from typer.testing import CliRunner

from qualcode import codings as codings_module
from qualcode import store
from qualcode.cli import app
from qualcode.project import Project

NS = "{urn:QDA-XML:project:1.0}"

runner = CliRunner()


def _code(project: Project) -> None:
    with project.transaction() as conn:
        codes = {r[0]: r[1] for r in conn.execute("SELECT key, code_id FROM codes")}
        document_id, text = conn.execute("SELECT document_id, text FROM documents WHERE name = 'SF2.txt'").fetchone()
        start = text.index("we cover for each other")
        rows = []
        for coder, code in (("anna", "sup.peer"), ("ben", "sup.peer"), ("ben", "work.toll")):
            rows.append({"coder_id": store.get_or_create_coder(conn, coder), "code_id": codes[code],
                         "document_id": document_id, "start": start, "end": start + 23, "origin": "manual"})
        codings_module.add_codings(conn, rows)


def _database_state(project: Project):
    conn = project.connect()
    return [conn.execute(f"SELECT * FROM {table}").fetchall() for table in ("codes", "coders", "codings", "documents")]


def test_export_qdpx_writes_the_project_and_reports_on_stderr(tiny_project, tmp_path):
    _code(tiny_project)
    out = tmp_path / "study.qdpx"
    result = runner.invoke(app, ["export", "qdpx", str(out), "--project", str(tiny_project.root)])
    assert result.exit_code == 0, result.output
    assert "3 documents, 6 codes" in result.stderr and result.stdout == ""
    root = ET.fromstring(zipfile.ZipFile(out).read("project.qde"))
    assert len(root.findall(f".//{NS}Coding")) == 3
    assert [u.get("name") for u in root.iter(f"{NS}User")] == ["anna", "ben"]


def test_export_qdpx_for_one_coder(tiny_project, tmp_path):
    _code(tiny_project)
    out = tmp_path / "anna.qdpx"
    result = runner.invoke(app, ["export", "qdpx", str(out), "--coder", "anna", "-p", str(tiny_project.root)])
    assert result.exit_code == 0, result.output
    assert "1 coding in 1 selection by anna." in " ".join(result.stderr.split())
    root = ET.fromstring(zipfile.ZipFile(out).read("project.qde"))
    anna = tiny_project.connect().execute("SELECT guid FROM coders WHERE name = 'anna'").fetchone()[0]
    assert [c.get("creatingUser") for c in root.iter(f"{NS}Coding")] == [anna]
    assert "ben" not in {u.get("name") for u in root.iter(f"{NS}User")}


def test_export_qdpx_unknown_coder_is_an_error_and_changes_nothing(tiny_project, tmp_path):
    _code(tiny_project)
    before = _database_state(tiny_project)
    out = tmp_path / "zoe.qdpx"
    result = runner.invoke(app, ["export", "qdpx", str(out), "--coder", "zoe", "-p", str(tiny_project.root)])
    assert result.exit_code == 1
    assert "no coder named 'zoe'" in result.stderr and "known coders: anna, ben" in result.stderr
    assert not out.exists()
    assert _database_state(tiny_project) == before


def test_export_qdpx_refuses_to_overwrite_without_force(tiny_project, tmp_path):
    out = tmp_path / "study.qdpx"
    out.write_bytes(b"an older export")
    result = runner.invoke(app, ["export", "qdpx", str(out), "-p", str(tiny_project.root)])
    assert result.exit_code == 1 and "--force" in result.stderr
    assert out.read_bytes() == b"an older export"
    result = runner.invoke(app, ["export", "qdpx", str(out), "--force", "-p", str(tiny_project.root)])
    assert result.exit_code == 0 and zipfile.is_zipfile(out)


def test_export_qdpx_wants_the_qdpx_suffix(tiny_project, tmp_path):
    result = runner.invoke(app, ["export", "qdpx", str(tmp_path / "study.zip"), "-p", str(tiny_project.root)])
    assert result.exit_code == 1 and "should end in .qdpx" in result.stderr


def test_exported_project_imports_through_the_import_command(tiny_project, tmp_path):
    _code(tiny_project)
    out = tmp_path / "study.qdpx"
    assert runner.invoke(app, ["export", "qdpx", str(out), "-p", str(tiny_project.root)]).exit_code == 0
    fresh = Project.create(tmp_path / "fresh", name="fresh")
    fresh.close()
    result = runner.invoke(app, ["import", "qdpx", str(out), "--project", str(tmp_path / "fresh")])
    assert result.exit_code == 0, result.output
    assert "3 imported" in result.stderr
    with Project.find(tmp_path / "fresh") as reopened:
        rows = codings_module.load_codings(reopened.connect())
        assert sorted((c.coder, c.code_key) for c in rows) == [("anna", "sup.peer"), ("ben", "sup.peer"),
                                                                ("ben", "work.toll")]


def test_import_of_a_malicious_qdpx_is_refused_and_changes_nothing(tiny_project, tmp_path):
    evil = tmp_path / "evil.qdpx"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("project.qde", '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                                        '<Project xmlns="urn:QDA-XML:project:1.0" name="&x;"/>')
    before = _database_state(tiny_project)
    result = runner.invoke(app, ["import", "qdpx", str(evil), "-p", str(tiny_project.root)])
    assert result.exit_code == 1 and "declares a DTD or entities" in result.stderr
    assert _database_state(tiny_project) == before
