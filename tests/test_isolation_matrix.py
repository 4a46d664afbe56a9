"""The isolation matrix: every route × every role × (own client, other client, missing object).

Routes are read from the URL conf and from the OpenAPI schema; a route without an entry in
MATRIX fails the suite, so nothing new ships without its isolation expectations. Each case checks
the status code and that nothing of the other client (its name, legal name, people) leaks into a
response to someone who may not see it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from bpo.accounts.models import ApiToken, Assignment, Membership, User
from bpo.accounts.roles import CLIENT_ROLES, Role
from bpo.accounts.tests.factories import AssignmentFactory, MembershipFactory
from bpo.api import api
from bpo.billing.models import Invoice, InvoiceLine
from bpo.calendars.models import BusinessCalendar
from bpo.contracts.models import (
    Charge,
    Contract,
    ContractVersion,
    RateCard,
    Service,
    ServiceTerms,
    SlaPolicy,
    SlaTarget,
)
from bpo.finance import actions as finance_actions
from bpo.finance.models import (
    BankAccount,
    ColumnMapping,
    DailyReport,
    LedgerEntry,
    Match,
    MatchRule,
    Obligation,
    Occurrence,
    SourceFile,
    Statement,
    StatementLine,
)
from bpo.finance.tests.conftest import SAMPLES as FINANCE_SAMPLES
from bpo.finance.tests.conftest import Books, finance_books
from bpo.intake.models import ContactLink, ImportJob, InboundEmail, Mailbox, WebForm
from bpo.portal.models import ServiceReport, Survey
from bpo.portal.reports import report_figures
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped, client_scope
from bpo.work.actions import agreed_terms
from bpo.work.models import (
    Attachment,
    CannedResponse,
    Notification,
    Queue,
    SlaClock,
    WorkItem,
)
from bpo.workforce.models import Certification

ROLES = [role.value for role in Role]
ANON = "anonymous"
TARGETS = ("own", "other", "missing")
MISSING_ID = 987654321
# What must never appear in a response to a non-admin of the "own" client.
OTHER_MARKERS = ("Other Client Inc", "OTHERSECRET", "@other.test")


@dataclass(frozen=True)
class Route:
    """How to call one route, and who may."""

    method: str
    path: Callable[[Any, User, str], str]  # (world, acting user, target) -> URL
    allowed: frozenset[str]  # roles that may do it (on an object they can see)
    ok: int = 200
    targets: tuple[str, ...] = ("own",)  # which targets make sense for this route
    # Provider admins see every client, so another client's object is visible to them; a
    # personal object (an API token) stays invisible even to them.
    admin_sees_other: bool = True
    permission_first: bool = False  # 403 before any lookup (so other/missing give 403 too)
    body: Callable[[Any, User, str], dict[str, Any]] | None = None
    anonymous: int | None = None  # status for anonymous visitors (default: login / 401)
    missing: int = 404  # status for a missing object when allowed
    hidden: int = 404  # status for another client's object the actor cannot see
    # Roles that cannot see the object even at their own client (client users and drafts).
    invisible_to: frozenset[str] = frozenset()
    multipart: bool = False  # send the body as multipart/form-data (file uploads)
    # An extra check of a successful answer, given the response and whether the target was
    # visible to the actor (for answers that are 2xx either way, such as bulk results, or
    # redirects that report a refusal as a message).
    verify: Callable[[Any, bool], None] | None = None


EVERYONE = frozenset(ROLES)
ADMIN = frozenset({"admin"})
MEMBER_VIEWERS = frozenset({"admin", "client_admin"})
CONTRACT_MANAGERS = frozenset({"admin", "manager"})
DASHBOARD_READERS = frozenset(
    {"admin", "manager", "qa", "finance", "planner", "client_admin", "client_viewer"}
)
IMPORTERS = frozenset({"admin", "manager", "client_admin"})
CLIENT_SIDE = frozenset(role.value for role in CLIENT_ROLES)
ACCESS_LOG_READERS = frozenset({"admin", "client_admin"})
BREACH_EXPLAINERS = frozenset({"admin", "manager"})


def fixed(url: str) -> Callable[[Any, User, str], str]:
    return lambda world, user, target: url


def client_url(template: str) -> Callable[[Any, User, str], str]:
    def build(world, user, target):
        ident = {"own": world.own.pk, "other": world.other.pk, "missing": MISSING_ID}[target]
        return template.format(id=ident)

    return build


def person_url(template: str, role: str = "client_viewer") -> Callable[[Any, User, str], str]:
    def build(world, user, target):
        ident = {
            "own": world.people[role].pk,
            "other": world.other_people[role].pk,
            "missing": MISSING_ID,
        }[target]
        return template.format(id=ident)

    return build


def membership_url(template: str) -> Callable[[Any, User, str], str]:
    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        person = (world.people if target == "own" else world.other_people)["client_viewer"]
        return template.format(id=Membership.objects.get(user=person).pk)

    return build


def assignment_url(template: str) -> Callable[[Any, User, str], str]:
    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        person = (world.people if target == "own" else world.other_people)["agent"]
        with all_clients_unscoped("test setup"):
            return template.format(id=Assignment.objects.get(user=person).pk)

    return build


def token_url(template: str) -> Callable[[Any, User, str], str]:
    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        owner = (user or world.people["agent"]) if target == "own" else world.other_people["agent"]
        token = ApiToken.objects.create(
            user=owner, name="t", key_id=f"k{owner.pk}", digest="0" * 64
        )
        return template.format(id=token.pk)

    return build


def _client_of(world, target: str):
    return world.own if target == "own" else world.other


def make_calendar(client) -> BusinessCalendar:
    """The client's office-hours calendar (made once per test)."""
    calendar, _ = BusinessCalendar.objects.get_or_create(
        client=client,
        name="Office hours",
        defaults={
            "time_zone": "Europe/Berlin",
            "weekly": {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
        },
    )
    return calendar


def make_contract(client, status: str) -> SimpleNamespace:
    """A contract whose version 1 has the status, one service on a calendar and a policy."""
    calendar = make_calendar(client)
    contract = Contract.objects.create(client=client, reference="MX-1", title="Matrix contract")
    version = ContractVersion.objects.create(
        client=client,
        contract=contract,
        number=1,
        status=status,
        start_date=date(2026, 1, 1),
        currency="EUR",
    )
    policy = SlaPolicy.objects.create(client=client, version=version, name="Standard")
    SlaTarget.objects.create(
        client=client,
        policy=policy,
        priority="normal",
        metric="first_response",
        duration_minutes=240,
    )
    service = Service.objects.create(
        client=client, contract=contract, key="matrix", name="Matrix service", process_type="task"
    )
    terms = ServiceTerms.objects.create(
        client=client, version=version, service=service, calendar=calendar, sla_policy=policy
    )
    return SimpleNamespace(
        calendar=calendar, contract=contract, version=version, policy=policy, terms=terms
    )


def make_item(client) -> WorkItem:
    """A work item of the client's agreed service."""
    terms = make_contract(client, "active").terms
    return WorkItem.objects.create(
        client=client, service=terms.service, terms=terms, title="Matrix item"
    )


def item_url(template: str) -> Callable[[Any, User, str], str]:
    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        with all_clients_unscoped("test setup"):
            return template.format(id=make_item(_client_of(world, target)).pk)

    return build


def body_service(world, user, target) -> dict[str, Any]:
    if target == "missing":
        return {"service_id": MISSING_ID, "title": "Matrix request"}
    with all_clients_unscoped("test setup"):
        terms = make_contract(_client_of(world, target), "active").terms
    return {"service_id": terms.service_id, "title": "Matrix request"}


def survey_link_url(world, user, target) -> str:
    """The public survey link of a resolved item of the own client."""
    with all_clients_unscoped("test setup"):
        item = make_item(world.own)
        survey = Survey.objects.create(
            client=item.client, item=item, service=item.service, token=f"matrix{item.pk}"
        )
    return f"/portal/survey/{survey.token}/"


def report_url(template: str) -> Callable[[Any, User, str], str]:
    """A monthly report of the target client's service (generated as the monthly job does)."""

    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        with all_clients_unscoped("test setup"):
            service = make_contract(_client_of(world, target), "active").terms.service
            month = date(2026, 10, 1)
            report = ServiceReport.objects.create(
                client=service.client,
                service=service,
                month=month,
                generated_at=timezone.now(),
                complete=True,
                figures=report_figures(service, month, timezone.now()),
            )
        return template.format(id=report.pk)

    return build


def body_report(world, user, target) -> dict[str, Any]:
    """Make a report of October for the target client's service."""
    return {"service_id": body_service(world, user, target)["service_id"], "month": "2026-10"}


def missed_clock_url(world, user, target) -> str:
    """The explanation form of a missed SLA clock on an item of the target client."""
    if target == "missing":
        return f"/work/items/{MISSING_ID}/clocks/{MISSING_ID}/explain/"
    with all_clients_unscoped("test setup"):
        item = make_item(_client_of(world, target))
        clock = _missed_clock(item)
    return f"/work/items/{item.pk}/clocks/{clock.pk}/explain/"


def _missed_clock(item: WorkItem) -> SlaClock:
    now = timezone.now()
    return SlaClock.objects.create(
        client=item.client,
        item=item,
        target=SlaTarget.objects.get(policy_id=item.terms.sla_policy_id),
        metric="first_response",
        started_at=now,
        stopped_at=now,
        met=False,
        breached_at=now,
    )


def missed_clock_api_url(world, user, target) -> str:
    if target == "missing":
        return f"/api/v1/work-items/{MISSING_ID}/clocks/{MISSING_ID}/explanation"
    with all_clients_unscoped("test setup"):
        item = make_item(_client_of(world, target))
        clock = _missed_clock(item)
    return f"/api/v1/work-items/{item.pk}/clocks/{clock.pk}/explanation"


def _agent_of(world, target: str):
    return (world.people if target == "own" else world.other_people)["agent"]


def body_assign(world, user, target) -> dict[str, Any]:
    """Assign the latest item of the target client to that client's certified agent."""
    agent = _agent_of(world, "own" if target == "missing" else target)
    if target != "missing":
        with all_clients_unscoped("test setup"):
            item = WorkItem.objects.filter(client=_client_of(world, target)).latest("id")
            Certification.objects.get_or_create(
                client=item.client, service=item.service, user=agent
            )
    return {"agent_id": agent.pk, "reason": "matrix"}


def body_certify(world, user, target) -> dict[str, Any]:
    if target == "missing":
        return {"user_id": world.people["agent"].pk, "service_id": MISSING_ID}
    with all_clients_unscoped("test setup"):
        service = make_contract(_client_of(world, target), "active").terms.service
    return {"user_id": _agent_of(world, target).pk, "service_id": service.pk}


MATRIX_PDF = b"%PDF-1.4 matrix"


def body_upload(world, user, target) -> dict[str, Any]:
    return {"file": SimpleUploadedFile("matrix.pdf", MATRIX_PDF, content_type="application/pdf")}


def attachment_url(template: str) -> Callable[[Any, User, str], str]:
    """A public attachment on a new item of the target client."""

    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        with all_clients_unscoped("test setup"):
            item = make_item(_client_of(world, target))
            name = storages["attachments"].save(
                f"{item.client_id}/matrix.pdf", ContentFile(MATRIX_PDF)
            )
            attachment = Attachment.objects.create(
                client=item.client,
                item=item,
                filename="matrix.pdf",
                content_type="application/pdf",
                size=len(MATRIX_PDF),
                sha256="0" * 64,
                stored_name=name,
            )
        return template.format(id=attachment.pk)

    return build


def body_bulk(world, user, target) -> dict[str, Any]:
    return {"items": [body_service(world, user, target)]}


def verify_bulk(response, visible: bool) -> None:
    """Created only where the actor may submit work; elsewhere reported, nothing created."""
    (result,) = response.json()["results"]
    assert result["ok"] is visible, result
    if not visible:
        assert result["errors"][0]["path"] == "items[0].service_id"


def body_transfer(world, user, target) -> dict[str, Any]:
    """Move the latest item of the target client to a second queue of its service."""
    if target == "missing":
        return {"queue_id": MISSING_ID, "reason": "matrix"}
    with all_clients_unscoped("test setup"):
        item = WorkItem.objects.filter(client=_client_of(world, target)).latest("id")
        queue = Queue.objects.create(client=item.client, service=item.service, name="Second line")
    return {"queue_id": queue.pk, "reason": "matrix"}


def body_web_transfer(world, user, target) -> dict[str, Any]:
    """The item page's transfer form: to a second queue of the item's service, with a reason."""
    body = body_transfer(world, user, target)
    return {"transfer-queue": body["queue_id"], "transfer-reason": body["reason"]}


def queue_url(template: str) -> Callable[[Any, User, str], str]:
    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        with all_clients_unscoped("test setup"):
            service = make_contract(_client_of(world, target), "active").terms.service
            queue = Queue.objects.create(client=service.client, service=service, name="Matrix")
        return template.format(id=queue.pk)

    return build


def body_queue(world, user, target) -> dict[str, Any]:
    body = body_service(world, user, target)
    return {"service_id": body["service_id"], "name": "Matrix queue", "routing": "push"}


def notification_url(template: str) -> Callable[[Any, User, str], str]:
    """The acting user's own notification, or one of the other client's agent."""

    def build(world, user, target):
        if target == "missing" or user is None:
            return template.format(id=MISSING_ID)
        recipient = user if target == "own" else _agent_of(world, "other")
        with all_clients_unscoped("test setup"):
            item = make_item(_client_of(world, target))
            note = Notification.objects.create(
                client=item.client, recipient=recipient, item=item, kind="sla_breach", text="x"
            )
        return template.format(id=note.pk)

    return build


def agent_url(template: str) -> Callable[[Any, User, str], str]:
    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        return template.format(id=_agent_of(world, target).pk)

    return build


def make_canned(client) -> CannedResponse:
    """A canned response of the client's agreed service."""
    service = make_contract(client, "active").terms.service
    return CannedResponse.objects.create(
        client=client, service=service, title="Matrix reply", body="Hello {contact_name}"
    )


def canned_url(template: str) -> Callable[[Any, User, str], str]:
    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        with all_clients_unscoped("test setup"):
            return template.format(id=make_canned(_client_of(world, target)).pk)

    return build


def service_url(template: str) -> Callable[[Any, User, str], str]:
    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        with all_clients_unscoped("test setup"):
            return template.format(
                id=make_contract(_client_of(world, target), "active").terms.service_id
            )

    return build


def body_canned(world, user, target) -> dict[str, Any]:
    return {**body_service(world, user, target), "body": "Hello {contact_name}"}


def make_mailbox(client) -> Mailbox:
    """A mailbox of the client's agreed service, at an address of its own."""
    service = make_contract(client, "active").terms.service
    return Mailbox.objects.create(
        client=client, service=service, address=f"in-{uuid.uuid4().hex[:10]}@{client.slug}.test"
    )


def make_inbound(client) -> InboundEmail:
    """A failed inbound message of the client, its raw bytes stored."""
    mailbox = make_mailbox(client)
    raw = b"From: someone@example.org\r\nSubject: Matrix\r\n\r\nHello\r\n"
    stored = storages["mail"].save(f"{client.pk}/matrix.eml", ContentFile(raw))
    return InboundEmail.objects.create(
        client=client,
        mailbox=mailbox,
        channel="smtp",
        stored_name=stored,
        size=len(raw),
        sha256="0" * 64,
        status="failed",
        error="matrix",
    )


def owned_url(template: str, make: Callable[[Any], Any]) -> Callable[[Any, User, str], str]:
    """A URL naming an object ``make`` creates for the target's client."""

    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        with all_clients_unscoped("test setup"):
            return template.format(id=make(_client_of(world, target)).pk)

    return build


def make_web_form(client) -> WebForm:
    """A published form of the client's agreed service."""
    service = make_contract(client, "active").terms.service
    return WebForm.objects.create(
        client=client, service=service, key=uuid.uuid4().hex, title="Matrix form"
    )


def public_form_url(world, user, target) -> str:
    with all_clients_unscoped("test setup"):
        return f"/intake/f/{make_web_form(_client_of(world, target)).key}/"


MATRIX_CSV = b"Title,Reference\r\nMatrix row,MX-1\r\n"


def make_import(client, status: str = "ready") -> ImportJob:
    """A checked import of the client's agreed service, its file stored."""
    service = make_contract(client, "active").terms.service
    admin = User.objects.filter(memberships__client=client).first() or User.objects.get(
        email="admin@own.test"
    )
    stored = storages["imports"].save(f"{client.pk}/matrix.csv", ContentFile(MATRIX_CSV))
    return ImportJob.objects.create(
        client=client,
        service=service,
        created_by=admin,
        file_name="matrix.csv",
        stored_name=stored,
        size=len(MATRIX_CSV),
        sha256="0" * 64,
        kind="csv",
        encoding="utf-8",
        delimiter=",",
        headers=["Title", "Reference"],
        mapping=["title", "external_ref"],
        status=status,
        rows_total=1,
    )


def make_failed_import(client) -> ImportJob:
    return make_import(client, status="failed")


def body_import_upload(world, user, target) -> dict[str, Any]:
    service_id = body_service(world, user, target)["service_id"]
    return {
        "service_id": str(service_id),
        "file": SimpleUploadedFile("matrix.csv", MATRIX_CSV, content_type="text/csv"),
    }


MATRIX_TOKEN = "matrix-contact-token"


def contact_link_url(world, user, target) -> str:
    """The private page of an item sent through a form (the token is the page's key)."""
    with all_clients_unscoped("test setup"):
        item = make_item(_client_of(world, target))
        form = WebForm.objects.create(
            client=item.client, service=item.service, key=uuid.uuid4().hex, title="Matrix form"
        )
        ContactLink.objects.get_or_create(
            token_digest=hashlib.sha256(MATRIX_TOKEN.encode()).hexdigest(),
            defaults={"client": form.client, "item": item, "form": form},
        )
    return f"/intake/t/{MATRIX_TOKEN}/"


def body_mailbox(world, user, target) -> dict[str, Any]:
    service = body_service(world, user, target)["service_id"]
    return {"service_id": service, "address": f"new-{uuid.uuid4().hex[:10]}@matrix.test"}


def calendar_url(template: str) -> Callable[[Any, User, str], str]:
    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        with all_clients_unscoped("test setup"):
            return template.format(id=make_calendar(_client_of(world, target)).pk)

    return build


def contract_url(template: str, part: str, status: str = "active") -> Callable[..., str]:
    """URL of one part (contract, version, terms, policy) of a contract in the given status."""

    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        with all_clients_unscoped("test setup"):
            made = make_contract(_client_of(world, target), status)
        return template.format(id=getattr(made, part).pk)

    return build


def body_calendar(world, user, target) -> dict[str, Any]:
    with all_clients_unscoped("test setup"):
        return {"calendar_id": make_calendar(_client_of(world, target)).pk}


def body_client(world, user, target) -> dict[str, Any]:
    return {
        "client_id": {"own": world.own.pk, "other": world.other.pk, "missing": MISSING_ID}[target]
    }


# --- Billing web pages: invoices of the target client, built as the invoice run leaves them ---


def make_web_invoice(client, status: str = "issued") -> Any:
    """An invoice of October 2026 of a priced contract of the client, in ``status``, with one
    line per resolved item counted from a row of the usage ledger."""
    from bpo.billing import models as billing_models
    from bpo.contracts import models as contract_models

    made = make_contract(client, "active")
    service = made.terms.service
    card = contract_models.RateCard.objects.create(
        client=client, version=made.version, service=service
    )
    charge = contract_models.Charge.objects.create(
        client=client, rate_card=card, label="Orders", model="per_transaction", unit_price="2.50"
    )
    now = timezone.now()
    sent = status in ("issued", "paid")
    invoice = billing_models.Invoice.objects.create(
        client=client,
        contract=made.contract,
        version=made.version,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        status=status,
        number=f"INV-MX-{uuid.uuid4().hex[:8]}" if sent else None,
        currency="EUR",
        tax_label="VAT",
        tax_rate_percent="0",
        net="5.00",
        total="5.00",
        computed_at=now,
        approved_at=now if status != "draft" else None,
        issued_at=now if sent else None,
        due_date=date(2026, 12, 1) if sent else None,
    )
    billing_models.Usage.objects.create(
        client=client,
        service=service,
        day=date(2026, 10, 5),
        meter=billing_models.Meter.RESOLVED_ITEMS,
        quantity="2",
        metered_at=now,
        invoice=invoice,
    )
    billing_models.InvoiceLine.objects.create(
        client=client,
        invoice=invoice,
        position=1,
        kind="charge",
        service=service,
        charge=charge,
        meter=billing_models.Meter.RESOLVED_ITEMS,
        description="Matrix service: Orders",
        quantity="2",
        unit="items",
        unit_price="2.50",
        amount="5.00",
    )
    return invoice


def web_invoice_url(template: str, status: str = "issued") -> Callable[[Any, User, str], str]:
    """A billing page of an invoice (or of its line: ``{line}``) of the target client."""

    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID, line=MISSING_ID)
        with all_clients_unscoped("test setup"):
            invoice = make_web_invoice(_client_of(world, target), status)
            line = invoice.lines.get()
        return template.format(id=invoice.pk, line=line.pk)

    return build


