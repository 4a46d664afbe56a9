"""Reading CSV and XLSX files: encodings, delimiters, row numbers as a spreadsheet shows them,
and a clear error naming the place for every file that cannot be read."""

from __future__ import annotations

import codecs
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from bpo.intake.tabular import TableError, cell_text, column_letter, open_table


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def rows(path: Path, name: str = "", encoding: str = "") -> list[tuple[int, list]]:
    return list(open_table(path, filename=name or path.name, encoding=encoding).rows())


def test_column_letters_go_on_as_a_spreadsheet_names_them():
    assert [column_letter(i) for i in (0, 25, 26, 51, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "ZZ",
        "AAA",
    ]


def test_excel_csv_with_byte_order_mark_and_semicolons(tmp_path):
    data = codecs.BOM_UTF8 + "Betreff;Betrag;Name\r\nRückfrage;1.234,50;Jürgen\r\n".encode()
    table = open_table(write(tmp_path, "x.csv", data), filename="x.csv")
    assert (table.kind, table.encoding, table.delimiter) == ("csv", "utf-8", ";")
    assert table.headers == ["Betreff", "Betrag", "Name"]  # no BOM glued to the first header
    assert list(table.rows()) == [(2, ["Rückfrage", "1.234,50", "Jürgen"])]
    assert table.column(1) == "Betrag (B)"


def test_utf16_with_byte_order_mark_and_tabs_is_found_without_asking(tmp_path):
    text = "Title\tReference\r\nÜberweisung fehlt\tR-1\r\n"
    table = open_table(write(tmp_path, "u.txt", text.encode("utf-16")), filename="u.txt")
    assert (table.encoding, table.delimiter) == ("utf-16", "\t")
    assert list(table.rows()) == [(2, ["Überweisung fehlt", "R-1"])]


def test_windows_1252_read_as_utf8_names_the_line_and_the_cure(tmp_path):
    data = "Title,Name\r\nfine,Anna\r\nbroken,Müller\r\n".encode("cp1252")
    path = write(tmp_path, "w.csv", data)
    with pytest.raises(TableError) as caught:
        open_table(path, filename="w.csv")
    message = str(caught.value)
    assert message.startswith("Line 3 is not UTF-8") and "0xfc" in message
    assert "Windows-1252" in message
    assert rows(path, encoding="cp1252") == [(2, ["fine", "Anna"]), (3, ["broken", "Müller"])]


def test_an_unknown_encoding_is_refused_with_the_known_ones(tmp_path):
    with pytest.raises(TableError, match="not an encoding OpenBPO reads: utf-8, utf-16"):
        open_table(write(tmp_path, "a.csv", b"a,b\n"), filename="a.csv", encoding="klingon")


def test_a_quoted_line_break_keeps_one_row_and_blank_rows_keep_their_numbers(tmp_path):
    data = b'Title,Description\n"One","two\nlines"\n\nThree,x\n'
    assert rows(write(tmp_path, "q.csv", data)) == [
        (2, ["One", "two\nlines"]),
        (3, []),
        (4, ["Three", "x"]),
    ]
    table = open_table(tmp_path / "q.csv", filename="q.csv")
    assert list(table.rows(skip=2)) == [(4, ["Three", "x"])]  # resuming counts blank rows too


def test_a_malformed_csv_row_is_named(tmp_path):
    data = b'Title,Ref\nok,1\nbad "quote,2\n"unclosed,3\n'
    path = write(tmp_path, "m.csv", data)
    table = open_table(path, filename="m.csv")
    with pytest.raises(TableError, match=r"^Row 4: the CSV is malformed"):
        list(table.rows())


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("e.csv", b"", "The file is empty."),
        ("e.csv", b"  \r\n ", "The file is empty."),
        ("d.csv", b"Title,Ref,title\nx,y,z\n", "header 'title' appears twice (columns A and C)"),
        ("n.csv", b",,\nx,y\n", "Row 1 should name the columns"),
        ("old.xls", b"\xd0\xcf\x11\xe0 old", "old Excel 97"),
        ("fake.xlsx", b"Title\nx\n", "named like an Excel workbook but is not one"),
        ("z.xlsx", b"PK\x03\x04 not really a zip", "The workbook cannot be read"),
        ("nul.csv", b"T\x00i\x00t\x00l\x00e\x00\n\x00", "NUL bytes"),
    ],
)
def test_unreadable_files_say_why(tmp_path, name, data, message):
    with pytest.raises(TableError) as caught:
        open_table(write(tmp_path, name, data), filename=name)
    assert message in str(caught.value)


def test_a_huge_cell_is_refused_with_its_place(tmp_path):
    data = b"Title,Description\nok," + b"x" * 100_001 + b"\n"
    table = open_table(write(tmp_path, "h.csv", data), filename="h.csv")
    with pytest.raises(TableError, match=r"Row 2, column B: a cell of 100,001 characters"):
        list(table.rows())


def test_xlsx_cells_keep_their_types(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Requests"
    sheet.append(["Title", "Amount", "Due", "Urgent", "Ref"])
    sheet.append(["Refund", 1234.5, datetime(2026, 12, 1), True, 1001])
    sheet.append([None, None, None, None, None])
    sheet.append(["Second", 7, datetime(2026, 12, 2, 9, 30), False, "R-2"])
    path = tmp_path / "r.xlsx"
    book.save(path)
    table = open_table(path, filename="upload")  # the bytes decide, not the name
    assert (table.kind, table.sheet, table.headers) == ("xlsx", "Requests", sheet_headers())
    assert list(table.rows()) == [
        (2, ["Refund", 1234.5, date(2026, 12, 1), True, 1001]),
        (3, []),
        (4, ["Second", 7, datetime(2026, 12, 2, 9, 30), False, "R-2"]),
    ]
    assert [cell_text(v) for v in (1234.5, 1001.0, date(2026, 12, 1), True, None)] == [
        "1234.5",
        "1001",
        "2026-12-01",
        "true",
        "",
    ]


def sheet_headers() -> list[str]:
    return ["Title", "Amount", "Due", "Urgent", "Ref"]


def test_a_zip_that_is_no_workbook_is_named(tmp_path):
    path = tmp_path / "a.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(TableError, match="The workbook cannot be read"):
        open_table(path, filename="a.xlsx")
