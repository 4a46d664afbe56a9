"""Public web forms: anyone with the address submits a request with the service's fields, bots
that fill the honeypot and senders who send too much are stopped, and the contact follows the
request and answers through a private link."""

from __future__ import annotations

import re

import pytest
from django.test import Client as HttpClient

from bpo.intake import actions as intake
from bpo.intake.models import ContactLink, FormSubmission, OutboundEmail
from bpo.intake.tests.conftest import every
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work import actions as work
from bpo.work.models import Event, WorkItem
from bpo.work.tests.test_items_api import agreed_service


@pytest.fixture
def web_form(world):
    """The published form of a service whose terms have a required 'order' field and a
    'reason' choice; the service has a mailbox, so the contact's link is also mailed."""
    service = agreed_service(world, world.own)
    with acting_as(world.actor("manager")) as manager:
        intake.mailbox_save(actor=manager, service=service, address="care@own.example")
        return intake.web_form_save(
            actor=manager, service=service, title="Contact customer care", intro="We answer fast."
        )


def submit(http, form, **fields):
    data = {
        "name": "Anna Schmidt",
        "email": "anna@customer.example",
        "subject": "Wrong size",
        "message": "I got an M, I ordered an L.",
        "cf_order": "A-1001",
        "cf_reason": "complaint",
        "website": "",
        **fields,
    }
    return http.post(f"/intake/f/{form.key}/", data)


def test_a_request_through_the_form_becomes_an_item_with_a_private_link(world, web_form):
    http = HttpClient()
    page = http.get(f"/intake/f/{web_form.key}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Contact customer care" in body and "We answer fast." in body
    assert 'name="cf_order"' in body and 'name="cf_reason"' in body
    assert page["Referrer-Policy"] == "no-referrer"
    sent = submit(http, web_form)
    assert sent.status_code == 302 and sent["Location"].startswith("/intake/t/")
    (item,) = every(WorkItem)
    assert item.channel == "form" and item.title == "Wrong size"
    assert item.custom_fields == {"order": "A-1001", "reason": "complaint"}
    with all_clients_unscoped("test"):
        assert item.contact.email == "anna@customer.example"
    (notice,) = every(OutboundEmail)
    token = sent["Location"].split("/")[3]
    assert notice.kind == "notice" and f"/intake/t/{token}/" in notice.body
    with all_clients_unscoped("test"):
        assert token not in ContactLink.objects.get().token_digest  # only a digest is kept

    status = http.get(sent["Location"])
    assert status.status_code == 200
    assert "I got an M" in status.content.decode() and "New" in status.content.decode()
    with acting_as(world.actor("agent")) as agent:
        work.work_item_note(actor=agent, item=item, body="SECRET internal note")
        work.work_item_reply(actor=agent, item=item, body="We send an L today.")
    status = http.get(sent["Location"]).content.decode()
    assert "We send an L today." in status and "SECRET internal note" not in status
    answered = http.post(sent["Location"], {"body": "Thank you!"})
    assert answered.status_code == 302
    with all_clients_unscoped("test"):
        last = Event.objects.filter(item=item, kind="message_in").get()
    assert last.body == "Thank you!" and last.data["sender"] == "anna@customer.example"


def test_the_services_required_fields_are_required_with_the_message_on_the_field(web_form):
    http = HttpClient()
    refused = submit(http, web_form, cf_order="", cf_reason="")
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "order is required." in body
    assert "I got an M, I ordered an L." in body  # nothing typed is lost
    assert every(WorkItem) == []


def test_the_honeypot_catches_bots_without_telling_them(web_form):
    caught = submit(HttpClient(), web_form, website="http://spam.example")
    assert caught.status_code == 200 and "Thank you" in caught.content.decode()
    assert every(WorkItem) == []
    (row,) = every(FormSubmission)
    assert row.spam


def test_too_many_requests_from_one_address_are_refused(web_form, settings):
    settings.OPENBPO_FORM_RATE_LIMIT = 2
    http = HttpClient(REMOTE_ADDR="203.0.113.7")
    assert submit(http, web_form).status_code == 302
    assert submit(http, web_form, subject="again").status_code == 302
    third = submit(http, web_form, subject="and again")
    assert third.status_code == 429 and "Too many requests" in third.content.decode()
    assert len(every(WorkItem)) == 2
    other = HttpClient(REMOTE_ADDR="203.0.113.8")
    assert submit(other, web_form, subject="someone else").status_code == 302


def test_an_offline_form_and_a_wrong_link_are_not_found(world, web_form):
    http = HttpClient()
    assert http.get("/intake/t/not-a-token/").status_code == 404
    with acting_as(world.actor("manager")) as manager:
        intake.web_form_save(
            actor=manager,
            service=web_form.service,
            form=web_form,
            title=web_form.title,
            active=False,
        )
    assert http.get(f"/intake/f/{web_form.key}/").status_code == 404


def test_a_closed_request_takes_no_more_answers(world, web_form):
    http = HttpClient()
    link = submit(http, web_form)["Location"]
    (item,) = every(WorkItem)
    with acting_as(world.actor("agent")) as agent:
        work.work_item_transition(actor=agent, item=item, state="cancelled")
    page = http.get(link).content.decode()
    assert re.search(r"This request is cancelled", page)
    assert http.post(link, {"body": "Hello?"}).status_code == 400
