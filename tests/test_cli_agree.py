"""qualcode agree through the command line (CliRunner on the tiny project)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from qualcode.agreement import compute_agreement, kappa_2x2
from qualcode.cli import app
from qualcode.cli.agree import EXIT_BELOW_THRESHOLD
from tests.conftest import add_coded_spans, respondent_paragraph_spans

runner = CliRunner()


@pytest.fixture
def coded(tiny_project):
    """alice and bob code the six respondent paragraphs; work.toll has κ 0.57, the rest agree fully."""
    with tiny_project.transaction() as conn:
        paragraphs = respondent_paragraph_spans(conn)
        add_coded_spans(conn, [(coder, key, paragraphs[index]) for coder, key, index in [
            ("alice", "work.caseload", 0), ("bob", "work.caseload", 0), ("alice", "work.toll", 1),
            ("bob", "work.toll", 1), ("bob", "work.toll", 5), ("alice", "sup.supervision", 3),
            ("bob", "sup.supervision", 3), ("alice", "sup.peer", 2), ("bob", "sup.peer", 2),
            ("alice", "work.caseload", 4), ("bob", "work.caseload", 4),
        ]])
    return tiny_project


def _dump(project) -> str:
    return "\n".join(project.connect().iterdump())


def _invoke(project, *args):
    # a wide terminal so rich does not fold the table cells the assertions look for
    return runner.invoke(app, ["agree", *args, "--project", str(project.root)], env={"COLUMNS": "200"})


def test_table_output(coded):
    result = _invoke(coded, "alice", "bob")
    assert result.exit_code == 0, result.output
    assert "work.toll" in result.stdout and "almost perfect" in result.stdout
    assert "theme: work" in result.stdout and "pooled (sum)" in result.stdout
    assert "Compared 6 paragraph unit(s) in 3 document(s)" in result.stderr
    assert "κ below 0.6: work.toll" in result.stderr


def test_csv_output_values(coded):
    result = _invoke(coded, "alice", "bob", "--format", "csv")
    assert result.exit_code == 0, result.output
    import io

    import pandas as pd

    table = pd.read_csv(io.StringIO(result.stdout))
    toll = table[table["code"] == "work.toll"].iloc[0]
    assert (toll["a"], toll["b"], toll["c"], toll["d"]) == (1, 0, 1, 4)
    assert toll["kappa"] == pytest.approx(float(kappa_2x2(1, 0, 1, 4)))
    assert set(table["level"]) == {"code", "theme", "pooled"}
    # sup.supervision: both coded one paragraph, nobody else; fully defined
    library = compute_agreement(coded.connect(), "alice", "bob")
    assert list(table[table["level"] == "code"]["code"]) == list(library.per_code["code"])
    # counts are written as integers, and the pooled mean row leaves them empty
    assert "\nwork.toll,Emotional toll,code,1,0,1,4,6," in result.stdout
    assert "\n(pooled: mean of codes),mean of the per-code values over 4 codes,pooled,,,,,," in result.stdout


def test_char_csv_has_code_by_document_rows(coded):
    result = _invoke(coded, "alice", "bob", "--unit", "char", "--format", "csv")
    assert result.exit_code == 0, result.output
    import io

    import pandas as pd

    table = pd.read_csv(io.StringIO(result.stdout))
    per_document = table[table["level"] == "code×document"]
    assert set(per_document["document"]) == {"SF1.txt", "SF2.txt", "TL1.txt"}
    code_rows = table[table["level"] == "code"].set_index("code")
    summed = per_document.groupby("code")[["a", "b", "c", "d"]].sum()
    for code in code_rows.index:
        assert list(summed.loc[code]) == list(code_rows.loc[code, ["a", "b", "c", "d"]])


def test_json_output_to_file_and_overwrite(coded, tmp_path):
    out = tmp_path / "agree.json"
    result = _invoke(coded, "alice", "bob", "--format", "json", "--out", str(out), "--unit", "document")
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["unit"] == "document" and data["compared"]["count"] == 3
    peer = next(r for r in data["per_code"] if r["code"] == "sup.peer")
    assert (peer["a"], peer["b"], peer["c"], peer["d"]) == (1, 0, 0, 2)
    again = _invoke(coded, "alice", "bob", "--format", "json", "--out", str(out))
    assert again.exit_code == 1 and "--force" in again.stderr
    forced = _invoke(coded, "alice", "bob", "--format", "json", "--out", str(out), "--force")
    assert forced.exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["unit"] == "paragraph"


def test_undefined_shown_as_dash_with_reason(coded):
    with coded.transaction() as conn:
        from qualcode import codebook

        codebook.store_nodes(conn, [{"key": "work.rota", "label": "Rotas", "parent": "work"}])
    result = _invoke(coded, "alice", "bob")
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if "work.rota" in line)
    assert "— (1)" in line
    assert "(1) neither coder applied the code to any compared unit" in result.stdout
    data = json.loads(_invoke(coded, "alice", "bob", "--format", "json").stdout)
    rota = next(r for r in data["per_code"] if r["code"] == "work.rota")
    assert rota["kappa"] is None and "neither coder" in rota["kappa_reason"]


def test_xlsx_written_and_read_back(coded, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "agree.xlsx"
    result = _invoke(coded, "alice", "bob", "--format", "xlsx", "--out", str(out), "--ci", "--n-boot", "200")
    assert result.exit_code == 0, result.output
    workbook = load_workbook(out)
    assert workbook.sheetnames == ["per code", "per theme", "pooled", "compared"]
    sheet = workbook["per code"]
    header = [cell.value for cell in sheet[1]]
    assert "kappa_lo" in header and "kappa_reason" in header
    rows = {row[0]: dict(zip(header, row)) for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert (rows["work.toll"]["a"], rows["work.toll"]["c"]) == (1, 1)
    assert rows["work.toll"]["kappa"] == pytest.approx(float(kappa_2x2(1, 0, 1, 4)))
    compared = {row[0]: row[1] for row in workbook["compared"].iter_rows(min_row=2, values_only=True)}
    assert compared["count"] == "6"


def test_xlsx_needs_out(coded):
    result = _invoke(coded, "alice", "bob", "--format", "xlsx")
    assert result.exit_code == 1 and "--out" in result.stderr


def test_fail_below_exit_code(coded):
    failing = _invoke(coded, "alice", "bob", "--fail-below", "0.6", "--format", "csv")
    assert failing.exit_code == EXIT_BELOW_THRESHOLD == 3
    assert "work.toll" in failing.stderr
    passing = _invoke(coded, "alice", "bob", "--fail-below", "0.5", "--format", "csv")
    assert passing.exit_code == 0


def test_chart_png_and_svg(coded, tmp_path):
    png = tmp_path / "kappa.png"
    result = _invoke(coded, "alice", "bob", "--ci", "--n-boot", "200", "--chart", str(png), "--format", "csv")
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "kappa.svg"
    assert _invoke(coded, "alice", "bob", "--chart", str(svg), "--format", "csv").exit_code == 0
    text = svg.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    bad = _invoke(coded, "alice", "bob", "--chart", str(tmp_path / "kappa.gif"), "--format", "csv")
    assert bad.exit_code == 1 and ".png, .svg or .pdf" in bad.stderr
    # an existing chart is refused before anything is written
    out = tmp_path / "agree.csv"
    refused = _invoke(coded, "alice", "bob", "--chart", str(svg), "--out", str(out))
    assert refused.exit_code == 1 and "--force" in refused.stderr
    assert not out.exists() and svg.read_text(encoding="utf-8") == text


def test_chart_pdf(coded, tmp_path):
    pdf = tmp_path / "kappa.pdf"
    result = _invoke(coded, "alice", "bob", "--chart", str(pdf), "--format", "csv")
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_chart_legend_title_and_axis_label_fit_without_overlap(coded, tmp_path, monkeypatch):
    """The threshold legend sits clear of the title, and nothing is cut at the figure's edges."""
    from matplotlib.figure import Figure

    from qualcode.agreement import compute_agreement, write_chart

    figures = []
    save = Figure.savefig

    def keep_and_save(figure, *args, **kwargs):
        figures.append(figure)
        return save(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep_and_save)
    result = compute_agreement(coded.connect(), "alice", "bob")
    write_chart(result, tmp_path / "kappa.png", threshold=0.6)
    figure = figures[0]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)  # the chart is drawn without pyplot: measure it on an Agg canvas
    canvas.draw()
    renderer = canvas.get_renderer()
    axes = figure.axes[0]
    title = figure._suptitle.get_window_extent(renderer)
    legend = figure.legends[0].get_window_extent(renderer)
    xlabel = axes.xaxis.label.get_window_extent(renderer)
    page = figure.bbox
    assert not title.overlaps(legend) and not xlabel.overlaps(legend)
    for box in (title, legend, xlabel):
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1


