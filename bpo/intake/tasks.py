"""Background jobs of intake."""

from __future__ import annotations

from django_tasks import task

from bpo.intake import actions, imap, imports, outbox
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


@task()
def import_run_job(job_id: int, client_id: int) -> dict[str, int | str]:
    """Run a started file import (from where it stopped, if it was stopped)."""
    with client_scope([client_id]):
        try:
            job = imports.import_run(job_id=job_id)
        except imports.ImportBusy:
            return {"status": "running elsewhere"}
    return {"status": job.status, "created": job.items_created, "skipped": job.items_skipped}


@task()
def imports_resume_job() -> int:
    """Periodic: start again the imports whose runner was killed; each resumes after its last
    written batch."""
    stalled = imports.imports_stalled()
    for job_id, client_id in stalled:
        import_run_job.enqueue(job_id=job_id, client_id=client_id)
    return len(stalled)
