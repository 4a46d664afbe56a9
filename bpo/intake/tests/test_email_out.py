"""Replies go out through a real SMTP server on loopback (aiosmtpd collecting what it gets):
from the service's address, threaded, retried with back-off when the server is away, and a
refusal written on the item."""

from __future__ import annotations

import email
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from bpo.intake import actions as intake
from bpo.intake.models import OutboundEmail
from bpo.intake.outbox import outbox_send
from bpo.intake.tests import messages as m
from bpo.intake.tests.conftest import every, free_port, send
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work import actions as work
from bpo.work.models import Event, WorkItem

pytestmark = pytest.mark.django_db(transaction=True)


class Collector:
    """An SMTP peer: keeps what it is given, refuses addresses at refused.example."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def peer(settings):
    port = free_port()
    collector = Collector()
    server = Controller(collector, hostname="127.0.0.1", port=port)
    server.start()
    settings.OPENBPO_SMTP_URL = f"smtp://127.0.0.1:{port}"
    settings.OPENBPO_MAIL_DOMAIN = "openbpo.test"
    yield collector
    server.stop()


@pytest.fixture
def item(mailboxes, receiver, world):
    send(receiver, m.simple(message_id="<question@customer.example>"), ["support@acme.example"])
    (found,) = every(WorkItem)
    return found


def test_a_reply_goes_out_threaded_from_the_services_address(peer, item, world):
    with acting_as(world.actor("agent")) as agent:
        work.work_item_reply(actor=agent, item=item, body="Your parcel left today.")
    assert outbox_send().sent == 2  # the acknowledgement, then the reply
    ack, reply = (email.message_from_bytes(raw) for _, _, raw in peer.messages)
    assert ack["Auto-Submitted"] == "auto-replied"
    assert reply["Auto-Submitted"] is None
    assert reply["From"] == "support@acme.example" and reply["To"] == "anna@customer.example"
    assert reply["In-Reply-To"] == "<question@customer.example>"
    assert "<question@customer.example>" in reply["References"]
    assert reply["Message-ID"].endswith("@openbpo.test>")
    assert f"[#{item.pk}]" in reply["Subject"]
    assert reply.get_payload().strip() == "Your parcel left today."
    assert {o.status for o in every(OutboundEmail)} == {"sent"}
    assert outbox_send().sent == 0  # nothing twice


def test_the_contacts_answer_to_a_sent_reply_threads_back(peer, item, world, receiver):
    with acting_as(world.actor("agent")) as agent:
        work.work_item_reply(actor=agent, item=item, body="Which colour?")
    outbox_send()
    reply = email.message_from_bytes(peer.messages[-1][2])
    send(
        receiver,
        m.simple(subject="Re: " + reply["Subject"], body="Blue.", in_reply_to=reply["Message-ID"]),
        ["support@acme.example"],
    )
    assert len(every(WorkItem)) == 1
    with all_clients_unscoped("test"):
        assert Event.objects.filter(item=item, kind="message_in", body="Blue.").exists()


def test_a_server_away_means_retries_with_back_off_and_nothing_lost(settings, item, world):
    settings.OPENBPO_SMTP_URL = f"smtp://127.0.0.1:{free_port()}"  # nobody listens there
    now = timezone.now()
    report = outbox_send(now=now)
    assert report.retrying == 1 and report.sent == 0
    (waiting,) = every(OutboundEmail)
    assert waiting.status == "pending" and waiting.attempts == 1
    assert waiting.next_attempt_at == now + intake.RETRY_DELAYS[0]
    assert "ConnectionRefusedError" in waiting.last_error
    assert outbox_send(now=now + timedelta(seconds=30)).retrying == 0  # not due yet
    outbox_send(now=now + timedelta(minutes=2))
    (waiting,) = every(OutboundEmail)
    assert waiting.attempts == 2 and waiting.next_attempt_at > now + timedelta(minutes=6)


def test_retries_spent_the_failure_is_on_the_items_timeline(settings, item):
    settings.OPENBPO_SMTP_URL = f"smtp://127.0.0.1:{free_port()}"
    when = timezone.now()
    for _ in range(len(intake.RETRY_DELAYS) + 1):
        outbox_send(now=when)
        when += timedelta(days=1)
    (gone,) = every(OutboundEmail)
    assert gone.status == "failed" and gone.attempts == len(intake.RETRY_DELAYS) + 1
    with all_clients_unscoped("test"):
        notes = list(Event.objects.filter(item=item, kind="note").values_list("body", flat=True))
    assert any("could not be sent" in n for n in notes)


def test_a_refused_recipient_fails_at_once_and_says_why(peer, item):
    with all_clients_unscoped("test"):
        OutboundEmail.objects.update(to="ghost@refused.example")
    assert outbox_send().failed == 1
    (gone,) = every(OutboundEmail)
    assert gone.status == "failed" and "550" in gone.last_error and gone.attempts == 1


def test_without_an_smtp_server_configured_mail_waits_and_says_so(settings, item):
    settings.OPENBPO_SMTP_URL = ""
    assert outbox_send().retrying == 1
    (waiting,) = every(OutboundEmail)
    assert waiting.status == "pending" and "OPENBPO_SMTP_URL" in waiting.last_error
    assert waiting.attempts == 0
