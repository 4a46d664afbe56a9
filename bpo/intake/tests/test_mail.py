"""Reading real-world and malformed messages: nothing raises, what can be read is read, and
what could not be is said."""

import pytest

from bpo.intake import mail
from bpo.intake.tests import messages as m


def test_a_plain_message():
    parsed = mail.parse(m.corpus("plain.eml"))
    assert parsed.message_id == "CAF12=abc.123@mail.shop-customer.example"
    assert (parsed.from_name, parsed.from_email) == ("Anna Schmidt", "anna@shop-customer.example")
    assert parsed.subject == "Order 10045 arrived damaged"
    assert "broken lid" in parsed.text and "Grüße, Anna" in parsed.text
    assert parsed.date is not None and parsed.date.utcoffset().total_seconds() == 3600
    assert parsed.automatic == "" and parsed.problems == [] and parsed.parts == []


def test_encoded_words_and_quoted_printable_latin1():
    parsed = mail.parse(m.corpus("latin1-qp.eml"))
    assert parsed.from_name == "Jürgen Müller"
    assert parsed.subject == "Rückerstattung für Bestellung 10046"
    assert parsed.text == "Ich möchte mein Geld zurück."


def test_html_only_mail_becomes_readable_text():
    parsed = mail.parse(m.corpus("html-only.eml"))
    assert "<" not in parsed.text and "color:red" not in parsed.text
    assert "please cancel my order:" in parsed.text
    assert "* 10047" in parsed.text and "Total" in parsed.text and "42.00 EUR" in parsed.text


def test_an_unknown_charset_is_read_as_utf8_and_said():
    parsed = mail.parse(m.corpus("unknown-charset.eml"))
    assert parsed.text == "Café olé"
    assert any("unknown charset 'x-no-such-charset'" in p for p in parsed.problems)


def test_a_broken_boundary_keeps_the_body_and_says_so():
    parsed = mail.parse(m.corpus("broken-boundary.eml"))
    assert "never matches" in parsed.text
    assert any("malformed" in p for p in parsed.problems)


def test_missing_headers():
    parsed = mail.parse(m.corpus("missing-headers.eml"))
    assert parsed.text == "Just a body."
    assert parsed.message_id == "" and parsed.from_email == ""
    assert "the message has no Message-ID" in parsed.problems
    assert "the message has no sender address (From)" in parsed.problems


def test_raw_8bit_headers_are_read_as_utf8():
    parsed = mail.parse(m.corpus("8bit-headers.eml"))
    assert parsed.subject == "Ærgerligt: pakken er væk"
    assert parsed.from_name == "Zoë Ørsted" and parsed.from_email == "zoe@example.dk"


def test_inline_images_and_attachments_are_kept():
    parsed = mail.parse(m.with_inline_image_and_pdf())
    assert parsed.text == "See the photo below and the invoice attached."
    by_name = {p.filename: p for p in parsed.parts}
    assert by_name["Rechnung-10045.pdf"].data == m.PDF and not by_name["Rechnung-10045.pdf"].inline
    (image,) = [p for p in parsed.parts if p.content_type == "image/png"]
    assert image.inline and image.content_id == "photo1" and image.data == m.PNG


def test_a_forwarded_message_is_kept_whole():
    parsed = mail.parse(m.forwarded())
    assert parsed.text == "Forwarding what the carrier sent me."
    (inner,) = parsed.parts
    assert inner.filename == "Delivery failed.eml" and inner.content_type == "message/rfc822"
    assert b"We could not deliver your parcel." in inner.data
    assert mail.parse(inner.data).subject == "Delivery failed"


def test_a_calendar_invitation_is_kept_as_a_file():
    parsed = mail.parse(m.calendar_invite())
    assert "quarterly service review" in parsed.text
    (invite,) = parsed.parts
    assert invite.filename == "invitation.ics" and b"BEGIN:VEVENT" in invite.data


def test_outlooks_winmail_dat_is_unpacked():
    parsed = mail.parse(m.outlook_winmail())
    assert "Please find the statement attached." in parsed.text
    assert [(p.filename, p.data) for p in parsed.parts] == [("statement.csv", b"date;amount\n")]


def test_an_unreadable_winmail_dat_is_kept_as_it_came():
    raw = m.outlook_winmail().replace(b"eJ8+Ig", b"AAAAAA")  # the TNEF signature, in base64
    parsed = mail.parse(raw)
    assert [p.filename for p in parsed.parts] == ["winmail.dat"]
    assert any("unreadable" in p for p in parsed.problems)


def test_a_bounce_names_the_message_it_returns():
    parsed = mail.parse(m.bounce_of("out-7.42@openbpo.example"))
    assert parsed.automatic == "bounce"
    assert parsed.bounced == ["out-7.42@openbpo.example"]


@pytest.mark.parametrize(
    "headers, subject, kind",
    [
        ({"Auto-Submitted": "auto-replied"}, "Re: your request", "auto_reply"),
        ({"X-Autoreply": "yes"}, "Re: your request", "auto_reply"),
        ({"Precedence": "junk"}, "Re: your request", "auto_reply"),
        ({"X-Auto-Response-Suppress": "All"}, "Re: your request", "auto_reply"),
        ({}, "Out of Office: back on Monday", "auto_reply"),
        ({}, "Automatic reply: Order 10045", "auto_reply"),
        ({"List-Id": "<deals.shop.example>"}, "Weekly deals", "list"),
        ({"Precedence": "bulk"}, "Weekly deals", "list"),
        ({"Auto-Submitted": "no"}, "A person wrote this", ""),
    ],
)
def test_machines_are_recognised(headers, subject, kind):
    assert mail.parse(m.simple(headers=headers, subject=subject)).automatic == kind


def test_threading_headers_and_subject_tag():
    parsed = mail.parse(
        m.simple(subject="Re: [#4711] Where is my parcel?", in_reply_to="<out-1@openbpo.example>")
    )
    assert parsed.thread_ids == ["out-1@openbpo.example"]
    assert parsed.subject_item == 4711


def test_garbage_never_raises():
    for raw in [
        b"",
        b"\x00\xff" * 100,
        b"From: \r\n\r\n",
        b"Content-Type: multipart/mixed\r\n\r\n",
    ]:
        parsed = mail.parse(raw)
        assert isinstance(parsed.text, str)


def test_a_huge_attachment_is_read_in_full():
    parsed = mail.parse(m.huge(5 * 1024 * 1024))
    (scan,) = parsed.parts
    assert len(scan.data) == 5 * 1024 * 1024
