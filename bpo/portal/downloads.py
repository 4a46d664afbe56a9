"""A service report as the file a browser or an API client downloads (PDF or CSV)."""

from __future__ import annotations

import csv

from django.http import HttpResponse

from bpo.portal import reports
from bpo.portal.models import ServiceReport


def _filename(report: ServiceReport, extension: str) -> str:
    service = report.service
    return (
        f"{service.client.slug}-{service.key}-{report.month:%Y-%m}-report-{report.pk}.{extension}"
    )


def report_pdf_response(report: ServiceReport) -> HttpResponse:
    """The report drawn as PDF, as an attachment."""
    response = HttpResponse(reports.report_pdf(report.figures), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_filename(report, "pdf")}"'
    return response


def report_csv_response(report: ServiceReport) -> HttpResponse:
    """The report as CSV, one value a row (see ``reports.report_csv_rows``), as an attachment."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(report, "csv")}"'
    writer = csv.writer(response)
    writer.writerow(reports.CSV_COLUMNS)
    writer.writerows(reports.report_csv_rows(report.figures))
    return response