def test_char_unit_shows_code_by_document(coded):
    result = _invoke(coded, "alice", "bob", "--unit", "char")
    assert result.exit_code == 0, result.output
    assert "Per code × document" in result.stdout and "SF1.txt" in result.stdout


@pytest.mark.parametrize("args,message", [
    (["alice", "carol"], "no coder named 'carol'"),
    (["alice", "bob", "--codes", "nope"], "no code 'nope'"),
    (["alice", "bob", "--unit", "page"], "unknown unit 'page'"),
    (["alice", "alice"], "two different coders"),
    (["alice", "bob", "--min-overlap", "2"], "--min-overlap"),
    (["alice", "bob", "--format", "docx"], "unknown format 'docx'"),
])
def test_bad_input_is_a_clear_error_and_changes_nothing(coded, args, message):
    before = _dump(coded)
    result = _invoke(coded, *args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr and "Error:" in result.stderr
    assert "Traceback" not in result.output
    assert _dump(coded) == before


def test_no_overlap_in_compared_units(tiny_project):
    with tiny_project.transaction() as conn:
        documents = [r[0] for r in conn.execute("SELECT document_id FROM documents ORDER BY name")]
        add_coded_spans(conn, [("alice", "work.toll", (documents[0], 0, 5)), ("bob", "work.toll", (documents[1], 0, 5))])
    before = _dump(tiny_project)
    result = _invoke(tiny_project, "alice", "bob")
    assert result.exit_code == 1
    assert "no units in common" in result.stderr and "--all-units" in result.stderr
    assert _dump(tiny_project) == before
    assert _invoke(tiny_project, "alice", "bob", "--all-units", "--format", "csv").exit_code == 0


def test_help_has_an_example():
    result = runner.invoke(app, ["agree", "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout and "qualcode agree alice bob" in result.stdout


def _md_rows(text):
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")))) for line in lines[2:]]


def test_md_rounds_percent_to_1_and_statistics_to_3_decimals_csv_keeps_full_precision(coded):
    import csv
    import io

    md = _invoke(coded, "alice", "bob", "--format", "md")
    assert md.exit_code == 0, md.output
    plain = _invoke(coded, "alice", "bob", "--format", "csv")
    full = list(csv.DictReader(io.StringIO(plain.stdout)))
    rows = _md_rows(md.stdout)
    assert [r["code"] for r in rows] == [r["code"] for r in full]
    toll_csv = next(r for r in full if r["code"] == "work.toll")
    assert len(toll_csv["kappa"].split(".")[1]) > 3  # csv: full precision
    checked = 0
    for shown, exact in zip(rows, full):
        for column in ("percent", "kappa", "alpha", "ac1", "bp", "pos_agree", "neg_agree"):
            if exact[column] == "":
                assert shown[column] == ""
                continue
            digits = 1 if column == "percent" else 3
            assert shown[column] == f"{float(exact[column]):.{digits}f}"
            checked += 1
    assert checked > 20


# -- three or more coders --------------------------------------------------------------------------

@pytest.fixture
def three(coded):
    """coded, plus carol: agrees with alice except that she never applies work.toll and adds sup.peer at 3."""
    with coded.transaction() as conn:
        paragraphs = respondent_paragraph_spans(conn)
        add_coded_spans(conn, [("carol", key, paragraphs[index]) for key, index in [
            ("work.caseload", 0), ("work.caseload", 4), ("sup.supervision", 3), ("sup.peer", 2), ("sup.peer", 3),
        ]])
    return coded


def test_three_coders_table(three):
    result = _invoke(three, "alice", "bob", "carol")
    assert result.exit_code == 0, result.output
    assert "Agreement among alice, bob, carol (3 coders)" in result.stdout
    assert "Fleiss κ" in result.stdout and "Light κ" in result.stdout and "pooled (sum)" in result.stdout
    assert "among 3 coders" in result.stderr and "missing for it, not absent" in result.stderr
    assert "Fleiss κ below 0.6" in result.stderr and "work.toll" in result.stderr


def test_three_coders_csv_matches_the_library(three):
    import io

    import pandas as pd

    from qualcode.agreement import compute_team_agreement

    result = _invoke(three, "alice", "bob", "carol", "--format", "csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    expected = compute_team_agreement(three.connect(), ["alice", "bob", "carol"]).table()
    assert list(table["code"]) == list(expected["code"])
    assert table["fleiss_kappa"].tolist() == pytest.approx(expected["fleiss_kappa"].tolist(), nan_ok=True)
    assert table["alpha"].tolist() == pytest.approx(expected["alpha"].tolist(), nan_ok=True)


def test_three_coders_pairwise_json(three):
    result = _invoke(three, "alice", "bob", "carol", "--pairwise", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    pairs = {(r["coder_a"], r["coder_b"]) for r in data["pairwise"]}
    assert pairs == {("alice", "bob"), ("alice", "carol"), ("bob", "carol")}
    toll = [r for r in data["pairwise"] if r["code"] == "work.toll" and r["coder_b"] == "carol"]
    assert all(r["kappa"] == 0.0 for r in toll)  # carol never used it, alice and bob did: chance level
    table = _invoke(three, "alice", "bob", "carol", "--pairwise")
    assert table.exit_code == 0 and "Cohen's κ per pair, pooled" in table.stdout
    assert "alice · carol" in table.stdout


def test_pairwise_with_two_coders(coded):
    result = _invoke(coded, "alice", "bob", "--pairwise", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("coder_a,coder_b,code")


def test_three_coders_xlsx_read_back(three, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "team.xlsx"
    result = _invoke(three, "alice", "bob", "carol", "--ci", "--n-boot", "200", "--format", "xlsx", "--out", str(out))
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert {"per code", "pooled", "pairwise", "compared"} <= set(book.sheetnames)
    sheet = book["per code"]
    header = [c.value for c in sheet[1]]
    assert "fleiss_kappa_gwet_lo" in header and "fleiss_kappa_se0" in header
    codes = [row[header.index("code")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "work.toll" in codes


@pytest.mark.parametrize("args, message", [
    (["alice"], "at least two coders"),
    (["alice", "bob", "carol", "--unit", "char"], "two coders only"),
    (["alice", "bob", "carol", "--chart", "k.png"], "--chart draws two coders"),
    (["alice", "bob", "carol", "--pairwise", "--groups"], "choose one"),
    (["alice", "bob", "nobody"], "nobody"),
])
def test_three_coders_errors(three, args, message):
    before = _dump(three)
    result = _invoke(three, *args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert _dump(three) == before


def test_three_coders_fail_below(three):
    result = _invoke(three, "alice", "bob", "carol", "--fail-below", "0.5", "--format", "csv")
    assert result.exit_code == EXIT_BELOW_THRESHOLD
    assert "Fleiss κ below 0.5" in result.stderr and "work.toll" in result.stderr


GROUPED = """\
name: grouped
codes:
  - key: work
    label: Workload and capacity
    children:
      - {key: work.caseload, label: Caseload pressure}
      - {key: work.toll, label: Emotional toll}
  - key: support
    label: Support for staff
    exclusive: true
    children:
      - {key: sup.supervision, label: Supervision}
      - {key: sup.peer, label: Peer support}
"""


def test_groups_view_and_problems(three, tmp_path):
    path = tmp_path / "grouped.yaml"
    path.write_text(GROUPED, encoding="utf-8")
    imported = runner.invoke(app, ["codebook", "import", str(path), "--project", str(three.root)])
    assert imported.exit_code == 0, imported.output
    # the fixture has carol apply both codes of the group (sup.supervision and sup.peer) in SF2.txt#4
    result = _invoke(three, "alice", "bob", "carol", "--groups")
    assert result.exit_code == 0, result.output
    assert "Exclusive code groups" in result.stdout and "Coincidences of support" in result.stdout
    assert "support: carol in SF2.txt, unit SF2.txt#4: sup.supervision, sup.peer" in result.stderr
    csv = _invoke(three, "alice", "bob", "carol", "--groups", "--format", "csv")
    assert csv.exit_code == 0
    assert "(none)" in csv.stdout and "support" in csv.stdout
    two = _invoke(three, "alice", "carol")  # the two-coder table is unchanged, the problem still reported
    assert two.exit_code == 0 and "Agreement alice vs carol" in two.stdout
    assert "unit SF2.txt#4: sup.supervision, sup.peer" in two.stderr


def test_a_third_coders_sheet_round_trip_feeds_agreement_among_three(tiny_project, tmp_path):
    from openpyxl import load_workbook

    from qualcode.agreement import compute_team_agreement

    def sheet(*args):
        result = runner.invoke(app, ["sheet", *args, "--project", str(tiny_project.root)], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        return result

    def fill(path, column_letter):
        book = load_workbook(path)
        coding = book["Coding"]
        keys = [coding.cell(r, 3).value for r in range(3, coding.max_row + 1)]
        for row in range(3, coding.max_row + 1):
            coding[f"{column_letter}{row}"] = "x"
        book.save(path)
        return keys

    for coder in ("A", "B"):
        sheet("export", "--coder", coder, "--out", str(tmp_path / f"{coder}.xlsx"))
        fill(tmp_path / f"{coder}.xlsx", "F")  # everyone marks caseload everywhere
        sheet("import", str(tmp_path / f"{coder}.xlsx"), "--coder", coder)
    sheet("export", "--coder", "C", "--sample", "0.5", "--seed", "7", "--out", str(tmp_path / "C.xlsx"))
    book = load_workbook(tmp_path / "C.xlsx")["Coding"]
    marks = [book.cell(r, c).value for r in range(3, book.max_row + 1) for c in range(6, 10)]  # the 4 code columns
    assert not any(marks)  # blind: C's sheet carries none of A's or B's codings
    sampled = fill(tmp_path / "C.xlsx", "F")
    sheet("import", str(tmp_path / "C.xlsx"), "--coder", "C")
    result = compute_team_agreement(tiny_project.connect(), ["A", "B", "C"])
    caseload = result.per_code[result.per_code["code"] == "work.caseload"].iloc[0]
    assert 0 < len(sampled) < 6
    assert (caseload.units, caseload.ratings) == (6, 12 + len(sampled))  # C is missing outside the sample
    assert caseload.percent == 100.0 and caseload.ac1 == 1.0
    cli = _invoke(tiny_project, "A", "B", "C", "--format", "csv")
    assert cli.exit_code == 0, cli.output
    assert f"C: {len(sampled)} assigned paragraphs" in cli.stderr
