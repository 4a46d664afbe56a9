"""Reading an e-mail message as it arrived: headers, readable text, attachments, and whether a
machine sent it (auto-reply, bounce, mailing list).

Pure functions over the raw bytes, no database: the raw message is stored before it is parsed
(``bpo.intake.actions``), so whatever this module cannot read can be read again after a fix.

Real mail is often wrong: charsets that do not exist or lie, 8-bit bytes in headers, MIME
boundaries that never appear, missing headers. The parser never raises on such a message; it
reads what it can and says what it could not in ``ParsedEmail.problems``.
"""

from __future__ import annotations

import codecs
import email
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header, decode_header
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

import inscriptis
from tnefparse import TNEF

MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
# "[#123]" in a subject: the item an answer belongs to, when the threading headers are lost.
SUBJECT_TAG = re.compile(r"\[#(\d{1,18})\]")
# Subjects auto-responders give their answers (RFC 3834 says to set Auto-Submitted; many don't).
AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|answer)|out of (the )?office|abwesenheitsnotiz|"
    r"r[ée]ponse automatique|automatische antwort)\b",
    re.IGNORECASE,
)
BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)


@dataclass
class Part:
    """A file that came with the message: an attachment, an inline image, a forwarded message."""

    filename: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str = ""


@dataclass
class ParsedEmail:
    """What OpenBPO reads from one message."""

    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    subject: str = ""
    from_email: str = ""
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    date: datetime | None = None
    text: str = ""
    parts: list[Part] = field(default_factory=list)
    # "" for a person's message; else "auto_reply", "bounce" or "list": never answered by a
    # machine of ours (loop protection).
    automatic: str = ""
    # For a bounce: the Message-IDs of the messages it reports as undelivered.
    bounced: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def thread_ids(self) -> list[str]:
        """The messages this one answers, nearest first."""
        seen: list[str] = []
        for mid in [*self.in_reply_to, *reversed(self.references)]:
            if mid not in seen:
                seen.append(mid)
        return seen

    @property
    def subject_item(self) -> int | None:
        """The item number tagged in the subject ("[#123]"), if any."""
        found = SUBJECT_TAG.search(self.subject)
        return int(found.group(1)) if found else None


def parse(raw: bytes) -> ParsedEmail:
    """Read a raw RFC 5322 message. Never raises on bad mail: see ``problems``."""
    message = email.message_from_bytes(raw)  # compat32: lenient, keeps undecodable bytes
    parsed = ParsedEmail()
    problems = parsed.problems
    for defect in message.defects:
        problems.append(f"the message is malformed: {_describe(defect)}")
    parsed.message_id = _first_id(header(message, "Message-ID"))
    if not parsed.message_id:
        problems.append("the message has no Message-ID")
    parsed.in_reply_to = message_ids(header(message, "In-Reply-To"))
    parsed.references = message_ids(header(message, "References"))
    parsed.subject = " ".join(header(message, "Subject").split())
    name, address = parseaddr(header(message, "From"))
    parsed.from_name, parsed.from_email = name.strip(), address.strip().lower()
    if "@" not in parsed.from_email:
        problems.append("the message has no sender address (From)")
        parsed.from_email = ""
    parsed.to = _addresses(message, "To")
    parsed.cc = _addresses(message, "Cc")
    parsed.date = _date(header(message, "Date"), problems)
    texts: list[str] = []
    _read(message, texts, parsed, depth=0)
    parsed.text = "\n\n".join(t.strip("\n") for t in texts if t.strip()).strip()
    parsed.automatic = _automatic(message, parsed)
    return parsed


def header(message: Message, name: str) -> str:
    """A header as text: RFC 2047 words decoded, raw 8-bit bytes read as UTF-8 (or Windows-1252
    when they are not UTF-8), unknown charsets read as UTF-8 with replacements."""
    value = message.get(name)
    if value is None:
        return ""
    try:
        # Raw 8-bit bytes come back as a Header of charset "unknown-8bit".
        chunks = decode_header(value if isinstance(value, Header) else str(value))
    except Exception:  # a broken encoded word: keep the header as written
        return str(value)
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            known = charset if charset and charset != "unknown-8bit" else "us-ascii"
            out.append(_decode(chunk, known, []))
        else:
            out.append(chunk)
    return "".join(out)


def message_ids(value: str) -> list[str]:
    """The Message-IDs in a header (In-Reply-To, References), without angle brackets."""
    found = MESSAGE_ID.findall(value)
    if not found and value.strip() and " " not in value.strip():
        return [value.strip()]
    return found


