"""Mail in through the built-in SMTP receiver, spoken to with smtplib on loopback: stored raw,
taken in as work or as a message on the item it answers, duplicates and machines handled, and
nothing lost when something goes wrong."""

from __future__ import annotations

import smtplib
from unittest import mock

import pytest
from django.core.files.storage import storages

from bpo.intake import actions as intake
from bpo.intake.models import InboundEmail, Mailbox, OutboundEmail
from bpo.intake.tasks import inbound_unfinished_job
from bpo.intake.tests import messages as m
from bpo.intake.tests.conftest import every, send
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped, client_scope
from bpo.work import actions as work
from bpo.work.models import Attachment, Event, WorkItem

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_message_becomes_a_work_item_of_the_addresses_service(receiver, mailboxes):
    own, _ = mailboxes
    send(receiver, m.corpus("plain.eml"), ["support@acme.example"])
    (stored,) = every(InboundEmail)
    assert stored.status == "processed" and stored.client_id == own.client_id
    assert storages["mail"].open(stored.stored_name).read() == m.corpus("plain.eml")
    with all_clients_unscoped("test"):
        item = WorkItem.objects.select_related("contact").get()
        created = Event.objects.get(item=item, kind="created")
    assert item.service_id == own.service_id and item.channel == "email"
    assert item.title == "Order 10045 arrived damaged" and "broken lid" in item.description
    assert item.contact.email == "anna@shop-customer.example"
    assert item.contact.name == "Anna Schmidt"
    assert created.data["sender"] == "anna@shop-customer.example"
    (ack,) = every(OutboundEmail)
    assert ack.kind == "acknowledge" and ack.to == "anna@shop-customer.example"
    assert ack.in_reply_to == "CAF12=abc.123@mail.shop-customer.example"
    assert f"[#{item.pk}]" in ack.subject


def test_mail_for_one_clients_address_never_lands_in_anothers(receiver, mailboxes):
    own, other = mailboxes
    send(receiver, m.simple(to="help@other.example"), ["help@other.example"])
    send(receiver, m.simple(), ["support@acme.example", "help@other.example"])
    stored = every(InboundEmail)
    assert sorted(s.client_id for s in stored) == sorted(
        [other.client_id, own.client_id, other.client_id]
    )
    for message in stored:
        assert message.item.client_id == message.client_id == message.mailbox.client_id


def test_an_unknown_address_is_refused_at_rcpt(receiver, mailboxes):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(receiver, m.simple(), ["nobody@acme.example"])
    ((code, text),) = refused.value.recipients.values()
    assert code == 550 and b"no such mailbox" in text
    assert every(InboundEmail) == []


def test_an_oversize_message_is_refused_with_a_clear_error(receiver, mailboxes):
    with pytest.raises(smtplib.SMTPException) as refused:
        send(receiver, m.huge(3 * 1024 * 1024), ["support@acme.example"])
    assert "552" in str(refused.value) or getattr(refused.value, "smtp_code", 0) == 552
    assert every(InboundEmail) == []


def test_an_answer_to_our_reply_lands_on_the_item(receiver, mailboxes, world):
    send(receiver, m.simple(message_id="<first@customer.example>"), ["support@acme.example"])
    item = every(WorkItem)[0]
    with acting_as(world.actor("agent")) as agent:
        work.work_item_reply(actor=agent, item=item, body="Your parcel is on its way.")
        work.work_item_transition(actor=agent, item=item, state="resolved")
    reply, survey = every(OutboundEmail)[-2:]
    assert reply.kind == "reply" and reply.in_reply_to == "first@customer.example"
    # The resolution offers the contact, who wrote in by mail, a survey in the same thread.
    assert survey.kind == "survey" and "/portal/survey/" in survey.body
    assert survey.in_reply_to == "first@customer.example"
    answer = m.simple(
        subject=f"Re: {reply.subject}",
        body="It arrived, thanks! But the lid is broken.",
        in_reply_to=f"<{reply.message_id}>",
    )
    send(receiver, answer, ["support@acme.example"])
    assert len(every(WorkItem)) == 1
    with all_clients_unscoped("test"):
        item.refresh_from_db()
        last = Event.objects.filter(item=item, kind="message_in").get()
    assert item.state == "open"  # a message on a resolved item reopens it
    assert "lid is broken" in last.body and last.data["sender"] == "anna@customer.example"


