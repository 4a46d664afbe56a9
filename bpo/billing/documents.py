"""An invoice or credit note as the documents people keep: an A4 PDF and a CSV of its lines.

Amounts are formatted for a locale: the reader's when they download it, the client's country's
when it is mailed. The CSV keeps plain decimal amounts (machines read it) with the currency.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from bpo.audit.queries import spreadsheet_safe
from bpo.billing.models import Invoice, InvoiceKind, InvoiceLine
from bpo.billing.rating import round_money
from bpo.portal.reports import GREY, LIGHT, pdf_fonts
from bpo.tenancy.models import Provider
from bpo.web.formatting import format_money, format_number, locale_of_country

CSV_COLUMNS = [
    "document",
    "kind",
    "status",
    "period_start",
    "period_end",
    "line",
    "line_kind",
    "service",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "amount",
    "currency",
]


def mailing_locale(invoice: Invoice) -> str:
    """The locale an invoice mailed to the client is formatted in: its country's."""
    return locale_of_country(invoice.contract.client.country)


def invoice_csv_rows(invoice: Invoice) -> list[list[object]]:
    """One row per line, then the net, tax and total (text from people cannot run as a
    spreadsheet formula)."""
    document = invoice.number or f"draft-{invoice.pk}"
    head = [
        document,
        invoice.kind,
        invoice.status,
        invoice.period_start.isoformat(),
        invoice.period_end.isoformat(),
    ]

    def amount(value: Decimal) -> Decimal:
        return round_money(value, invoice.currency)  # stored amounts are rounded already

    rows: list[list[object]] = []
    for line in invoice.lines.select_related("service").order_by("position"):
        rows.append(
            [
                *head,
                line.position,
                line.kind,
                spreadsheet_safe(line.service.name if line.service else ""),
                spreadsheet_safe(line.description),
                f"{line.quantity.normalize():f}",
                line.unit,
                f"{line.unit_price.normalize():f}",
                amount(line.amount),
                invoice.currency,
            ]
        )
    label = spreadsheet_safe(f"{invoice.tax_label} {invoice.tax_rate_percent.normalize()}%")
    for name, total in (("net", invoice.net), (label, invoice.tax), ("total", invoice.total)):
        rows.append([*head, "", "total", "", name, "", "", "", amount(total), invoice.currency])
    return rows


def invoice_pdf(invoice: Invoice, locale: str | None = None) -> bytes:
    """The invoice as an A4 PDF: parties, period, lines, net, tax and total, due date."""
    locale = locale or mailing_locale(invoice)
    regular, bold = pdf_fonts()
    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontName=regular, fontSize=9)
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=9, textColor=GREY)
    cell = ParagraphStyle("cell", parent=body, fontSize=8, leading=10)
    h1 = ParagraphStyle("h1", parent=styles["Heading1"], fontName=bold, fontSize=16)
    provider = Provider.current()
    client = invoice.contract.client
    what = invoice.get_kind_display()
    title = f"{what} {invoice.number}" if invoice.number else f"{what} — {invoice.title}"

    def text(value: object, style: ParagraphStyle = cell) -> Paragraph:
        return Paragraph(escape(str(value)), style)

    def amount(value: Decimal) -> str:
        return format_money(value, invoice.currency, locale)

    story: list[Any] = [
        Paragraph(escape(title), h1),
        text(
            f"From {provider.legal_name or provider.name} to {client.legal_name or client.name}",
            body,
        ),
        text(
            f"Contract {invoice.contract.reference} ({invoice.contract.title}), version "
            f"{invoice.version.number}. Period {invoice.period_start:%Y-%m-%d} to "
            f"{invoice.period_end:%Y-%m-%d}.",
            body,
        ),
    ]
    if invoice.issued_at:
        due = f", due {invoice.due_date:%Y-%m-%d}" if invoice.due_date else ""
        story.append(text(f"Issued {invoice.issued_at:%Y-%m-%d}{due}.", body))
    else:
        story.append(
            text(
                f"{invoice.get_status_display()}: not issued; numbers and amounts may change.", body
            )
        )
    if invoice.kind == InvoiceKind.CREDIT_NOTE and invoice.corrects is not None:
        story.append(text(f"Corrects {invoice.corrects.title}: {invoice.reason}", body))
    if invoice.status == "void":
        story.append(text(f"VOID: {invoice.reason}", body))
    story.append(Spacer(1, 4 * mm))
    rows: list[list[Any]] = [["#", "Description", "Quantity", "Unit price", "Amount"]]
    lines: list[InvoiceLine] = list(invoice.lines.order_by("position"))
    for line in lines:
        rows.append(
            [
                str(line.position),
                text(line.description),
                f"{format_number(line.quantity.normalize(), locale)} {line.unit}".strip(),
                format_number(line.unit_price.normalize(), locale),
                amount(line.amount),
            ]
        )
    count = len(rows)
    rows += [
        ["", "Net", "", "", amount(invoice.net)],
        [
            "",
            f"{invoice.tax_label} {format_number(invoice.tax_rate_percent.normalize(), locale)}%",
            "",
            "",
            amount(invoice.tax),
        ],
        ["", "Total", "", "", amount(invoice.total)],
    ]
    table = Table(rows, colWidths=[8 * mm, 92 * mm, 28 * mm, 22 * mm, 30 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), regular, 8),
                ("FONT", (0, 0), (-1, 0), bold, 8),
                ("FONT", (0, -1), (-1, -1), bold, 9),
                ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ("LINEABOVE", (0, count), (-1, count), 0.75, colors.black),
                ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [
        table,
        Spacer(1, 4 * mm),
        text(
            "Each line is counted from the work done: resolved items on the day of their first "
            "resolution, handled minutes from agents' work sessions, production hours from the "
            "agents' logged-in time. The portal opens each line to the days and items behind it.",
            small,
        ),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=title,
        author=provider.name,
    )

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(regular, 7)
        canvas.setFillColor(GREY)
        canvas.drawString(15 * mm, 8 * mm, f"{provider.name} · {title}")
        canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, f"Page {doc.page}")
        canvas.restoreState()

    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
