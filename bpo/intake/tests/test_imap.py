"""Mail fetched from IMAP mailboxes on a real Dovecot server on loopback: taken in once and
removed from the folder, nothing lost or doubled when a poll stops halfway, a mailbox that
cannot be reached says why without stopping the others, the password kept encrypted."""

from __future__ import annotations

import uuid
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from bpo.intake import actions as intake
from bpo.intake import credentials
from bpo.intake.imap import imap_poll
from bpo.intake.models import InboundEmail, Mailbox
from bpo.intake.tests import messages as m
from bpo.intake.tests.conftest import every
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.models import WorkItem
from bpo.work.tests.slaworld import sla_service

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def imap_box(world, dovecot):
    """A service whose mail is fetched from a fresh Dovecot user's INBOX."""
    user, password = f"care-{uuid.uuid4().hex[:8]}@own.example", dovecot.password
    service = sla_service(world)
    with acting_as(world.actor("manager")) as manager:
        box = intake.mailbox_save(
            actor=manager,
            service=service,
            address=user,
            imap_host="127.0.0.1",
            imap_port=dovecot.port,
            imap_security="none",
            imap_username=user,
            imap_password=password,
        )
    return box, user, password


def test_mail_in_the_folder_becomes_work_and_leaves_the_folder(dovecot, imap_box):
    box, user, password = imap_box
    dovecot.deliver(user, password, m.corpus("plain.eml"))
    dovecot.deliver(user, password, m.with_inline_image_and_pdf())
    report = imap_poll()
    assert (report.mailboxes, report.fetched, report.failed_mailboxes) == (1, 2, 0)
    stored = every(InboundEmail)
    assert [s.channel for s in stored] == ["imap", "imap"]
    assert all(s.status == "processed" and s.item_id for s in stored)
    assert {i.channel for i in every(WorkItem)} == {"email"}
    assert dovecot.count(user, password) == 0
    assert imap_poll().fetched == 0  # nothing twice
    with all_clients_unscoped("test"):
        box.refresh_from_db()
    assert box.last_poll_error == "" and box.last_polled_at is not None


def test_a_poll_stopped_before_removing_loses_nothing_and_doubles_nothing(dovecot, imap_box):
    _, user, password = imap_box
    dovecot.deliver(user, password, m.simple(message_id="<once@customer.example>"))
    with (
        mock.patch("imaplib.IMAP4.expunge", side_effect=KeyboardInterrupt),
        pytest.raises(KeyboardInterrupt),
    ):
        imap_poll()  # stored and taken in, but stopped before the folder was cleaned
    assert len(every(InboundEmail)) == 1 and len(every(WorkItem)) == 1
    imap_poll()  # fetched again: recognised, not stored again
    assert len(every(InboundEmail)) == 1 and len(every(WorkItem)) == 1
    assert dovecot.count(user, password) == 0


def test_a_mailbox_that_cannot_log_in_says_why_and_the_others_go_on(dovecot, imap_box, world):
    _, user, password = imap_box
    other_user = f"other-{uuid.uuid4().hex[:8]}@own.example"
    service = sla_service(world, key="second")
    with acting_as(world.actor("manager")) as manager:
        intake.mailbox_save(
            actor=manager,
            service=service,
            address=other_user,
            imap_host="127.0.0.1",
            imap_port=dovecot.port,
            imap_security="none",
            imap_username=other_user,
            imap_password="wrong-password",
        )
    dovecot.deliver(user, password, m.simple())
    report = imap_poll()
    assert (report.mailboxes, report.fetched, report.failed_mailboxes) == (2, 1, 1)
    with all_clients_unscoped("test"):
        broken = Mailbox.objects.get(address=other_user)
    assert broken.last_poll_error.startswith("IMAP: ")
    assert "authentication failed" in broken.last_poll_error.lower()


def test_an_oversize_message_is_stored_and_flagged(world, dovecot, imap_box, settings):
    _, user, password = imap_box
    settings.OPENBPO_MAX_EMAIL_BYTES = 64 * 1024
    dovecot.deliver(user, password, m.huge(100 * 1024))
    imap_poll()
    (stored,) = every(InboundEmail)
    assert stored.oversize and stored.status == "failed" and "above the limit" in stored.error
    assert every(WorkItem) == []
    assert dovecot.count(user, password) == 0  # kept by us, flagged for an admin
    with acting_as(world.actor("manager")) as manager:
        with pytest.raises(ValidationError, match="raise OPENBPO_MAX_EMAIL_BYTES"):
            intake.inbound_email_retry(actor=manager, message=stored)
        settings.OPENBPO_MAX_EMAIL_BYTES = 1024 * 1024  # the admin raises the limit
        again = intake.inbound_email_retry(actor=manager, message=stored)
    assert again.status == "processed" and not again.oversize
    assert len(every(WorkItem)) == 1


def test_the_password_is_stored_encrypted(imap_box):
    box, _, password = imap_box
    with all_clients_unscoped("test"):
        stored = Mailbox.objects.get(pk=box.pk).imap_password
    assert password not in stored and credentials.decrypt(stored) == password
    with (
        mock.patch.dict("os.environ", {"OPENBPO_ENCRYPTION_KEY": "another key"}),
        pytest.raises(credentials.SecretUnreadable),
    ):
        credentials.decrypt(stored)


def test_an_unreachable_server_is_reported(world):
    service = sla_service(world)
    with acting_as(world.actor("manager")) as manager:
        intake.mailbox_save(
            actor=manager,
            service=service,
            address="far@own.example",
            imap_host="127.0.0.1",
            imap_port=1,
            imap_security="none",
            imap_username="far",
            imap_password="x",
        )
    assert imap_poll().failed_mailboxes == 1
    (box,) = every(Mailbox)
    assert box.last_poll_error.startswith("cannot reach the server")


@pytest.mark.parametrize("host", ["imap.example.net", "192.0.2.10", "[2001:db8::1]"])
def test_no_security_is_refused_for_a_server_elsewhere(world, host):
    service = sla_service(world)
    with acting_as(world.actor("manager")) as manager, pytest.raises(ValidationError) as caught:
        intake.mailbox_save(
            actor=manager,
            service=service,
            address="plain@own.example",
            imap_host=host,
            imap_security="none",
            imap_username="plain",
            imap_password="secret",
        )
    assert "in clear" in caught.value.message_dict["imap_security"][0]
    assert every(Mailbox) == []