def _first_id(value: str) -> str:
    ids = message_ids(value)
    return ids[0][:255] if ids else ""


def _addresses(message: Message, name: str) -> list[str]:
    values = [header(message, name)] if message.get(name) else []
    return [a.strip().lower() for _, a in getaddresses(values) if "@" in a]


def _date(value: str, problems: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        problems.append(f"the Date header {value!r} is not a date")
        return None
    if when.tzinfo is None:  # "-0000": the time zone is unknown; RFC 5322 reads it as UTC
        from datetime import UTC

        when = when.replace(tzinfo=UTC)
    return when


def _describe(defect: object) -> str:
    name = type(defect).__name__
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("Defect")).lower()
    return words or str(defect)


def _decode(data: bytes, charset: str, problems: list[str]) -> str:
    """Bytes as text in their declared charset, and when that is unknown or wrong, as UTF-8
    or else Windows-1252, never failing."""
    declared = (charset or "us-ascii").strip().strip('"').lower()
    try:
        codecs.lookup(declared)
    except LookupError:
        problems.append(f"unknown charset {declared!r}: read as UTF-8 or Windows-1252")
        declared = ""
    if declared and declared not in ("us-ascii", "ascii"):
        try:
            return data.decode(declared)
        except UnicodeDecodeError:
            problems.append(f"text declared as {declared} is not: read as UTF-8 or Windows-1252")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if name and "=?" in name:
        holder = Message()
        holder["X"] = name
        name = header(holder, "X")
    return name.replace("\x00", "").strip()


