"""Messages for the intake tests: the files of ``corpus/`` (written as real mail programs
write them, and broken as real mail is broken) and builders for the kinds that carry binary
parts (inline images, forwarded messages, invitations, Outlook's winmail.dat, bounces)."""

from __future__ import annotations

import struct
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def wire(message: EmailMessage) -> bytes:
    """The message as it travels: lines ended by CRLF."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def simple(
    *,
    sender: str = "anna@customer.example",
    to: str = "support@acme.example",
    subject: str = "Where is my parcel?",
    body: str = "Hello, my parcel has not arrived.",
    message_id: str | None = None,
    in_reply_to: str = "",
    headers: dict[str, str] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = "Mon, 23 Nov 2026 09:00:00 +0000"
    message["Message-ID"] = message_id or make_msgid(domain="customer.example")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return wire(message)


def with_inline_image_and_pdf() -> bytes:
    message = EmailMessage()
    message["From"] = "Max <max@customer.example>"
    message["To"] = "support@acme.example"
    message["Subject"] = "Photo of the damage"
    message["Message-ID"] = "<img-1@customer.example>"
    message.set_content("See the photo below and the invoice attached.")
    message.add_alternative(
        '<p>See the photo below and the invoice attached.</p><img src="cid:photo1">',
        subtype="html",
    )
    html: EmailMessage = message.get_payload()[1]  # type: ignore[index,assignment]
    html.add_related(PNG, maintype="image", subtype="png", cid="<photo1>")
    message.add_attachment(
        PDF, maintype="application", subtype="pdf", filename="Rechnung-10045.pdf"
    )
    return wire(message)


def forwarded() -> bytes:
    inner = EmailMessage()
    inner["From"] = "carrier@parcels.example"
    inner["To"] = "max@customer.example"
    inner["Subject"] = "Delivery failed"
    inner["Message-ID"] = "<inner-1@parcels.example>"
    inner.set_content("We could not deliver your parcel.")
    outer = EmailMessage()
    outer["From"] = "max@customer.example"
    outer["To"] = "support@acme.example"
    outer["Subject"] = "Fwd: Delivery failed"
    outer["Message-ID"] = "<fwd-1@customer.example>"
    outer.set_content("Forwarding what the carrier sent me.")
    outer.add_attachment(inner)
    return wire(outer)


def calendar_invite() -> bytes:
    message = EmailMessage()
    message["From"] = "lead@client.example"
    message["To"] = "support@acme.example"
    message["Subject"] = "Invitation: quarterly service review"
    message["Message-ID"] = "<cal-1@client.example>"
    message.set_content("You are invited to the quarterly service review.")
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
        "DTSTART:20261201T100000Z\r\nDTEND:20261201T110000Z\r\nSUMMARY:Service review\r\n"
        "UID:review-1@client.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    message.add_alternative(ics, subtype="calendar", params={"method": "REQUEST"})
    return wire(message)


def tnef(body: str, files: dict[str, bytes]) -> bytes:
    """A winmail.dat as Outlook writes it: the TNEF signature, then attributes (level, id,
    length, data, checksum): the body, and per file its rendering, title and data."""

    def attribute(level: int, kind: int, ident: int, data: bytes) -> bytes:
        checksum = sum(data) & 0xFFFF
        return (
            struct.pack("<BIi", level, (kind << 16) | ident, len(data))
            + data
            + struct.pack("<H", checksum)
        )

    out = struct.pack("<IH", 0x223E9F78, 0x0001)
    out += attribute(1, 0x0009, 0x9006, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += attribute(1, 0x0002, 0x800C, body.encode("cp1252"))  # attBody (text)
    for name, data in files.items():
        out += attribute(2, 0x0006, 0x9002, b"\x01\x00" + b"\x00" * 12)  # attAttachRendData
        out += attribute(2, 0x0001, 0x8010, name.encode("cp1252") + b"\x00")  # attAttachTitle
        out += attribute(2, 0x0006, 0x800F, data)  # attAttachData
    return out


def outlook_winmail() -> bytes:
    message = EmailMessage()
    message["From"] = "finance@client.example"
    message["To"] = "support@acme.example"
    message["Subject"] = "Statement attached"
    message["Message-ID"] = "<tnef-1@client.example>"
    message.set_content("")
    message.add_attachment(
        tnef("Please find the statement attached.", {"statement.csv": b"date;amount\n"}),
        maintype="application",
        subtype="ms-tnef",
        filename="winmail.dat",
    )
    return wire(message)


def bounce_of(original_id: str, to: str = "anna@customer.example") -> bytes:
    message = EmailMessage()
    message["From"] = "Mail Delivery System <MAILER-DAEMON@mx.customer.example>"
    message["To"] = "support@acme.example"
    message["Subject"] = "Undelivered Mail Returned to Sender"
    message["Message-ID"] = make_msgid(domain="mx.customer.example")
    message["Auto-Submitted"] = "auto-replied"
    message.set_content(f"<{to}>: host mx.customer.example said: 550 5.1.1 User unknown")
    message.make_mixed()
    headers = f"From: support@acme.example\r\nTo: {to}\r\nMessage-ID: <{original_id}>\r\n\r\n"
    message.add_attachment(headers.encode(), maintype="text", subtype="rfc822-headers")
    message.replace_header(
        "Content-Type", 'multipart/report; report-type=delivery-status; boundary="b1"'
    )
    message.set_boundary("b1")
    return wire(message)


def huge(size: int) -> bytes:
    message = EmailMessage()
    message["From"] = "big@customer.example"
    message["To"] = "support@acme.example"
    message["Subject"] = "A big scan"
    message["Message-ID"] = make_msgid(domain="customer.example")
    message.set_content("The scan is attached.")
    message.add_attachment(
        b"\0" * size, maintype="application", subtype="octet-stream", filename="scan.bin"
    )
    return wire(message)
