"""Writes of the portal: satisfaction surveys, requests a client user submits, and the
monthly service reports."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from bpo.accounts.roles import Permission
from bpo.audit.log import record
from bpo.contracts.models import Service
from bpo.portal import reports
from bpo.portal.models import ServiceReport, Survey
from bpo.portal.queries import zone_of
from bpo.portal.rollups import rollups_refresh, service_zones
from bpo.tenancy.context import Actor
from bpo.tenancy.models import Client
from bpo.tenancy.scoping import all_clients_unscoped, client_scope
from bpo.work import actions as work
from bpo.work.models import Channel, WorkItem

# Channels whose contact wrote in with an address and expects an answer by mail.
MAILED_CHANNELS = frozenset({Channel.EMAIL, Channel.FORM})
MAX_COMMENT = 5000


def survey_url(survey: Survey) -> str:
    """The survey's public address (the token in it is the only key)."""
    return settings.OPENBPO_BASE_URL + reverse("portal:survey", args=[survey.token])


def survey_offer(*, item: WorkItem) -> Survey | None:
    """Offer the contact of a just-resolved item a survey, once per item, in the resolution's
    transaction; the link goes out by e-mail where the contact wrote in by mail or web form.
    None when the item has no contact to ask or was asked before."""
    if item.contact_id is None or Survey.objects.filter(item=item).exists():
        return None
    survey = Survey.objects.create(
        client_id=item.client_id,
        item=item,
        service_id=item.service_id,
        token=secrets.token_urlsafe(24),
    )
    if item.channel in MAILED_CHANNELS:
        from bpo.intake.actions import outbound_queue

        name = item.contact.name if item.contact else ""
        sent = outbound_queue(
            item=item,
            kind="survey",
            body=(
                f"Hello {name},\n\nyour request #{item.pk} ({item.title}) has been resolved. "
                "How did we do? One click tells us:\n\n"
                f"{survey_url(survey)}\n\nThank you."
            ),
        )
        if sent is not None:
            Survey.objects.filter(pk=survey.pk).update(emailed=True)
            survey.emailed = True
    record("survey.offered", obj=survey, after={"item_id": item.pk, "emailed": survey.emailed})
    return survey


def survey_answer(
    *, survey: Survey, rating: Any, recommend: Any = None, comment: str = ""
) -> Survey:
    """The contact's answer: a rating from 1 to 5, optionally 0 to 10 for "would you recommend
    us" and a comment. A survey is answered once; a second answer is refused."""
    problems: dict[str, str] = {}
    rating_value = _whole(rating, 1, 5, "rating", problems, required=True)
    recommend_value = _whole(recommend, 0, 10, "recommend", problems, required=False)
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        problems["comment"] = f"At most {MAX_COMMENT} characters, please ({len(comment)} given)."
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        locked = Survey.objects.select_for_update().get(pk=survey.pk)
        if locked.answered_at is not None:
            raise ValidationError("This survey was answered already. Thank you!")
        locked.rating = rating_value
        locked.recommend = recommend_value
        locked.comment = comment
        locked.answered_at = timezone.now()
        locked.save(update_fields=["rating", "recommend", "comment", "answered_at"])
        record(
            "survey.answered",
            obj=locked,
            after={"rating": rating_value, "recommend": recommend_value},
            actor_email="survey link",
        )
    return locked


def _whole(
    value: Any, low: int, high: int, name: str, problems: dict[str, str], *, required: bool
) -> int | None:
    if value is None or value == "":
        if required:
            problems[name] = f"Choose a value from {low} to {high}."
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        problems[name] = f"{value!r} is not a whole number from {low} to {high}."
        return None
    if (isinstance(value, float) and value != number) or not low <= number <= high:
        problems[name] = f"{value!r} is not a whole number from {low} to {high}."
        return None
    return number


def portal_request_submit(*, actor: Actor, service_id: int, **details: Any) -> WorkItem:
    """A request a client user sends to one of their services from the portal."""
    return work.work_item_submit(actor=actor, service_id=service_id, channel=Channel.WEB, **details)


def report_generate(*, actor: Actor, service: Service, month: date) -> ServiceReport:
    """Generate a service report for ``month`` now (on demand; the month may still be running,
    the report says so). Its figures are frozen with it."""
    actor.require(Permission.VIEW_DASHBOARDS, client_id=service.client_id)
    now = timezone.now()
    month = reports.month_first(month)
    if month > reports.month_first(now.astimezone(zone_of(service)).date()):
        raise ValidationError({"month": f"{month:%Y-%m} has not begun: nothing to report yet."})
    if not _had_terms(service, month):
        raise ValidationError(
            {"month": f"No agreed contract version covered {service.name} in {month:%Y-%m}."}
        )
    rollups_refresh(client_id=service.client_id)
    return _report_save(service, month, now, generated_by=actor.user)


def reports_monthly() -> int:
    """Periodic: for every service of every active client, the report of the month that last
    ended in its calendar, once (idempotent: the constraint allows one monthly report per
    service and month). Returns how many were made."""
    with all_clients_unscoped("the monthly reports go through every active client"):
        clients = list(Client.objects.filter(is_active=True).values_list("pk", flat=True))
    made = 0
    now = timezone.now()
    for client_id in clients:
        with client_scope([client_id]):
            due = _reports_due(client_id, now)
            if due:
                rollups_refresh(client_id=client_id)
            for service, month in due:
                try:
                    with transaction.atomic():
                        _report_save(service, month, now, generated_by=None)
                except IntegrityError:  # another run made it meanwhile
                    continue
                made += 1
    return made


def _reports_due(client_id: int, now: datetime) -> list[tuple[Service, date]]:
    """The client's services whose last ended month (in their calendar) has no monthly report
    yet and was covered by a contract version, with that month."""
    zones = service_zones(client_id)
    last_month = {
        service_id: reports.month_first(
            reports.month_first(now.astimezone(ZoneInfo(zone)).date()) - timedelta(days=1)
        )
        for service_id, zone in zones.items()
    }
    reported = set(
        ServiceReport.objects.filter(
            client_id=client_id, generated_by__isnull=True, month__in=set(last_month.values())
        ).values_list("service_id", "month")
    )
    services = Service.objects.filter(client_id=client_id, pk__in=last_month)
    return [
        (service, last_month[service.pk])
        for service in services.select_related("client").order_by("pk")
        if (service.pk, last_month[service.pk]) not in reported
        and _had_terms(service, last_month[service.pk])
    ]


def _had_terms(service: Service, month: date) -> bool:
    """Whether a contract version covered the service during the month (else nothing to say)."""
    return reports.terms_in_force(service, month, reports.month_last(month)).exists()


def _report_save(
    service: Service, month: date, now: datetime, *, generated_by: Any
) -> ServiceReport:
    """Freeze the report's figures (the caller has brought the rollups up to date)."""
    figures = reports.report_figures(service, month, now)
    report = ServiceReport.objects.create(
        client_id=service.client_id,
        service=service,
        month=month,
        generated_at=now,
        generated_by=generated_by,
        complete=figures["complete"],
        figures=figures,
    )
    record(
        "portal.report_generated",
        obj=report,
        after={"service_id": service.pk, "month": f"{month:%Y-%m}", "complete": report.complete},
    )
    return report
