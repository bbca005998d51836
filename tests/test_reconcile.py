"""Reconciliation library: disagreements, decisions, undo, the sheet route and the log (tiny project)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from qualcode import codings, reconcile, store
from qualcode.codebook import merge_codes, rename_code
from qualcode.errors import InputError, NotFound, SheetError
from tests.conftest import add_coded_spans, build_tiny_project, code_id
from tests.conftest import assign_paragraphs as assign
from tests.conftest import paragraph_span as paragraph
from tests.conftest import phrase_span as phrase


def add_two_coders(project, a="A", b="B"):
    """Three agreements and four disagreements (one of boundaries, three of presence).

    agreements: SF1#2 work.caseload, TL1#2 work.caseload, SF2#4 sup.supervision (all whole paragraphs)
    disagreements, in order: SF1#4 work.toll (A a sentence, B the whole paragraph: boundary),
    SF1#4 sup.supervision (B only), SF2#2 sup.peer (A only), TL1#3 work.toll (A only, a phrase).
    """
    with project.transaction() as conn:
        add_coded_spans(conn, [
            (a, "work.caseload", paragraph(conn, "SF1.txt#2")), (b, "work.caseload", paragraph(conn, "SF1.txt#2")),
            (a, "work.caseload", paragraph(conn, "TL1.txt#2")), (b, "work.caseload", paragraph(conn, "TL1.txt#2")),
            (a, "sup.supervision", paragraph(conn, "SF2.txt#4")), (b, "sup.supervision", paragraph(conn, "SF2.txt#4")),
            (a, "work.toll", phrase(conn, "SF1.txt#4", "I take it home with me.")),
            (b, "work.toll", paragraph(conn, "SF1.txt#4")),
            (b, "sup.supervision", phrase(conn, "SF1.txt#4", "Supervision helps a bit.")),
            (a, "sup.peer", paragraph(conn, "SF2.txt#2")),
            (a, "work.toll", phrase(conn, "TL1.txt#3", "people burn out")),
        ])


def consensus_spans(project, into="consensus"):
    return sorted((c.code_key, c.document, c.start, c.end)
                  for c in codings.load_codings(project.connect(), coders=[into]))


def snapshot(project):
    conn = project.connect()
    return (conn.execute("SELECT * FROM decisions ORDER BY decision_id").fetchall(),
            conn.execute("SELECT coding_id, coder_id, code_id, start, end FROM codings ORDER BY coding_id").fetchall())


@pytest.fixture
def coded(tiny_project):
    add_two_coders(tiny_project)
    return tiny_project


def test_disagreements_found_in_unit_then_codebook_order(coded):
    session = reconcile.open_session(coded, "A", "B")
    found = [(d.unit_key, d.code_key, d.kind, d.a_applied, d.b_applied) for d in session.disagreements()]
    assert found == [
        ("SF1.txt#4", "work.toll", "boundary", True, True),
        ("SF1.txt#4", "sup.supervision", "presence", False, True),
        ("SF2.txt#2", "sup.peer", "presence", True, False),
        ("TL1.txt#3", "work.toll", "presence", True, False),
    ]
    first = session.disagreements()[0]
    conn = coded.connect()
    assert first.text == reconcile_unit_text(conn, "SF1.txt#4")
    assert first.respondent_id == "SF1" and first.speaker == "SF1"
    assert first.code_label == "Emotional toll" and first.definition == "Stress, burnout."
    assert first.a_spans == (phrase(conn, "SF1.txt#4", "I take it home with me.")[1:],)
    assert first.b_spans == (paragraph(conn, "SF1.txt#4")[1:],)
    assert reconcile.describe_action(first.a_spans, first.start, first.end, first.text) == \
        "applied to «I take it home with me.»"
    assert reconcile.describe_action(first.b_spans, first.start, first.end, first.text) == "applied to the whole unit"
    assert "I take it home" not in repr(first)  # transcript text stays out of reprs


def test_disagreements_at_one_unit_carry_their_current_decision(coded):
    session = reconcile.open_session(coded, "A", "B")
    at_unit = session.disagreements_at("SF1.txt#4")
    assert [(d.code_key, d.kind, d.decision) for d in at_unit] == [
        ("work.toll", "boundary", None), ("sup.supervision", "presence", None)]
    session.decide(at_unit[1], "reject", note="not supervision")
    assert [(d.code_key, d.decision, d.decision_note) for d in session.disagreements_at("SF1.txt#4")] == [
        ("work.toll", None, None), ("sup.supervision", "reject", "not supervision")]
    assert [d.code_key for d in session.disagreements_at("SF1.txt#4", state="open")] == ["work.toll"]
    assert session.disagreements_at("SF1.txt#1") == []


def reconcile_unit_text(conn, key):
    document_id, start, end = paragraph(conn, key)
    return conn.execute("SELECT text FROM documents WHERE document_id = ?", (document_id,)).fetchone()[0][start:end]


def test_agreements_are_recorded_once_into_the_consensus(coded):
    reconcile.open_session(coded, "A", "B")
    reconcile.open_session(coded, "A", "B")  # opening again records nothing new
    conn = coded.connect()
    agreed = conn.execute("SELECT unit_key, code_id FROM decisions WHERE decision = 'agreed' ORDER BY unit_key").fetchall()
    assert [(r[0], r[1]) for r in agreed] == [
        ("SF1.txt#2", code_id(conn, "work.caseload")), ("SF2.txt#4", code_id(conn, "sup.supervision")),
        ("TL1.txt#2", code_id(conn, "work.caseload"))]
    assert consensus_spans(coded) == sorted([
        ("work.caseload", "SF1.txt", *paragraph(conn, "SF1.txt#2")[1:]),
        ("work.caseload", "TL1.txt", *paragraph(conn, "TL1.txt#2")[1:]),
        ("sup.supervision", "SF2.txt", *paragraph(conn, "SF2.txt#4")[1:]),
    ])
    assert {c.origin for c in codings.load_codings(conn, coders=["consensus"])} == {"reconcile"}


def test_read_only_session_records_nothing(coded):
    before = snapshot(coded)
    session = reconcile.open_session(coded, "A", "B", record_agreements=False)
    assert len(session.agreements()) == 3
    assert snapshot(coded) == before


def test_each_decision_gives_the_expected_consensus_spans(coded):
    session = reconcile.open_session(coded, "A", "B")
    conn = coded.connect()
    toll_sf1, supervision_sf1, peer_sf2, toll_tl1 = session.disagreements()
    baseline = consensus_spans(coded)
    session.decide(toll_sf1, "A")
    session.decide(supervision_sf1, "apply")
    session.decide(peer_sf2, "reject", note="team, not peers")
    session.decide(toll_tl1, "apply", span=paragraph(conn, "TL1.txt#3")[1:])
    expected = baseline + [
        ("work.toll", "SF1.txt", *phrase(conn, "SF1.txt#4", "I take it home with me.")[1:]),
        ("sup.supervision", "SF1.txt", *phrase(conn, "SF1.txt#4", "Supervision helps a bit.")[1:]),
        ("work.toll", "TL1.txt", *paragraph(conn, "TL1.txt#3")[1:]),
    ]
    assert consensus_spans(coded) == sorted(expected)
    assert session.disagreements("open") == []
    assert [d.decision for d in session.disagreements()] == ["A", "apply", "reject", "apply"]


def test_apply_on_a_boundary_disagreement_takes_the_union_and_B_takes_Bs_span(coded):
    session = reconcile.open_session(coded, "A", "B")
    conn = coded.connect()
    toll_sf1 = session.disagreements()[0]
    session.decide(toll_sf1, "apply")
    assert ("work.toll", "SF1.txt", *paragraph(conn, "SF1.txt#4")[1:]) in consensus_spans(coded)
    session.undo_last()
    session.decide(session.find("SF2.txt#2", code_id(conn, "sup.peer")), "B")  # B did not apply: nothing
    assert [s for s in consensus_spans(coded) if s[0] in ("work.toll", "sup.peer")] == []


def test_undo_reopens_the_latest_decision_and_removes_its_codings(coded):
    session = reconcile.open_session(coded, "A", "B")
    first, second = session.disagreements()[:2]
    before = consensus_spans(coded)
    session.decide(first, "apply")
    session.decide(second, "apply", note="she names supervision")
    undone = session.undo_last()
    assert (undone.unit_key, undone.code_key, undone.decision) == ("SF1.txt#4", "sup.supervision", "apply")
    assert undone.disagreement.is_open
    assert [d.ident for d in session.disagreements("open")][:1] == [second.ident]
    assert len(consensus_spans(coded)) == len(before) + 1
    session.undo_last()
    session.undo_last()  # agreements are never undone
    assert consensus_spans(coded) == before
    assert session.undo_last() is None
    assert len(session.disagreements("open")) == 4


def test_a_decided_disagreement_cannot_be_decided_again(coded):
    session = reconcile.open_session(coded, "A", "B")
    first = session.disagreements()[0]
    session.decide(first, "reject")
    with pytest.raises(InputError, match="already decided"):
        session.decide(first, "apply")
    with pytest.raises(InputError, match="not a decision"):
        session.decide(session.disagreements()[1], "maybe")


def test_skip_keeps_it_open_and_saves_only_a_note(coded):
    session = reconcile.open_session(coded, "A", "B")
    first = session.disagreements()[0]
    assert session.decide(first, "skip") is None
    assert session.decide(first, "skip", note="ask the team") is not None
    assert session.find(first.unit_key, first.code_id).is_open
    log = reconcile.decision_log(coded)
    assert log[log.decision == "skip"].note.tolist() == ["ask the team"]


def test_a_failure_inside_a_decision_keeps_earlier_decisions_and_saves_nothing_of_its_own(coded, monkeypatch):
    session = reconcile.open_session(coded, "A", "B")
    first, second = session.disagreements()[:2]
    session.decide(first, "apply")
    saved = snapshot(coded)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(codings, "add_codings", broken)
    with pytest.raises(RuntimeError):
        session.decide(second, "apply")
    assert snapshot(coded) == saved
    assert session.find(first.unit_key, first.code_id).decision == "apply"
    assert session.find(second.unit_key, second.code_id).is_open


def test_decisions_survive_a_code_rename(coded):
    session = reconcile.open_session(coded, "A", "B")
    conn = coded.connect()
    toll = code_id(conn, "work.toll")
    session.decide(session.find("SF1.txt#4", toll), "A", note="only the first sentence")
    with coded.transaction() as c:
        rename_code(c, "work.toll", "work.emotional")
    again = reconcile.open_session(coded, "A", "B")
    renamed = again.find("SF1.txt#4", toll)
    assert renamed.code_key == "work.emotional" and renamed.decision == "A"
    assert [d.code_key for d in again.disagreements("open")] == ["sup.supervision", "sup.peer", "work.emotional"]
    assert ("work.emotional", "SF1.txt", *phrase(conn, "SF1.txt#4", "I take it home with me.")[1:]) \
        in consensus_spans(coded)
    log = reconcile.decision_log(coded)
    assert log[log.decision == "A"].code.tolist() == ["work.emotional"]


def test_decisions_of_a_merged_code_follow_it_to_the_target(coded):
    session = reconcile.open_session(coded, "A", "B")
    conn = coded.connect()
    session.decide(session.find("SF1.txt#4", code_id(conn, "work.toll")), "A", note="first sentence")
    session.decide(session.find("TL1.txt#3", code_id(conn, "work.toll")), "reject")
    with coded.transaction() as c:
        merge_codes(c, ["work.toll"], "work.caseload")
    again = reconcile.open_session(coded, "A", "B")
    caseload = code_id(conn, "work.caseload")
    assert again.find("SF1.txt#4", caseload).decision == "A"
    assert again.find("TL1.txt#3", caseload).decision == "reject"
    assert [(d.unit_key, d.code_key) for d in again.disagreements("open")] == [
        ("SF1.txt#4", "sup.supervision"), ("SF2.txt#2", "sup.peer")]
    assert ("work.caseload", "SF1.txt", *phrase(conn, "SF1.txt#4", "I take it home with me.")[1:]) \
        in consensus_spans(coded)


def test_status_counts_per_code(coded):
    session = reconcile.open_session(coded, "A", "B")
    session.decide(session.disagreements()[0], "reject")
    status = session.status().set_index("code")
    assert status.loc["work.caseload", ["agreed", "disagreements", "decided", "open"]].tolist() == [2, 0, 0, 0]
    assert status.loc["work.toll", ["agreed", "disagreements", "decided", "open"]].tolist() == [0, 2, 1, 1]
    assert status.loc["all", ["agreed", "disagreements", "decided", "open"]].tolist() == [3, 4, 1, 3]
    assert list(status.index) == ["work.caseload", "work.toll", "sup.supervision", "sup.peer", "all"]


def test_codes_filter_takes_a_theme_for_its_codes(coded):
    session = reconcile.open_session(coded, "A", "B", codes=["support"])
    assert {d.code_key for d in session.disagreements()} == {"sup.supervision", "sup.peer"}
    assert {a.code_key for a in session.agreements()} == {"sup.supervision"}
    with pytest.raises(NotFound):
        reconcile.open_session(coded, "A", "B", codes=["nope"])


def test_compared_units_follow_assignments(coded):
    conn = coded.connect()
    assign(coded, "B", ["SF1.txt#2", "SF1.txt#4"])
    session = reconcile.open_session(coded, "A", "B", record_agreements=False)
    assert [u.key for u in session.units] == ["SF1.txt#2", "SF1.txt#4"]
    assert {d.unit_key for d in session.disagreements()} == {"SF1.txt#4"}
    assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 0


def test_turn_level_compares_whole_turns(coded):
    session = reconcile.open_session(coded, "A", "B", unit="turn", into="consensus_turns")
    assert [(d.unit_key, d.code_key) for d in session.disagreements()][-1] == ("TL1.txt#t3", "work.toll")


def test_a_partly_compared_turn_is_trimmed_like_agree_does(tiny_project):
    """SF3's one turn of three paragraphs: both coders were assigned the first and last only. The turn
    is reconciled on those two paragraphs (the rule of units.restrict_units, which agree uses too),
    and the uncompared middle paragraph neither raises a disagreement nor takes a consensus span."""
    from qualcode.agreement import compute_agreement
    from tests.conftest import add_long_turn_document

    add_long_turn_document(tiny_project)
    with tiny_project.transaction() as conn:
        add_coded_spans(conn, [
            ("A", "work.toll", paragraph(conn, "SF3.txt#2")),
            ("B", "sup.supervision", paragraph(conn, "SF3.txt#3")),  # B alone, outside the compared paragraphs
            ("B", "work.caseload", phrase(conn, "SF3.txt#4", "my team")),
        ])
    assign(tiny_project, "A", ["SF3.txt#2", "SF3.txt#3", "SF3.txt#4"])
    assign(tiny_project, "B", ["SF3.txt#2", "SF3.txt#4"])
    session = reconcile.open_session(tiny_project, "A", "B", unit="turn", record_agreements=False)
    assert [u.key for u in session.units] == ["SF3.txt#t2"]
    conn = tiny_project.connect()
    assert set(session.units[0].unit_ids) == set(session.scope.unit_ids)
    found = [(d.unit_key, d.code_key, d.a_applied, d.b_applied) for d in session.disagreements()]
    assert found == [("SF3.txt#t2", "work.caseload", False, True), ("SF3.txt#t2", "work.toll", True, False)]
    agreement = compute_agreement(conn, "A", "B", unit="turn", codes=["work.toll", "work.caseload", "sup.supervision"])
    assert agreement.compared["count"] == len(session.units)
    assert int(agreement.per_code.set_index("code").loc["sup.supervision", "c"]) == 0
    toll = session.find("SF3.txt#t2", code_id(conn, "work.toll"))
    middle = paragraph(conn, "SF3.txt#3")
    with pytest.raises(InputError, match="not compared"):
        session.decide(toll, "apply", span=(middle[1], middle[2]))
    first = paragraph(conn, "SF3.txt#2")
    assert session.decide(toll, "apply", span=(first[1], first[2])) is not None
    # the middle paragraph is in A's scope alone, so only A's codings there (none) are carried, not B's
    assert [c for c in session.carried() if c.unit_key == "SF3.txt#3"] == []


def test_wrong_coders_and_consensus_names_are_refused(coded):
    with pytest.raises(InputError, match="two different coders"):
        reconcile.open_session(coded, "A", "A")
    with pytest.raises(InputError, match="cannot be one of the coders"):
        reconcile.open_session(coded, "A", "B", into="B")
    with pytest.raises(NotFound, match="no coder named 'C'"):
        reconcile.open_session(coded, "A", "C")
    with pytest.raises(InputError, match="cannot reconcile at unit"):
        reconcile.open_session(coded, "A", "B", unit="document")
    reconcile.open_session(coded, "A", "B")
    with pytest.raises(InputError, match="already holds the reconciliation of A and B by paragraph"):
        reconcile.open_session(coded, "A", "B", unit="turn")


# -- the sheet route -------------------------------------------------------------------

def fill(path, decisions: dict[int, tuple[str | None, str | None]]):
    """Write decision / note cells by sheet row number."""
    workbook = load_workbook(path)
    sheet = workbook["Decisions"]
    header = [c.value for c in sheet[1]]
    for row, (decision, note) in decisions.items():
        sheet.cell(row=row, column=header.index("Decision") + 1, value=decision)
        sheet.cell(row=row, column=header.index("Note") + 1, value=note)
    workbook.save(path)


def test_sheet_holds_the_open_disagreements_with_a_validated_decision_column(coded, tmp_path):
    session = reconcile.open_session(coded, "A", "B")
    session.decide(session.disagreements()[0], "reject")
    path = tmp_path / "decisions.xlsx"
    assert reconcile.write_sheet(session, path) == 3
    workbook = load_workbook(path)
    sheet = workbook["Decisions"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == reconcile.SHEET_COLUMNS
    assert [(r[0], r[1], r[4]) for r in rows[1:]] == [
        ("SF1.txt#4", "SF1", "sup.supervision"), ("SF2.txt#2", "SF2", "sup.peer"), ("TL1.txt#3", "TL1", "work.toll")]
    first = dict(zip(rows[0], rows[1]))
    assert first["Text"] == reconcile_unit_text(coded.connect(), "SF1.txt#4")
    assert first["Coder A"] == "not applied"
    assert first["Coder B"] == "applied to «Supervision helps a bit.»"
    assert first["Definition"] == "Supervision sessions."
    assert first["Decision"] is None and first["Note"] is None
    validations = sheet.data_validations.dataValidation
    assert len(validations) == 1 and validations[0].formula1 == '"apply,reject,A,B"'
    assert "L2" in str(validations[0].sqref)
    about = {r[0]: r[1] for r in workbook["About"].iter_rows(values_only=True)}
    assert (about["coder_a"], about["coder_b"], about["into"], about["unit"]) == ("A", "B", "consensus", "paragraph")
    with pytest.raises(Exception, match="already exists"):
        reconcile.write_sheet(session, path)


def test_a_filled_sheet_is_applied(coded, tmp_path):
    session = reconcile.open_session(coded, "A", "B", record_agreements=False)
    path = tmp_path / "decisions.xlsx"
    reconcile.write_sheet(session, path)
    fill(path, {2: ("A", "first sentence only"), 3: ("apply", None), 4: (None, "ask about 'team'"), 5: ("reject", None)})
    summary = reconcile.reconcile_from_sheet(coded, "A", "B", path)
    assert summary == {"agreements": 3, "applied": 3, "skipped": 1, "unchanged": 0, "open": 1, "single": 0}
    conn = coded.connect()
    log = reconcile.decision_log(coded)
    assert log[log.decision != "agreed"][["unit", "code", "decision", "note"]].values.tolist() == [
        ["SF1.txt#4", "work.toll", "A", "first sentence only"],
        ["SF1.txt#4", "sup.supervision", "apply", ""],
        ["SF2.txt#2", "sup.peer", "skip", "ask about 'team'"],
        ["TL1.txt#3", "work.toll", "reject", ""],
    ]
    assert ("work.toll", "SF1.txt", *phrase(conn, "SF1.txt#4", "I take it home with me.")[1:]) in consensus_spans(coded)
    # the same sheet again changes nothing
    again = reconcile.reconcile_from_sheet(coded, "A", "B", path)
    assert again == {"agreements": 0, "applied": 0, "skipped": 1, "unchanged": 3, "open": 1, "single": 0}


@pytest.mark.parametrize("row, column, value, message", [
    (3, "Decision", "maybe", 'Decisions!L3: "maybe" is not apply, reject, A or B'),
    (4, "Unit", "SF9.txt#2", "Decisions!A4: unit 'SF9.txt#2' is not among the units"),
    (2, "Code", "work.gone", "Decisions!E2: no code 'work.gone' in the codebook"),
    (5, "Code", "work.caseload", "Decisions!A5: TL1.txt#3 × work.caseload is no longer a disagreement"),
])
def test_a_bad_cell_is_named_and_nothing_is_saved(coded, tmp_path, row, column, value, message):
    session = reconcile.open_session(coded, "A", "B", record_agreements=False)
    path = tmp_path / "decisions.xlsx"
    reconcile.write_sheet(session, path)
    fill(path, {2: ("apply", None), 3: ("reject", None), 4: ("A", None), 5: ("B", None)})
    workbook = load_workbook(path)
    sheet = workbook["Decisions"]
    sheet.cell(row=row, column=reconcile.SHEET_COLUMNS.index(column) + 1, value=value)
    workbook.save(path)
    before = snapshot(coded)
    with pytest.raises(SheetError) as failure:
        reconcile.reconcile_from_sheet(coded, "A", "B", path)
    assert str(failure.value).startswith(message)
    assert snapshot(coded) == before


@pytest.mark.parametrize("column, cell", [("Decision", "L2"), ("Unit", "A2"), ("Code", "E2")])
def test_a_cell_pasted_over_with_transcript_text_is_not_echoed_in_full(coded, tmp_path, column, cell):
    session = reconcile.open_session(coded, "A", "B", record_agreements=False)
    path = tmp_path / "decisions.xlsx"
    reconcile.write_sheet(session, path)
    workbook = load_workbook(path)
    sheet = workbook["Decisions"]
    passage = sheet.cell(row=2, column=reconcile.SHEET_COLUMNS.index("Text") + 1).value * 3
    sheet.cell(row=2, column=reconcile.SHEET_COLUMNS.index(column) + 1, value=passage)
    workbook.save(path)
    with pytest.raises(SheetError) as failure:
        reconcile.reconcile_from_sheet(coded, "A", "B", path)
    assert str(failure.value).startswith(f"Decisions!{cell}: ")
    assert passage not in str(failure.value)


def test_a_sheet_for_other_coders_or_unit_is_refused(coded, tmp_path):
    session = reconcile.open_session(coded, "A", "B", record_agreements=False)
    path = tmp_path / "decisions.xlsx"
    reconcile.write_sheet(session, path)
    with pytest.raises(SheetError, match="written for unit 'paragraph', not 'turn'"):
        reconcile.reconcile_from_sheet(coded, "A", "B", path, unit="turn")


def test_a_sheet_decided_before_a_rename_fails_on_the_old_key(coded, tmp_path):
    session = reconcile.open_session(coded, "A", "B", record_agreements=False)
    path = tmp_path / "decisions.xlsx"
    reconcile.write_sheet(session, path)
    with coded.transaction() as c:
        rename_code(c, "sup.peer", "sup.colleagues")
    fill(path, {4: ("apply", None)})
    with pytest.raises(SheetError, match="Decisions!E4: no code 'sup.peer'"):
        reconcile.reconcile_from_sheet(coded, "A", "B", path)


# -- the log ---------------------------------------------------------------------------

def test_log_lists_decisions_in_order_and_leaves_out_undone_ones(coded):
    session = reconcile.open_session(coded, "A", "B")
    first, second = session.disagreements()[:2]
    session.decide(first, "A", note="sentence only")
    session.decide(second, "apply")
    session.undo_last()
    log = reconcile.decision_log(coded)
    assert list(log.columns) == reconcile.LOG_COLUMNS
    assert log.decision.tolist() == ["agreed", "agreed", "agreed", "A"]
    row = log.iloc[-1]
    conn = coded.connect()
    start, end = phrase(conn, "SF1.txt#4", "I take it home with me.")[1:]
    assert (row.unit, row.respondent, row.code, row.kind, row.A, row.B, row.span, row.note) == (
        "SF1.txt#4", "SF1", "work.toll", "boundary", "applied", "applied", f"{start}–{end}", "sentence only")
    full = reconcile.decision_log(coded, include_undone=True)
    assert full.undone.tolist() == ["", "", "", "", "undone"]
    assert reconcile.decision_log(coded, into="other").empty


# -- invariants ------------------------------------------------------------------------

PARAGRAPHS = ["SF1.txt#2", "SF1.txt#4", "SF2.txt#2", "SF2.txt#4", "TL1.txt#2", "TL1.txt#3"]
CODES = ["work.caseload", "work.toll", "sup.supervision", "sup.peer"]
coding_choice = st.sets(st.tuples(st.sampled_from(PARAGRAPHS), st.sampled_from(CODES), st.booleans()), max_size=10)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a_codes=coding_choice, b_codes=coding_choice, decision=st.sampled_from(["apply", "reject"]))
def test_apply_all_gives_either_coder_and_reject_all_gives_both(a_codes, b_codes, decision):
    """Per (unit, code): after deciding every disagreement 'apply' the consensus holds the code where
    either coder did; after 'reject', only where both did with the same spans."""
    assume(a_codes and b_codes)  # a coder without codings has no documents in scope
    with tempfile.TemporaryDirectory() as folder:
        project = build_tiny_project(Path(folder) / "p")
        try:
            with project.transaction() as conn:
                plan = []
                for coder, chosen in (("A", a_codes), ("B", b_codes)):
                    for unit_key, key, whole in chosen:
                        document_id, start, end = paragraph(conn, unit_key)
                        plan.append((coder, key, (document_id, start, end if whole else start + 5)))
                add_coded_spans(conn, plan)
            session = reconcile.open_session(project, "A", "B")
            for d in session.disagreements("open"):
                session.decide(d, decision)
            conn = project.connect()
            units = {u.key: u for u in session.units}

            def present(coder):
                out = set()
                for c in codings.load_codings(conn, coders=[coder]):
                    for key, unit in units.items():
                        if c.document_id == unit.document_id and c.start < unit.end and c.end > unit.start:
                            out.add((key, c.code_key))
                return out

            a, b = present("A"), present("B")
            agreed = {(x.unit_key, x.code_key) for x in session.agreements()}
            assert agreed <= a & b
            # 'reject' on a boundary disagreement removes a code both applied, so reject-all keeps the agreements
            assert present("consensus") == (a | b if decision == "apply" else agreed)
            status = session.status().set_index("code").loc["all"]
            assert status["open"] == 0 and status["agreed"] + status["disagreements"] == len(a | b)
        finally:
            project.close()


def test_sheet_settings_name_the_coders_and_unit(coded, tmp_path):
    session = reconcile.open_session(coded, "A", "B", into="agreed_AB", unit="turn", record_agreements=False)
    path = tmp_path / "decisions.xlsx"
    reconcile.write_sheet(session, path)
    assert reconcile.sheet_settings(path) == {"coder_a": "A", "coder_b": "B", "into": "agreed_AB", "unit": "turn"}
    workbook = load_workbook(path)
    del workbook["About"]
    workbook.save(path)
    with pytest.raises(SheetError, match="lacks coder_a, coder_b, into, unit"):
        reconcile.sheet_settings(path)


def test_single_coded_paragraphs_are_carried_into_the_consensus(coded):
    """B double-coded SF1 only: the rest of A's coding goes into the consensus unchanged."""
    assign(coded, "B", ["SF1.txt#2", "SF1.txt#4"])
    conn = coded.connect()
    session = reconcile.open_session(coded, "A", "B")
    assert [(c.unit_key, c.code_key, c.coder) for c in session.carried()] == [
        ("SF2.txt#2", "sup.peer", "A"), ("SF2.txt#4", "sup.supervision", "A"),
        ("TL1.txt#2", "work.caseload", "A"), ("TL1.txt#3", "work.toll", "A")]
    carried = [
        ("sup.peer", "SF2.txt", *paragraph(conn, "SF2.txt#2")[1:]),
        ("sup.supervision", "SF2.txt", *paragraph(conn, "SF2.txt#4")[1:]),
        ("work.caseload", "TL1.txt", *paragraph(conn, "TL1.txt#2")[1:]),
        ("work.toll", "TL1.txt", *phrase(conn, "TL1.txt#3", "people burn out")[1:]),
    ]
    agreed = [("work.caseload", "SF1.txt", *paragraph(conn, "SF1.txt#2")[1:])]
    assert consensus_spans(coded) == sorted(carried + agreed)
    reconcile.open_session(coded, "A", "B")  # refreshed, not duplicated
    assert consensus_spans(coded) == sorted(carried + agreed)
    status = session.status().set_index("code")
    assert status.loc["all", ["agreed", "disagreements", "single"]].tolist() == [1, 2, 4]
    assert set(reconcile.decision_log(coded).unit) == {"SF1.txt#2"}  # carried codings are not decisions
    reconcile.open_session(coded, "A", "B", carry_single=False)
    assert consensus_spans(coded) == agreed


