"""qualcode codings import / export through the command line."""

from __future__ import annotations

from typer.testing import CliRunner

from qualcode.cli import app
from qualcode.codings import load_codings
from qualcode.units import load_units

runner = CliRunner()


def invoke(project, *args):
    return runner.invoke(app, ["codings", *args, "--project", str(project.root)], env={"COLUMNS": "200"})


def dump(project) -> str:
    return "\n".join(project.connect().iterdump())


def test_import_units_then_export_both_formats(tiny_project, tmp_path):
    source = tmp_path / "from_r.csv"
    source.write_text("coder,unit,code\nR,SF1.txt#4,work.toll\nR,TL1.txt#3,work.toll\nS,SF2.txt#2,sup.peer\n")
    result = invoke(tiny_project, "import", str(source))
    assert result.exit_code == 0, result.output
    assert "(units layout): 3 rows, 3 codings added, 0 already present; coders: R, S (new: R, S)" in result.stderr
    codings = load_codings(tiny_project.connect())
    assert {(c.coder, c.code_key, c.origin) for c in codings} == {
        ("R", "work.toll", "import"), ("S", "sup.peer", "import")}

    exported = invoke(tiny_project, "export", "--layout", "units", "--coder", "R")
    assert exported.exit_code == 0, exported.output
    assert exported.stdout == "coder,unit,code\nR,SF1.txt#4,work.toll\nR,TL1.txt#3,work.toll\n"

    spans = invoke(tiny_project, "export", "--layout", "spans")
    paragraphs = {u.key: u for u in load_units(tiny_project.connect(), "paragraph")}
    unit = paragraphs["SF2.txt#2"]
    assert f"S,SF2.txt,{unit.start},{unit.end},sup.peer," in spans.stdout.splitlines()

    out = tmp_path / "all.csv"
    written = invoke(tiny_project, "export", "--layout", "spans", "--out", str(out))
    assert written.exit_code == 0 and written.stdout == ""
    assert out.read_text() == spans.stdout
    again = invoke(tiny_project, "export", "--out", str(out))
    assert again.exit_code == 1 and "--force" in again.stderr


def test_import_spans_with_explicit_format_and_reimport(tiny_project, tmp_path):
    source = tmp_path / "spans.csv"
    source.write_text("code,coder,document,start,end\nwork.caseload,A,SF1.txt,60,80\n")  # any column order
    assert invoke(tiny_project, "import", str(source), "--layout", "spans").exit_code == 0
    result = invoke(tiny_project, "import", str(source))
    assert result.exit_code == 0
    assert "0 codings added, 1 already present" in result.stderr
    [coding] = load_codings(tiny_project.connect())
    assert (coding.document, coding.start, coding.end, coding.code_key) == ("SF1.txt", 60, 80, "work.caseload")


def test_bad_rows_exit_1_name_the_line_and_change_nothing(tiny_project, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text("coder,document,start,end,code\nA,SF1.txt,0,10,work.toll\nA,SF1.txt,0,100000,work.toll\n"
                      "A,SF9.txt,0,10,work.toll\nA,SF1.txt,0,10,nonsense\n")
    before = dump(tiny_project)
    result = invoke(tiny_project, "import", str(source))
    assert result.exit_code == 1
    message = result.stderr.replace("\n", " ")
    assert message.startswith("Error: bad.csv: 3 problems, nothing was imported")
    assert "line 3: span 0–100000 does not lie inside SF1.txt" in message
    assert "line 4: unknown document 'SF9.txt'" in message
    assert "line 5: unknown code 'nonsense'" in message
    assert dump(tiny_project) == before


def test_unknown_format_and_coder(tiny_project, tmp_path):
    result = invoke(tiny_project, "export", "--layout", "refi")
    assert result.exit_code == 1 and "unknown layout 'refi'" in result.stderr
    result = invoke(tiny_project, "export", "--coder", "nobody")
    assert result.exit_code == 1 and "no coder named 'nobody'" in result.stderr
    source = tmp_path / "c.csv"
    source.write_text("coder,unit,code\nA,SF1.txt#2,work.toll\n")
    result = invoke(tiny_project, "import", str(source), "--layout", "spans")
    assert result.exit_code == 1 and "the header must name the columns coder,document,start,end,code" in result.stderr


def test_help_has_examples():
    for command in ("import", "export"):
        result = runner.invoke(app, ["codings", command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0
        assert "Example:" in result.output and f"qualcode codings {command}" in result.output


def test_deprecated_format_still_selects_the_layout(tiny_project, tmp_path):
    source = tmp_path / "from_r.csv"
    source.write_text("coder,unit,code\nR,SF1.txt#4,work.toll\n")
    assert invoke(tiny_project, "import", str(source), "--format", "units").exit_code == 0
    old = invoke(tiny_project, "export", "--format", "units")
    assert old.exit_code == 0, old.output
    assert old.stdout == invoke(tiny_project, "export", "--layout", "units").stdout == "coder,unit,code\nR,SF1.txt#4,work.toll\n"
    assert "--format units is deprecated here; use --layout units" in old.stderr
    help_text = runner.invoke(app, ["codings", "export", "--help"], env={"COLUMNS": "200"}).output
    assert "--layout" in help_text and "--format" not in help_text


def test_format_and_layout_that_disagree_are_refused(tiny_project, tmp_path):
    source = tmp_path / "from_r.csv"
    source.write_text("coder,unit,code\nR,SF1.txt#4,work.toll\n")
    before = dump(tiny_project)
    result = invoke(tiny_project, "import", str(source), "--format", "spans", "--layout", "units")
    assert result.exit_code == 1 and "disagree; give --layout only" in result.stderr
    assert dump(tiny_project) == before
