"""Coding exchange: spans and units CSV formats in and out."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualcode import exchange
from qualcode.codings import load_codings
from qualcode.errors import InputError, NotFound
from qualcode.units import load_units
from tests.conftest import add_coded_spans


def snapshot(project):
    conn = project.connect()
    return (conn.execute("SELECT * FROM codings ORDER BY coding_id").fetchall(),
            conn.execute("SELECT * FROM coders ORDER BY coder_id").fetchall())


def write(tmp_path, text, name="codings.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(project, path, pattern, fmt=None):
    before = snapshot(project)
    with pytest.raises(InputError, match=pattern) as info:
        exchange.import_codings(project, path, fmt)
    assert snapshot(project) == before
    assert "\n" not in str(info.value)
    return str(info.value)


def test_detect_format():
    assert exchange.detect_format(["coder", "document", "start", "end", "code"]) == "spans"
    assert exchange.detect_format([" Coder", "UNIT ", "code", "memo"]) == "units"
    assert exchange.detect_format(["coder", "code"]) is None


def test_import_spans(tiny_project, tmp_path):
    path = write(tmp_path, "coder,document,start,end,code,memo\nR,SF1.txt,55,70,work.caseload,from R\n"
                           "R,TL1.txt,40,60,work.toll,\n")
    result = exchange.import_codings(tiny_project, path)
    assert (result.format, result.rows, result.added, result.created_coders) == ("spans", 2, 2, ["R"])
    codings = load_codings(tiny_project.connect(), coders=["R"])
    assert [(c.document, c.start, c.end, c.code_key, c.origin, c.memo) for c in codings] == [
        ("SF1.txt", 55, 70, "work.caseload", "import", "from R"), ("TL1.txt", 40, 60, "work.toll", "import", None)]


def test_import_units_covers_the_whole_paragraph(tiny_project, tmp_path):
    path = write(tmp_path, "coder;unit;code\nA;SF2.txt#4;sup.supervision\n")  # semicolons, as European Excel writes
    result = exchange.import_codings(tiny_project, path)
    assert result.format == "units" and result.added == 1
    unit = next(u for u in load_units(tiny_project.connect(), "paragraph") if u.key == "SF2.txt#4")
    [coding] = load_codings(tiny_project.connect(), coders=["A"])
    assert (coding.start, coding.end, coding.code_key) == (unit.start, unit.end, "sup.supervision")


def test_reimport_does_not_duplicate(tiny_project, tmp_path):
    path = write(tmp_path, "coder,unit,code\nA,SF2.txt#4,sup.supervision\nA,SF2.txt#4,sup.supervision\n")
    first = exchange.import_codings(tiny_project, path)
    assert (first.added, first.already_present) == (1, 1)
    second = exchange.import_codings(tiny_project, path)
    assert (second.added, second.already_present) == (0, 2)
    assert len(load_codings(tiny_project.connect())) == 1


@pytest.mark.parametrize("body, pattern", [
    ("A,SF1.txt,0,9999,work.toll", r"line 2: span 0–9999 does not lie inside SF1.txt"),
    ("A,SF1.txt,30,20,work.toll", r"line 2: span 30–20 does not lie inside"),
    ("A,SF1.txt,-1,20,work.toll", r"line 2: span -1–20"),
    ("A,SF1.txt,a,20,work.toll", r"line 2: start and end must be whole numbers"),
    ("A,XX.txt,0,20,work.toll", r"line 2: unknown document 'XX.txt'"),
    ("A,SF1.txt,0,20,work.tol", r"line 2: unknown code 'work.tol'"),
    ("A,SF1.txt,0,20,work", r"line 2: 'work' is a theme"),
    (",SF1.txt,0,20,work.toll", r"line 2: the coder is empty"),
])
def test_bad_span_rows_name_the_line(tiny_project, tmp_path, body, pattern):
    path = write(tmp_path, "coder,document,start,end,code\nA,SF1.txt,0,20,work.toll\n".replace(
        "A,SF1.txt,0,20,work.toll", body))
    message = refused(tiny_project, path, pattern)
    assert "nothing was imported" in message


@pytest.mark.parametrize("unit, pattern", [("SF1.txt#99", r"line 3: unknown unit 'SF1.txt#99'"),
                                           ("SF1.txt", r"line 3: 'SF1.txt' is not a paragraph unit id"),
                                           ("XX.txt#2", r"line 3: unknown unit")])
def test_bad_unit_rows(tiny_project, tmp_path, unit, pattern):
    path = write(tmp_path, f"coder,unit,code\nA,SF1.txt#2,work.toll\nA,{unit},work.toll\n")
    refused(tiny_project, path, pattern)


def test_one_bad_row_stops_the_whole_file(tiny_project, tmp_path):
    rows = "".join(f"A,SF1.txt,{i},{i + 5},work.toll\n" for i in range(0, 50, 5))
    path = write(tmp_path, "coder,document,start,end,code\n" + rows + "A,SF1.txt,0,5,nope\n")
    refused(tiny_project, path, r"line 12: unknown code 'nope'")
    assert "B" not in [r[0] for r in tiny_project.connect().execute("SELECT name FROM coders")]


def test_bad_headers_and_files(tiny_project, tmp_path):
    refused(tiny_project, write(tmp_path, "who,what\nA,b\n"), r"line 1: the header must name the columns")
    refused(tiny_project, write(tmp_path, "coder,unit,code,extra\nA,SF1.txt#2,work.toll,1\n"),
            r"column 'extra' is not part of the units format")
    refused(tiny_project, write(tmp_path, "coder,unit,code\n"), r"has a header but no codings")
    refused(tiny_project, write(tmp_path, ""), r"is empty")
    refused(tiny_project, write(tmp_path, "coder,unit,code\nA,SF1.txt#2,work.toll\n"), r"header must name the columns "
            r"coder,document,start,end,code", fmt="spans")
    xlsx = write(tmp_path, "x", name="codings.xlsx")
    refused(tiny_project, xlsx, r"is a spreadsheet; save it as CSV")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x00\x01\x02\x03coder\x00\xff" * 40)
    message = refused(tiny_project, binary, r"^binary\.csv is not a CSV file \(it contains binary data\)")
    assert "coder" not in message


def _units_from_windows_excel(tmp_path, name, encoding):
    """A units sheet as Excel on Windows saves it in a European locale: sep=; line, semicolons, CRLF."""
    text = "sep=;\r\ncoder;unit;code;memo\r\nRené;SF2.txt#4;sup.supervision;zu prüfen\r\n"
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig", "utf-16"])
def test_units_csv_from_windows_excel(tiny_project, tmp_path, encoding):
    path = _units_from_windows_excel(tmp_path, "units.csv", encoding)
    result = exchange.import_codings(tiny_project, path)
    assert (result.format, result.added, result.created_coders) == ("units", 1, ["René"])
    assert bool(result.notices) == (encoding == "cp1252")
    unit = next(u for u in load_units(tiny_project.connect(), "paragraph") if u.key == "SF2.txt#4")
    [coding] = load_codings(tiny_project.connect(), coders=["René"])
    assert (coding.start, coding.end, coding.code_key, coding.memo) == (unit.start, unit.end, "sup.supervision",
                                                                        "zu prüfen")


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig", "utf-16"])
def test_spans_csv_from_windows_excel(tiny_project, tmp_path, encoding):
    path = tmp_path / "spans.csv"
    path.write_bytes("coder;document;start;end;code;memo\r\nRené;SF1.txt;55;70;work.caseload;Überlastung\r\n"
                     "\r\nRené;TL1.txt;40;60;work.toll;\r\n".encode(encoding))
    result = exchange.import_codings(tiny_project, path)
    assert (result.format, result.rows, result.added) == ("spans", 2, 2)
    codings = load_codings(tiny_project.connect(), coders=["René"])
    assert [(c.document, c.start, c.end, c.code_key, c.memo) for c in codings] == [
        ("SF1.txt", 55, 70, "work.caseload", "Überlastung"), ("TL1.txt", 40, 60, "work.toll", None)]


def test_row_errors_name_the_file_line_after_a_sep_line_and_a_multiline_memo(tiny_project, tmp_path):
    path = tmp_path / "lines.csv"
    path.write_bytes("sep=;\r\ncoder;unit;code;memo\r\nA;SF2.txt#4;sup.supervision;\"two\r\nlines\"\r\n"
                     "A;SF2.txt#4;nope;\r\n".encode("cp1252"))
    refused(tiny_project, path, r"line 5: unknown code 'nope'")


def _add(project, coder, key, unit, start_offset=0, end_offset=0):
    with project.transaction() as conn:
        add_coded_spans(conn, [(coder, key, (unit.document_id, unit.start + start_offset, unit.end - end_offset))],
                        origin="rule")


def test_export_spans_and_units(tiny_project, tmp_path):
    paragraphs = {u.key: u for u in load_units(tiny_project.connect(), "paragraph")}
    _add(tiny_project, "A", "work.toll", paragraphs["SF1.txt#4"], 2, 3)
    _add(tiny_project, "B", "sup.peer", paragraphs["SF2.txt#2"])
    spans = exchange.export_codings(tiny_project.connect(), None, "spans")
    unit = paragraphs["SF1.txt#4"]
    assert spans.text.splitlines() == [
        "coder,document,start,end,code,memo",
        f"A,SF1.txt,{unit.start + 2},{unit.end - 3},work.toll,",
        f"B,SF2.txt,{paragraphs['SF2.txt#2'].start},{paragraphs['SF2.txt#2'].end},sup.peer,",
    ]
    units_b = exchange.export_codings(tiny_project.connect(), None, "units", ["B"])
    assert units_b.text.splitlines() == ["coder,unit,code", "B,SF2.txt#2,sup.peer"]
    out = exchange.export_codings(tiny_project.connect(), tmp_path / "c.csv", "units")
    assert out.rows == 2 and (tmp_path / "c.csv").read_text().startswith("coder,unit,code\nA,SF1.txt#4,work.toll")
    with pytest.raises(Exception, match="--force"):
        exchange.export_codings(tiny_project.connect(), tmp_path / "c.csv", "units")
    with pytest.raises(NotFound, match="no coder named 'Z'"):
        exchange.export_codings(tiny_project.connect(), None, "units", ["Z"])


def test_spans_round_trip_into_another_project(tiny_project, tmp_path):
    from tests.conftest import build_tiny_project

    paragraphs = load_units(tiny_project.connect(), "paragraph")
    _add(tiny_project, "A", "work.toll", paragraphs[1], 4, 1)
    _add(tiny_project, "A", "work.caseload", paragraphs[4])
    path = exchange.export_codings(tiny_project.connect(), tmp_path / "spans.csv", "spans").path
    other = build_tiny_project(tmp_path / "other")
    try:
        exchange.import_codings(other, path)
        key = lambda c: (c.coder, c.document, c.start, c.end, c.code_key)
        assert [key(c) for c in load_codings(other.connect())] == [key(c) for c in load_codings(tiny_project.connect())]
    finally:
        other.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.tuples(st.sampled_from(["A", "B", "consensus"]), st.integers(0, 5),
                                st.sampled_from(["work.caseload", "work.toll", "sup.supervision", "sup.peer"])),
                      min_size=1, max_size=12))
def test_units_export_then_import_is_the_identity(tmp_path_factory, picks):
    from tests.conftest import build_tiny_project

    folder = tmp_path_factory.mktemp("units")
    source, target = build_tiny_project(folder / "s"), build_tiny_project(folder / "t")
    try:
        paragraphs = load_units(source.connect(), "paragraph")
        lines = "".join(f"{coder},{paragraphs[i].key},{code}\n" for coder, i, code in picks)
        exchange.import_codings(source, write(folder, "coder,unit,code\n" + lines, "in.csv"))
        exported = exchange.export_codings(source.connect(), folder / "out.csv", "units").path
        exchange.import_codings(target, exported)
        again = exchange.export_codings(target.connect(), None, "units").text
        assert again == exported.read_text()
        assert set(again.splitlines()[1:]) == {f"{c},{paragraphs[i].key},{k}" for c, i, k in picks}
    finally:
        source.close()
        target.close()
