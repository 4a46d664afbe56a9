"""API: monthly service reports (list, make one now, read its figures, download PDF or CSV)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja.responses import Status

from bpo.apitypes import DbId, month_of
from bpo.errors import documented_errors
from bpo.paging import page_of
from bpo.portal import actions, queries
from bpo.portal.downloads import report_csv_response, report_pdf_response
from bpo.portal.models import ServiceReport
from bpo.portal.schemas import ReportDetailOut, ReportIn, ReportListParams, ReportPage
from bpo.tenancy.context import request_actor

reports_router = Router(tags=["service reports"])

BINARY = {
    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
}
CSV = {"text/csv": {"schema": {"type": "string"}}}


@reports_router.get(
    "",
    response={200: ReportPage, **documented_errors(404)},
    summary="A service's monthly reports, oldest first",
)
def list_reports(request: HttpRequest, params: Query[ReportListParams]) -> dict[str, Any]:
    _, reports = queries.reports_of(actor=request_actor(request), service_id=params.service_id)
    return page_of(reports, params)


@reports_router.post(
    "",
    response={201: ReportDetailOut, **documented_errors(404)},
    summary="Make a service's report of a month now (the monthly job makes one when it ends)",
)
def create_report(request: HttpRequest, payload: ReportIn) -> Status[ServiceReport]:
    actor = request_actor(request)
    service = queries.service_of(actor=actor, service_id=payload.service_id)
    month = month_of(payload.month)
    return Status(201, actions.report_generate(actor=actor, service=service, month=month))


@reports_router.get(
    "/{report_id}",
    response={200: ReportDetailOut, **documented_errors(404)},
    summary="One report with its figures (as frozen when it was made)",
)
def get_report(request: HttpRequest, report_id: DbId) -> ServiceReport:
    return queries.report_of(actor=request_actor(request), report_id=report_id, fmt="json")


@reports_router.get(
    "/{report_id}/pdf",
    response={**documented_errors(404)},
    summary="A report as PDF",
    openapi_extra={"responses": {"200": {"description": "The PDF.", "content": BINARY}}},
)
def report_pdf(request: HttpRequest, report_id: DbId) -> HttpResponse:
    report = queries.report_of(actor=request_actor(request), report_id=report_id, fmt="pdf")
    return report_pdf_response(report)


@reports_router.get(
    "/{report_id}/csv",
    response={**documented_errors(404)},
    summary="A report as CSV (one value a row)",
    openapi_extra={"responses": {"200": {"description": "The CSV.", "content": CSV}}},
)
def report_csv(request: HttpRequest, report_id: DbId) -> HttpResponse:
    report = queries.report_of(actor=request_actor(request), report_id=report_id, fmt="csv")
    return report_csv_response(report)
