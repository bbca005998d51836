"""qualcode sheet export / import / sample through the command line."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from qualcode import sheets
from qualcode.cli import app
from qualcode.codings import load_codings
from qualcode.project import Project

runner = CliRunner()


def invoke(project, *args):
    return runner.invoke(app, [*args, "--project", str(project.root)], env={"COLUMNS": "200"})


def dump(project) -> str:
    return "\n".join(project.connect().iterdump())


def mark(path, cells):
    workbook = load_workbook(path)
    sheet = workbook["Coding"]
    for cell, value in cells.items():
        sheet[cell].value = value
    workbook.save(path)


def test_export_fill_import(tiny_project, tmp_path):
    out = tmp_path / "a.xlsx"
    result = invoke(tiny_project, "sheet", "export", "--coder", "A", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "6 paragraphs × 4 codes for coder 'A'" in result.stderr
    assert result.stdout == ""
    mark(out, {"F3": "x", "G4": 1})  # SF1.txt#2 caseload, SF1.txt#4 toll
    result = invoke(tiny_project, "sheet", "import", str(out), "--coder", "A")
    assert result.exit_code == 0, result.output
    assert "2 marks — 2 added, 0 removed, 0 kept" in result.stderr
    codings = load_codings(tiny_project.connect(), coders=["A"])
    assert [(c.document, c.code_key, c.origin) for c in codings] == [
        ("SF1.txt", "work.caseload", "sheet"), ("SF1.txt", "work.toll", "sheet")]
    mark(out, {"F3": None})
    result = invoke(tiny_project, "sheet", "import", str(out), "--coder", "A")
    assert "1 marks — 0 added, 1 removed, 1 kept" in result.stderr


def test_export_sample_and_list_it(tiny_project, tmp_path):
    out = tmp_path / "b.xlsx"
    result = invoke(tiny_project, "sheet", "export", "--coder", "B", "--sample", "0.5", "--seed", "7",
                    "--by", "respondent", "--out", str(out))
    assert result.exit_code == 0, result.output
    expected = sheets.draw_sample(sheets.load_sheet_units(tiny_project.connect()), 0.5, 7)
    assert f"with seed 7 → {', '.join(expected)}" in result.stderr
    listing = invoke(tiny_project, "sheet", "sample", "--coder", "B", "--format", "csv")
    assert listing.exit_code == 0, listing.output
    lines = listing.stdout.splitlines()
    assert lines[0] == "coder,respondent,document,units,sample"
    assert [line.split(",")[1] for line in lines[1:]] == expected
    assert all(line.endswith("0.5 by respondent (seed 7)") for line in lines[1:])


def test_export_options_narrow_the_sheet(tiny_project, tmp_path):
    out = tmp_path / "a.xlsx"
    result = invoke(tiny_project, "sheet", "export", "-c", "A", "--codebook", "work", "--documents", "TL1",
                    "--out", str(out))
    assert result.exit_code == 0, result.output
    sheet = load_workbook(out)["Coding"]
    assert [c.value for c in sheet[2]][5:7] == ["Caseload pressure", "Emotional toll"]
    assert [sheet.cell(r, 3).value for r in range(3, sheet.max_row + 1)] == ["TL1.txt#2", "TL1.txt#3"]


def test_export_refuses_overwrite_without_force(tiny_project, tmp_path):
    out = tmp_path / "a.xlsx"
    out.write_bytes(b"keep me")
    before = dump(tiny_project)
    result = invoke(tiny_project, "sheet", "export", "--coder", "A", "--out", str(out))
    assert result.exit_code == 1
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert out.read_bytes() == b"keep me"
    assert dump(tiny_project) == before
    assert invoke(tiny_project, "sheet", "export", "--coder", "A", "--out", str(out), "--force").exit_code == 0


def test_seed_without_sample_is_an_error(tiny_project, tmp_path):
    result = invoke(tiny_project, "sheet", "export", "--coder", "A", "--seed", "3", "--out", str(tmp_path / "a.xlsx"))
    assert result.exit_code == 1 and "--seed only makes sense with --sample" in result.stderr


@pytest.mark.parametrize("change, message", [
    ({"F3": "yes "}, 'Coding!F3: "yes " is not 1 or x'),
    ({"F3": "=1+0"}, 'Coding!F3: holds a formula ("=1+0"); type 1 or x instead'),
    ({"E4": "edited"}, "Coding!E4: the text of unit SF1.txt#4 was edited"),
    ({"G2": "Stress"}, "Coding!G2: the column for code 'work.toll' was renamed"),
])
def test_bad_sheet_exit_1_names_the_cell_and_changes_nothing(tiny_project, tmp_path, change, message):
    out = tmp_path / "a.xlsx"
    invoke(tiny_project, "sheet", "export", "--coder", "A", "--out", str(out))
    mark(out, change)
    before = dump(tiny_project)
    result = invoke(tiny_project, "sheet", "import", str(out), "--coder", "A")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert dump(tiny_project) == before


def test_wrong_coder_and_force_coder(tiny_project, tmp_path):
    out = tmp_path / "a.xlsx"
    invoke(tiny_project, "sheet", "export", "--coder", "A", "--out", str(out))
    mark(out, {"H6": "x"})
    before = dump(tiny_project)
    result = invoke(tiny_project, "sheet", "import", str(out), "--coder", "B")
    assert result.exit_code == 1
    assert "was exported for coder 'A', not 'B'" in result.stderr
    assert dump(tiny_project) == before
    result = invoke(tiny_project, "sheet", "import", str(out), "--coder", "B", "--force-coder")
    assert result.exit_code == 0, result.output
    assert "exported for 'A' and imported as 'B'" in result.stderr
    assert [c.code_key for c in load_codings(tiny_project.connect(), coders=["B"])] == ["sup.supervision"]


@pytest.mark.parametrize("name, fix", [("a.xls", "save it as an Excel Workbook (.xlsx)"),
                                       ("a.ods", "'Excel 2007-365 (.xlsx)'"),
                                       ("a.csv", "save the coding sheet as an Excel Workbook (.xlsx)")])
def test_other_formats_say_how_to_fix(tiny_project, tmp_path, name, fix):
    path = tmp_path / name
    path.write_bytes(b"whatever")
    before = dump(tiny_project)
    result = invoke(tiny_project, "sheet", "import", str(path), "--coder", "A")
    assert result.exit_code == 1
    assert fix in result.stderr.replace("\n", " ")
    assert dump(tiny_project) == before


def test_help_has_examples():
    for command in ("export", "import", "sample"):
        result = runner.invoke(app, ["sheet", command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0
        assert "Example:" in result.output and f"qualcode sheet {command}" in result.output


def _assigned(project, coder):
    from qualcode.units import coder_scope

    return coder_scope(project.connect(), coder)[0]


def test_second_sample_export_is_refused_and_same_draw_is_a_reexport(tiny_project, tmp_path):
    first = invoke(tiny_project, "sheet", "export", "--coder", "C", "--sample", "0.5", "--out", str(tmp_path / "c4.xlsx"))
    assert first.exit_code == 0, first.output
    conn = tiny_project.connect()
    coder_id = conn.execute("SELECT coder_id FROM coders WHERE name = 'C'").fetchone()[0]
    recorded = sheets.current_sample(conn, coder_id)
    assert f"--seed {recorded['seed']} reproduces it" in first.stderr
    scope = _assigned(tiny_project, "C")
    before = dump(tiny_project)
    refused = invoke(tiny_project, "sheet", "export", "--coder", "C", "--sample", "0.5", "--seed",
                     str(recorded["seed"] + 1), "--out", str(tmp_path / "c5.xlsx"))
    assert refused.exit_code == 1
    assert "already has a double-coding sample" in refused.stderr and "--new-sample" in refused.stderr
    assert dump(tiny_project) == before and not (tmp_path / "c5.xlsx").exists()
    # without --seed: the recorded draw again, no second sample
    again = invoke(tiny_project, "sheet", "export", "--coder", "C", "--sample", "0.5", "--out", str(tmp_path / "c5.xlsx"))
    assert again.exit_code == 0, again.output
    assert f"the recorded sample {recorded['sample_id']}" in again.stderr
    assert _assigned(tiny_project, "C") == scope
    assert conn.execute("SELECT COUNT(*) FROM samples WHERE coder_id = ?", (coder_id,)).fetchone()[0] == 1
    explicit = invoke(tiny_project, "sheet", "export", "--coder", "C", "--sample", "0.5", "--seed", str(recorded["seed"]),
                      "--out", str(tmp_path / "c6.xlsx"))
    assert explicit.exit_code == 0, explicit.output
    assert _assigned(tiny_project, "C") == scope


def test_new_sample_replaces_the_assignments(tiny_project, tmp_path):
    units = sheets.load_sheet_units(tiny_project.connect())
    # two seeds that draw different respondents
    seeds = [s for s in range(50) if sheets.draw_sample(units, 0.5, s) != sheets.draw_sample(units, 0.5, 0)]
    assert invoke(tiny_project, "sheet", "export", "--coder", "C", "--sample", "0.5", "--seed", "0",
                  "--out", str(tmp_path / "c4.xlsx")).exit_code == 0
    result = invoke(tiny_project, "sheet", "export", "--coder", "C", "--sample", "0.5", "--seed", str(seeds[0]),
                    "--new-sample", "--out", str(tmp_path / "c5.xlsx"))
    assert result.exit_code == 0, result.output
    assert "Replaced the coder's earlier sample" in result.stderr
    drawn = set(sheets.draw_sample(units, 0.5, seeds[0]))
    expected = {u.unit_id for u in units if u.respondent_id in drawn}
    assert _assigned(tiny_project, "C") == expected
    listing = invoke(tiny_project, "sheet", "sample", "--coder", "C", "--format", "csv")
    assert {line.split(",")[1] for line in listing.stdout.splitlines()[1:]} == drawn


def test_new_sample_without_sample_is_an_error(tiny_project, tmp_path):
    before = dump(tiny_project)
    result = invoke(tiny_project, "sheet", "export", "--coder", "C", "--new-sample", "--out", str(tmp_path / "c.xlsx"))
    assert result.exit_code == 1 and "--new-sample only makes sense with --sample" in result.stderr
    assert dump(tiny_project) == before


def test_import_makes_the_returned_sample_the_coders_scope(tiny_project, tmp_path):
    """Two sampled sheets handed out (e.g. by an older version), only the second comes back:
    the first sheet's paragraphs do not count as compared."""
    from qualcode.units import compared_paragraphs

    units = sheets.load_sheet_units(tiny_project.connect())
    other = next(s for s in range(50) if sheets.draw_sample(units, 0.5, s) != sheets.draw_sample(units, 0.5, 0))
    assert invoke(tiny_project, "sheet", "export", "--coder", "A", "--out", str(tmp_path / "a.xlsx")).exit_code == 0
    assert invoke(tiny_project, "sheet", "import", str(tmp_path / "a.xlsx"), "--coder", "A").exit_code == 0
    assert invoke(tiny_project, "sheet", "export", "--coder", "C", "--sample", "0.5", "--seed", "0",
                  "--out", str(tmp_path / "c4.xlsx")).exit_code == 0
    assert invoke(tiny_project, "sheet", "export", "--coder", "C", "--sample", "0.5", "--seed", str(other),
                  "--new-sample", "--out", str(tmp_path / "c5.xlsx")).exit_code == 0
    # the superseded sheet c4 comes back after all: its sample becomes C's sample
    result = invoke(tiny_project, "sheet", "import", str(tmp_path / "c4.xlsx"), "--coder", "C")
    assert result.exit_code == 0, result.output
    assert "no longer count as assigned" in result.stderr
    drawn = set(sheets.draw_sample(units, 0.5, 0))
    expected = {u.unit_id for u in units if u.respondent_id in drawn}
    assert _assigned(tiny_project, "C") == expected
    assert compared_paragraphs(tiny_project.connect(), "A", "C").unit_ids == expected


