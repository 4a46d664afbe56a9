"""Web UI: the client's window on its outsourced services.

*Services* (``/portal/``) leads a client user to their company's services and a provider's
manager to the overview of their clients ranked by SLA risk. A service's page shows its service
levels today, this week and this month, trend charts (each with its values as a table), volumes
by channel, handle time, first-contact resolution, satisfaction, the backlog by state and age,
and the items at risk, which open on their public timeline. Its daily figures export as CSV.
Client users submit requests to a service from here. Each service has its monthly service
reports (PDF and CSV), made by the monthly job or on demand. Contacts answer their satisfaction
survey at a public link.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.formats import number_format
from django.views.decorators.http import require_GET

from bpo.accounts.roles import Permission
from bpo.portal import actions, queries
from bpo.portal.downloads import report_csv_response, report_pdf_response
from bpo.portal.forms import PortalRequestForm, SurveyForm
from bpo.tenancy.context import request_actor
from bpo.tenancy.scoping import client_scope
from bpo.web.formatting import format_duration
from bpo.work.actions import agreed_terms
from bpo.work.forms import add_item_errors

CSV_MAX_DAYS = 400


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """A client user's services, or the provider's overview of clients by SLA risk."""
    actor = request_actor(request)
    actor.require(Permission.VIEW_DASHBOARDS)
    if not actor.is_provider and len(actor.client_ids) == 1:
        return client_page(request, next(iter(actor.client_ids)))
    return render(request, "portal/overview.html", {"ranking": queries.overview(actor=actor)})


@login_required
def client_page(request: HttpRequest, client_id: int) -> HttpResponse:
    """One client's services, each with this month's standing."""
    actor = request_actor(request)
    client = queries.client_of(actor=actor, client_id=client_id)
    cards = queries.client_dashboards(actor=actor, client_id=client_id)
    return render(
        request,
        "portal/client.html",
        {
            "client": client,
            "cards": cards,
            "can_request": actor.can(Permission.REQUEST_WORK, client_id=client_id),
            "can_see_invoices": actor.can(Permission.VIEW_BILLING, client_id=client_id),
        },
    )


@login_required
def service_page(request: HttpRequest, service_id: int) -> HttpResponse:
    """One service's live dashboard."""
    actor = request_actor(request)
    board = queries.service_dashboard(actor=actor, service_id=service_id)
    try:
        version = agreed_terms(board.service).version
    except ValidationError:  # no agreed terms now (the contract ended): no definitions to show
        version = None
    return render(
        request,
        "portal/service.html",
        {
            "board": board,
            "client": board.service.client,
            "definitions": version.metric_definitions() if version else [],
            "version": version,
            "charts": _chart_data(board),
            "chart_list": _chart_tables(board),
            "indicators": _indicators(board),
            "can_request": actor.can(Permission.REQUEST_WORK, client_id=board.service.client_id),
        },
    )


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{number_format(value, 1)} %"


def _indicators(board: queries.ServiceDashboard) -> list[tuple[str, str, list[str]]]:
    """The indicator table: a row per indicator, a column per period."""
    totals = [board.totals[p.key] for p in board.periods]
    return [
        ("Created", "", [str(t.counts["created"]) for t in totals]),
        ("Resolved", "", [str(t.counts["resolved"]) for t in totals]),
        ("AHT", "Average handle time", [format_duration(t.aht_seconds) for t in totals]),
        ("FCR", "First-contact resolution", [_percent(t.fcr) for t in totals]),
        (
            "CSAT",
            "Share of satisfied survey ratings (answers in brackets)",
            [
                f"{_percent(t.csat)} ({t.counts['surveys']})" if t.csat is not None else "—"
                for t in totals
            ],
        ),
        ("NPS", "Net promoter score", [str(t.nps) if t.nps is not None else "—" for t in totals]),
    ]


def _chart_tables(board: queries.ServiceDashboard) -> list[dict[str, Any]]:
    """Each chart's key and title, and its values as a table (a row per day)."""
    days = [d.isoformat() for d in board.trend_days]
    trend = board.trend

    def table(series: dict[str, list[Any]]) -> list[tuple[str, list[Any]]]:
        return [(day, [values[n] for values in series.values()]) for n, day in enumerate(days)]

    quality = {
        "AHT (minutes)": trend["aht_minutes"],
        "FCR %": trend["fcr"],
        "CSAT %": trend["csat"],
    }
    backlog = board.backlog
    return [
        {
            "key": "sla",
            "title": "SLA attainment per day (%)",
            "row_label": "Day",
            "columns": list(trend["sla"]),
            "rows": table(trend["sla"]),
        },
        {
            "key": "created",
            "title": "Items created per day, by channel",
            "row_label": "Day",
            "columns": list(trend["created"]),
            "rows": table(trend["created"]),
        },
        {
            "key": "quality",
            "title": "Handle time, first-contact resolution and satisfaction per day",
            "row_label": "Day",
            "columns": list(quality),
            "rows": table(quality),
        },
        {
            "key": "backlog",
            "title": f"Backlog now by state and age ({backlog['total']} open)",
            "row_label": "State",
            "columns": backlog["ages"],
            "rows": list(backlog["counts"].items()),
        },
    ]


