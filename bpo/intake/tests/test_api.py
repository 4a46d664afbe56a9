"""The intake API: managers set up mailboxes and look after inbound mail that failed."""

from __future__ import annotations

from unittest import mock

import pytest

from bpo.audit.models import AuditEntry
from bpo.intake.models import InboundEmail
from bpo.intake.tests import messages as m
from bpo.intake.tests.conftest import every, send
from bpo.work.tests.slaworld import sla_service
from bpo.work.tests.test_items_api import api_as
from bpo.work.tests.test_items_api import send as call

pytestmark = pytest.mark.django_db(transaction=True)


def test_managers_give_a_service_an_address(world):
    service = sla_service(world)
    manager = api_as(world, "manager")
    made = call(
        manager,
        "POST",
        "/api/v1/mailboxes",
        {"service_id": service.pk, "address": "Care@Own.example", "display_name": "Own care"},
    )
    assert made.status_code == 201, made.content
    assert made.json()["address"] == "care@own.example"
    again = call(
        manager,
        "POST",
        "/api/v1/mailboxes",
        {"service_id": service.pk, "address": "care@own.example"},
    )
    assert again.status_code == 422
    assert again.json()["error"]["fields"][0]["path"] == "body.address"
    assert "already the address of a mailbox" in again.json()["error"]["fields"][0]["message"]
    bad = call(manager, "POST", "/api/v1/mailboxes", {"service_id": service.pk, "address": "nope"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["path"] == "body.address"
    off = call(manager, "PATCH", f"/api/v1/mailboxes/{made.json()['id']}", {"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    assert call(api_as(world, "agent"), "GET", "/api/v1/mailboxes").status_code == 403


def test_failed_mail_is_listed_downloaded_and_retried(world, mailboxes, receiver):
    with mock.patch("bpo.intake.actions.mail.parse", side_effect=RuntimeError("parser bug")):
        send(receiver, m.corpus("latin1-qp.eml"), ["support@acme.example"])
    manager = api_as(world, "manager")
    failed = call(manager, "GET", "/api/v1/inbound-emails?status=failed").json()["items"]
    assert [f["status"] for f in failed] == ["failed"]
    (row,) = failed
    assert "parser bug" in row["error"] and row["attempts"] == 1
    raw = call(manager, "GET", f"/api/v1/inbound-emails/{row['id']}/raw")
    assert raw.status_code == 200 and raw["Content-Type"] == "message/rfc822"
    assert b"".join(raw.streaming_content) == m.corpus("latin1-qp.eml")
    assert AuditEntry.objects.filter(action="inbound_email.raw_viewed").count() == 1
    retried = call(manager, "POST", f"/api/v1/inbound-emails/{row['id']}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "processed"
    assert retried.json()["item_id"] is not None
    again = call(manager, "POST", f"/api/v1/inbound-emails/{row['id']}/retry")
    assert again.status_code == 422  # only failed messages are retried
    (stored,) = every(InboundEmail)
    assert stored.attempts == 2