def body_web_draft(world, user, target) -> dict[str, Any]:
    """The draft form: a priced contract of the target client, and last month."""
    if target == "missing":
        return {"contract": MISSING_ID, "month": "2026-10"}
    with all_clients_unscoped("test setup"):
        invoice = make_web_invoice(_client_of(world, target), "void")
    return {"contract": invoice.contract_id, "month": "2026-10"}


def web_rate_card_url(template: str) -> Callable[[Any, User, str], str]:
    """A rate card page of a draft version of the target client: ``{version}``, ``{service}``,
    ``{card}``, ``{charge}``."""

    def build(world, user, target):
        from bpo.contracts import models as contract_models

        if target == "missing":
            return template.format(
                version=MISSING_ID, service=MISSING_ID, card=MISSING_ID, charge=MISSING_ID
            )
        client = _client_of(world, target)
        with all_clients_unscoped("test setup"):
            made = make_contract(client, "draft")
            card = contract_models.RateCard.objects.create(
                client=client, version=made.version, service=made.terms.service
            )
            charge = contract_models.Charge.objects.create(
                client=client, rate_card=card, label="Fee", model="fixed_fee", unit_price="100"
            )
        return template.format(
            version=made.version.pk, service=made.terms.service_id, card=card.pk, charge=charge.pk
        )

    return build


BILLING_READERS = frozenset({"admin", "finance", "client_admin"})
BILLING_MANAGERS = frozenset({"admin", "finance"})


# --- Billing (API) ------------------------------------------------------------------------------


def make_priced(client, status: str = "active") -> SimpleNamespace:
    """A contract (see make_contract) whose service has a rate card: a monthly fee of 100.00."""
    made = make_contract(client, status)
    made.card = RateCard.objects.create(
        client=client, version=made.version, service=made.terms.service
    )
    made.charge = Charge.objects.create(
        client=client,
        rate_card=made.card,
        label="Monthly fee",
        model="fixed_fee",
        unit_price=Decimal("100.00"),
    )
    return made


BILLED_METERS = ("", "resolved_items", "handled_minutes", "production_minutes")


def make_invoice(client, status: str = "issued") -> Invoice:
    """October's invoice of the client's priced contract, in ``status``: the fee, and a line
    per meter (nothing counted) to open to its usage."""
    made = make_priced(client)
    now = timezone.now()
    sent = status in ("issued", "paid", "void")
    invoice = Invoice.objects.create(
        client=client,
        contract=made.contract,
        version=made.version,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        status=status,
        number=f"MX-{uuid.uuid4().hex[:12]}" if sent else None,
        currency="EUR",
        tax_label="VAT",
        tax_rate_percent=Decimal(0),
        net=Decimal(100),
        total=Decimal(100),
        computed_at=now,
        issued_at=now if sent else None,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            client=client,
            invoice=invoice,
            position=n,
            kind="charge",
            service=made.terms.service,
            charge=made.charge,
            meter=meter,
            description=f"Matrix service: {meter or 'monthly fee'}",
            quantity=Decimal(0 if meter else 1),
            unit_price=Decimal(0 if meter else 100),
            amount=Decimal(0 if meter else 100),
        )
        for n, meter in enumerate(BILLED_METERS, start=1)
    )
    return invoice


def invoice_url(template: str, status: str = "issued") -> Callable[[Any, User, str], str]:
    """An invoice of the target client in ``status`` (client admins see it once issued)."""
    return owned_url(template, lambda client: make_invoice(client, status))


def invoice_line_url(template: str, meter: str) -> Callable[[Any, User, str], str]:
    """The line counting ``meter`` of an issued invoice of the target client."""

    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        with all_clients_unscoped("test setup"):
            invoice = make_invoice(_client_of(world, target))
            return template.format(id=invoice.lines.get(meter=meter).pk)

    return build


def rate_card_url(template: str, status: str, part: str = "card") -> Callable[..., str]:
    """A URL naming a draft (or agreed) version and its service, or its rate card or charge."""

    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID, service=MISSING_ID)
        with all_clients_unscoped("test setup"):
            made = make_priced(_client_of(world, target), status)
        ident = made.version.pk if part == "version" else getattr(made, part).pk
        return template.format(id=ident, service=made.terms.service_id)

    return build


def body_invoice(world, user, target) -> dict[str, Any]:
    """Bill October for the target client's priced contract."""
    if target == "missing":
        return {"contract_id": MISSING_ID, "month": "2026-10"}
    with all_clients_unscoped("test setup"):
        made = make_priced(_client_of(world, target))
    return {"contract_id": made.contract.pk, "month": "2026-10"}


BILLING_READERS = frozenset({"admin", "finance", "client_admin"})
BILLING_MANAGERS = frozenset({"admin", "finance"})
# Prices and invoices do not exist for whoever may not see billing (404, not 403); drafts,
# approved invoices and the rate cards of a draft version stay with finance.
NOT_BILLING = frozenset(ROLES) - BILLING_READERS
FINANCE_ONLY = NOT_BILLING | {"client_admin"}

HANDLERS = frozenset({"admin", "manager", "agent", "qa"})
MANAGERS = frozenset({"admin", "manager"})
IMPORTERS = frozenset({"admin", "manager", "client_admin"})
STAFF = frozenset(role.value for role in Role if role.is_provider_role)
AGENT_MANAGERS = MANAGERS
# Canned responses are the provider's working material: to anyone who does not handle work
# they do not exist.
NOT_HANDLERS = EVERYONE - HANDLERS
REQUESTERS = HANDLERS | {"client_admin", "client_viewer"}


# --- Finance back office: the books of both clients, set up as bpo/finance/tests does ----------

