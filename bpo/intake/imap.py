"""Fetching mail from the IMAP mailboxes configured per service.

Each poll logs in, reads the folder's messages by UID, stores each one raw (``channel="imap"``)
and takes it in, and only then removes it from the folder. A poll killed between storing and
removing fetches the message again next time: the copy is recognised (same bytes, same
mailbox) and not stored twice, and a message is taken in once per Message-ID anyway. A message
above OPENBPO_MAX_EMAIL_BYTES is stored and flagged, not processed; one so large that fetching
it is unreasonable (four times the limit) is left in the folder and named in the mailbox's last
poll error. A mailbox that cannot be reached or logged into keeps the error in
``last_poll_error`` and is tried again at the next poll; it never stops the others.
"""

from __future__ import annotations

import hashlib
import imaplib
import logging
import re
import ssl
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from bpo.audit.context import request_context
from bpo.intake import actions, credentials
from bpo.intake.models import ImapSecurity, InboundEmail, Mailbox
from bpo.tenancy.scoping import all_clients_unscoped, client_scope

logger = logging.getLogger(__name__)
TIMEOUT = 60
BATCH = 100  # messages per mailbox per poll; the rest come at the next poll
FETCH_LIMIT_FACTOR = 4
SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


@dataclass
class PollReport:
    mailboxes: int = 0
    fetched: int = 0
    failed_mailboxes: int = 0


def imap_poll() -> PollReport:
    """Poll every active IMAP mailbox of every client once."""
    report = PollReport()
    with all_clients_unscoped("the IMAP poller fetches every client's configured mailboxes"):
        boxes = list(
            Mailbox.objects.filter(active=True).exclude(imap_host="").values_list("pk", "client_id")
        )
    for pk, client_id in boxes:
        with client_scope([client_id]), request_context(request_id=f"imap-poll-{pk}"):
            mailbox = Mailbox.objects.select_related("service").get(pk=pk)
            report.mailboxes += 1
            try:
                report.fetched += poll_mailbox(mailbox)
            except Exception as exc:  # a broken mailbox must not stop the others
                report.failed_mailboxes += 1
                _note(mailbox, _describe(exc))
                logger.warning("IMAP mailbox %s: %s", mailbox.address, exc)
    return report


def poll_mailbox(mailbox: Mailbox) -> int:
    """Fetch, store and take in the folder's messages; returns how many were stored."""
    password = credentials.decrypt(mailbox.imap_password)
    limit = settings.OPENBPO_MAX_EMAIL_BYTES
    stored = 0
    problems: list[str] = []
    with _connect(mailbox) as imap:
        _ok(imap.login(mailbox.imap_username, password), "log in")
        _ok(imap.select(_quoted(mailbox.imap_folder)), f"open the folder {mailbox.imap_folder!r}")
        found = _ok(imap.uid("SEARCH", "ALL"), "list the messages")
        uids = [u.decode() for u in (found[0] or b"").split()[:BATCH]]
        for uid in uids:
            size = _size(imap, uid)
            if size > limit * FETCH_LIMIT_FACTOR:
                problems.append(
                    f"message UID {uid} is {size:,} bytes, far above the limit of "
                    f"{limit:,}: left in the mailbox"
                )
                continue
            raw = _fetch(imap, uid)
            message = _store_once(mailbox, raw)
            if message is not None:
                actions.inbound_email_process(inbound_id=message.pk)
                stored += 1
            imap.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
        if uids:
            imap.expunge()
        imap.logout()
    _note(mailbox, "; ".join(problems))
    return stored


def _store_once(mailbox: Mailbox, raw: bytes) -> InboundEmail | None:
    """Store the message unless this mailbox already stored the same bytes (fetched again
    after a poll that stopped before removing it)."""
    digest = hashlib.sha256(raw).hexdigest()
    if InboundEmail.objects.filter(mailbox=mailbox, sha256=digest).exists():
        return None
    return actions.inbound_email_store(
        mailbox=mailbox, raw=raw, channel="imap", peer=mailbox.imap_host
    )


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    host = mailbox.imap_host
    security = mailbox.imap_security
    context = ssl.create_default_context()
    if security == ImapSecurity.SSL:
        return imaplib.IMAP4_SSL(
            host, mailbox.imap_port or 993, ssl_context=context, timeout=TIMEOUT
        )
    imap = imaplib.IMAP4(host, mailbox.imap_port or 143, timeout=TIMEOUT)
    if security == ImapSecurity.STARTTLS:
        imap.starttls(ssl_context=context)
    return imap


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(answer: tuple[str, Any], what: str) -> list[Any]:
    status, data = answer
    if status != "OK":
        said = b" ".join(d for d in data or [] if isinstance(d, bytes)).decode(errors="replace")
        raise imaplib.IMAP4.error(f"could not {what}: {said}")
    return data


def _size(imap: imaplib.IMAP4, uid: str) -> int:
    data = _ok(imap.uid("FETCH", uid, "(RFC822.SIZE)"), f"size message UID {uid}")
    for line in data:
        if isinstance(line, bytes) and (found := SIZE.search(line)):
            return int(found.group(1))
    return 0


def _fetch(imap: imaplib.IMAP4, uid: str) -> bytes:
    data = _ok(imap.uid("FETCH", uid, "(BODY.PEEK[])"), f"fetch message UID {uid}")
    for part in data:
        if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
            return part[1]
    raise imaplib.IMAP4.error(f"the server sent no message for UID {uid}")


def _describe(exc: Exception) -> str:
    if isinstance(exc, credentials.SecretUnreadable):
        return str(exc)
    if isinstance(exc, imaplib.IMAP4.error):
        return f"IMAP: {exc}"
    if isinstance(exc, OSError):
        return f"cannot reach the server: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _note(mailbox: Mailbox, error: str) -> None:
    Mailbox.objects.filter(pk=mailbox.pk).update(
        last_polled_at=timezone.now(), last_poll_error=error[:2000]
    )