def test_the_consensus_is_assigned_the_compared_paragraphs_so_agree_measures_the_sample(coded):
    from qualcode.agreement import compute_agreement

    assign(coded, "B", ["SF1.txt#2", "SF1.txt#4"])
    session = reconcile.open_session(coded, "A", "B")
    conn = coded.connect()
    assigned = {r[0] for r in conn.execute(
        "SELECT d.name || '#' || u.seq FROM assignments a JOIN units u USING (unit_id) JOIN documents d"
        " USING (document_id) WHERE a.coder_id = ?", (store.coder_id(conn, "consensus"),))}
    assert assigned == {"SF1.txt#2", "SF1.txt#4"}
    for d in session.disagreements("open"):
        session.decide(d, "B")
    result = compute_agreement(conn, "B", "consensus", unit="paragraph")
    assert result.compared["count"] == 2
    assert result.per_code.set_index("code").loc["work.toll", "kappa"] == 1.0


# -- the example study's decisions sheet -----------------------------------------------

def test_the_example_studys_decisions_sheet_settles_every_disagreement(tmp_path):
    """transcripts_example/codings/decisions.xlsx applies cleanly to the example study as the demo builds it."""
    from qualcode import demo, sheets, transcripts
    from qualcode.codebook import import_codebook
    from qualcode.project import CONFIG_NAME, Project

    folder = demo.example_study_dir() / "codings"
    if not (folder / "decisions.xlsx").exists():
        pytest.skip("the example study's decisions sheet is not in this checkout")
    root = tmp_path / "bridge"
    Project.create(root).close()
    with (root / CONFIG_NAME).open("a", encoding="utf-8") as handle:
        handle.write(demo.DEMO_CONFIG_EXTRA)
    project = Project.find(root)
    try:
        assert not [r for r in transcripts.import_paths(project, [folder.parent]) if r.status == "failed"]
        with project.transaction() as conn:
            import_codebook(conn, demo.example_codebook_path())
        sheets.export_sheet(project, "B", tmp_path / "b.xlsx", sample=0.3, seed=7, by="respondent")
        sheets.import_sheet(project, folder / "coder_A.xlsx", "A")
        sheets.import_sheet(project, folder / "coder_B.xlsx", "B")
        settings_ = reconcile.sheet_settings(folder / "decisions.xlsx")
        assert settings_ == {"coder_a": "A", "coder_b": "B", "into": "consensus", "unit": "paragraph"}
        summary = reconcile.reconcile_from_sheet(project, "A", "B", folder / "decisions.xlsx")
        assert summary["applied"] == 16 and summary["open"] == 0 and summary["skipped"] == 0
        log = reconcile.decision_log(project)
        decided = log[log.decision != "agreed"]
        assert sorted(decided.decision.unique()) == ["apply", "reject"]
        assert (decided.note.str.len() > 20).all()  # every decision carries its reason
        respondents = {r[0] for r in project.connect().execute(
            "SELECT DISTINCT u.respondent_id FROM codings c JOIN coders k USING (coder_id) JOIN units u"
            " ON u.document_id = c.document_id AND c.start < u.end AND c.end > u.start"
            " WHERE k.name = 'consensus' AND u.role = 'respondent'")}
        assert len(respondents) == 14  # single-coded respondents are carried over
    finally:
        project.close()


def test_sentence_units_split_a_boundary_disagreement_into_presence_ones(coded):
    """A coded the first sentence of SF1#4 and B the whole paragraph: at sentence level they agree on
    the first sentence and differ on the other two."""
    session = reconcile.open_session(coded, "A", "B", unit="sentence")
    toll = [(d.unit_key, d.kind, d.a_applied, d.b_applied) for d in session.disagreements()
            if d.code_key == "work.toll" and d.unit_key.startswith("SF1")]
    assert toll == [("SF1.txt#4.2", "presence", False, True), ("SF1.txt#4.3", "presence", False, True)]
    assert ("SF1.txt#4.1", "work.toll") in {(a.unit_key, a.code_key) for a in session.agreements()}