FINANCE_VIEWERS = frozenset(
    {"admin", "manager", "agent", "qa", "finance", "client_admin", "client_viewer"}
)
FINANCE_IMPORTERS = frozenset({"admin", "manager", "agent", "client_admin"})
FINANCE_MANAGERS = MANAGERS
FINANCE_HANDLERS = HANDLERS
# The workforce planner has no part in finance: its objects do not exist for them (404), and
# its lists are refused (403).
NOT_FINANCE = EVERYONE - FINANCE_VIEWERS
FINANCE_DAY = date(2026, 10, 15)
LEDGER_COLUMNS = {
    "entry_date": "Date",
    "amount": "Amount",
    "external_id": "Entry",
    "document_number": "Document",
    "currency": "Currency",
    "reference": "Reference",
}
_finance_serial = itertools.count(1)


def finance_of(world, target: str) -> Books:
    """The target client's finance books, set up once per test (bpo.finance.tests.conftest);
    the other client's account, mappings and services carry a marker, so a leak of them shows."""
    made: dict[str, Books] = world.__dict__.setdefault("finance_books", {})
    side = "own" if target == "own" else "other"
    if side not in made:
        books = finance_books(world, _client_of(world, side))
        if side == "other":
            with all_clients_unscoped("test setup"):
                for named in (
                    books.account,
                    books.bank_mapping,
                    books.ledger_mapping,
                    books.reconciliation,
                    books.close,
                ):
                    named.name = f"OTHERSECRET {named.name}"
                    named.save(update_fields=["name"])
        made[side] = books
    return made[side]


def _finance_account(world, target: str) -> BankAccount:
    return finance_of(world, target).account


def _finance_service(world, target: str) -> Service:
    return finance_of(world, target).reconciliation


def _finance_mapping(world, target: str) -> ColumnMapping:
    return finance_of(world, target).ledger_mapping


def make_finance_rows(world, books: Books) -> tuple[StatementLine, LedgerEntry]:
    """A bank line and the ledger entry that settles it (same amount, same invoice number),
    each from a file of its own, open."""
    n = next(_finance_serial)
    account = books.account
    day = date(2026, 8, 3)
    amount = Decimal("1250.00")
    party = {
        "counterparty_name": "Müller Maschinenbau GmbH",
        "counterparty_iban": "DE12500105170648489890",
    }
    with all_clients_unscoped("test setup"):
        files = {
            kind: SourceFile.objects.create(
                client_id=account.client_id,
                account=account,
                kind=kind,
                format="csv",
                filename=f"matrix-{kind}-{n}.csv",
                stored_name=f"matrix/{kind}-{n}-{uuid.uuid4().hex}",
                size=1,
                sha256=hashlib.sha256(f"{kind}{n}".encode()).hexdigest(),
                status="imported",
                rows=1,
                uploaded_by=world.people["admin"],
            )
            for kind in ("statement", "ledger")
        }
        statement = Statement.objects.create(
            client_id=account.client_id,
            account=account,
            file=files["statement"],
            reference=f"MX-{n}",
            start_date=day,
            end_date=day,
            currency="EUR",
            opening_balance=Decimal(0),
            closing_balance=amount,
        )
        line = StatementLine.objects.create(
            client_id=account.client_id,
            statement=statement,
            account=account,
            position=1,
            booking_date=day,
            amount=amount,
            currency="EUR",
            reference=f"RE-2026-{n:05d}",
            **party,
        )
        entry = LedgerEntry.objects.create(
            client_id=account.client_id,
            account=account,
            file=files["ledger"],
            row=1,
            external_id=f"BU-MX-{n}",
            entry_date=day,
            amount=amount,
            currency="EUR",
            document_number=f"RE-2026-{n:05d}",
            reference=f"RE-2026-{n:05d}",
            **party,
        )
    return line, entry


def _finance_line(world, target: str) -> StatementLine:
    return make_finance_rows(world, finance_of(world, target))[0]


def _match_maker(world, target: str) -> User:
    """Who made a match by hand: an agent who is none of the actors (so each of them may
    approve it), or the other client's own agent."""
    if target != "own":
        return world.other_people["agent"]
    with all_clients_unscoped("test setup"):
        known = User.objects.filter(email="maker@own.test").first()
        if known is not None:
            return known
        maker = User.objects.create_user("maker@own.test", full_name="Second agent of own")
        MembershipFactory(user=maker, role="agent", client=None)
        AssignmentFactory(user=maker, client=world.own)
    return maker


def make_finance_match(world, target: str, status: str) -> Match:
    """A 1:1 match on the target's account: an engine proposal ("proposed"), a match made by
    hand awaiting a second agent ("pending"), or one approved ("accepted")."""
    books = finance_of(world, target)
    line, entry = make_finance_rows(world, books)
    maker = None if status == "proposed" else _match_maker(world, target)
    now = timezone.now()
    accepted = status == "accepted"
    with all_clients_unscoped("test setup"):
        match = Match.objects.create(
            client_id=books.client.pk,
            account=books.account,
            shape="1:1",
            status=status,
            confidence=Decimal(80 if maker is None else 100),
            reasons=["same amount", "invoice number in the reference"],
            automatic=maker is None,
            made_by=maker,
            made_at=now,
            decided_by=world.people["admin"] if accepted else None,
            decided_at=now if accepted else None,
        )
        match.proposed_lines.set([line])
        match.proposed_entries.set([entry])
        if accepted:
            StatementLine.objects.filter(pk=line.pk).update(match=match)
            LedgerEntry.objects.filter(pk=entry.pk).update(match=match)
    return match


def make_match_rule(world, target: str) -> MatchRule:
    books = finance_of(world, target)
    with all_clients_unscoped("test setup"):
        return MatchRule.objects.create(
            client_id=books.client.pk,
            service=books.reconciliation,
            name=f"Matrix rule {next(_finance_serial)}",
            reference_pattern=r"RE-(\d+)",
            created_by=world.people["manager"],
        )


def make_failed_file(world, target: str) -> SourceFile:
    """A statement file of the target's account whose import failed (stored as uploaded)."""
    books = finance_of(world, target)
    data = (FINANCE_SAMPLES / "statement.mt940").read_bytes()
    with all_clients_unscoped("test setup"):
        stored = storages["finance"].save(
            f"{books.client.pk}/matrix/statement.mt940", ContentFile(data)
        )
        return SourceFile.objects.create(
            client_id=books.client.pk,
            account=books.account,
            kind="statement",
            format="mt940",
            filename="statement.mt940",
            stored_name=stored,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            status="failed",
            error="Matrix: the bank sent a truncated file.",
            uploaded_by=world.people["admin"],
        )


def make_obligation(world, target: str) -> Obligation:
    """A monthly VAT return of the target's close and filings service."""
    books = finance_of(world, target)
    with acting_as(world.actor("admin")) as admin:
        return finance_actions.obligation_save(
            actor=admin,
            service=books.close,
            name=f"VAT return {next(_finance_serial)}",
            kind="tax_return",
            recurrence="FREQ=MONTHLY;BYMONTHDAY=10",
            starts_on=date(2026, 1, 1),
            due_time=time(10, 0),
            lead_days=5,
            authority="Finanzamt",
        )


def make_occurrence(world, target: str) -> Occurrence:
    """A due date of a VAT return with its open work item."""
    obligation = make_obligation(world, target)
    due = date(2026, 11, 10)
    with all_clients_unscoped("test setup"):
        item = WorkItem.objects.create(
            client_id=obligation.client_id,
            service=obligation.service,
            terms=agreed_terms(obligation.service),
            title=f"{obligation.name} due {due}",
        )
        return Occurrence.objects.create(
            client_id=obligation.client_id,
            obligation=obligation,
            nominal_date=due,
            due_date=due,
            due_at=datetime(2026, 11, 10, 9, 0, tzinfo=UTC),
            item=item,
        )


def make_daily_report(world, target: str) -> DailyReport:
    """The daily financial report of the target's reconciliation service, as the job makes it."""
    books = finance_of(world, target)
    with client_scope([books.client.pk]):
        return finance_actions.daily_report_make(
            actor=None, service=books.reconciliation, day=FINANCE_DAY
        )


def finance_url(template: str, make: Callable[[Any, str], Any]) -> Callable[[Any, User, str], str]:
    """A URL naming an object ``make`` finds or creates in the target client's finance books."""

    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        return template.format(id=make(world, target).pk)

    return build


def finance_list_url(
    template: str,
    make: Callable[[Any, str], Any] = finance_of,
    key: Callable[[Any], int] | None = None,
) -> Callable[[Any, User, str], str]:
    """A list filtered by the target client (or by ``key`` of what ``make`` made there); both
    clients have their finance objects, so a list that reaches past its filter shows it."""

    def build(world, user, target):
        made = {side: make(world, side) for side in ("own", "other")}
        if target == "missing":
            return template.format(id=MISSING_ID)
        ident = key(made[target]) if key else _client_of(world, target).pk
        return template.format(id=ident)

    return build


def verify_listed(response, visible: bool) -> None:
    """The target's rows are listed where the actor sees them; nothing otherwise."""
    body = response.json()
    rows = body["items"] if isinstance(body, dict) else body
    assert bool(rows) is visible, body


def body_fin_account(world, user, target) -> dict[str, Any]:
    """An account of the target's reconciliation service, read with its mappings."""
    body: dict[str, Any] = {
        "name": "Matrix account",
        "currency": "EUR",
        "account_number": "0532013001",
        "bank_name": "Commerzbank",
    }
    if target == "missing":
        return {**body, "service_id": MISSING_ID}
    books = finance_of(world, target)
    return {
        **body,
        "service_id": books.reconciliation.pk,
        "statement_mapping_id": books.bank_mapping.pk,
        "ledger_mapping_id": books.ledger_mapping.pk,
    }


def body_fin_mapping(world, user, target) -> dict[str, Any]:
    """A ledger mapping of the target client (for a change: of the mapping's own client)."""
    return {
        "kind": "ledger",
        "name": "Matrix ledger",
        "columns": LEDGER_COLUMNS,
        **body_client(world, user, target),
    }


def body_fin_mapping_change(world, user, target) -> dict[str, Any]:
    return body_fin_mapping(world, user, "own" if target == "missing" else target)


def body_fin_obligation(world, user, target) -> dict[str, Any]:
    service_id = MISSING_ID if target == "missing" else finance_of(world, target).close.pk
    return {
        "service_id": service_id,
        "name": "Matrix VAT return",
        "kind": "tax_return",
        "recurrence": "FREQ=MONTHLY;BYMONTHDAY=10",
        "starts_on": "2026-01-01",
        "due_time": "10:00",
        "lead_days": 5,
    }


def body_fin_match(world, user, target) -> dict[str, Any]:
    """Match a fresh open line of the target's account with its entry."""
    if target == "missing":
        return {"line_ids": [MISSING_ID], "entry_ids": [MISSING_ID]}
    line, entry = make_finance_rows(world, finance_of(world, target))
    return {"line_ids": [line.pk], "entry_ids": [entry.pk], "note": "Matrix"}


def _sample(name: str, content_type: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name, (FINANCE_SAMPLES / name).read_bytes(), content_type=content_type
    )


def body_fin_statement(world, user, target) -> dict[str, Any]:
    """October's MT940 statements of DE89370400440532013000, the books' account."""
    return {"file": _sample("statement.mt940", "application/octet-stream")}


def body_fin_ledger(world, user, target) -> dict[str, Any]:
    return {"file": _sample("ledger.csv", "text/csv")}


def body_fin_evidence(world, user, target) -> dict[str, Any]:
    return {
        "file": SimpleUploadedFile("confirmation.pdf", MATRIX_PDF, content_type="application/pdf"),
        "reference": "ELSTER-MX-2026-10",
    }


def finance_page(url: str, make: Callable[[Any, str], Any] = finance_of) -> Callable[..., str]:
    """A finance page of every visible client; both clients have what ``make`` makes, so a page
    that shows more than the actor's clients leaks the other's marked names."""

    def build(world, user, target):
        for side in ("own", "other"):
            make(world, side)
        return url

    return build


def verify_step_done(response, visible: bool) -> None:
    """A step that goes back to its page either way was done, not refused with a message."""
    errors = [
        str(note.message)
        for note in get_messages(response.wsgi_request)
        if note.level == message_levels.ERROR
    ]
    assert not errors, errors


def finance_rows_url(template: str) -> Callable[[Any, User, str], str]:
    """The page of a fresh open line of the target's account; its entry is kept for the body."""

    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        line, entry = make_finance_rows(world, finance_of(world, target))
        world.__dict__["finance_rows"] = (line, entry)
        return template.format(id=line.pk)

    return build


def body_web_line_match(world, user, target) -> dict[str, Any]:
    """Tick the entry that settles the line of the page."""
    rows = world.__dict__.get("finance_rows")
    entry_id = rows[1].pk if rows and target != "missing" else MISSING_ID
    return {"entry_ids": [entry_id], "note": "Matrix"}


def body_web_account(world, user, target) -> dict[str, Any]:
    """The new account form, naming the target's service and mappings."""
    body = body_fin_account(world, user, target)
    return {key: value for key, value in body.items() if value is not None}


def body_web_report(world, user, target) -> dict[str, Any]:
    service_id = MISSING_ID if target == "missing" else _finance_service(world, target).pk
    return {"service_id": service_id, "day": FINANCE_DAY.isoformat()}