def test_the_subject_tag_threads_when_headers_are_lost_but_only_for_the_contact(
    receiver, mailboxes
):
    send(receiver, m.simple(), ["support@acme.example"])
    item = every(WorkItem)[0]
    send(
        receiver,
        m.simple(subject=f"Re: [#{item.pk}] parcel", body="Any news?"),
        ["support@acme.example"],
    )
    assert len(every(WorkItem)) == 1
    stranger = m.simple(sender="eve@elsewhere.example", subject=f"[#{item.pk}] hijack")
    send(receiver, stranger, ["support@acme.example"], sender="eve@elsewhere.example")
    assert len(every(WorkItem)) == 2  # a stranger's tag opens a new item


def test_a_duplicate_message_id_is_ignored_once(receiver, mailboxes):
    raw = m.simple(message_id="<same@customer.example>")
    send(receiver, raw, ["support@acme.example"])
    send(receiver, raw, ["support@acme.example"])
    first, second = every(InboundEmail)
    assert (first.status, second.status) == ("processed", "duplicate")
    assert len(every(WorkItem)) == 1


def test_machines_are_never_answered(receiver, mailboxes):
    send(receiver, m.simple(headers={"Auto-Submitted": "auto-replied"}), ["support@acme.example"])
    send(receiver, m.simple(headers={"List-Id": "<deals.example>"}), ["support@acme.example"])
    auto, listed = every(InboundEmail)
    assert auto.status == "ignored" and auto.item is None  # nothing to answer
    assert listed.status == "processed" and listed.automatic == "list"
    assert every(OutboundEmail) == []  # no acknowledgement to either


def test_a_bounce_marks_the_reply_and_tells_the_item(receiver, mailboxes, world):
    send(receiver, m.simple(), ["support@acme.example"])
    item = every(WorkItem)[0]
    with acting_as(world.actor("agent")) as agent:
        work.work_item_reply(actor=agent, item=item, body="Hello")
    reply = every(OutboundEmail)[-1]
    send(receiver, m.bounce_of(reply.message_id), ["support@acme.example"], sender="")
    reply = every(OutboundEmail)[-1]
    assert reply.status == "bounced" and "User unknown" in reply.last_error
    with all_clients_unscoped("test"):
        notes = list(Event.objects.filter(item=item, kind="note").values_list("body", flat=True))
    assert any("came back undelivered" in n for n in notes)
    assert len(every(WorkItem)) == 1


def test_attachments_and_inline_images_reach_the_item(receiver, mailboxes):
    send(receiver, m.with_inline_image_and_pdf(), ["support@acme.example"])
    files = every(Attachment)
    assert sorted(f.content_type for f in files) == ["application/pdf", "image/png"]
    assert all(not f.internal and f.event_id for f in files)


def test_a_failure_keeps_the_raw_message_and_a_retry_takes_it_in(receiver, mailboxes, world):
    with mock.patch("bpo.intake.actions.mail.parse", side_effect=RuntimeError("parser bug")):
        send(receiver, m.corpus("plain.eml"), ["support@acme.example"])
    (failed,) = every(InboundEmail)
    assert failed.status == "failed" and "parser bug" in failed.error and failed.attempts == 1
    assert every(WorkItem) == []
    with acting_as(world.actor("manager")) as manager:
        retried = intake.inbound_email_retry(actor=manager, message=failed)
    assert retried.status == "processed" and retried.item is not None


def test_a_message_left_unprocessed_by_a_crash_is_taken_in_later(mailboxes, settings):
    own, _ = mailboxes
    with all_clients_unscoped("test"):
        mailbox = Mailbox.objects.get(pk=own.pk)
    with client_scope([mailbox.client_id]):
        stored = intake.inbound_email_store(mailbox=mailbox, raw=m.simple(), channel="smtp")
    with all_clients_unscoped("test"):
        InboundEmail.objects.filter(pk=stored.pk).update(
            received_at=stored.received_at - intake.STUCK_AFTER * 2
        )
    assert inbound_unfinished_job.call() == 1
    (done,) = every(InboundEmail)
    assert done.status == "processed"


@pytest.mark.parametrize(
    "name",
    [
        "plain.eml",
        "latin1-qp.eml",
        "html-only.eml",
        "unknown-charset.eml",
        "broken-boundary.eml",
        "missing-headers.eml",
        "8bit-headers.eml",
    ],
)
def test_every_message_of_the_corpus_is_taken_in(receiver, mailboxes, name):
    send(receiver, m.corpus(name), ["support@acme.example"])
    (stored,) = every(InboundEmail)
    assert stored.status == "processed", stored.error
    assert stored.item is not None
