"""Background jobs of intake."""

from __future__ import annotations

from django_tasks import task

from bpo.intake import actions, imap, outbox
from bpo.tenancy.scoping import client_scope


@task()
def outbox_send_job() -> dict[str, int]:
    """Periodic: send the outbox's due mail; retries with back-off. Safe to run concurrently
    (each message is claimed before it is sent)."""
    report = outbox.outbox_send()
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}


@task()
def inbound_unfinished_job() -> int:
    """Periodic: take in messages that were stored but never processed (their receiver was
    killed between the two steps)."""
    done = 0
    for pk, client_id in actions.inbound_unfinished():
        with client_scope([client_id]):
            actions.inbound_email_process(inbound_id=pk)
        done += 1
    return done


@task()
def imap_poll_job() -> dict[str, int]:
    """Periodic: fetch mail from every IMAP mailbox. A poll killed halfway loses nothing and
    takes nothing in twice."""
    report = imap.imap_poll()
    return {
        "mailboxes": report.mailboxes,
        "fetched": report.fetched,
        "failed_mailboxes": report.failed_mailboxes,
    }