MATRIX: dict[str, Route] = {
    # --- web pages -------------------------------------------------------------------------
    "web:home": Route("GET", fixed("/"), EVERYONE),
    "web:healthz": Route("GET", fixed("/healthz"), EVERYONE, anonymous=200),
    "accounts:login": Route("GET", fixed("/login/"), EVERYONE, ok=302, anonymous=200),
    "accounts:logout": Route("POST", fixed("/logout/"), EVERYONE, ok=302, anonymous=302),
    "accounts:account": Route("GET", fixed("/account/"), EVERYONE),
    "accounts:preferences": Route(
        "POST",
        fixed("/account/preferences/"),
        EVERYONE,
        ok=302,
        body=lambda w, u, t: {"time_zone": "Asia/Tokyo"},
    ),
    "accounts:token_create": Route(
        "POST", fixed("/account/tokens/"), EVERYONE, ok=302, body=lambda w, u, t: {"name": "matrix"}
    ),
    "accounts:token_revoke": Route(
        "POST",
        token_url("/account/tokens/{id}/revoke/"),
        EVERYONE,
        ok=302,
        targets=TARGETS,
        admin_sees_other=False,
    ),
    "accounts:people": Route("GET", fixed("/people/"), ADMIN),
    "accounts:person_create": Route("GET", fixed("/people/new/"), ADMIN),
    "accounts:person": Route(
        "GET", person_url("/people/{id}/"), ADMIN, targets=TARGETS, permission_first=True
    ),
    "accounts:membership_add": Route(
        "POST",
        person_url("/people/{id}/roles/"),
        ADMIN,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {
            "role": "client_admin",
            "client": (w.own if t == "own" else w.other).pk,
        },
    ),
    "accounts:membership_remove": Route(
        "POST",
        membership_url("/roles/{id}/remove/"),
        ADMIN,
        ok=302,
        targets=TARGETS,
        permission_first=True,
    ),
    "accounts:assignment_add": Route(
        "POST",
        person_url("/people/{id}/assignments/", role="agent"),
        ADMIN,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {"client": (w.other if t == "own" else w.own).pk},
    ),
    "accounts:assignment_remove": Route(
        "POST",
        assignment_url("/assignments/{id}/remove/"),
        ADMIN,
        ok=302,
        targets=TARGETS,
        permission_first=True,
    ),
    "tenancy:list": Route("GET", fixed("/clients/"), EVERYONE),
    "tenancy:create": Route("GET", fixed("/clients/new/"), ADMIN),
    "tenancy:detail": Route("GET", client_url("/clients/{id}/"), EVERYONE, targets=TARGETS),
    "tenancy:edit": Route("GET", client_url("/clients/{id}/edit/"), ADMIN, targets=TARGETS),
    "audit:list": Route("GET", fixed("/audit/"), ADMIN),
    "audit:export": Route("GET", fixed("/audit/export.csv"), ADMIN),
    # A client's access log: another client's id and a missing one are both refused (403).
    "audit:access_log": Route(
        "GET",
        client_url("/audit/access/?client={id}"),
        ACCESS_LOG_READERS,
        targets=TARGETS,
        permission_first=True,
        missing=403,
        hidden=403,
    ),
    "audit:access_log_export": Route(
        "GET",
        client_url("/audit/access/export.csv?client={id}"),
        ACCESS_LOG_READERS,
        targets=TARGETS,
        permission_first=True,
        missing=403,
        hidden=403,
    ),
    "calendars:list": Route("GET", fixed("/calendars/"), EVERYONE),
    "calendars:create": Route("GET", fixed("/calendars/new/"), CONTRACT_MANAGERS),
    "calendars:detail": Route(
        "GET",
        calendar_url("/calendars/{id}/?start=2026-12-24T16:00&minutes=60"),
        EVERYONE,
        targets=TARGETS,
    ),
    "calendars:edit": Route(
        "GET", calendar_url("/calendars/{id}/edit/"), CONTRACT_MANAGERS, targets=TARGETS
    ),
    "contracts:list": Route("GET", fixed("/contracts/"), EVERYONE),
    "contracts:create": Route("GET", fixed("/contracts/new/"), CONTRACT_MANAGERS),
    "contracts:detail": Route(
        "GET", contract_url("/contracts/{id}/", "contract"), EVERYONE, targets=TARGETS
    ),
    "contracts:version_draft": Route(
        "POST",
        contract_url("/contracts/{id}/versions/new/", "contract"),
        CONTRACT_MANAGERS,
        ok=302,
        targets=TARGETS,
    ),
    "contracts:end": Route(
        "GET",
        contract_url("/contracts/{id}/end/", "contract"),
        CONTRACT_MANAGERS,
        targets=TARGETS,
    ),
    "contracts:version": Route(
        "GET", contract_url("/contracts/versions/{id}/", "version"), EVERYONE, targets=TARGETS
    ),
    # Drafts: client users do not see them at all, even at their own client.
    "contracts:version_edit": Route(
        "GET",
        contract_url("/contracts/versions/{id}/edit/", "version", "draft"),
        CONTRACT_MANAGERS,
        targets=TARGETS,
        invisible_to=CLIENT_SIDE,
    ),
    "contracts:version_activate": Route(
        "POST",
        contract_url("/contracts/versions/{id}/activate/", "version", "draft"),
        CONTRACT_MANAGERS,
        ok=302,
        targets=TARGETS,
        invisible_to=CLIENT_SIDE,
    ),
    "contracts:service_add": Route(
        "GET",
        contract_url("/contracts/versions/{id}/services/new/", "version", "draft"),
        CONTRACT_MANAGERS,
        targets=TARGETS,
        invisible_to=CLIENT_SIDE,
    ),
    "contracts:terms_edit": Route(
        "GET",
        contract_url("/contracts/service-terms/{id}/edit/", "terms", "draft"),
        CONTRACT_MANAGERS,
        targets=TARGETS,
        invisible_to=CLIENT_SIDE,
    ),
    "contracts:policy_add": Route(
        "GET",
        contract_url("/contracts/versions/{id}/sla-policies/new/", "version", "draft"),
        CONTRACT_MANAGERS,
        targets=TARGETS,
        invisible_to=CLIENT_SIDE,
    ),
    "contracts:policy_edit": Route(
        "GET",
        contract_url("/contracts/sla-policies/{id}/edit/", "policy", "draft"),
        CONTRACT_MANAGERS,
        targets=TARGETS,
        invisible_to=CLIENT_SIDE,
    ),
    # Billing: finance's pages, and the client admin's issued invoices with the work behind
    # their lines (another client's invoice, line or export is 404; others' roles 403 first).
    "billing:list": Route("GET", fixed("/billing/"), BILLING_READERS, permission_first=True),
    "billing:draft": Route(
        "POST",
        fixed("/billing/draft/"),
        BILLING_MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        missing=400,
        hidden=400,
        body=body_web_draft,
    ),
    "billing:revenue_csv": Route(
        "GET", fixed("/billing/revenue.csv"), BILLING_MANAGERS, permission_first=True
    ),
    "billing:invoice": Route(
        "GET",
        web_invoice_url("/billing/invoices/{id}/"),
        BILLING_READERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "billing:invoice_pdf": Route(
        "GET",
        web_invoice_url("/billing/invoices/{id}.pdf"),
        BILLING_READERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "billing:invoice_csv": Route(
        "GET",
        web_invoice_url("/billing/invoices/{id}.csv"),
        BILLING_READERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "billing:recompute": Route(
        "POST",
        web_invoice_url("/billing/invoices/{id}/recompute/", "draft"),
        BILLING_MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
    ),
    "billing:approve": Route(
        "POST",
        web_invoice_url("/billing/invoices/{id}/approve/", "draft"),
        BILLING_MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
    ),
    "billing:issue": Route(
        "POST",
        web_invoice_url("/billing/invoices/{id}/issue/", "approved"),
        BILLING_MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
    ),
    "billing:mark_paid": Route(
        "POST",
        web_invoice_url("/billing/invoices/{id}/paid/"),
        BILLING_MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
    ),
    "billing:void": Route(
        "POST",
        web_invoice_url("/billing/invoices/{id}/void/"),
        BILLING_MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {"void-reason": "Matrix"},
    ),
    "billing:credit_note": Route(
        "POST",
        web_invoice_url("/billing/invoices/{id}/credit-note/"),
        BILLING_MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {"credit-reason": "Matrix", "credit-amount": "1.00"},
    ),
    "billing:line": Route(
        "GET",
        web_invoice_url("/billing/lines/{line}/"),
        BILLING_READERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "billing:line_day": Route(
        "GET",
        web_invoice_url("/billing/lines/{line}/2026-10-05/"),
        BILLING_READERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "billing:rate_card_set": Route(
        "POST",
        web_rate_card_url("/billing/versions/{version}/services/{service}/rate-card/"),
        BILLING_MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {"minimum_commitment": "500"},
    ),
    "billing:terms": Route(
        "POST",
        web_rate_card_url("/billing/versions/{version}/terms/"),
        BILLING_MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {"tax_label": "VAT", "tax_rate_percent": "19"},
    ),
    "billing:rate_card_remove": Route(
        "POST",
        web_rate_card_url("/billing/rate-cards/{card}/remove/"),
        BILLING_MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
    ),
    "billing:charge_add": Route(
        "GET",
        web_rate_card_url("/billing/rate-cards/{card}/charges/new/"),
        BILLING_MANAGERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "billing:charge_edit": Route(
        "POST",
        web_rate_card_url("/billing/charges/{charge}/edit/"),
        BILLING_MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {
            "label": "Fee",
            "model": "fixed_fee",
            "tiering": "flat",
            "unit_price": "120",
        },
    ),
    "billing:charge_remove": Route(
        "POST",
        web_rate_card_url("/billing/charges/{charge}/remove/"),
        BILLING_MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
    ),
    # Finance pages: the permission is checked first (403), then the object (404); forms
    # naming another client's service refuse it as a choice not on offer (400).
    "finance:overview": Route(
        "GET",
        finance_list_url("/finance/?client={id}"),
        FINANCE_VIEWERS,
        targets=TARGETS,
        permission_first=True,
        missing=200,
        hidden=200,
    ),
    "finance:account_create": Route(
        "POST",
        finance_page("/finance/accounts/new/"),
        FINANCE_MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        missing=400,
        hidden=400,
        body=body_web_account,
    ),
    "finance:account": Route(
        "GET",
        finance_url("/finance/accounts/{id}/", _finance_account),
        FINANCE_VIEWERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "finance:account_edit": Route(
        "GET",
        finance_url("/finance/accounts/{id}/edit/", _finance_account),
        FINANCE_MANAGERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "finance:statement_upload": Route(
        "POST",
        finance_url("/finance/accounts/{id}/statements/", _finance_account),
        FINANCE_IMPORTERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {"statement-file": _sample("statement.mt940", "text/plain")},
    ),
    "finance:ledger_upload": Route(
        "POST",
        finance_url("/finance/accounts/{id}/ledger/", _finance_account),
        FINANCE_IMPORTERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {"ledger-file": _sample("ledger.csv", "text/csv")},
    ),
    "finance:reconcile": Route(
        "POST",
        finance_url("/finance/accounts/{id}/reconcile/", _finance_account),
        FINANCE_HANDLERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        verify=verify_step_done,
    ),
    "finance:file_retry": Route(
        "POST",
        finance_url("/finance/files/{id}/retry/", make_failed_file),
        FINANCE_IMPORTERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        verify=verify_step_done,
    ),
    "finance:line": Route(
        "GET",
        finance_url("/finance/lines/{id}/", _finance_line),
        FINANCE_VIEWERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "finance:line_match": Route(
        "POST",
        finance_rows_url("/finance/lines/{id}/match/"),
        FINANCE_HANDLERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        body=body_web_line_match,
    ),
    "finance:match_confirm": Route(
        "POST",
        finance_url(
            "/finance/matches/{id}/confirm/", lambda w, t: make_finance_match(w, t, "proposed")
        ),
        FINANCE_HANDLERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        verify=verify_step_done,
    ),
    "finance:match_approve": Route(
        "POST",
        finance_url(
            "/finance/matches/{id}/approve/", lambda w, t: make_finance_match(w, t, "pending")
        ),
        FINANCE_HANDLERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        verify=verify_step_done,
    ),
    "finance:match_reject": Route(
        "POST",
        finance_url(
            "/finance/matches/{id}/reject/", lambda w, t: make_finance_match(w, t, "pending")
        ),
        FINANCE_HANDLERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {"reason": "The entry belongs to another invoice."},
    ),
    "finance:match_undo": Route(
        "POST",
        finance_url(
            "/finance/matches/{id}/undo/", lambda w, t: make_finance_match(w, t, "accepted")
        ),
        FINANCE_MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {"reason": "Booked twice."},
    ),
    "finance:match_learn": Route(
        "POST",
        finance_url(
            "/finance/matches/{id}/rule/", lambda w, t: make_finance_match(w, t, "pending")
        ),
        FINANCE_HANDLERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        verify=verify_step_done,
    ),
    "finance:mappings": Route(
        "GET",
        finance_page("/finance/mappings/"),
        FINANCE_MANAGERS,
        permission_first=True,
    ),
    "finance:mapping_create": Route(
        "GET",
        finance_page("/finance/mappings/new/"),
        FINANCE_MANAGERS,
        permission_first=True,
    ),
    "finance:mapping_edit": Route(
        "GET",
        finance_url("/finance/mappings/{id}/edit/", _finance_mapping),
        FINANCE_MANAGERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "finance:rules": Route(
        "GET",
        finance_url("/finance/services/{id}/rules/", _finance_service),
        FINANCE_VIEWERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "finance:rule_create": Route(
        "GET",
        finance_url("/finance/services/{id}/rules/new/", _finance_service),
        FINANCE_MANAGERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "finance:policy": Route(
        "POST",
        finance_url("/finance/services/{id}/policy/", _finance_service),
        FINANCE_MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {
            "date_window_days": "3",
            "max_group_size": "2",
            "auto_accept_percent": "95",
        },
    ),
    "finance:rule_edit": Route(
        "GET",
        finance_url("/finance/rules/{id}/edit/", make_match_rule),
        FINANCE_MANAGERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "finance:rule_delete": Route(
        "POST",
        finance_url("/finance/rules/{id}/delete/", make_match_rule),
        FINANCE_MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        verify=verify_step_done,
    ),
    "finance:calendar": Route(
        "GET",
        finance_list_url("/finance/calendar/?client={id}", make_occurrence),
        FINANCE_VIEWERS,
        targets=TARGETS,
        permission_first=True,
        missing=200,
        hidden=200,
    ),
    "finance:obligation_create": Route(
        "GET",
        finance_page("/finance/obligations/new/"),
        FINANCE_MANAGERS,
        permission_first=True,
    ),
    "finance:obligation_edit": Route(
        "GET",
        finance_url("/finance/obligations/{id}/edit/", make_obligation),
        FINANCE_MANAGERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "finance:occurrence": Route(
        "GET",
        finance_url("/finance/occurrences/{id}/", make_occurrence),
        FINANCE_VIEWERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "finance:evidence": Route(
        "POST",
        finance_url("/finance/occurrences/{id}/evidence/", make_occurrence),
        FINANCE_HANDLERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        body=body_fin_evidence,
    ),
    "finance:reports": Route(
        "GET",
        finance_list_url("/finance/reports/?client={id}", make_daily_report),
        FINANCE_VIEWERS,
        targets=TARGETS,
        permission_first=True,
        missing=200,
        hidden=200,
    ),
    "finance:report_make": Route(
        "POST",
        finance_page("/finance/reports/make/"),
        FINANCE_HANDLERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        missing=400,
        hidden=400,
        body=body_web_report,
    ),
    "finance:report": Route(
        "GET",
        finance_url("/finance/reports/{id}/", make_daily_report),
        FINANCE_VIEWERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "finance:report_pdf": Route(
        "GET",
        finance_url("/finance/reports/{id}.pdf", make_daily_report),
        FINANCE_VIEWERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "finance:report_csv": Route(
        "GET",
        finance_url("/finance/reports/{id}.csv", make_daily_report),
        FINANCE_VIEWERS,
        targets=TARGETS,
        permission_first=True,
    ),
    # --- JSON API ----------------------------------------------------------------------------
    "GET /api/v1/me": Route("GET", fixed("/api/v1/me"), EVERYONE),
    "GET /api/v1/clients": Route("GET", fixed("/api/v1/clients"), EVERYONE),
    "POST /api/v1/clients": Route(
        "POST",
        fixed("/api/v1/clients"),
        ADMIN,
        ok=201,
        body=lambda w, u, t: {"name": "Brand New", "slug": "brand-new"},
    ),
    "GET /api/v1/clients/{client_id}": Route(
        "GET", client_url("/api/v1/clients/{id}"), EVERYONE, targets=TARGETS
    ),
    "PATCH /api/v1/clients/{client_id}": Route(
        "PATCH",
        client_url("/api/v1/clients/{id}"),
        ADMIN,
        targets=TARGETS,
        body=lambda w, u, t: {"legal_name": "Renamed"},
    ),
    "GET /api/v1/memberships": Route("GET", fixed("/api/v1/memberships"), MEMBER_VIEWERS),
    "POST /api/v1/memberships": Route(
        "POST",
        fixed("/api/v1/memberships"),
        ADMIN,
        ok=201,
        targets=TARGETS,
        permission_first=True,
        missing=422,
        body=lambda w, u, t: {
            "user_id": (w.other_people if t == "other" else w.people)["client_viewer"].pk,
            "role": "client_admin",
            **body_client(w, u, t),
        },
    ),
    "DELETE /api/v1/memberships/{membership_id}": Route(
        "DELETE",
        membership_url("/api/v1/memberships/{id}"),
        ADMIN,
        ok=204,
        targets=TARGETS,
        permission_first=True,
    ),
    "GET /api/v1/assignments": Route("GET", fixed("/api/v1/assignments"), ADMIN),
    "POST /api/v1/assignments": Route(
        "POST",
        fixed("/api/v1/assignments"),
        ADMIN,
        ok=201,
        targets=TARGETS,
        permission_first=True,
        missing=422,
        body=lambda w, u, t: (
            {"user_id": w.people["manager"].pk, **body_client(w, u, t)}
            if t != "own"
            else {"user_id": w.other_people["agent"].pk, **body_client(w, u, t)}
        ),
    ),
    "DELETE /api/v1/assignments/{assignment_id}": Route(
        "DELETE",
        assignment_url("/api/v1/assignments/{id}"),
        ADMIN,
        ok=204,
        targets=TARGETS,
        permission_first=True,
    ),
    "GET /api/v1/calendars": Route("GET", fixed("/api/v1/calendars"), EVERYONE),
    "POST /api/v1/calendars": Route(
        "POST",
        fixed("/api/v1/calendars"),
        CONTRACT_MANAGERS,
        ok=201,
        targets=TARGETS,
        missing=422,
        hidden=422,
        body=lambda w, u, t: {
            "name": "New hours",
            "time_zone": "UTC",
            "weekly": {"mon": ["09:00-17:00"]},
            **body_client(w, u, t),
        },
    ),
    "GET /api/v1/calendars/{calendar_id}": Route(
        "GET", calendar_url("/api/v1/calendars/{id}"), EVERYONE, targets=TARGETS
    ),
    "PATCH /api/v1/calendars/{calendar_id}": Route(
        "PATCH",
        calendar_url("/api/v1/calendars/{id}"),
        CONTRACT_MANAGERS,
        targets=TARGETS,
        body=lambda w, u, t: {"name": "Renamed hours"},
    ),
    "GET /api/v1/calendars/{calendar_id}/business-time": Route(
        "GET",
        calendar_url("/api/v1/calendars/{id}/business-time?start=2026-12-24T16:00Z&minutes=60"),
        EVERYONE,
        targets=TARGETS,
    ),
    "GET /api/v1/contracts": Route("GET", fixed("/api/v1/contracts"), EVERYONE),
    "POST /api/v1/contracts": Route(
        "POST",
        fixed("/api/v1/contracts"),
        CONTRACT_MANAGERS,
        ok=201,
        targets=TARGETS,
        missing=422,
        hidden=422,
        body=lambda w, u, t: {
            "reference": "NEW-1",
            "title": "New",
            "start_date": "2026-01-01",
            "currency": "EUR",
            **body_client(w, u, t),
        },
    ),
    "GET /api/v1/contracts/{contract_id}": Route(
        "GET", contract_url("/api/v1/contracts/{id}", "contract"), EVERYONE, targets=TARGETS
    ),
    "POST /api/v1/contracts/{contract_id}/versions": Route(
        "POST",
        contract_url("/api/v1/contracts/{id}/versions", "contract"),
        CONTRACT_MANAGERS,
        ok=201,
        targets=TARGETS,
    ),
    "POST /api/v1/contracts/{contract_id}/end": Route(
        "POST",
        contract_url("/api/v1/contracts/{id}/end", "contract"),
        CONTRACT_MANAGERS,
        targets=TARGETS,
        body=lambda w, u, t: {"end_date": "2026-12-31"},
    ),
    "GET /api/v1/contract-versions/{version_id}": Route(
        "GET",
        contract_url("/api/v1/contract-versions/{id}", "version"),
        EVERYONE,
        targets=TARGETS,
    ),
    "PATCH /api/v1/contract-versions/{version_id}": Route(
        "PATCH",
        contract_url("/api/v1/contract-versions/{id}", "version", "draft"),
        CONTRACT_MANAGERS,
        targets=TARGETS,
        invisible_to=CLIENT_SIDE,
        body=lambda w, u, t: {"billing_day": 15},
    ),
    "POST /api/v1/contract-versions/{version_id}/activate": Route(
        "POST",
        contract_url("/api/v1/contract-versions/{id}/activate", "version", "draft"),
        CONTRACT_MANAGERS,
        targets=TARGETS,
        invisible_to=CLIENT_SIDE,
    ),
    "POST /api/v1/contract-versions/{version_id}/services": Route(
        "POST",
        contract_url("/api/v1/contract-versions/{id}/services", "version", "draft"),
        CONTRACT_MANAGERS,
        ok=201,
        targets=TARGETS,
        invisible_to=CLIENT_SIDE,
        body=lambda w, u, t: {
            "key": "added",
            "name": "Added",
            "process_type": "task",
            **body_calendar(w, u, t),
        },
    ),
    "PATCH /api/v1/service-terms/{terms_id}": Route(
        "PATCH",
        contract_url("/api/v1/service-terms/{id}", "terms", "draft"),
        CONTRACT_MANAGERS,
        targets=TARGETS,
        invisible_to=CLIENT_SIDE,
        body=lambda w, u, t: {"deliverables": "Monthly report"},
    ),
    "POST /api/v1/contract-versions/{version_id}/sla-policies": Route(
        "POST",
        contract_url("/api/v1/contract-versions/{id}/sla-policies", "version", "draft"),
        CONTRACT_MANAGERS,
        ok=201,
        targets=TARGETS,
        invisible_to=CLIENT_SIDE,
        body=lambda w, u, t: {"name": "Premium"},
    ),
    "PATCH /api/v1/sla-policies/{policy_id}": Route(
        "PATCH",
        contract_url("/api/v1/sla-policies/{id}", "policy", "draft"),
        CONTRACT_MANAGERS,
        targets=TARGETS,
        invisible_to=CLIENT_SIDE,
        body=lambda w, u, t: {"warning_percent": 80},
    ),
    "GET /api/v1/work-items": Route("GET", fixed("/api/v1/work-items"), EVERYONE),
    "POST /api/v1/work-items": Route(
        "POST",
        fixed("/api/v1/work-items"),
        REQUESTERS,
        ok=201,
        targets=TARGETS,
        missing=422,
        hidden=422,
        body=body_service,
    ),
    "POST /api/v1/work-items/next": Route(
        "POST", fixed("/api/v1/work-items/next"), HANDLERS, ok=204
    ),
    "POST /api/v1/work-items/{item_id}/assign": Route(
        "POST",
        item_url("/api/v1/work-items/{id}/assign"),
        frozenset({"admin", "manager"}),
        targets=TARGETS,
        body=body_assign,
    ),
    "POST /api/v1/work-items/bulk": Route(
        "POST",
        fixed("/api/v1/work-items/bulk"),
        REQUESTERS,
        targets=TARGETS,
        permission_first=True,  # refused as a whole without the right to submit work
        missing=200,  # each item is answered in its result
        hidden=200,
        body=body_bulk,
        verify=verify_bulk,
    ),
    "POST /api/v1/work-items/{item_id}/transfer": Route(
        "POST",
        item_url("/api/v1/work-items/{id}/transfer"),
        frozenset({"admin", "manager"}),
        targets=TARGETS,
        body=body_transfer,
    ),
    "POST /api/v1/work-items/{item_id}/attachments": Route(
        "POST",
        item_url("/api/v1/work-items/{id}/attachments"),
        REQUESTERS,
        ok=201,
        targets=TARGETS,
        body=body_upload,
        multipart=True,
    ),
    "GET /api/v1/work-items/{item_id}/attachments": Route(
        "GET", item_url("/api/v1/work-items/{id}/attachments"), EVERYONE, targets=TARGETS
    ),
    "GET /api/v1/attachments/{attachment_id}/content": Route(
        "GET", attachment_url("/api/v1/attachments/{id}/content"), EVERYONE, targets=TARGETS
    ),
    "GET /api/v1/certifications": Route("GET", fixed("/api/v1/certifications"), EVERYONE),
    "POST /api/v1/certifications": Route(
        "POST",
        fixed("/api/v1/certifications"),
        frozenset({"admin", "manager"}),
        ok=201,
        targets=TARGETS,
        missing=422,
        hidden=422,
        body=body_certify,
    ),
    "GET /api/v1/work-items/{item_id}": Route(
        "GET", item_url("/api/v1/work-items/{id}"), EVERYONE, targets=TARGETS
    ),
    "POST /api/v1/work-items/{item_id}/state": Route(
        "POST",
        item_url("/api/v1/work-items/{id}/state"),
        HANDLERS,
        targets=TARGETS,
        body=lambda w, u, t: {"state": "open"},
    ),
    "PUT /api/v1/work-items/{item_id}/clocks/{clock_id}/explanation": Route(
        "PUT",
        missed_clock_api_url,
        BREACH_EXPLAINERS,
        targets=TARGETS,
        body=lambda w, u, t: {"cause": "system", "note": "The order system was down."},
    ),
    "POST /api/v1/work-items/{item_id}/notes": Route(
        "POST",
        item_url("/api/v1/work-items/{id}/notes"),
        HANDLERS,
        ok=201,
        targets=TARGETS,
        body=lambda w, u, t: {"body": "internal"},
    ),
    "POST /api/v1/work-items/{item_id}/replies": Route(
        "POST",
        item_url("/api/v1/work-items/{id}/replies"),
        HANDLERS,
        ok=201,
        targets=TARGETS,
        body=lambda w, u, t: {"body": "Hello"},
    ),
    "POST /api/v1/work-items/{item_id}/messages": Route(
        "POST",
        item_url("/api/v1/work-items/{id}/messages"),
        REQUESTERS,
        ok=201,
        targets=TARGETS,
        body=lambda w, u, t: {"body": "Any news?"},
    ),
    "POST /api/v1/work-items/{item_id}/sessions": Route(
        "POST", item_url("/api/v1/work-items/{id}/sessions"), HANDLERS, targets=TARGETS
    ),
    "POST /api/v1/work-items/{item_id}/sessions/end": Route(
        "POST", item_url("/api/v1/work-items/{id}/sessions/end"), HANDLERS, ok=204, targets=TARGETS
    ),
    "GET /api/v1/queues": Route("GET", fixed("/api/v1/queues"), EVERYONE),
    "POST /api/v1/queues": Route(
        "POST",
        fixed("/api/v1/queues"),
        MANAGERS,
        ok=201,
        targets=TARGETS,
        missing=422,
        hidden=422,
        body=body_queue,
    ),
    "PATCH /api/v1/queues/{queue_id}": Route(
        "PATCH",
        queue_url("/api/v1/queues/{id}"),
        MANAGERS,
        targets=TARGETS,
        body=lambda w, u, t: {"routing": "push", "required_skills": {"refunds": 2}},
    ),
    "GET /api/v1/notifications": Route("GET", fixed("/api/v1/notifications"), EVERYONE),
    "POST /api/v1/notifications/{notification_id}/read": Route(
        "POST",
        notification_url("/api/v1/notifications/{id}/read"),
        EVERYONE,
        targets=TARGETS,
        admin_sees_other=False,
    ),
    "GET /api/v1/handle-time": Route(
        "GET",
        fixed("/api/v1/handle-time?since=2026-11-01T00:00:00Z&until=2026-12-01T00:00:00Z"),
        STAFF,
    ),
    "GET /api/v1/agents": Route("GET", fixed("/api/v1/agents"), STAFF),
    "PUT /api/v1/agents/me/presence": Route(
        "PUT",
        fixed("/api/v1/agents/me/presence"),
        HANDLERS,
        body=lambda w, u, t: {"presence": "available"},
    ),
    "PATCH /api/v1/agents/{user_id}": Route(
        "PATCH",
        agent_url("/api/v1/agents/{id}"),
        MANAGERS,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {"capacity": 3, "skills": {"refunds": 2}},
    ),
    "work:mine": Route("GET", fixed("/work/"), HANDLERS),
    # Nothing waits for anyone in the matrix: Get next says so and goes back to My work.
    "work:next": Route("POST", fixed("/work/next/"), HANDLERS, ok=302),
    "work:item": Route("GET", item_url("/work/items/{id}/"), EVERYONE, targets=TARGETS),
    "work:item_edit": Route("GET", item_url("/work/items/{id}/edit/"), HANDLERS, targets=TARGETS),
    "work:reply": Route(
        "POST",
        item_url("/work/items/{id}/reply/"),
        HANDLERS,
        ok=302,
        targets=TARGETS,
        body=lambda w, u, t: {"reply-body": "Hello"},
    ),
    "work:note": Route(
        "POST",
        item_url("/work/items/{id}/note/"),
        HANDLERS,
        ok=302,
        targets=TARGETS,
        body=lambda w, u, t: {"note-body": "internal"},
    ),
    "work:message": Route(
        "POST",
        item_url("/work/items/{id}/message/"),
        REQUESTERS,
        ok=302,
        targets=TARGETS,
        body=lambda w, u, t: {"message-body": "Any news?"},
    ),
    "work:state": Route(
        "POST",
        item_url("/work/items/{id}/state/"),
        HANDLERS,
        ok=302,
        targets=TARGETS,
        body=lambda w, u, t: {"state": "open"},
    ),
    "work:priority": Route(
        "POST",
        item_url("/work/items/{id}/priority/"),
        HANDLERS,
        ok=302,
        targets=TARGETS,
        body=lambda w, u, t: {"priority": "high"},
    ),
    "work:heartbeat": Route(
        "POST", item_url("/work/items/{id}/heartbeat/"), HANDLERS, targets=TARGETS
    ),
    "work:session_end": Route(
        "POST", item_url("/work/items/{id}/session-end/"), HANDLERS, ok=204, targets=TARGETS
    ),
    "work:transfer": Route(
        "POST",
        item_url("/work/items/{id}/transfer/"),
        MANAGERS,
        ok=302,
        targets=TARGETS,
        body=body_web_transfer,
    ),
    "work:presence": Route(
        "POST",
        fixed("/work/presence/"),
        HANDLERS,
        ok=302,
        body=lambda w, u, t: {"presence": "busy"},
    ),
    "work:manage": Route("GET", fixed("/work/manage/"), MANAGERS),
    "work:manage_board": Route("GET", fixed("/work/manage/board/"), MANAGERS),
    "work:agent_presence": Route(
        "POST",
        agent_url("/work/manage/agents/{id}/presence/"),
        MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {"presence": "away"},
    ),
    "work:notification_read": Route(
        "POST",
        notification_url("/work/notifications/{id}/read/"),
        EVERYONE,
        ok=302,
        targets=TARGETS,
        admin_sees_other=False,
    ),
    "intake:home": Route("GET", fixed("/intake/"), MANAGERS, permission_first=True),
    "intake:mailbox_toggle": Route(
        "POST",
        owned_url("/intake/mailboxes/{id}/toggle/", make_mailbox),
        MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
    ),
    "intake:inbound_retry": Route(
        "POST",
        owned_url("/intake/inbound/{id}/retry/", make_inbound),
        MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
    ),
    "intake:web_form_create": Route(
        "POST",
        fixed("/intake/forms/new/"),
        MANAGERS,
        ok=302,
        permission_first=True,
        body=lambda w, u, t: {"wf-service": "0", "wf-title": "Matrix form"},
    ),
    "intake:web_form_toggle": Route(
        "POST",
        owned_url("/intake/forms/{id}/toggle/", make_web_form),
        MANAGERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
    ),
    "intake:imports": Route("GET", fixed("/intake/imports/"), IMPORTERS, permission_first=True),
    "intake:import": Route(
        "GET",
        owned_url("/intake/imports/{id}/", make_import),
        IMPORTERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "intake:import_progress": Route(
        "GET",
        owned_url("/intake/imports/{id}/progress/", make_import),
        IMPORTERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "intake:import_start": Route(
        "POST",
        owned_url("/intake/imports/{id}/start/", make_import),
        IMPORTERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
    ),
    "intake:import_resume": Route(
        "POST",
        owned_url("/intake/imports/{id}/resume/", make_failed_import),
        IMPORTERS,
        ok=302,
        targets=TARGETS,
        permission_first=True,
    ),
    # Public pages: the form's address or the contact's token is the key, whoever asks (a
    # missing or offline form and a wrong token are 404: bpo/intake/tests/test_web_forms.py).
    "intake:public_form": Route("GET", public_form_url, EVERYONE, anonymous=200),
    # The client's window (portal): dashboards, exports, requests, surveys.
    "portal:home": Route("GET", fixed("/portal/"), DASHBOARD_READERS, permission_first=True),
    "portal:client": Route(
        "GET", client_url("/portal/clients/{id}/"), DASHBOARD_READERS, targets=TARGETS
    ),
    "portal:service": Route(
        "GET", service_url("/portal/services/{id}/"), DASHBOARD_READERS, targets=TARGETS
    ),
    "portal:service_csv": Route(
        "GET", service_url("/portal/services/{id}/days.csv"), DASHBOARD_READERS, targets=TARGETS
    ),
    "portal:request": Route(
        "GET",
        service_url("/portal/services/{id}/request/"),
        DASHBOARD_READERS - {"finance", "planner"},
        targets=TARGETS,
    ),
    "portal:survey": Route("GET", survey_link_url, EVERYONE, anonymous=200),
    # Reports are the classic way data leaks between tenants: generating one of another
    # client's service, and downloading another client's report, are both covered.
    "portal:reports": Route(
        "POST",
        service_url("/portal/services/{id}/reports/"),
        DASHBOARD_READERS,
        ok=302,
        targets=TARGETS,
        body=lambda w, u, t: {"month": "2026-10"},
    ),
    "portal:report_pdf": Route(
        "GET", report_url("/portal/reports/{id}.pdf"), DASHBOARD_READERS, targets=TARGETS
    ),
    "portal:report_csv": Route(
        "GET", report_url("/portal/reports/{id}.csv"), DASHBOARD_READERS, targets=TARGETS
    ),
    "work:clock_explain": Route(
        "POST",
        missed_clock_url,
        BREACH_EXPLAINERS,
        ok=302,
        targets=TARGETS,
        body=lambda w, u, t: {"cause": "volume", "note": "A storm of orders."},
    ),
    "intake:track": Route("GET", contact_link_url, EVERYONE, anonymous=200),
    "work:responses": Route("GET", fixed("/work/responses/"), HANDLERS),
    "work:service_responses": Route(
        "GET", service_url("/work/services/{id}/responses/"), HANDLERS, targets=TARGETS
    ),
    "work:response_edit": Route(
        "GET",
        canned_url("/work/responses/{id}/edit/"),
        AGENT_MANAGERS,
        targets=TARGETS,
        invisible_to=NOT_HANDLERS,
    ),
    "work:response_delete": Route(
        "POST",
        canned_url("/work/responses/{id}/delete/"),
        AGENT_MANAGERS,
        ok=302,
        targets=TARGETS,
        invisible_to=NOT_HANDLERS,
    ),
    # --- JSON API ----------------------------------------------------------------------------
    "GET /api/v1/mailboxes": Route(
        "GET", fixed("/api/v1/mailboxes"), MANAGERS, permission_first=True
    ),
    "POST /api/v1/mailboxes": Route(
        "POST",
        fixed("/api/v1/mailboxes"),
        MANAGERS,
        ok=201,
        targets=TARGETS,
        permission_first=True,
        missing=422,
        hidden=422,
        body=body_mailbox,
    ),
    "PATCH /api/v1/mailboxes/{mailbox_id}": Route(
        "PATCH",
        owned_url("/api/v1/mailboxes/{id}", make_mailbox),
        MANAGERS,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {"display_name": "Matrix support"},
    ),
    "GET /api/v1/inbound-emails": Route(
        "GET", fixed("/api/v1/inbound-emails"), MANAGERS, permission_first=True
    ),
    "GET /api/v1/inbound-emails/{message_id}": Route(
        "GET",
        owned_url("/api/v1/inbound-emails/{id}", make_inbound),
        MANAGERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "GET /api/v1/inbound-emails/{message_id}/raw": Route(
        "GET",
        owned_url("/api/v1/inbound-emails/{id}/raw", make_inbound),
        MANAGERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "POST /api/v1/inbound-emails/{message_id}/retry": Route(
        "POST",
        owned_url("/api/v1/inbound-emails/{id}/retry", make_inbound),
        MANAGERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "GET /api/v1/imports": Route("GET", fixed("/api/v1/imports"), IMPORTERS, permission_first=True),
    "POST /api/v1/imports": Route(
        "POST",
        fixed("/api/v1/imports"),
        IMPORTERS,
        ok=201,
        targets=TARGETS,
        permission_first=True,
        missing=422,
        hidden=422,
        body=body_import_upload,
        multipart=True,
    ),
    "GET /api/v1/imports/{import_id}": Route(
        "GET",
        owned_url("/api/v1/imports/{id}", make_import),
        IMPORTERS,
        targets=TARGETS,
        permission_first=True,
    ),
    "PUT /api/v1/imports/{import_id}/mapping": Route(
        "PUT",
        owned_url("/api/v1/imports/{id}/mapping", make_import),
        IMPORTERS,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {"mapping": ["title", ""]},
    ),
    "POST /api/v1/imports/{import_id}/start": Route(
        "POST",
        owned_url("/api/v1/imports/{id}/start", make_import),
        IMPORTERS,
        ok=202,
        targets=TARGETS,
        permission_first=True,
    ),
    "POST /api/v1/imports/{import_id}/resume": Route(
        "POST",
        owned_url("/api/v1/imports/{id}/resume", make_failed_import),
        IMPORTERS,
        ok=202,
        targets=TARGETS,
        permission_first=True,
    ),
    "GET /api/v1/canned-responses": Route("GET", fixed("/api/v1/canned-responses"), HANDLERS),
    "POST /api/v1/canned-responses": Route(
        "POST",
        fixed("/api/v1/canned-responses"),
        AGENT_MANAGERS,
        ok=201,
        targets=TARGETS,
        missing=422,
        hidden=422,
        body=body_canned,
    ),
    "GET /api/v1/canned-responses/{response_id}": Route(
        "GET",
        canned_url("/api/v1/canned-responses/{id}"),
        HANDLERS,
        targets=TARGETS,
        invisible_to=NOT_HANDLERS,
    ),
    "PATCH /api/v1/canned-responses/{response_id}": Route(
        "PATCH",
        canned_url("/api/v1/canned-responses/{id}"),
        AGENT_MANAGERS,
        targets=TARGETS,
        invisible_to=NOT_HANDLERS,
        body=lambda w, u, t: {"title": "Renamed reply"},
    ),
    "DELETE /api/v1/canned-responses/{response_id}": Route(
        "DELETE",
        canned_url("/api/v1/canned-responses/{id}"),
        AGENT_MANAGERS,
        ok=204,
        targets=TARGETS,
        invisible_to=NOT_HANDLERS,
    ),
    "GET /api/v1/service-reports": Route(
        "GET",
        service_url("/api/v1/service-reports?service_id={id}"),
        DASHBOARD_READERS,
        targets=TARGETS,
    ),
    "POST /api/v1/service-reports": Route(
        "POST",
        fixed("/api/v1/service-reports"),
        DASHBOARD_READERS,
        ok=201,
        targets=TARGETS,
        body=body_report,
    ),
    "GET /api/v1/service-reports/{report_id}": Route(
        "GET", report_url("/api/v1/service-reports/{id}"), DASHBOARD_READERS, targets=TARGETS
    ),
    "GET /api/v1/service-reports/{report_id}/pdf": Route(
        "GET", report_url("/api/v1/service-reports/{id}/pdf"), DASHBOARD_READERS, targets=TARGETS
    ),
    "GET /api/v1/service-reports/{report_id}/csv": Route(
        "GET", report_url("/api/v1/service-reports/{id}/csv"), DASHBOARD_READERS, targets=TARGETS
    ),
    "GET /api/v1/access-log": Route(
        "GET",
        client_url("/api/v1/access-log?client={id}"),
        ACCESS_LOG_READERS,
        targets=TARGETS,
        permission_first=True,
        missing=403,
        hidden=403,
    ),
    "PATCH /api/v1/work-items/{item_id}": Route(
        "PATCH",
        item_url("/api/v1/work-items/{id}"),
        HANDLERS,
        targets=TARGETS,
        body=lambda w, u, t: {"priority": "high", "tags": ["matrix"]},
    ),
    # Billing: rate cards on contract versions, invoices and the usage behind their lines.
    "GET /api/v1/contract-versions/{version_id}/rate-cards": Route(
        "GET",
        rate_card_url("/api/v1/contract-versions/{id}/rate-cards", "active", "version"),
        BILLING_READERS,
        targets=TARGETS,
    ),
    "PUT /api/v1/contract-versions/{version_id}/rate-cards/{service_id}": Route(
        "PUT",
        rate_card_url("/api/v1/contract-versions/{id}/rate-cards/{service}", "draft", "version"),
        BILLING_MANAGERS,
        targets=TARGETS,
        invisible_to=CLIENT_SIDE,
        body=lambda w, u, t: {"minimum_commitment": "500.00"},
    ),
    "DELETE /api/v1/contract-versions/{version_id}/rate-cards/{service_id}": Route(
        "DELETE",
        rate_card_url("/api/v1/contract-versions/{id}/rate-cards/{service}", "draft", "version"),
        BILLING_MANAGERS,
        ok=204,
        targets=TARGETS,
        invisible_to=CLIENT_SIDE,
    ),
    "POST /api/v1/rate-cards/{rate_card_id}/charges": Route(
        "POST",
        rate_card_url("/api/v1/rate-cards/{id}/charges", "draft"),
        BILLING_MANAGERS,
        ok=201,
        targets=TARGETS,
        invisible_to=FINANCE_ONLY,
        body=lambda w, u, t: {"label": "Setup", "model": "fixed_fee", "unit_price": "50.00"},
    ),
    "PATCH /api/v1/charges/{charge_id}": Route(
        "PATCH",
        rate_card_url("/api/v1/charges/{id}", "draft", "charge"),
        BILLING_MANAGERS,
        targets=TARGETS,
        invisible_to=FINANCE_ONLY,
        body=lambda w, u, t: {"label": "Renamed fee"},
    ),
    "DELETE /api/v1/charges/{charge_id}": Route(
        "DELETE",
        rate_card_url("/api/v1/charges/{id}", "draft", "charge"),
        BILLING_MANAGERS,
        ok=204,
        targets=TARGETS,
        invisible_to=FINANCE_ONLY,
    ),
    "GET /api/v1/invoices": Route(
        "GET", fixed("/api/v1/invoices"), BILLING_READERS, permission_first=True
    ),
    "POST /api/v1/invoices": Route(
        "POST",
        fixed("/api/v1/invoices"),
        BILLING_MANAGERS,
        ok=201,
        targets=TARGETS,
        permission_first=True,
        missing=422,
        hidden=422,
        body=body_invoice,
    ),
    "GET /api/v1/invoices/{invoice_id}": Route(
        "GET",
        invoice_url("/api/v1/invoices/{id}"),
        BILLING_READERS,
        targets=TARGETS,
        invisible_to=NOT_BILLING,
    ),
    "POST /api/v1/invoices/{invoice_id}/recompute": Route(
        "POST",
        invoice_url("/api/v1/invoices/{id}/recompute", "draft"),
        BILLING_MANAGERS,
        targets=TARGETS,
        invisible_to=FINANCE_ONLY,
    ),
    "POST /api/v1/invoices/{invoice_id}/approve": Route(
        "POST",
        invoice_url("/api/v1/invoices/{id}/approve", "draft"),
        BILLING_MANAGERS,
        targets=TARGETS,
        invisible_to=FINANCE_ONLY,
    ),
    "POST /api/v1/invoices/{invoice_id}/issue": Route(
        "POST",
        invoice_url("/api/v1/invoices/{id}/issue", "approved"),
        BILLING_MANAGERS,
        targets=TARGETS,
        invisible_to=FINANCE_ONLY,
    ),
    "POST /api/v1/invoices/{invoice_id}/paid": Route(
        "POST",
        invoice_url("/api/v1/invoices/{id}/paid"),
        BILLING_MANAGERS,
        targets=TARGETS,
        invisible_to=NOT_BILLING,
        body=lambda w, u, t: {},
    ),
    "POST /api/v1/invoices/{invoice_id}/void": Route(
        "POST",
        invoice_url("/api/v1/invoices/{id}/void"),
        BILLING_MANAGERS,
        targets=TARGETS,
        invisible_to=NOT_BILLING,
        body=lambda w, u, t: {"reason": "Billed twice"},
    ),
    "POST /api/v1/invoices/{invoice_id}/credit-notes": Route(
        "POST",
        invoice_url("/api/v1/invoices/{id}/credit-notes"),
        BILLING_MANAGERS,
        ok=201,
        targets=TARGETS,
        invisible_to=NOT_BILLING,
        body=lambda w, u, t: {"reason": "Goodwill", "amount": "10.00"},
    ),
    "GET /api/v1/invoices/{invoice_id}/pdf": Route(
        "GET",
        invoice_url("/api/v1/invoices/{id}/pdf"),
        BILLING_READERS,
        targets=TARGETS,
        invisible_to=NOT_BILLING,
    ),
    "GET /api/v1/invoices/{invoice_id}/csv": Route(
        "GET",
        invoice_url("/api/v1/invoices/{id}/csv"),
        BILLING_READERS,
        targets=TARGETS,
        invisible_to=NOT_BILLING,
    ),
    "GET /api/v1/invoice-lines/{line_id}/usage": Route(
        "GET",
        invoice_line_url("/api/v1/invoice-lines/{id}/usage", "resolved_items"),
        BILLING_READERS,
        targets=TARGETS,
        invisible_to=NOT_BILLING,
    ),
    "GET /api/v1/invoice-lines/{line_id}/usage/{day}/items": Route(
        "GET",
        invoice_line_url("/api/v1/invoice-lines/{id}/usage/2026-10-05/items", "resolved_items"),
        BILLING_READERS,
        targets=TARGETS,
        invisible_to=NOT_BILLING,
    ),
    "GET /api/v1/invoice-lines/{line_id}/usage/{day}/sessions": Route(
        "GET",
        invoice_line_url("/api/v1/invoice-lines/{id}/usage/2026-10-05/sessions", "handled_minutes"),
        BILLING_READERS,
        targets=TARGETS,
        invisible_to=NOT_BILLING,
    ),
    "GET /api/v1/invoice-lines/{line_id}/usage/{day}/presence": Route(
        "GET",
        invoice_line_url(
            "/api/v1/invoice-lines/{id}/usage/2026-10-05/presence", "production_minutes"
        ),
        BILLING_READERS,
        targets=TARGETS,
        invisible_to=NOT_BILLING,
    ),
    "GET /api/v1/revenue": Route(
        "GET", fixed("/api/v1/revenue?months=6"), BILLING_MANAGERS, permission_first=True
    ),
    # Finance back office. Everyone who works on or for a client reads its books (the planner:
    # its lists are refused, its objects do not exist); set-up is the provider managers', files
    # come from agents and the client's admin, the work (reconciling, matching with four eyes,
    # evidence, reports) is the handlers'. Lists filtered by a client show nothing of another.
    "GET /api/v1/finance/accounts": Route(
        "GET",
        finance_list_url("/api/v1/finance/accounts?client_id={id}"),
        FINANCE_VIEWERS,
        targets=TARGETS,
        permission_first=True,
        missing=200,
        hidden=200,
        verify=verify_listed,
    ),
    "POST /api/v1/finance/accounts": Route(
        "POST",
        fixed("/api/v1/finance/accounts"),
        FINANCE_MANAGERS,
        ok=201,
        targets=TARGETS,
        permission_first=True,
        missing=422,
        hidden=422,
        body=body_fin_account,
    ),
    "GET /api/v1/finance/accounts/{account_id}": Route(
        "GET",
        finance_url("/api/v1/finance/accounts/{id}", _finance_account),
        FINANCE_VIEWERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "PUT /api/v1/finance/accounts/{account_id}": Route(
        "PUT",
        finance_url("/api/v1/finance/accounts/{id}", _finance_account),
        FINANCE_MANAGERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
        body=body_fin_account,
    ),
    "GET /api/v1/finance/accounts/{account_id}/standing": Route(
        "GET",
        finance_url("/api/v1/finance/accounts/{id}/standing", _finance_account),
        FINANCE_VIEWERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "GET /api/v1/finance/mappings": Route(
        "GET",
        finance_list_url("/api/v1/finance/mappings?client_id={id}"),
        FINANCE_VIEWERS,
        targets=TARGETS,
        permission_first=True,
        missing=200,
        hidden=200,
        verify=verify_listed,
    ),
    "POST /api/v1/finance/mappings": Route(
        "POST",
        fixed("/api/v1/finance/mappings"),
        FINANCE_MANAGERS,
        ok=201,
        targets=TARGETS,
        permission_first=True,
        missing=422,
        hidden=422,
        body=body_fin_mapping,
    ),
    "PUT /api/v1/finance/mappings/{mapping_id}": Route(
        "PUT",
        finance_url("/api/v1/finance/mappings/{id}", _finance_mapping),
        FINANCE_MANAGERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
        body=body_fin_mapping_change,
    ),
    "GET /api/v1/finance/services/{service_id}/policy": Route(
        "GET",
        finance_url("/api/v1/finance/services/{id}/policy", _finance_service),
        FINANCE_VIEWERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "PUT /api/v1/finance/services/{service_id}/policy": Route(
        "PUT",
        finance_url("/api/v1/finance/services/{id}/policy", _finance_service),
        FINANCE_MANAGERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
        body=lambda w, u, t: {
            "date_window_days": 3,
            "max_group_size": 2,
            "auto_accept_percent": "95",
        },
    ),
    "GET /api/v1/finance/services/{service_id}/rules": Route(
        "GET",
        finance_url("/api/v1/finance/services/{id}/rules", _finance_service),
        FINANCE_VIEWERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "POST /api/v1/finance/services/{service_id}/rules": Route(
        "POST",
        finance_url("/api/v1/finance/services/{id}/rules", _finance_service),
        FINANCE_MANAGERS,
        ok=201,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
        body=lambda w, u, t: {"name": "Invoice numbers", "reference_pattern": r"RE-(\d+)"},
    ),
    "PATCH /api/v1/finance/rules/{rule_id}": Route(
        "PATCH",
        finance_url("/api/v1/finance/rules/{id}", make_match_rule),
        FINANCE_MANAGERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
        body=lambda w, u, t: {"name": "Renamed rule", "is_active": False},
    ),
    "DELETE /api/v1/finance/rules/{rule_id}": Route(
        "DELETE",
        finance_url("/api/v1/finance/rules/{id}", make_match_rule),
        FINANCE_MANAGERS,
        ok=204,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "POST /api/v1/finance/accounts/{account_id}/statements": Route(
        "POST",
        finance_url("/api/v1/finance/accounts/{id}/statements", _finance_account),
        FINANCE_IMPORTERS,
        ok=201,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
        body=body_fin_statement,
        multipart=True,
    ),
    "POST /api/v1/finance/accounts/{account_id}/ledger": Route(
        "POST",
        finance_url("/api/v1/finance/accounts/{id}/ledger", _finance_account),
        FINANCE_IMPORTERS,
        ok=201,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
        body=body_fin_ledger,
        multipart=True,
    ),
    "GET /api/v1/finance/accounts/{account_id}/files": Route(
        "GET",
        finance_url("/api/v1/finance/accounts/{id}/files", _finance_account),
        FINANCE_VIEWERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "POST /api/v1/finance/files/{file_id}/retry": Route(
        "POST",
        finance_url("/api/v1/finance/files/{id}/retry", make_failed_file),
        FINANCE_IMPORTERS,
        ok=201,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
        body=lambda w, u, t: {},
    ),
    "GET /api/v1/finance/accounts/{account_id}/statements": Route(
        "GET",
        finance_url("/api/v1/finance/accounts/{id}/statements", _finance_account),
        FINANCE_VIEWERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "GET /api/v1/finance/accounts/{account_id}/lines": Route(
        "GET",
        finance_url("/api/v1/finance/accounts/{id}/lines?state=open", _finance_account),
        FINANCE_VIEWERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "GET /api/v1/finance/accounts/{account_id}/entries": Route(
        "GET",
        finance_url("/api/v1/finance/accounts/{id}/entries?state=open", _finance_account),
        FINANCE_VIEWERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "POST /api/v1/finance/accounts/{account_id}/reconcile": Route(
        "POST",
        finance_url("/api/v1/finance/accounts/{id}/reconcile", _finance_account),
        FINANCE_HANDLERS,
        ok=201,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "GET /api/v1/finance/accounts/{account_id}/matches": Route(
        "GET",
        finance_url("/api/v1/finance/accounts/{id}/matches", _finance_account),
        FINANCE_VIEWERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "POST /api/v1/finance/accounts/{account_id}/matches": Route(
        "POST",
        finance_url("/api/v1/finance/accounts/{id}/matches", _finance_account),
        FINANCE_HANDLERS,
        ok=201,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
        body=body_fin_match,
    ),
    "GET /api/v1/finance/matches/{match_id}": Route(
        "GET",
        finance_url(
            "/api/v1/finance/matches/{id}", lambda w, t: make_finance_match(w, t, "pending")
        ),
        FINANCE_VIEWERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "POST /api/v1/finance/matches/{match_id}/confirm": Route(
        "POST",
        finance_url(
            "/api/v1/finance/matches/{id}/confirm",
            lambda w, t: make_finance_match(w, t, "proposed"),
        ),
        FINANCE_HANDLERS,
        ok=201,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
        body=lambda w, u, t: {"note": "Checked against the remittance."},
    ),
    # Made by another agent, so each handler may approve it (the maker may not: four eyes).
    "POST /api/v1/finance/matches/{match_id}/approve": Route(
        "POST",
        finance_url(
            "/api/v1/finance/matches/{id}/approve",
            lambda w, t: make_finance_match(w, t, "pending"),
        ),
        FINANCE_HANDLERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "POST /api/v1/finance/matches/{match_id}/reject": Route(
        "POST",
        finance_url(
            "/api/v1/finance/matches/{id}/reject",
            lambda w, t: make_finance_match(w, t, "pending"),
        ),
        FINANCE_HANDLERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
        body=lambda w, u, t: {"reason": "The entry belongs to another invoice."},
    ),
    "POST /api/v1/finance/matches/{match_id}/undo": Route(
        "POST",
        finance_url(
            "/api/v1/finance/matches/{id}/undo",
            lambda w, t: make_finance_match(w, t, "accepted"),
        ),
        FINANCE_MANAGERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
        body=lambda w, u, t: {"reason": "Booked twice."},
    ),
    "POST /api/v1/finance/matches/{match_id}/rule": Route(
        "POST",
        finance_url(
            "/api/v1/finance/matches/{id}/rule",
            lambda w, t: make_finance_match(w, t, "pending"),
        ),
        FINANCE_HANDLERS,
        ok=201,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "GET /api/v1/finance/lines/{line_id}/candidates": Route(
        "GET",
        finance_url("/api/v1/finance/lines/{id}/candidates", _finance_line),
        FINANCE_VIEWERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "GET /api/v1/finance/obligations": Route(
        "GET",
        finance_list_url("/api/v1/finance/obligations?client_id={id}", make_obligation),
        FINANCE_VIEWERS,
        targets=TARGETS,
        permission_first=True,
        missing=200,
        hidden=200,
        verify=verify_listed,
    ),
    "POST /api/v1/finance/obligations": Route(
        "POST",
        fixed("/api/v1/finance/obligations"),
        FINANCE_MANAGERS,
        ok=201,
        targets=TARGETS,
        permission_first=True,
        missing=422,
        hidden=422,
        body=body_fin_obligation,
    ),
    "GET /api/v1/finance/obligations/{obligation_id}": Route(
        "GET",
        finance_url("/api/v1/finance/obligations/{id}", make_obligation),
        FINANCE_VIEWERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "PATCH /api/v1/finance/obligations/{obligation_id}": Route(
        "PATCH",
        finance_url("/api/v1/finance/obligations/{id}", make_obligation),
        FINANCE_MANAGERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
        body=lambda w, u, t: {"lead_days": 3, "authority": "Finanzamt Köln-Mitte"},
    ),
    "GET /api/v1/finance/obligations/{obligation_id}/dates": Route(
        "GET",
        finance_url(
            "/api/v1/finance/obligations/{id}/dates?since=2026-10-01&until=2026-12-31",
            make_obligation,
        ),
        FINANCE_VIEWERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    # Filtered by an obligation: another client's is not found, like the object itself.
    "GET /api/v1/finance/occurrences": Route(
        "GET",
        finance_list_url(
            "/api/v1/finance/occurrences?obligation_id={id}",
            make_occurrence,
            key=lambda occurrence: occurrence.obligation_id,
        ),
        FINANCE_VIEWERS,
        targets=TARGETS,
        permission_first=True,
        verify=verify_listed,
    ),
    "POST /api/v1/finance/occurrences/{occurrence_id}/evidence": Route(
        "POST",
        finance_url("/api/v1/finance/occurrences/{id}/evidence", make_occurrence),
        FINANCE_HANDLERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
        body=body_fin_evidence,
        multipart=True,
    ),
    "GET /api/v1/finance/reports": Route(
        "GET",
        finance_list_url(
            "/api/v1/finance/reports?service_id={id}",
            make_daily_report,
            key=lambda report: report.service_id,
        ),
        FINANCE_VIEWERS,
        targets=TARGETS,
        permission_first=True,
        verify=verify_listed,
    ),
    "POST /api/v1/finance/services/{service_id}/reports": Route(
        "POST",
        finance_url("/api/v1/finance/services/{id}/reports", _finance_service),
        FINANCE_HANDLERS,
        ok=201,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
        body=lambda w, u, t: {"day": FINANCE_DAY.isoformat()},
    ),
    "GET /api/v1/finance/reports/{report_id}": Route(
        "GET",
        finance_url("/api/v1/finance/reports/{id}", make_daily_report),
        FINANCE_VIEWERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "GET /api/v1/finance/reports/{report_id}/pdf": Route(
        "GET",
        finance_url("/api/v1/finance/reports/{id}/pdf", make_daily_report),
        FINANCE_VIEWERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
    "GET /api/v1/finance/reports/{report_id}/csv": Route(
        "GET",
        finance_url("/api/v1/finance/reports/{id}/csv", make_daily_report),
        FINANCE_VIEWERS,
        targets=TARGETS,
        invisible_to=NOT_FINANCE,
    ),
}

# Routes that are not the product's own pages: the API's own docs and schema (public metadata).
NOT_IN_MATRIX = {"api:openapi-json", "api:openapi-view"}


def _web_route_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns, namespace: str = "") -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if str(pattern.pattern).startswith("api/"):
                    continue
                ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, ns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(f"{namespace}{pattern.name}")

    walk(get_resolver().url_patterns)
    return names


def _api_route_names() -> set[str]:
    schema = api.get_openapi_schema()
    return {
        f"{method.upper()} {path.rstrip('/') if path != '/api/v1/' else path}"
        for path, operations in schema["paths"].items()
        for method in operations
    }


def test_every_route_has_an_isolation_entry():
    routes = _web_route_names() | _api_route_names()
    missing = sorted(routes - set(MATRIX) - NOT_IN_MATRIX)
    stale = sorted(set(MATRIX) - routes)
    assert not missing, f"Routes without an isolation-matrix entry: {missing}"
    assert not stale, f"Matrix entries for routes that no longer exist: {stale}"


def is_visible(route: Route, role: str, target: str) -> bool:
    """Whether the actor in this role can see the target's object."""
    if target == "missing" or role in route.invisible_to:
        return False
    return target == "own" or (role == "admin" and route.admin_sees_other)


def expected_status(route: Route, role: str, target: str, is_api: bool) -> int:
    if role == ANON:
        if route.anonymous is not None:
            return route.anonymous
        return 401 if is_api else 302
    allowed = role in route.allowed
    if target == "missing":
        return 403 if route.permission_first and not allowed else route.missing
    visible = is_visible(route, role, target)
    if route.permission_first:
        if not allowed:
            return 403
        return route.ok if visible else route.hidden
    if not visible:
        return route.hidden
    return route.ok if allowed else 403


CASES = [
    pytest.param(name, role, target, id=f"{name}|{role}|{target}")
    for name, route in MATRIX.items()
    for role in [*ROLES, ANON]
    for target in route.targets
]


@pytest.mark.parametrize(("name", "role", "target"), CASES)
def test_isolation(world, name, role, target):
    route = MATRIX[name]
    is_api = name.startswith(("GET ", "POST ", "PATCH ", "PUT ", "DELETE "))
    http = HttpClient()
    user = world.people[role] if role != ANON else None
    if user is not None:
        http.force_login(user)
    url = route.path(world, user, target)
    body = route.body(world, user, target) if route.body else None
    if route.multipart:
        response = http.post(url, data=body or {})
    elif is_api:
        response = http.generic(
            route.method,
            url,
            data="" if body is None else json.dumps(body),
            content_type="application/json",
        )
    elif route.method == "GET":
        response = http.get(url)
    else:
        response = http.post(url, data=body or {})
    expected = expected_status(route, role, target, is_api)
    assert response.status_code == expected, (
        f"{route.method} {url} as {role} ({target}): {response.status_code}, expected {expected}: "
        f"{b'' if response.streaming else response.content[:300]!r}"
    )
    if route.verify is not None and response.status_code < 400:
        route.verify(response, is_visible(route, role, target))
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if role != "admin":
        text = content.decode(errors="replace")
        for marker in OTHER_MARKERS:
            assert marker not in text, f"{marker!r} leaked to {role} at {route.method} {url}"
    if is_api and response.status_code >= 400:
        error = response.json()["error"]
        assert error["status"] == response.status_code and error["message"]


# --- Finance: every id in a body is checked against the actor's scope and the path's client ---


@dataclass(frozen=True)
class ForeignId:
    """A request on the own client's finance objects that carries an id of the other client."""

    method: str
    url: Callable[[Any], str]
    body: Callable[[Any], dict[str, Any]]
    field: str  # the field the 422 names
    roles: tuple[str, ...] = ("manager", "admin")


def _own_fin(world) -> Books:
    return finance_of(world, "own")


def _other_fin(world) -> Books:
    return finance_of(world, "other")


def _account_body(world, **changes: Any) -> dict[str, Any]:
    return {**body_fin_account(world, None, "own"), **changes}


def _match_body(world, line_side: str, entry_side: str) -> dict[str, Any]:
    line = make_finance_rows(world, finance_of(world, line_side))[0]
    entry = make_finance_rows(world, finance_of(world, entry_side))[1]
    return {"line_ids": [line.pk], "entry_ids": [entry.pk]}


FOREIGN_IDS = {
    "new account with another client's statement mapping": ForeignId(
        "POST",
        lambda w: "/api/v1/finance/accounts",
        lambda w: _account_body(w, statement_mapping_id=_other_fin(w).bank_mapping.pk),
        "body.statement_mapping_id",
    ),
    "new account with another client's ledger mapping": ForeignId(
        "POST",
        lambda w: "/api/v1/finance/accounts",
        lambda w: _account_body(w, ledger_mapping_id=_other_fin(w).ledger_mapping.pk),
        "body.ledger_mapping_id",
    ),
    "account moved to another client's service": ForeignId(
        "PUT",
        lambda w: f"/api/v1/finance/accounts/{_own_fin(w).account.pk}",
        lambda w: _account_body(w, service_id=_other_fin(w).reconciliation.pk),
        "body.service_id",
    ),
    "account given another client's ledger mapping": ForeignId(
        "PUT",
        lambda w: f"/api/v1/finance/accounts/{_own_fin(w).account.pk}",
        lambda w: _account_body(w, ledger_mapping_id=_other_fin(w).ledger_mapping.pk),
        "body.ledger_mapping_id",
    ),
    "mapping of another client": ForeignId(
        "POST",
        lambda w: "/api/v1/finance/mappings",
        lambda w: body_fin_mapping(w, None, "other"),
        "body.client_id",
        roles=("manager",),  # the provider's admin may set up any client
    ),
    "mapping moved to another client": ForeignId(
        "PUT",
        lambda w: f"/api/v1/finance/mappings/{_own_fin(w).ledger_mapping.pk}",
        lambda w: body_fin_mapping(w, None, "other"),
        "body.client_id",
    ),
    "obligation of another client's service": ForeignId(
        "POST",
        lambda w: "/api/v1/finance/obligations",
        lambda w: body_fin_obligation(w, None, "other"),
        "body.service_id",
        roles=("manager",),
    ),
    "match of another client's bank line": ForeignId(
        "POST",
        lambda w: f"/api/v1/finance/accounts/{_own_fin(w).account.pk}/matches",
        lambda w: _match_body(w, "other", "own"),
        "body.line_ids",
        roles=("agent", "manager", "admin"),
    ),
    "match with another client's ledger entry": ForeignId(
        "POST",
        lambda w: f"/api/v1/finance/accounts/{_own_fin(w).account.pk}/matches",
        lambda w: _match_body(w, "own", "other"),
        "body.entry_ids",
        roles=("agent", "manager", "admin"),
    ),
}


@pytest.mark.parametrize(
    ("name", "role"),
    [
        pytest.param(name, role, id=f"{name}|{role}")
        for name, case in FOREIGN_IDS.items()
        for role in case.roles
    ],
)
def test_finance_body_ids_of_another_client_are_refused(world, name, role):
    """An id of another client in a body is refused with the field named, whoever sends it
    (even the provider's admin, who sees both clients, may not mix them); nothing is written."""
    case = FOREIGN_IDS[name]
    url = case.url(world)
    body = case.body(world)
    with all_clients_unscoped("test check"):
        before = (BankAccount.objects.count(), ColumnMapping.objects.count(), Match.objects.count())
        before_obligations = Obligation.objects.count()
    response = world.login(role).generic(
        case.method, url, data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code in (404, 422), (response.status_code, response.content[:300])
    if response.status_code == 422:
        paths = [problem["path"] for problem in response.json()["error"]["fields"]]
        assert case.field in paths, paths
    assert "OTHERSECRET" not in response.content.decode()
    with all_clients_unscoped("test check"):
        after = (BankAccount.objects.count(), ColumnMapping.objects.count(), Match.objects.count())
        assert after == before and Obligation.objects.count() == before_obligations
        account = BankAccount.objects.get(pk=_own_fin(world).account.pk)
        mapping = ColumnMapping.objects.get(pk=_own_fin(world).ledger_mapping.pk)
    assert account.service_id == _own_fin(world).reconciliation.pk
    assert account.ledger_mapping_id == _own_fin(world).ledger_mapping.pk
    assert mapping.client_id == world.own.pk and mapping.name == "Cash book export"
