import pandas as pd
import pytest

from qualcode import exports
from qualcode.errors import OverwriteRefused


@pytest.mark.parametrize("value", ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_formula_like_text_is_neutralised(value):
    assert exports.safe_cell(value) == "'" + value


def test_ordinary_values_pass_through():
    assert exports.safe_cell("Caseload pressure") == "Caseload pressure"
    assert exports.safe_cell(-3) == -3


def test_existing_files_are_not_overwritten_without_force(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("keep", encoding="utf-8")
    with pytest.raises(OverwriteRefused, match="--force"):
        exports.write_table(pd.DataFrame({"a": [1]}), target)
    assert target.read_text(encoding="utf-8") == "keep"
    exports.write_table(pd.DataFrame({"a": [1]}), target, force=True)
    assert target.read_text(encoding="utf-8") == "a\n1\n"


def test_failed_write_leaves_no_file(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with exports.atomic_write(target) as tmp:
            tmp.write_text("half", encoding="utf-8")
            raise RuntimeError
    assert list(tmp_path.iterdir()) == []


def test_xlsx_and_docx_tables_read_back(tmp_path):
    import docx
    import openpyxl

    df = pd.DataFrame({"code": ["=cmd", "ok"], "n": [3, 4]})
    exports.write_table(df, tmp_path / "t.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["code", "n"], ["'=cmd", 3], ["ok", 4]]
    assert sheet.freeze_panes == "A2"
    exports.write_table(df, tmp_path / "t.docx", title="Codes")
    table = docx.Document(tmp_path / "t.docx").tables[0]
    assert [[c.text for c in row.cells] for row in table.rows] == [["code", "n"], ["=cmd", "3"], ["ok", "4"]]


def test_markdown_and_latex():
    df = pd.DataFrame({"theme": ["A|B", "50% & more"], "n": [1, 2]})
    assert exports.markdown_table(df).splitlines()[2] == "| A\\|B | 1 |"
    tex = exports.latex_table(df, caption="Themes")
    assert r"\toprule" in tex and r"50\% \& more & 2 \\" in tex


def test_written_files_get_an_ordinary_mode(tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        exports.write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
    finally:
        os.umask(mask)
    assert (tmp_path / "t.csv").stat().st_mode & 0o777 == 0o644


def test_sheet_titles_cut_to_the_same_31_characters_stay_distinct(tmp_path):
    import openpyxl
    import pandas as pd

    long_name = "Relationships with families and carers: part"
    frame = pd.DataFrame({"x": [1]})
    exports.write_xlsx({long_name + " one": frame, long_name + " two": frame, "a/b": frame, "A_B": frame},
                       tmp_path / "t.xlsx")
    assert openpyxl.load_workbook(tmp_path / "t.xlsx").sheetnames == [
        long_name[:31], long_name[:29] + " 2", "a_b", "A_B 2"]