def _chart_data(board: queries.ServiceDashboard) -> dict[str, Any]:
    """The series of the charts, read by portal/dashboard.js from a JSON script element."""
    labels = [d.isoformat() for d in board.trend_days]
    return {
        "labels": labels,
        "sla": board.trend["sla"],
        "created": board.trend["created"],
        "quality": {
            "First-contact resolution %": board.trend["fcr"],
            "Satisfied (CSAT) %": board.trend["csat"],
        },
        "aht": board.trend["aht_minutes"],
        "backlog": board.backlog,
    }


@login_required
@require_GET
def service_csv(request: HttpRequest, service_id: int) -> HttpResponse:
    """The service's figures per day (``from`` and ``to``, ISO dates, at most 400 days)."""
    actor = request_actor(request)
    service = queries.service_of(actor=actor, service_id=service_id)
    today = queries.service_today(service)
    try:
        last = date.fromisoformat(request.GET.get("to") or today.isoformat())
        first = date.fromisoformat(
            request.GET.get("from") or (last - timedelta(days=29)).isoformat()
        )
    except ValueError:
        return HttpResponse(
            "from and to are dates written YYYY-MM-DD.", status=400, content_type="text/plain"
        )
    if first > last or (last - first).days >= CSV_MAX_DAYS:
        return HttpResponse(
            f"from must not be after to, and at most {CSV_MAX_DAYS} days apart.",
            status=400,
            content_type="text/plain",
        )
    rows = queries.daily_rows(service=service, first=first, last=last)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{service.client.slug}-{service.key}-{first}-{last}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(queries.DAILY_COLUMNS)
    writer.writerows(rows)
    return response


@login_required
def request_new(request: HttpRequest, service_id: int) -> HttpResponse:
    """Send a request to one of the client's services."""
    actor = request_actor(request)
    service = queries.service_of(actor=actor, service_id=service_id)
    actor.require(Permission.REQUEST_WORK, client_id=service.client_id)
    schema = agreed_terms(service).custom_fields or []
    form = PortalRequestForm(request.POST or None, schema=schema)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            item = actions.portal_request_submit(
                actor=actor,
                service_id=service.pk,
                title=data["title"],
                description=data["description"],
                priority=data["priority"],
                custom_fields=form.custom_fields(),
                contact_email=actor.user.email,
                contact_name=actor.user.full_name,
            )
        except ValidationError as exc:
            add_item_errors(form, exc)  # type: ignore[arg-type]
        else:
            messages.success(request, f"Request #{item.pk} was sent to {service.name}.")
            return redirect("work:item", item_id=item.pk)
    return render(
        request,
        "portal/request.html",
        {"service": service, "client": service.client, "form": form},
        status=400 if request.method == "POST" else 200,
    )


def survey(request: HttpRequest, token: str) -> HttpResponse:
    """The contact's satisfaction survey (public: the token in the link is the key)."""
    found = queries.survey_by_token(token)
    if found is None:
        raise Http404("This survey link is not valid.")
    with client_scope([found.client_id]):
        form = SurveyForm(request.POST or None)
        status = 200
        if found.answered_at is None and request.method == "POST":
            status = 400
            if form.is_valid():
                try:
                    found = actions.survey_answer(survey=found, **form.cleaned_data)
                    status = 200
                except ValidationError as exc:
                    form.add_error(None, exc)
        response = render(
            request,
            "portal/survey.html",
            {"survey": found, "form": form, "item": found.item, "service": found.service},
            status=status,
        )
    # The token must not travel to other sites; same-origin (not no-referrer) so the browser
    # still sends the Origin header that CSRF checks on the answer.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def reports_page(request: HttpRequest, service_id: int) -> HttpResponse:
    """The service's monthly reports to download, and a form to generate one now."""
    actor = request_actor(request)
    service, reports = queries.reports_of(actor=actor, service_id=service_id)
    today = queries.service_today(service)
    error = ""
    if request.method == "POST":
        try:
            month = date.fromisoformat(f"{request.POST.get('month', '')}-01")
        except ValueError:
            error = "Choose a month, written YYYY-MM."
        else:
            try:
                report = actions.report_generate(actor=actor, service=service, month=month)
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                messages.success(request, f"The report of {report.month:%Y-%m} is ready.")
                return redirect("portal:reports", service_id=service.pk)
    return render(
        request,
        "portal/reports.html",
        {
            "service": service,
            "client": service.client,
            "reports": reports,
            "this_month": f"{today:%Y-%m}",
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@require_GET
def report_pdf(request: HttpRequest, report_id: int) -> HttpResponse:
    """A service report as PDF."""
    report = queries.report_of(actor=request_actor(request), report_id=report_id, fmt="pdf")
    return report_pdf_response(report)


@login_required
@require_GET
def report_csv(request: HttpRequest, report_id: int) -> HttpResponse:
    """A service report as CSV: one value per row (see ``reports.report_csv_rows``)."""
    report = queries.report_of(actor=request_actor(request), report_id=report_id, fmt="csv")
    return report_csv_response(report)
