"""qualcode reconcile through the command line: interactive input, resume, undo, sheets, status, log."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from qualcode import codings, reconcile
from qualcode.cli import app
from tests.conftest import assign_paragraphs
from tests.conftest import paragraph_span as paragraph
from tests.conftest import phrase_span as phrase
from tests.test_reconcile import add_two_coders, consensus_spans, fill, snapshot

runner = CliRunner()


@pytest.fixture
def coded(tiny_project):
    add_two_coders(tiny_project)
    return tiny_project


def run(project, *args, input=None):
    return runner.invoke(app, ["reconcile", *args, "--project", str(project.root)], input=input)


def decisions(project):
    """(unit, code, decision, note) of the active decisions people made, in order."""
    return [tuple(r) for r in project.connect().execute(
        "SELECT d.unit_key, c.key, d.decision, d.note FROM decisions d JOIN codes c USING (code_id)"
        " WHERE d.undone = 0 AND d.decision != 'agreed' ORDER BY d.decision_id")]


def test_help_shows_the_three_uses_with_examples():
    result = runner.invoke(app, ["reconcile", "--help"])
    assert result.exit_code == 0
    for text in ("qualcode reconcile CODER_A CODER_B", "qualcode reconcile status", "qualcode reconcile log",
                 "--apply-sheet decisions.xlsx", "Examples"):
        assert text in result.output


def test_interactive_session_shows_each_disagreement_and_saves_answers(coded):
    result = run(coded, "A", "B", input="A\nn\nshe names supervision\na\nr\nq\n")
    assert result.exit_code == 0, result.output
    assert "1/4  SF1.txt#4 · work.toll" in result.output
    assert "2/4  SF1.txt#4 · sup.supervision" in result.output
    assert "3/4  SF2.txt#2 · sup.peer" in result.output
    assert "4/4  TL1.txt#3 · work.toll" in result.output  # shown, then quit
    assert "Definition: Stress, burnout." in result.output
    assert "Respondent SF1, speaker SF1" in result.output
    assert "applied to «I take it home with me.»" in result.output
    assert "B: applied to the whole unit" in result.output
    assert decisions(coded) == [
        ("SF1.txt#4", "work.toll", "A", None),
        ("SF1.txt#4", "sup.supervision", "apply", "she names supervision"),
        ("SF2.txt#2", "sup.peer", "reject", None),
    ]
    assert "3/4 disagreements decided, 1 open" in result.output
    conn = coded.connect()
    assert ("work.toll", "SF1.txt", *phrase(conn, "SF1.txt#4", "I take it home with me.")[1:]) \
        in consensus_spans(coded)


def test_quit_then_resume_at_the_next_open_disagreement(coded):
    first = run(coded, "A", "B", input="a\nq\n")
    assert first.exit_code == 0, first.output
    assert "Run 'qualcode reconcile A B' again to continue" in first.output
    assert decisions(coded) == [("SF1.txt#4", "work.toll", "apply", None)]
    second = run(coded, "A", "B", input="r\nq\n")
    assert second.exit_code == 0, second.output
    assert "1/4" not in second.output
    assert "2/4  SF1.txt#4 · sup.supervision" in second.output
    assert decisions(coded)[-1] == ("SF1.txt#4", "sup.supervision", "reject", None)
    # agreements were recorded once, at the first run
    assert coded.connect().execute("SELECT COUNT(*) FROM decisions WHERE decision = 'agreed'").fetchone()[0] == 3


def test_end_of_input_is_a_quit_and_keeps_what_was_decided(coded):
    result = run(coded, "A", "B", input="a\nr\n")
    assert result.exit_code == 0, result.output
    assert [d[2] for d in decisions(coded)] == ["apply", "reject"]


def test_undo_goes_back_to_the_last_decision(coded):
    result = run(coded, "A", "B", input="a\nr\nu\nA\nu\nu\nu\nB\nq\n")
    assert result.exit_code == 0, result.output
    assert "Undone: 'reject' on SF1.txt#4 × sup.supervision" in result.output
    assert "Undone: 'A' on SF1.txt#4 × sup.supervision" in result.output
    assert "Undone: 'apply' on SF1.txt#4 × work.toll" in result.output
    assert "Nothing to undo." in result.output
    assert decisions(coded) == [("SF1.txt#4", "work.toll", "B", None)]
    conn = coded.connect()
    assert [s for s in consensus_spans(coded) if s[0] == "work.toll"] == [
        ("work.toll", "SF1.txt", *paragraph(conn, "SF1.txt#4")[1:])]


def test_skip_leaves_it_open_for_the_next_run(coded):
    result = run(coded, "A", "B", input="s\nr\nr\nr\n")
    assert result.exit_code == 0, result.output
    assert [d[:3] for d in decisions(coded)] == [
        ("SF1.txt#4", "sup.supervision", "reject"), ("SF2.txt#2", "sup.peer", "reject"),
        ("TL1.txt#3", "work.toll", "reject")]
    again = run(coded, "A", "B", input="q\n")
    assert "1/4  SF1.txt#4 · work.toll" in again.output


def test_an_unknown_answer_asks_again(coded):
    result = run(coded, "A", "B", input="x\nq\n")
    assert result.exit_code == 0
    assert "'x' is not one of a, r, A, B, s, n, u, q" in result.output
    assert decisions(coded) == []


def test_a_crash_mid_session_loses_no_earlier_decision(coded, monkeypatch):
    reconcile.open_session(coded, "A", "B")  # agreements recorded before the fault is planted
    calls = {"n": 0}
    real = codings.add_codings

    def fails_on_the_second(conn, rows):
        rows = list(rows)
        calls["n"] += any("decision_id" in (row.get("detail") or {}) for row in rows)
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(conn, rows)

    monkeypatch.setattr(codings, "add_codings", fails_on_the_second)
    result = run(coded, "A", "B", input="a\nr\na\na\n")
    assert isinstance(result.exception, RuntimeError)
    assert decisions(coded) == [("SF1.txt#4", "work.toll", "apply", None),
                                ("SF1.txt#4", "sup.supervision", "reject", None)]
    monkeypatch.setattr(codings, "add_codings", real)
    resumed = run(coded, "A", "B", input="q\n")
    assert "3/4  SF2.txt#2 · sup.peer" in resumed.output


def test_unknown_coder_is_an_error(coded):
    result = run(coded, "A", "Z", input="q\n")
    assert result.exit_code == 1
    assert "no coder named 'Z'" in result.output


# -- sheet route -----------------------------------------------------------------------

def test_sheet_then_apply_sheet(coded, tmp_path):
    path = tmp_path / "decisions.xlsx"
    before = snapshot(coded)
    written = run(coded, "A", "B", "--sheet", str(path))
    assert written.exit_code == 0, written.output
    assert snapshot(coded) == before  # writing the sheet changes nothing
    sheet = load_workbook(path)["Decisions"]
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == ["SF1.txt#4", "SF1.txt#4", "SF2.txt#2", "TL1.txt#3"]
    refused = run(coded, "A", "B", "--sheet", str(path))
    assert refused.exit_code == 1 and "--force" in refused.output
    assert run(coded, "A", "B", "--sheet", str(path), "--force").exit_code == 0
    fill(path, {2: ("apply", "whole paragraph is about the toll"), 3: ("reject", None), 4: ("A", None),
                5: ("b", None)})
    applied = run(coded, "A", "B", "--apply-sheet", str(path))
    assert applied.exit_code == 0, applied.output
    assert "Applied 4 decision(s)" in applied.output
    assert "0 disagreement(s) remain open" in applied.output
    assert [d[2] for d in decisions(coded)] == ["apply", "reject", "A", "B"]
    status = run(coded, "status", "--format", "csv")
    assert status.exit_code == 0, status.output
    total = [r for r in csv.DictReader(io.StringIO(status.stdout)) if r["code"] == "all"][0]
    assert (total["agreed"], total["decided"], total["open"]) == ("3", "4", "0")


def test_apply_sheet_with_a_bad_cell_names_it_and_changes_nothing(coded, tmp_path):
    path = tmp_path / "decisions.xlsx"
    run(coded, "A", "B", "--sheet", str(path))
    fill(path, {2: ("apply", None), 3: ("maybe", None)})
    before = snapshot(coded)
    result = run(coded, "A", "B", "--apply-sheet", str(path))
    assert result.exit_code == 1
    assert 'Decisions!L3: "maybe" is not apply, reject, A or B' in result.output
    assert snapshot(coded) == before


def test_sheet_and_apply_sheet_together_are_refused(coded, tmp_path):
    result = run(coded, "A", "B", "--sheet", str(tmp_path / "a.xlsx"), "--apply-sheet", str(tmp_path / "b.xlsx"))
    assert result.exit_code == 1
    assert "not both" in result.output


# -- status and log --------------------------------------------------------------------

def test_status_without_coders_uses_the_recorded_reconciliation(coded):
    assert run(coded, "status").exit_code == 1  # nothing started yet
    run(coded, "A", "B", input="a\nq\n")
    result = run(coded, "status")
    assert result.exit_code == 0, result.output
    assert "1/4 disagreements decided, 3 open; 3 agreements" in result.output
    assert "work.toll" in result.stdout
    named = run(coded, "status", "A", "B", "--format", "json")
    assert named.exit_code == 0 and '"code":"work.toll"' in named.stdout.replace(" ", "")


def test_log_to_stdout_and_files(coded, tmp_path):
    run(coded, "A", "B", input="n\nfirst sentence only\nA\nr\nq\n")
    listed = run(coded, "log", "--format", "csv")
    assert listed.exit_code == 0, listed.output
    rows = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert [(r["unit"], r["code"], r["decision"], r["note"]) for r in rows if r["decision"] != "agreed"] == [
        ("SF1.txt#4", "work.toll", "A", "first sentence only"), ("SF1.txt#4", "sup.supervision", "reject", "")]
    md = tmp_path / "reconcile_log.md"
    assert run(coded, "log", "--out", str(md)).exit_code == 0
    assert "| SF1.txt#4 |" in md.read_text(encoding="utf-8")
    xlsx = tmp_path / "log.xlsx"
    assert run(coded, "log", "--format", "xlsx", "--out", str(xlsx)).exit_code == 0
    sheet = load_workbook(xlsx).active
    header = [c.value for c in sheet[1]]
    last = [c.value for c in sheet[sheet.max_row]]
    assert dict(zip(header, last))["decision"] == "reject"
    needs_out = run(coded, "log", "--format", "xlsx")
    assert needs_out.exit_code == 1 and "--out" in needs_out.output


def test_consensus_is_an_ordinary_coder_for_agree(coded):
    run(coded, "A", "B", input="a\na\na\na\n")
    result = runner.invoke(app, ["agree", "A", "consensus", "--format", "csv", "--project", str(coded.root)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert any(r.get("code") == "work.toll" for r in rows)


def test_demo_stage_reconciles_from_the_shipped_sheet_and_writes_the_log(coded, tmp_path):
    from qualcode.demo import _stage_reconcile

    study = tmp_path / "study"
    (study / "codings").mkdir(parents=True)
    sheet = study / "codings" / "decisions.xlsx"
    assert run(coded, "A", "B", "--sheet", str(sheet)).exit_code == 0
    fill(sheet, {2: ("A", "first sentence"), 3: ("apply", None), 4: ("reject", None), 5: ("reject", None)})
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    step = _stage_reconcile({"project": coded, "study": study, "outputs": outputs})
    assert step.command == "qualcode reconcile A B --into consensus --apply-sheet decisions.xlsx"
    assert step.lines[0].startswith("3 agreements went into 'consensus' automatically; 4 disagreements")
    assert step.table.set_index("code").loc["all", "open"] == 0
    log = (outputs / "reconcile_log.md").read_text(encoding="utf-8")
    assert "| first sentence |" in log
    skipped = _stage_reconcile({"project": coded, "study": tmp_path / "nowhere", "outputs": outputs})
    assert skipped.lines[0].startswith("Skipped")


def test_compared_only_leaves_single_coded_paragraphs_out(coded):
    assign_paragraphs(coded, "B", ["SF1.txt#2", "SF1.txt#4"])
    result = run(coded, "A", "B", input="q\n")
    assert "1 agreement(s) and 4 single-coded paragraph code(s) are in 'consensus'" in result.output
    assert {s[1] for s in consensus_spans(coded)} == {"SF1.txt", "SF2.txt", "TL1.txt"}
    narrow = run(coded, "A", "B", "--compared-only", input="q\n")
    assert narrow.exit_code == 0, narrow.output
    assert {s[1] for s in consensus_spans(coded)} == {"SF1.txt"}


def test_spans_are_marked_so_they_show_without_colour(coded):
    result = run(coded, "A", "B", input="q\n")
    assert result.exit_code == 0, result.output
    assert "«A» = A   ⟦B⟧ = B" in result.output
    # A coded the first sentence, B the whole paragraph
    assert "│ «⟦I take it home with me.» Some nights I don't sleep. Supervision helps a bit.⟧" in result.output


def test_a_long_paragraph_wraps_inside_the_panel_instead_of_being_cropped(monkeypatch):
    from rich.panel import Panel

    from qualcode.cli import reconcile as cli_reconcile

    text = " ".join(f"word{i}" for i in range(120))
    buffer = io.StringIO()
    monkeypatch.setattr("sys.stderr", buffer)
    out = cli_reconcile.display_console()
    assert out.width == 100  # not a terminal
    out.print(Panel(cli_reconcile.marked_text(text, 1000, [(1000, 1010)], [(1500, 2000)])))
    shown = buffer.getvalue()
    assert len(shown.splitlines()) > 8
    assert all(f"word{i}" in shown for i in range(120))
    assert "«word0 word»1" in shown and "word119⟧" in shown


def test_marked_text_styles_the_spans():
    from qualcode.cli import reconcile as cli_reconcile

    body = cli_reconcile.marked_text("one two three", 10, [(10, 13)], [(14, 17)])
    assert body.plain == "«one» ⟦two⟧ three"
    styles = {body.plain[span.start:span.end]: str(span.style) for span in body.spans}
    assert styles["one"] == cli_reconcile.STYLE_A and styles["two"] == cli_reconcile.STYLE_B


def test_undo_brings_the_decisions_note_back(coded):
    # note + apply, undo (note comes back and is shown), then reject keeps the same note
    result = run(coded, "A", "B", input="n\nfirst sentence only\na\nu\nr\nq\n")
    assert result.exit_code == 0, result.output
    assert "Note (saved with the decision): first sentence only" in result.output
    assert decisions(coded) == [("SF1.txt#4", "work.toll", "reject", "first sentence only")]


def test_a_note_typed_before_undo_stays_with_its_disagreement(coded):
    # decide the first, type a note on the second, undo back to the first, redo it: the second's note is kept
    result = run(coded, "A", "B", input="a\nn\nabout supervision\nu\nr\nA\nq\n")
    assert result.exit_code == 0, result.output
    assert decisions(coded) == [("SF1.txt#4", "work.toll", "reject", None),
                                ("SF1.txt#4", "sup.supervision", "A", "about supervision")]


def test_a_note_that_looks_like_a_formula_is_kept_verbatim(coded, tmp_path):
    path = tmp_path / "decisions.xlsx"
    assert run(coded, "A", "B", "--sheet", str(path)).exit_code == 0
    # openpyxl stores a text starting with '=' as a formula without a cached value, as Excel
    # does when a user types it
    fill(path, {2: ("apply", "=1+1 note on the toll"), 3: (None, "=see memo")})
    assert load_workbook(path)["Decisions"]["M2"].data_type == "f"
    applied = run(coded, "A", "B", "--apply-sheet", str(path))
    assert applied.exit_code == 0, applied.output
    assert decisions(coded) == [("SF1.txt#4", "work.toll", "apply", "=1+1 note on the toll"),
                                ("SF1.txt#4", "sup.supervision", "skip", "=see memo")]


def test_a_formula_as_decision_is_an_error_naming_the_cell(coded, tmp_path):
    path = tmp_path / "decisions.xlsx"
    assert run(coded, "A", "B", "--sheet", str(path)).exit_code == 0
    fill(path, {2: ("=\"apply\"", None)})
    before = snapshot(coded)
    result = run(coded, "A", "B", "--apply-sheet", str(path))
    assert result.exit_code == 1
    assert "Decisions!L2" in result.output
    assert snapshot(coded) == before


def test_sheet_with_nothing_to_decide_writes_no_file(coded, tmp_path):
    path = tmp_path / "decisions.xlsx"
    assert run(coded, "A", "B", "--sheet", str(path)).exit_code == 0
    fill(path, {2: ("apply", None), 3: ("reject", None), 4: ("A", None), 5: ("B", None)})
    assert run(coded, "A", "B", "--apply-sheet", str(path)).exit_code == 0
    again = tmp_path / "again.xlsx"
    before = snapshot(coded)
    result = run(coded, "A", "B", "--sheet", str(again))
    assert result.exit_code == 0, result.output
    assert "Nothing to decide" in result.output and "none open" in result.output
    assert not again.exists()
    assert snapshot(coded) == before
