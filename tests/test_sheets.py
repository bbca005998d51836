"""Coding sheets: export, fill, import — and every way a returned sheet can be wrong."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from qualcode import sheets
from qualcode.codings import add_codings, load_codings
from qualcode.errors import InputError, NotFound, SheetError
from qualcode.store import get_or_create_coder
from qualcode.units import load_units

CODES = ["work.caseload", "work.toll", "sup.supervision", "sup.peer"]


def snapshot(project):
    """Everything an import may change, to compare before and after a refused import."""
    conn = project.connect()
    return (
        conn.execute("SELECT * FROM codings ORDER BY coding_id").fetchall(),
        conn.execute("SELECT * FROM coders ORDER BY coder_id").fetchall(),
        conn.execute("SELECT * FROM assignments ORDER BY coder_id, unit_id").fetchall(),
        conn.execute("SELECT * FROM samples ORDER BY sample_id").fetchall(),
    )


def code_column(sheet, key):
    for cell in sheet[sheets.KEY_ROW]:
        if cell.value == sheets.CODE_KEY_PREFIX + key:
            return cell.column
    raise AssertionError(f"no column for {key}")


def fixed_column(sheet, key):
    for cell in sheet[sheets.KEY_ROW]:
        if cell.value == key:
            return cell.column
    raise AssertionError(f"no column {key}")


def row_of(sheet, unit_key):
    column = fixed_column(sheet, "#unit")
    for row in range(sheets.FIRST_DATA_ROW, sheet.max_row + 1):
        if sheet.cell(row, column).value == unit_key:
            return row
    raise AssertionError(f"no row for {unit_key}")


def fill(path, marks, out=None, value="x"):
    """Mark (unit key, code key) cells in a sheet and save it (to ``out`` or in place)."""
    workbook = load_workbook(path)
    sheet = workbook[sheets.CODING_SHEET]
    for unit_key, code_key in marks:
        sheet.cell(row_of(sheet, unit_key), code_column(sheet, code_key)).value = value
    workbook.save(out or path)
    return out or path


def sheet_marks(project, coder):
    return {(f"{c.document}#{seq}", c.code_key)
            for c in load_codings(project.connect(), coders=[coder])
            for seq in [_seq_of(project, c)]}


def _seq_of(project, coding):
    row = project.connect().execute(
        "SELECT seq FROM units WHERE document_id = ? AND start = ? AND end = ?",
        (coding.document_id, coding.start, coding.end)).fetchone()
    return row[0]


@pytest.fixture
def exported(tiny_project, tmp_path):
    result = sheets.export_sheet(tiny_project, "A", tmp_path / "a.xlsx")
    return tiny_project, result.path


# --------------------------------------------------------------------------- export


def test_export_writes_one_row_per_respondent_paragraph_and_one_column_per_leaf_code(exported):
    project, path = exported
    workbook = load_workbook(path)
    assert workbook.sheetnames[:3] == ["Coding", "Codebook", "Instructions"]
    sheet = workbook["Coding"]
    headers = [c.value for c in sheet[sheets.HEADER_ROW]]
    assert headers[:5] == ["Respondent", "Document", "Unit", "Speaker", "Text"]
    assert headers[5:9] == ["Caseload pressure", "Emotional toll", "Supervision", "Peer support"]
    unit_keys = [sheet.cell(r, 3).value for r in range(sheets.FIRST_DATA_ROW, sheet.max_row + 1)]
    assert unit_keys == [u.key for u in load_units(project.connect(), "paragraph")]
    first = sheets.FIRST_DATA_ROW
    assert sheet.cell(first, 1).value == "SF1"
    assert sheet.cell(first, 5).value == "Honestly, it's a lot. I've got forty people on my books and that's too many."
    assert sheet.cell(first, 5).alignment.wrap_text
    assert sheet.row_dimensions[first].height >= 18


def test_export_workbook_has_validation_comments_frozen_panes_and_hidden_checks(exported):
    _, path = exported
    workbook = load_workbook(path)
    sheet = workbook["Coding"]
    assert sheet.freeze_panes == "F3"
    assert sheet.auto_filter.ref.startswith("A2:")
    validations = sheet.data_validations.dataValidation
    assert len(validations) == 1
    assert validations[0].type == "list" and validations[0].formula1 == '"1,x"'
    assert validations[0].allow_blank
    assert str(validations[0].sqref) == f"F3:I{sheet.max_row}"
    comment = sheet.cell(sheets.HEADER_ROW, 6).comment
    assert comment is not None and "Numbers of clients, being stretched." in comment.text
    assert "Exclude: Stress without reference to numbers" in comment.text
    assert sheet.row_dimensions[sheets.KEY_ROW].hidden
    assert [c.value for c in sheet[sheets.HEADER_ROW]][9:] == ["Unit id (do not edit)", "Text check (do not edit)"]
    assert sheet.column_dimensions["J"].hidden and sheet.column_dimensions["K"].hidden
    assert sheet.cell(3, 10).value == "SF1.txt#2"
    assert sheet.cell(3, 11).value == sheets.text_hash(
        "Honestly, it's a lot. I've got forty people on my books and that's too many.")
    assert workbook["_qualcode"].sheet_state == "veryHidden"


def test_codebook_and_instructions_sheets(exported):
    _, path = exported
    workbook = load_workbook(path)
    codebook_rows = list(workbook["Codebook"].iter_rows(values_only=True))
    assert codebook_rows[0] == ("Theme", "Label", "Key", "Definition", "Include", "Exclude", "Examples")
    caseload = next(r for r in codebook_rows if r[2] == "work.caseload")
    assert caseload[0] == "Workload and capacity"
    assert caseload[3] == "Numbers of clients, being stretched."
    assert caseload[4] == "Any mention of caseload size."
    assert caseload[6] == "“I've got forty on my books.”"
    instructions = [r[0] for r in workbook["Instructions"].iter_rows(values_only=True)]
    assert "Coder: A" in instructions
    assert any(line and "save the file as an Excel workbook (.xlsx)" in line for line in instructions)


def test_export_narrowed_by_codebook_and_documents(tiny_project, tmp_path):
    result = sheets.export_sheet(tiny_project, "A", tmp_path / "a.xlsx", codes=["support"], documents=["SF2"])
    assert result.codes == ["sup.supervision", "sup.peer"]
    assert result.documents == ["SF2.txt"] and result.units == 2
    with pytest.raises(NotFound, match="no code 'nope'"):
        sheets.export_sheet(tiny_project, "A", tmp_path / "b.xlsx", codes=["nope"])
    with pytest.raises(NotFound, match="no document 'XX9'"):
        sheets.export_sheet(tiny_project, "A", tmp_path / "b.xlsx", documents=["XX9"])


def test_export_refuses_to_overwrite_and_non_xlsx_names(exported, tmp_path):
    project, path = exported
    before = path.read_bytes()
    with pytest.raises(Exception, match="add --force"):
        sheets.export_sheet(project, "A", path)
    assert path.read_bytes() == before
    with pytest.raises(InputError, match=r"ending in \.xlsx"):
        sheets.export_sheet(project, "A", tmp_path / "a.csv")
    sheets.export_sheet(project, "A", path, force=True)


def test_export_records_units_as_assignments(exported):
    project, _ = exported
    conn = project.connect()
    rows = conn.execute("SELECT unit_id, sample_id FROM assignments a JOIN coders USING (coder_id) WHERE name='A'").fetchall()
    assert sorted(r[0] for r in rows) == sorted(u.unit_ids[0] for u in load_units(conn, "paragraph"))
    assert {r[1] for r in rows} == {None}


# --------------------------------------------------------------------------- blindness


def test_sheet_for_b_never_carries_a_codings_but_carries_b_own(tiny_project, tmp_path):
    conn = tiny_project.connect()
    paragraphs = load_units(conn, "paragraph")
    code_id = {r[0]: r[1] for r in conn.execute("SELECT key, code_id FROM codes")}
    with tiny_project.transaction() as conn:
        a = get_or_create_coder(conn, "A")
        b = get_or_create_coder(conn, "B")
        # A codes every unit with every code; B has one earlier coding of its own
        add_codings(conn, [{"coder_id": a, "code_id": code_id[k], "document_id": u.document_id, "start": u.start,
                            "end": u.end, "origin": "rule"} for u in paragraphs for k in CODES])
        add_codings(conn, [{"coder_id": b, "code_id": code_id["sup.peer"], "document_id": paragraphs[2].document_id,
                            "start": paragraphs[2].start + 3, "end": paragraphs[2].start + 10, "origin": "manual"}])
    result = sheets.export_sheet(tiny_project, "B", tmp_path / "b.xlsx")
    assert result.prefilled == 1
    sheet = load_workbook(tmp_path / "b.xlsx")["Coding"]
    marked = []
    for row in range(sheets.FIRST_DATA_ROW, sheet.max_row + 1):
        for column in range(6, 10):
            if sheet.cell(row, column).value is not None:
                marked.append((sheet.cell(row, 3).value, sheet.cell(sheets.KEY_ROW, column).value))
    assert marked == [(paragraphs[2].key, "code:sup.peer")]
    # and nothing of A's anywhere else in the workbook
    workbook = load_workbook(tmp_path / "b.xlsx")
    for ws in workbook.worksheets:
        for row in ws.iter_rows(values_only=True):
            assert "A" not in row


# --------------------------------------------------------------------------- sample


def test_sample_is_reproducible_from_the_seed_and_recorded(tiny_project, tmp_path):
    first = sheets.export_sheet(tiny_project, "B", tmp_path / "b1.xlsx", sample=0.5, seed=11)
    second = sheets.export_sheet(tiny_project, "B", tmp_path / "b2.xlsx", sample=0.5, seed=11)
    assert first.sampled_groups == second.sampled_groups
    assert len(first.sampled_groups) == 2  # round(0.5 × 3 respondents)
    keys = lambda p: [r[2] for r in load_workbook(p)["Coding"].iter_rows(min_row=3, values_only=True)]
    assert keys(tmp_path / "b1.xlsx") == keys(tmp_path / "b2.xlsx")
    conn = tiny_project.connect()
    samples = conn.execute("SELECT fraction, seed, by FROM samples").fetchall()
    # a re-export with the same draw reuses the recorded sample
    assert [tuple(s) for s in samples] == [(0.5, 11, "respondent")]
    assert second.sample_id == first.sample_id and second.reused_sample
    assigned = conn.execute(
        "SELECT u.respondent_id FROM assignments a JOIN units u USING (unit_id) JOIN coders k USING (coder_id)"
        " WHERE k.name = 'B'").fetchall()
    assert {r[0] for r in assigned} == set(first.sampled_groups)


def test_draw_sample_uses_natural_order_and_the_seed():
    units = [sheets.SheetUnit(f"R{i}.txt#1", i, i, f"R{i}.txt", 0, 1, f"R{i}", f"R{i}", "t") for i in range(1, 21)]
    shuffled = list(reversed(units))
    drawn = sheets.draw_sample(units, 0.3, 7)
    assert drawn == sheets.draw_sample(shuffled, 0.3, 7)  # input order does not matter
    assert len(drawn) == 6
    import random

    from natsort import natsorted

    assert drawn == natsorted(random.Random(7).sample(natsorted(f"R{i}" for i in range(1, 21)), 6))
    assert sheets.draw_sample(units, 0.3, 8) != drawn
    assert sheets.draw_sample(units, 0.3, 7, by="document") == [f"{r}.txt" for r in drawn]
    with pytest.raises(InputError, match="fraction"):
        sheets.draw_sample(units, 1.5, 7)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fraction=st.floats(min_value=0.01, max_value=1.0), seed=st.integers(0, 10**6),
       count=st.integers(1, 40))
def test_draw_sample_size_and_membership(fraction, seed, count):
    units = [sheets.SheetUnit(f"D{i}#1", i, i, f"D{i}", 0, 1, f"P{i}", None, "t") for i in range(count)]
    drawn = sheets.draw_sample(units, fraction, seed)
    assert 1 <= len(drawn) <= count
    assert len(set(drawn)) == len(drawn)
    assert set(drawn) <= {f"P{i}" for i in range(count)}
    assert abs(len(drawn) - fraction * count) <= max(1, 0.5 + 1e-9)


def test_sample_by_document(tiny_project, tmp_path):
    result = sheets.export_sheet(tiny_project, "B", tmp_path / "b.xlsx", sample=0.34, seed=2, by="document")
    assert result.by == "document" and len(result.sampled_groups) == 1
    assert result.documents == result.sampled_groups


def test_sample_without_seed_chooses_and_reports_one(tiny_project, tmp_path):
    result = sheets.export_sheet(tiny_project, "B", tmp_path / "b.xlsx", sample=0.5)
    assert isinstance(result.seed, int)
    again = sheets.export_sheet(tiny_project, "B", tmp_path / "c.xlsx", sample=0.5, seed=result.seed)
    assert again.sampled_groups == result.sampled_groups


# --------------------------------------------------------------------------- import


def test_round_trip_codings_equal_what_was_filled(exported):
    project, path = exported
    marks = {("SF1.txt#2", "work.caseload"), ("SF1.txt#4", "work.toll"), ("SF1.txt#4", "sup.supervision"),
             ("SF2.txt#2", "sup.peer"), ("TL1.txt#3", "work.toll")}
    fill(path, marks)
    result = sheets.import_sheet(project, path, "A")
    assert (result.added, result.removed, result.kept, result.marked) == (5, 0, 0, 5)
    assert sheet_marks(project, "A") == marks
    codings = load_codings(project.connect(), coders=["A"])
    assert {c.origin for c in codings} == {"sheet"}
    # each coding covers exactly its unit's span
    spans = {u.key: (u.start, u.end) for u in load_units(project.connect(), "paragraph")}
    for coding in codings:
        assert (coding.start, coding.end) in spans.values()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chosen=st.sets(st.tuples(st.sampled_from(["SF1.txt#2", "SF1.txt#4", "SF2.txt#2", "SF2.txt#4", "TL1.txt#2",
                                                 "TL1.txt#3"]), st.sampled_from(CODES))),
       value=st.sampled_from(["x", "X", 1, "1", " x "]))
def test_round_trip_property(tmp_path_factory, chosen, value):
    from tests.conftest import build_tiny_project

    folder = tmp_path_factory.mktemp("rt")
    project = build_tiny_project(folder / "p")
    try:
        path = sheets.export_sheet(project, "A", folder / "a.xlsx").path
        fill(path, chosen, value=value)
        sheets.import_sheet(project, path, "A")
        assert sheet_marks(project, "A") == chosen
    finally:
        project.close()


def test_reimport_replaces_and_reports_added_removed_kept(exported):
    project, path = exported
    fill(path, {("SF1.txt#2", "work.caseload"), ("SF2.txt#2", "sup.peer")})
    sheets.import_sheet(project, path, "A")
    workbook = load_workbook(path)
    sheet = workbook["Coding"]
    sheet.cell(row_of(sheet, "SF2.txt#2"), code_column(sheet, "sup.peer")).value = None
    sheet.cell(row_of(sheet, "TL1.txt#2"), code_column(sheet, "work.caseload"), 1)
    workbook.save(path)
    result = sheets.import_sheet(project, path, "A")
    assert (result.added, result.removed, result.kept) == (1, 1, 1)
    assert sheet_marks(project, "A") == {("SF1.txt#2", "work.caseload"), ("TL1.txt#2", "work.caseload")}


def test_reimport_leaves_other_origins_and_other_coders_alone(exported):
    project, path = exported
    conn = project.connect()
    unit = load_units(conn, "paragraph")[0]
    toll = conn.execute("SELECT code_id FROM codes WHERE key='work.toll'").fetchone()[0]
    with project.transaction() as conn:
        a, b = get_or_create_coder(conn, "A"), get_or_create_coder(conn, "B")
        add_codings(conn, [{"coder_id": c, "code_id": toll, "document_id": unit.document_id, "start": unit.start,
                            "end": unit.end, "origin": "rule"} for c in (a, b)])
    result = sheets.import_sheet(project, path, "A")
    assert result.added == 0 and result.removed == 0
    assert result.notes and "other origins" in result.notes[0]
    assert len(load_codings(project.connect(), coders=["A"], origins=["rule"])) == 1
    assert len(load_codings(project.connect(), coders=["B"])) == 1


def test_import_records_assignments_and_the_sample_from_another_project(tiny_project, tmp_path):
    from tests.conftest import build_tiny_project

    result = sheets.export_sheet(tiny_project, "B", tmp_path / "b.xlsx", sample=0.5, seed=5)
    path = result.path
    fill(path, {(f"{result.documents[0]}#2", "work.caseload")})
    other = build_tiny_project(tmp_path / "other")
    try:
        sheets.import_sheet(other, path, "B")
        conn = other.connect()
        assert [tuple(r) for r in conn.execute("SELECT fraction, seed, by FROM samples")] == [(0.5, 5, "respondent")]
        exported_units = {u.key for u in sheets.load_sheet_units(tiny_project.connect())
                          if u.key in {r[2] for r in load_workbook(path)["Coding"].iter_rows(min_row=3, values_only=True)}}
        assigned = {f"{r[0]}#{r[1]}" for r in conn.execute(
            "SELECT d.name, u.seq FROM assignments a JOIN units u USING (unit_id) JOIN documents d USING (document_id)")}
        assert assigned == exported_units
        # importing again does not record the sample twice
        sheets.import_sheet(other, path, "B")
        assert conn.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 1
    finally:
        other.close()


def test_reordered_columns_and_sorted_rows_are_fine(exported, tmp_path):
    project, path = exported
    fill(path, {("SF1.txt#4", "work.toll"), ("TL1.txt#2", "work.caseload")})
    workbook = load_workbook(path)
    sheet = workbook["Coding"]
    # swap the two workload columns (whole columns, key row included) and reverse the rows
    for row in range(1, sheet.max_row + 1):
        f, g = sheet.cell(row, 6), sheet.cell(row, 7)
        f.value, g.value = g.value, f.value
    data = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
    for offset, values in enumerate(reversed(data)):
        for column, value in enumerate(values, start=1):
            sheet.cell(3 + offset, column).value = value
    workbook.save(path)
    sheets.import_sheet(project, path, "A")
    assert sheet_marks(project, "A") == {("SF1.txt#4", "work.toll"), ("TL1.txt#2", "work.caseload")}


def test_a_renamed_codebook_label_still_matches_by_key(exported):
    project, path = exported
    fill(path, {("SF1.txt#2", "work.caseload")})
    with project.transaction() as conn:
        conn.execute("UPDATE codes SET label = 'Too many clients' WHERE key = 'work.caseload'")
    sheets.import_sheet(project, path, "A")
    assert sheet_marks(project, "A") == {("SF1.txt#2", "work.caseload")}


# --------------------------------------------------------------------------- bad input


def edit(path, change):
    workbook = load_workbook(path)
    change(workbook, workbook["Coding"])
    workbook.save(path)


def refused(project, path, pattern, coder="A", **kwargs):
    before = snapshot(project)
    with pytest.raises((SheetError, InputError), match=pattern) as info:
        sheets.import_sheet(project, path, coder, **kwargs)
    assert snapshot(project) == before
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("suffix, hint", [(".xls", "old-style Excel .xls"), (".ods", "OpenDocument spreadsheet"),
                                          (".csv", r"save the coding sheet as an Excel Workbook \(\.xlsx\)")])
def test_other_spreadsheet_formats_say_how_to_fix(exported, tmp_path, suffix, hint):
    project, path = exported
    other = tmp_path / f"a{suffix}"
    shutil.copy(path, other)
    message = refused(project, other, hint)
    assert ".xlsx" in message


def test_not_a_workbook(exported, tmp_path):
    project, _ = exported
    fake = tmp_path / "fake.xlsx"
    fake.write_text("this is not a zip file")
    refused(project, fake, "is not a readable Excel workbook")


def test_unit_value_that_is_not_1_or_x_names_the_cell(exported):
    project, path = exported
    fill(path, {("SF1.txt#2", "work.caseload")})
    edit(path, lambda wb, ws: ws.cell(row_of(ws, "TL1.txt#2"), code_column(ws, "sup.peer"), "yes "))
    message = refused(project, path, r'Coding!I7: "yes " is not 1 or x')
    assert "nothing was imported" in message


@pytest.mark.parametrize("value", [0, 2, "no", "=1", True, "xx"])
def test_other_values_are_refused(exported, value):
    project, path = exported
    edit(path, lambda wb, ws: ws.cell(3, 6, value))
    refused(project, path, r"Coding!F3: .* is not 1 or x" if value != "=1" else r"Coding!F3: holds a formula")


def test_renamed_code_column(exported):
    project, path = exported
    edit(path, lambda wb, ws: ws.cell(sheets.HEADER_ROW, 7, "Stress"))
    refused(project, path, r"Coding!G2: the column for code 'work.toll' was renamed to \"Stress\"")


def test_added_code_column(exported):
    project, path = exported
    edit(path, lambda wb, ws: ws.cell(sheets.HEADER_ROW, ws.max_column + 1, "Hope"))
    refused(project, path, r"Coding!L2: column \"Hope\" was added")


def test_inserted_code_column_between_codes(exported):
    project, path = exported

    def insert(wb, ws):
        ws.insert_cols(7)
        ws.cell(sheets.HEADER_ROW, 7, "Burnout")
        ws.cell(3, 7, "x")

    edit(path, insert)
    refused(project, path, r"Coding!G2: column \"Burnout\" was added")


def test_deleted_code_column(exported):
    project, path = exported
    edit(path, lambda wb, ws: ws.delete_cols(8))
    refused(project, path, r"the column for code 'sup.supervision' .* was deleted")


def test_merged_cells(exported):
    project, path = exported
    edit(path, lambda wb, ws: ws.merge_cells("F4:G4"))
    refused(project, path, r"Coding!F4:G4 is a merged cell range; unmerge")


def test_edited_unit_text_names_the_cell_without_quoting_it(exported):
    project, path = exported
    original = load_workbook(path)["Coding"].cell(4, 5).value
    edit(path, lambda wb, ws: ws.cell(4, 5, ws.cell(4, 5).value.replace("sleep", "rest")))
    message = refused(project, path, r"Coding!E4: the text of unit SF1.txt#4 was edited")
    assert "sleep" not in message and original not in message


def test_changed_unit_id(exported):
    project, path = exported
    edit(path, lambda wb, ws: ws.cell(5, 3, "SF2.txt#9"))
    refused(project, path, r"Coding!C5: the unit id was changed \(the row belongs to SF2.txt#2\)")


def test_deleted_row(exported):
    project, path = exported
    edit(path, lambda wb, ws: ws.delete_rows(5))
    refused(project, path, r"the row for unit SF2.txt#2 was deleted")


def test_duplicated_row(exported):
    project, path = exported

    def duplicate(wb, ws):
        last = ws.max_row
        for column in range(1, ws.max_column + 1):
            ws.cell(last + 1, column, ws.cell(4, column).value)

    edit(path, duplicate)
    refused(project, path, r"Coding!C9: unit SF1.txt#4 appears again \(first in row 4\)")


def test_added_row_without_unit_id(exported):
    project, path = exported
    edit(path, lambda wb, ws: (ws.cell(9, 5, "my own paragraph"), ws.cell(9, 6, "x")))
    refused(project, path, r"Coding!C9: this row has no unit id")


def test_wrong_coder_is_refused_unless_forced(exported):
    project, path = exported
    fill(path, {("SF1.txt#2", "work.caseload")})
    refused(project, path, r"was exported for coder 'A', not 'B'; import it with --coder A", coder="B")
    result = sheets.import_sheet(project, path, "B", force_coder=True)
    assert result.added == 1 and result.exported_for == "A"
    assert sheet_marks(project, "B") == {("SF1.txt#2", "work.caseload")}
    assert sheet_marks(project, "A") == set()


def test_empty_sheet(exported, tmp_path):
    project, path = exported

    def clear(wb, ws):
        ws.delete_rows(1, ws.max_row)

    edit(path, clear)
    refused(project, path, r"the Coding sheet is empty")


def test_all_unit_rows_removed(exported):
    project, path = exported
    edit(path, lambda wb, ws: ws.delete_rows(3, ws.max_row))
    refused(project, path, r"has no unit rows")


def test_missing_coding_sheet(exported):
    project, path = exported
    edit(path, lambda wb, ws: setattr(ws, "title", "Codes"))
    refused(project, path, r"has no sheet named 'Coding'")


def test_workbook_not_from_export(exported, tmp_path):
    project, path = exported
    edit(path, lambda wb, ws: wb.remove(wb["_qualcode"]))
    refused(project, path, r"was not written by 'qualcode sheet export'")


def test_unit_changed_in_project_since_export(exported):
    project, path = exported
    edit(path, lambda wb, ws: ws.cell(3, 11, "000000000000"))
    refused(project, path, r"Coding!K3: the text of unit SF1.txt#2 in the project differs")


def test_several_problems_are_reported_together(exported):
    project, path = exported

    def spoil(wb, ws):
        ws.cell(3, 6, "y")
        ws.cell(4, 7, "maybe")
        ws.cell(5, 8, "?")

    edit(path, spoil)
    message = refused(project, path, r"3 problems")
    assert "Coding!F3" in message and "Coding!G4" in message and "Coding!H5" in message


def test_failed_reimport_keeps_the_earlier_codings(exported):
    project, path = exported
    fill(path, {("SF1.txt#2", "work.caseload")})
    sheets.import_sheet(project, path, "A")
    edit(path, lambda wb, ws: ws.cell(3, 6, "yes"))
    refused(project, path, r"Coding!F3")
    assert sheet_marks(project, "A") == {("SF1.txt#2", "work.caseload")}


def test_formula_like_text_survives_the_round_trip(tmp_path):
    from tests.conftest import build_tiny_project

    from qualcode import codebook, documents
    from qualcode.project import Project

    project = Project.create(tmp_path / "f", name="f")
    try:
        with project.transaction() as conn:
            text = "P1: =SUM(A1) is what I'd say\n"
            documents.add_document(conn, name="P1.txt", text=text, source_format="txt", respondent_id="P1",
                                   units=[{"start": 4, "end": len(text) - 1, "role": "respondent", "speaker": "P1",
                                           "respondent_id": "P1"}])
            codebook.store_nodes(conn, [{"key": "c", "label": "A code"}])
        path = sheets.export_sheet(project, "A", tmp_path / "f.xlsx").path
        cell = load_workbook(path)["Coding"].cell(3, 5).value
        assert cell.startswith("'=")
        fill(path, {("P1.txt#1", "c")})
        assert sheets.import_sheet(project, path, "A").added == 1
    finally:
        project.close()


# --------------------------------------------------------------------------- the example study's sheets


@pytest.fixture(scope="module")
def example_project(tmp_path_factory):
    """A project built from transcripts_example/ as the demo builds it."""
    from qualcode import demo, transcripts
    from qualcode.codebook import import_codebook
    from qualcode.project import CONFIG_NAME, Project

    study = demo.example_study_dir()
    if not (study / "codings" / "coder_A.xlsx").exists():
        pytest.skip("the example study's coding sheets are not in this checkout")
    root = tmp_path_factory.mktemp("example") / "bridge"
    Project.create(root).close()
    with (root / CONFIG_NAME).open("a", encoding="utf-8") as handle:
        handle.write(demo.DEMO_CONFIG_EXTRA)
    project = Project.find(root)
    results = transcripts.import_paths(project, [study])
    assert not [r for r in results if r.status == "failed"]
    with project.transaction() as conn:
        import_codebook(conn, demo.example_codebook_path())
    yield project, study / "codings"
    project.close()


def test_example_sheets_import_and_b_is_the_seeded_sample(example_project, tmp_path):
    project, folder = example_project
    unit_keys = lambda path: [r[2] for r in load_workbook(path)["Coding"].iter_rows(min_row=3, values_only=True)]
    all_units = [u.key for u in sheets.load_sheet_units(project.connect())]
    assert unit_keys(folder / "coder_A.xlsx") == all_units
    again = sheets.export_sheet(project, "B", tmp_path / "b.xlsx", sample=0.3, seed=7, by="respondent")
    assert unit_keys(folder / "coder_B.xlsx") == unit_keys(again.path)
    assert 0.2 <= again.units / len(all_units) <= 0.4
    a = sheets.import_sheet(project, folder / "coder_A.xlsx", "A")
    b = sheets.import_sheet(project, folder / "coder_B.xlsx", "B")
    assert a.units == len(all_units) and b.units == again.units
    assert a.marked > 0 and b.marked > 0
    both = sheets.double_coded_units(project.connect(), "A", "B")
    assert len(both) == again.units
    # the two coders agree on most marks of the sample but not all (the sheets plant real disagreements)
    sample_keys = set(unit_keys(again.path))
    marks_a = {m for m in sheet_marks(project, "A") if m[0] in sample_keys}
    marks_b = sheet_marks(project, "B")
    assert marks_a != marks_b
    assert len(marks_a & marks_b) / len(marks_a | marks_b) > 0.7


def test_deleted_check_column(exported):
    project, path = exported
    edit(path, lambda wb, ws: ws.delete_cols(11))
    refused(project, path, r"Coding: the column 'Text check \(do not edit\)' was deleted")


def test_export_of_documents_without_respondent_speech(tiny_project, tmp_path):
    from qualcode import documents

    with tiny_project.transaction() as conn:
        documents.add_document(conn, name="I1.txt", text="Interviewer: hello\n", source_format="txt",
                               units=[{"start": 13, "end": 18, "role": "interviewer", "speaker": "Interviewer"}])
    before = snapshot(tiny_project)
    with pytest.raises(InputError, match="no respondent paragraphs to code in the given --documents"):
        sheets.export_sheet(tiny_project, "A", tmp_path / "a.xlsx", documents=["I1.txt"])
    assert snapshot(tiny_project) == before
    assert not (tmp_path / "a.xlsx").exists()


def test_double_coded_units_are_the_paragraphs_agree_compares(tiny_project):
    """The sample both coders coded is units.compared_paragraphs: assignments, or for a coder without
    any the documents that coder coded; in unit order."""
    from qualcode.agreement import compute_agreement
    from qualcode.units import compared_paragraphs
    from tests.conftest import add_coded_spans, assign_paragraphs, paragraph_span

    with tiny_project.transaction() as conn:
        add_coded_spans(conn, [("A", "work.toll", paragraph_span(conn, key))
                               for key in ("SF1.txt#2", "SF2.txt#2", "TL1.txt#3")]
                        + [("B", "work.toll", paragraph_span(conn, "SF1.txt#4"))])
    conn = tiny_project.connect()
    assign_paragraphs(tiny_project, "A", ["SF1.txt#2", "SF1.txt#4", "SF2.txt#2", "TL1.txt#3"])
    # B has no assignments: B's scope is SF1.txt, the one document B coded
    both = sheets.double_coded_units(conn, "A", "B")
    assert both == sorted(compared_paragraphs(conn, "A", "B").unit_ids)
    keys = {u.unit_ids[0]: u.key for u in load_units(conn, "paragraph")}
    assert [keys[u] for u in both] == ["SF1.txt#2", "SF1.txt#4"]
    assert compute_agreement(conn, "A", "B").compared["paragraphs"] == len(both)
    with pytest.raises(NotFound, match="no coder named 'C'"):
        sheets.double_coded_units(conn, "A", "C")


def test_prefilled_marks_follow_the_overlap_rule(tiny_project, tmp_path):
    """A coder's earlier coding marks every paragraph it overlaps by a character, and none it only
    touches or that lies in another document."""
    from tests.conftest import add_coded_spans, paragraph_span

    with tiny_project.transaction() as conn:
        first, second = paragraph_span(conn, "TL1.txt#2"), paragraph_span(conn, "TL1.txt#3")
        add_coded_spans(conn, [
            ("B", "work.toll", (first[0], first[2] - 2, second[1] + 2)),  # over the end of #2 into #3
            ("B", "sup.peer", (first[0], first[2], second[1])),  # only the gap between the two
        ])
    result = sheets.export_sheet(tiny_project, "B", tmp_path / "b.xlsx", documents=["TL1.txt"])
    assert result.prefilled == 2
    assert sheet_marks_of(tmp_path / "b.xlsx") == {("TL1.txt#2", "work.toll"), ("TL1.txt#3", "work.toll")}


def sheet_marks_of(path):
    sheet = load_workbook(path)["Coding"]
    codes = {column: sheet.cell(sheets.KEY_ROW, column).value for column in range(1, sheet.max_column + 1)}
    return {(sheet.cell(row, 3).value, codes[column].removeprefix("code:"))
            for row in range(sheets.FIRST_DATA_ROW, sheet.max_row + 1) for column in codes
            if codes[column] and str(codes[column]).startswith("code:") and sheet.cell(row, column).value is not None}


def test_a_different_draw_needs_new_sample(tiny_project, tmp_path):
    from qualcode.errors import InputError

    first = sheets.export_sheet(tiny_project, "B", tmp_path / "b1.xlsx", sample=0.5)
    assert first.seed is not None  # drawn and reported
    with pytest.raises(InputError, match="--new-sample"):
        sheets.export_sheet(tiny_project, "B", tmp_path / "b2.xlsx", sample=0.5, seed=first.seed + 1)
    with pytest.raises(InputError, match="already has a double-coding sample"):
        sheets.export_sheet(tiny_project, "B", tmp_path / "b2.xlsx", sample=1.0)
    again = sheets.export_sheet(tiny_project, "B", tmp_path / "b3.xlsx", sample=0.5)
    assert (again.seed, again.sample_id) == (first.seed, first.sample_id)
    replaced = sheets.export_sheet(tiny_project, "B", tmp_path / "b4.xlsx", sample=1.0, new_sample=True)
    assert replaced.replaced_sample == first.sample_id
    conn = tiny_project.connect()
    assert {r[0] for r in conn.execute("SELECT DISTINCT sample_id FROM assignments")} == {replaced.sample_id}
