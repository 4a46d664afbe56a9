"""Names and types of uploaded files."""

import io

import pytest

from bpo.work.files import clean_filename, sniff


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\jane\\Desktop\\invoice.xlsx", "invoice.xlsx"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),  # no right-to-left override tricks
        ("tab\there\x00.txt", "tabhere.txt"),
        ("...hidden", "hidden"),
        ('what?<is>"this".doc', "what__is__this_.doc"),
        ("  Überweisung März 2026.pdf  ", "Überweisung März 2026.pdf"),
        ("", "attachment"),
        ("../..", "attachment"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_clean_filename(raw, clean):
    assert clean_filename(raw) == clean


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"%PDF-1.4\n", "x.txt", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 24, "x.pdf", "image/png"),
        (b"GIF89a" + b"\x00" * 20, "", "image/gif"),
        (
            b"PK\x03\x04" + b"\x00" * 40,
            "book.xlsx",
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ),
        ("Ärger mit der Lieferung\n".encode(), "note.exe", "text/plain"),
        (b"\x00\x01\x02", "data.txt", "application/octet-stream"),
        ("Grüße".encode("latin-1"), "latin.txt", "application/octet-stream"),
    ],
)
def test_sniff_reads_the_bytes_not_the_name(content, name, expected):
    assert sniff(io.BytesIO(content), name) == expected
