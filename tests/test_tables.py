"""The shared CSV reader: encodings, delimiters, Excel's sep= line, row lines and errors."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualcode.errors import InputError, QualcodeError
from qualcode.tables import CsvEmpty, CsvError, read_csv


def write(tmp_path, data: bytes, name: str = "table.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("encoding, expected", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("utf-16-le", "utf-16"),
    ("cp1252", "cp1252"),
])
def test_encodings_excel_writes(tmp_path, encoding, expected):
    path = write(tmp_path, "id;Ort\r\nSF1;Zürich – Süd\r\nSF2;Genève\r\n".encode(encoding))
    table = read_csv(path, what="respondent")
    assert table.header == ["id", "Ort"]
    assert [row.cells for row in table.rows] == [["SF1", "Zürich – Süd"], ["SF2", "Genève"]]
    assert (table.encoding, table.delimiter) == (expected, ";")
    if expected == "cp1252":
        [notice] = table.notices
        assert notice.startswith("table.csv: not valid UTF-8 (first at line 2); decoded as Windows-1252")
    else:
        assert table.notices == []


@pytest.mark.parametrize("header, delimiter", [
    ("a,b;c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ("a|b|c", "|"), ("abc", ","), ("a;b,c", ","),
])
def test_delimiter_is_the_most_frequent_in_the_header(tmp_path, header, delimiter):
    table = read_csv(write(tmp_path, f"{header}\n".encode()), what="row")
    assert table.delimiter == delimiter


def test_sep_line_names_the_delimiter_and_counts_as_a_line(tmp_path):
    path = write(tmp_path, b"sep=|\nkey|label,with comma\n\nA|x;y\n")
    table = read_csv(path, what="code")
    assert (table.delimiter, table.header, table.header_line) == ("|", ["key", "label,with comma"], 2)
    assert table.rows == [(4, ["A", "x;y"])]


def test_rows_keep_the_line_they_start_on(tmp_path):
    path = write(tmp_path, b'\n\nkey,definition\r\nA,"one\r\ntwo\r\nthree"\r\n,\r\nB,plain\r\n')
    table = read_csv(path, what="code")
    assert table.header_line == 3
    assert [(row.line, row.cells[0]) for row in table.rows] == [(4, "A"), (8, "B")]
    assert table.rows[0].cells[1] == "one\ntwo\nthree"


def test_header_only_is_a_table_without_rows(tmp_path):
    table = read_csv(write(tmp_path, b"coder,unit,code\n"), what="coding")
    assert (table.header, table.rows) == (["coder", "unit", "code"], [])


@pytest.mark.parametrize("data", [b"", b"\n \r\n", b",,\n, \n"])
def test_empty_files(tmp_path, data):
    with pytest.raises(CsvEmpty, match=r"^table\.csv is empty; it needs a header row and one row per respondent$"):
        read_csv(write(tmp_path, data), what="respondent")


@pytest.mark.parametrize("data, hint", [
    (b"PK\x03\x04" + bytes(range(256)), "it is a zip package such as an .xlsx workbook; save the sheet as CSV"),
    (b"\xd0\xcf\x11\xe0" + bytes(range(256)), "it is an old Office file such as an .xls workbook"),
    (b"%PDF-1.7\n" + bytes(range(256)), "it is a PDF; give the table as a CSV file"),
    (b"\x00\x01\x02Secret text\x00\xff" * 30, "check that it is the code table saved as CSV"),
])
def test_binary_files_get_one_line_without_their_content(tmp_path, data, hint):
    with pytest.raises(CsvError) as caught:
        read_csv(write(tmp_path, data), what="code")
    message = str(caught.value)
    assert message.startswith("table.csv is not a CSV file (it contains binary data): ")
    assert hint in message
    assert "\n" not in message and "Secret" not in message


def test_bytes_neither_utf8_nor_windows_1252(tmp_path):
    with pytest.raises(CsvError, match=r"^table\.csv: byte 0x81 on line 2 is neither UTF-8 nor Windows-1252 text"):
        read_csv(write(tmp_path, b"id,name\nSF1,Caf\x81\n"), what="respondent")


def test_missing_file_and_broken_quoting(tmp_path):
    with pytest.raises(CsvError, match=r"no such file; check the path"):
        read_csv(tmp_path / "absent.csv", what="respondent")
    with pytest.raises(CsvError, match=r"^table\.csv: line 2 cannot be read as CSV"):
        read_csv(write(tmp_path, b"id,name\nSF1,\"unclosed" + b"x" * 140_000), what="respondent")


def test_errors_are_input_errors():
    assert issubclass(CsvEmpty, CsvError) and issubclass(CsvError, InputError) and issubclass(CsvError, QualcodeError)


_cell = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029\x85"),
                max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_cell, min_size=2, max_size=2).filter(lambda r: any(c.strip() for c in r)),
                     min_size=1, max_size=6),
       delimiter=st.sampled_from([",", ";", "\t"]), encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_round_trip_of_what_csv_writes(tmp_path, rows, delimiter, encoding):
    import unicodedata

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(["first", "second"])
    writer.writerows(rows)
    table = read_csv(write(tmp_path, buffer.getvalue().encode(encoding)), what="row")
    assert table.header == ["first", "second"] and table.delimiter == delimiter
    expected = [[unicodedata.normalize("NFC", c.replace("\r\n", "\n").replace("\r", "\n")) for c in r] for r in rows]
    assert [row.cells for row in table.rows] == expected
    assert all(a.line < b.line for a, b in zip(table.rows, table.rows[1:]))