def _payload(part: Message, problems: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:  # pragma: no cover - compat32 decodes leniently
        problems.append(f"a part could not be decoded: {exc}")
        return b""
    if isinstance(data, bytes):
        return data
    return b""


MAX_DEPTH = 20  # nesting of multiparts and forwarded messages read; deeper ones are kept whole


def _read(part: Message, texts: list[str], parsed: ParsedEmail, *, depth: int) -> None:
    """Collect the readable text and the files of ``part`` and its sub-parts."""
    problems = parsed.problems
    ctype = part.get_content_type()
    disposition = (part.get_content_disposition() or "").lower()
    if part.is_multipart() and ctype != "message/rfc822":
        payload = part.get_payload()
        children = (
            [c for c in payload if isinstance(c, Message)] if isinstance(payload, list) else []
        )
        if depth >= MAX_DEPTH:
            problems.append("parts nested too deeply were not read")
            return
        if ctype == "multipart/alternative":
            children = _best_alternative(children)
        for child in children:
            _read(child, texts, parsed, depth=depth + 1)
        return
    name = _filename(part)
    if ctype.startswith("multipart/"):  # its boundary never came: the body is all there is
        text = part.get_payload()
        texts.append(text if isinstance(text, str) else "")
        return
    if ctype == "message/rfc822":
        inner = part.get_payload()
        inner_message = inner[0] if isinstance(inner, list) and inner else None
        data = inner_message.as_bytes() if isinstance(inner_message, Message) else b""
        subject = header(inner_message, "Subject") if isinstance(inner_message, Message) else ""
        parsed.parts.append(
            Part(name or _safe(subject or "forwarded message") + ".eml", "message/rfc822", data)
        )
        return
    data = _payload(part, problems)
    if ctype == "application/ms-tnef" or name.lower() == "winmail.dat":
        _read_tnef(data, texts, parsed, name)
        return
    if disposition != "attachment" and not name and ctype in ("text/plain", "text/html"):
        text = _decode(data, part.get_content_charset() or "us-ascii", problems)
        texts.append(_html_text(text) if ctype == "text/html" else text)
        return
    if ctype == "text/calendar" and not name:
        name = "invitation.ics"
    if ctype == "text/rfc822-headers" or ctype == "message/delivery-status":
        name = name or ("original-headers.txt" if "headers" in ctype else "delivery-status.txt")
    content_id = (part.get("Content-ID") or "").strip().strip("<>")
    parsed.parts.append(
        Part(
            filename=name or f"part-{len(parsed.parts) + 1}{_extension(ctype)}",
            content_type=ctype,
            data=data,
            inline=disposition == "inline" or bool(content_id and disposition != "attachment"),
            content_id=content_id,
        )
    )


def _best_alternative(children: list[Message]) -> list[Message]:
    """Of the alternatives of one content, the plain text if there is one, else the last
    (richest); files among them (inline images of a related part) are kept."""
    kinds = [c.get_content_type() for c in children]
    chosen = kinds.index("text/plain") if "text/plain" in kinds else len(children) - 1
    keep = [children[chosen]]
    for child, kind in zip(children, kinds, strict=True):
        if child is children[chosen]:
            continue
        if child.is_multipart():
            keep.extend(_files_only(child))
        elif kind not in ("text/plain", "text/html"):
            keep.append(child)
    return keep


def _files_only(part: Message) -> list[Message]:
    """The non-text leaves of a part (inline images of an HTML alternative not chosen)."""
    found = []
    for leaf in part.walk():
        if not leaf.is_multipart() and leaf.get_content_type() not in ("text/plain", "text/html"):
            found.append(leaf)
    return found


def _read_tnef(data: bytes, texts: list[str], parsed: ParsedEmail, name: str) -> None:
    """Outlook's winmail.dat: its body and files, or the file itself when it cannot be read."""
    try:
        tnef = TNEF(data, do_checksum=False)
    except Exception as exc:
        parsed.problems.append(
            f"the Outlook attachment {name or 'winmail.dat'} is unreadable: {exc}"
        )
        parsed.parts.append(Part(name or "winmail.dat", "application/ms-tnef", data))
        return
    body = getattr(tnef, "body", None)
    if isinstance(body, bytes) and body.strip():
        texts.append(_decode(body, "cp1252", parsed.problems))
    elif isinstance(body, str) and body.strip():
        texts.append(body)
    elif getattr(tnef, "htmlbody", None):
        html = tnef.htmlbody
        texts.append(_html_text(html if isinstance(html, str) else _decode(html, "utf-8", [])))
    for attachment in tnef.attachments:
        raw = attachment.data if isinstance(attachment.data, bytes) else b""
        filename = attachment.long_filename() or attachment.name or "attachment"
        if isinstance(filename, bytes):
            filename = _decode(filename, "cp1252", [])
        parsed.parts.append(
            Part(str(filename).replace("\x00", ""), "application/octet-stream", raw)
        )


def _html_text(html: str) -> str:
    """HTML mail as readable text: paragraphs, lists and tables laid out, no markup."""
    try:
        return str(inscriptis.get_text(html)).strip()
    except Exception:  # markup too broken to lay out: drop the tags
        return re.sub(r"<[^>]+>", " ", html)


def _extension(content_type: str) -> str:
    known = {
        "image/png": ".png",
        "image/jpeg": ".jpg",
        "image/gif": ".gif",
        "application/pdf": ".pdf",
        "text/plain": ".txt",
        "text/html": ".html",
        "text/calendar": ".ics",
    }
    return known.get(content_type, ".bin")


def _safe(text: str) -> str:
    return re.sub(r"[^\w .,()-]+", "_", text).strip()[:100] or "message"


def _automatic(message: Message, parsed: ParsedEmail) -> str:
    """Whether a machine sent the message, and which kind (loop protection)."""
    ctype = message.get_content_type()
    report = ""
    if ctype == "multipart/report":
        report = str(message.get_param("report-type") or "").lower()
    if report == "delivery-status" or BOUNCE_SENDERS.match(parsed.from_email or ""):
        parsed.bounced = _bounced_ids(message)
        return "bounce"
    auto_submitted = header(message, "Auto-Submitted").strip().lower()
    precedence = header(message, "Precedence").strip().lower()
    if (
        (auto_submitted and auto_submitted != "no")
        or message.get("X-Autoreply")
        or message.get("X-Autorespond")
        or header(message, "X-Auto-Response-Suppress").strip().lower() in ("all", "oof")
        or precedence in ("auto_reply", "junk")
        or report == "disposition-notification"
        or AUTO_SUBJECT.match(parsed.subject)
    ):
        return "auto_reply"
    if message.get("List-Id") or message.get("List-Unsubscribe") or precedence in ("list", "bulk"):
        return "list"
    return ""


def _bounced_ids(message: Message) -> list[str]:
    """The Message-IDs of the original messages a bounce reports (from its returned headers
    or message)."""
    found: list[str] = []
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                found.extend(message_ids(header(inner[0], "Message-ID")))
        elif ctype == "text/rfc822-headers":
            data = _payload(part, [])
            inner_headers = email.message_from_bytes(data)
            found.extend(message_ids(header(inner_headers, "Message-ID")))
    return list(dict.fromkeys(found))
