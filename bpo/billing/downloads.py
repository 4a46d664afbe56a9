"""An invoice as the file a browser or an API client downloads (PDF or CSV), for the pages and
the API alike."""

from __future__ import annotations

import csv

from django.http import HttpResponse

from bpo.billing import documents
from bpo.billing.models import Invoice
from bpo.web.formatting import reader_locale


def _filename(invoice: Invoice, extension: str) -> str:
    name = invoice.number or f"{invoice.kind}-{invoice.period_start:%Y-%m}-draft-{invoice.pk}"
    return f"{invoice.contract.client.slug}-{name}.{extension}"


def invoice_pdf_response(invoice: Invoice) -> HttpResponse:
    """The invoice as PDF, its amounts formatted for the reader, as an attachment."""
    response = HttpResponse(
        documents.invoice_pdf(invoice, reader_locale.get()), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(invoice, "pdf")}"'
    return response


def invoice_csv_response(invoice: Invoice) -> HttpResponse:
    """The invoice's lines and totals as CSV (plain decimal amounts), as an attachment."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(invoice, "csv")}"'
    writer = csv.writer(response)
    writer.writerow(documents.CSV_COLUMNS)
    writer.writerows(documents.invoice_csv_rows(invoice))
    return response
