"""qualcode counts / matrix / fill / chart through the command line."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from qualcode.cli import app
from tests.conftest import code_phrase

runner = CliRunner()


@pytest.fixture
def coded(tiny_project):
    with tiny_project.transaction() as conn:
        code_phrase(conn, "alice", "work.caseload", "SF1.txt", "forty people")
        code_phrase(conn, "alice", "work.toll", "SF1.txt", "I take it home")
        code_phrase(conn, "alice", "work.caseload", "TL1.txt", "Caseloads are the big one")
        code_phrase(conn, "alice", "sup.peer", "SF2.txt", "we cover for each other")
        # in respondents.csv but never interviewed: left out of the denominator
        conn.execute("INSERT INTO respondents (respondent_id, created_at) VALUES ('SF12', 'now')")
    return tiny_project


def invoke(project, *args):
    return runner.invoke(app, [*args, "--project", str(project.root)], env={"COLUMNS": "200"})


def dump(project) -> str:
    return "\n".join(project.connect().iterdump())


def test_counts_table_with_notice_on_stderr(coded):
    result = invoke(coded, "counts")
    assert result.exit_code == 0, result.output
    assert "work.caseload" in result.stdout and "[SF1; TL1]" in result.stdout
    assert "N = 3 respondents with text" in result.stdout
    assert "Note: left out of the denominator (no respondent text): SF12" in result.stderr
    assert "SF12" not in result.stdout


def test_counts_csv_and_json_are_clean_data(coded):
    result = invoke(coded, "counts", "--format", "csv", "--level", "theme", "--by", "role")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["key"] for r in rows] == ["work", "support"]
    assert rows[0]["n"] == "2" and rows[0]["ids"] == "[SF1; TL1]"
    assert rows[0]["n (Support worker)"] == "1" and rows[0]["pct (not recorded)"] == "100.0"
    data = json.loads(invoke(coded, "counts", "-f", "json").stdout)
    assert {d["key"]: d["n"] for d in data}["work"] == 2


def test_counts_to_files(coded, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "counts.xlsx"
    result = invoke(coded, "counts", "--out", str(out))
    assert result.exit_code == 0, result.output
    sheet = load_workbook(out)["Counts"]
    header = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["work"]["n"] == 2 and rows["work.toll"]["ids"] == "[SF1]"
    again = invoke(coded, "counts", "--out", str(out))
    assert again.exit_code == 1 and "already exists" in again.stderr and "--force" in again.stderr
    assert invoke(coded, "counts", "--out", str(out), "--force").exit_code == 0


def test_theme_table_to_docx_and_tex(coded, tmp_path):
    import docx

    out = tmp_path / "themes.docx"
    result = invoke(coded, "counts", "--table", "--out", str(out))
    assert result.exit_code == 0, result.output
    table = docx.Document(str(out)).tables[0]
    assert [c.text for c in table.rows[0].cells] == ["Theme", "Subtheme", "n (%)", "Description", "Respondents"]
    assert [c.text for c in table.rows[1].cells][:3] == ["Workload and capacity", "", "2 (67%)"]
    tex = tmp_path / "themes.tex"
    assert invoke(coded, "counts", "--table", "--level", "theme", "--out", str(tex)).exit_code == 0
    assert r"\toprule" in tex.read_text() and "Support for staff" in tex.read_text()
    md = invoke(coded, "counts", "--table", "--format", "md")
    assert "| **Workload and capacity** |" in md.stdout


@pytest.mark.parametrize("args, message", [
    (["counts", "--format", "docx"], "--format docx writes a file; add --out"),
    (["counts", "--format", "tex", "--out", "x.tex"], "cannot write '.tex' here"),
    (["counts", "--format", "csv", "--out", "x.md"], "--format csv does not match --out x.md"),
    (["counts", "--by", "gender"], "no respondent attribute 'gender'"),
    (["counts", "--coder", "carol"], "no coder named 'carol'"),
    (["counts", "--level", "category"], "unknown level 'category'"),
    (["matrix", "--out", "m.xlsx", "--cells", "colour"], "unknown cell type 'colour'"),
    (["matrix", "--out", "m.docx"], "use .xlsx or .csv"),
    (["chart", "cooccurrence", "--out", "c.png", "--by", "documents"], "choose respondents or units"),
    (["chart", "themes", "--out", "c.gif"], "use .png, .svg or .pdf"),
])
def test_bad_input_message_exit_1_database_unchanged(coded, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    before = dump(coded)
    result = invoke(coded, *args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert dump(coded) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny"]  # nothing written


def test_several_coders_without_consensus_asks_for_coder(coded):
    with coded.transaction() as conn:
        code_phrase(conn, "bob", "work.toll", "TL1.txt", "people burn out")
    result = invoke(coded, "counts")
    assert result.exit_code == 1
    assert "several coders have codings (alice, bob)" in result.stderr and "--coder NAME" in result.stderr
    picked = invoke(coded, "counts", "--coder", "bob", "-f", "csv")
    assert picked.exit_code == 0
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(picked.stdout))}
    assert rows["work.toll"]["ids"] == "[TL1]" and rows["work.caseload"]["n"] == "0"


def test_matrix_xlsx_and_csv(coded, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "matrix.xlsx"
    result = invoke(coded, "matrix", "--cells", "text", "--by", "role", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Wrote a 3-respondent matrix" in result.stderr
    workbook = load_workbook(out)
    assert workbook.sheetnames == ["Workload and capacity", "Support for staff"]
    rows = list(workbook["Workload and capacity"].iter_rows(values_only=True))
    assert rows[0][:2] == ("respondent", "role")
    assert rows[1][0] == "SF1" and rows[1][3] == "forty people"
    flat = tmp_path / "matrix.csv"
    assert invoke(coded, "matrix", "--cells", "presence", "--out", str(flat)).exit_code == 0
    table = list(csv.DictReader(flat.open(encoding="utf-8")))
    assert [r["Support for staff > Peer support [sup.peer]"] for r in table] == ["0", "1", "0"]


def test_fill_and_check(coded, tmp_path):
    manuscript = tmp_path / "results.md"
    manuscript.write_text("Caseload {{n:work.caseload}} {{ids:work.caseload}}, {{pct:work|role=Support worker}}.\n",
                          encoding="utf-8")
    out = tmp_path / "filled.md"
    result = invoke(coded, "fill", str(manuscript), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == "Caseload (2) [SF1; TL1], 50%.\n"
    assert "Filled 3 placeholder(s) from coder 'alice'" in result.stderr
    checked = invoke(coded, "fill", str(manuscript), "--check")
    assert checked.exit_code == 0 and "3 placeholder(s), all valid" in checked.stderr


def test_fill_problems_exit_1_and_write_nothing(coded, tmp_path):
    manuscript = tmp_path / "results.md"
    manuscript.write_text("Intro.\n{{n:work.unknown}} and {{n:work|role=Boss}}\n", encoding="utf-8")
    out = tmp_path / "filled.md"
    result = invoke(coded, "fill", str(manuscript), "--out", str(out))
    assert result.exit_code == 1
    assert "line 2: no code 'work.unknown'" in result.stderr and "no respondent has role=Boss" in result.stderr
    assert not out.exists()
    checked = invoke(coded, "fill", str(manuscript), "--check")
    assert checked.exit_code == 1
    assert "results.md, line 2: no code 'work.unknown'" in checked.stderr
    assert "2 placeholder problem(s) found" in checked.stderr
    missing_out = invoke(coded, "fill", str(manuscript))
    assert missing_out.exit_code == 1 and "--out FILE" in missing_out.stderr


def test_charts(coded, tmp_path):
    png = tmp_path / "themes.png"
    result = invoke(coded, "chart", "themes", "--by", "role", "--out", str(png))
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "co.svg"
    assert invoke(coded, "chart", "cooccurrence", "--by", "units", "--out", str(svg)).exit_code == 0
    assert b"<svg" in svg.read_bytes()[:500]