def test_a_workbook_with_broken_xml_inside_is_refused_in_one_line(tiny_project_dir, tmp_path):
    """Found by the fuzzer: an empty [Content_Types].xml made openpyxl raise lxml's XMLSyntaxError."""
    import io
    import zipfile

    from tests.conftest import run_cli, table_rows

    sheet = tmp_path / "sheet_B.xlsx"
    assert run_cli("sheet", "export", "--coder", "B", "--out", sheet, "--project", tiny_project_dir).exit_code == 0
    broken = tmp_path / "broken.xlsx"
    source = zipfile.ZipFile(sheet)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as rebuilt:
        for name in source.namelist():
            rebuilt.writestr(name, b"" if name == "[Content_Types].xml" else source.read(name))
    broken.write_bytes(out.getvalue())
    with Project.find(tiny_project_dir) as project:  # reconcile needs a coder A beside B
        conn = project.connect()
        from qualcode import store
        store.get_or_create_coder(conn, "A")
        conn.commit()
    before = table_rows(tiny_project_dir, ["codings", "assignments"])
    for command in (["sheet", "import", broken, "--coder", "B"], ["codebook", "import", broken],
                    ["reconcile", "A", "B", "--apply-sheet", broken]):
        result = run_cli(*command, "--project", tiny_project_dir)
        assert result.exit_code == 1, (command, result.output)
        assert "not a readable Excel workbook" in result.output and "Traceback" not in result.output
    assert table_rows(tiny_project_dir, ["codings", "assignments"]) == before
