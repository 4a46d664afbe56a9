"""The daily financial report as the documents people keep: an A4 PDF and a CSV, both drawn
from the stored figures only (see :mod:`bpo.finance.report`), so they read the same every time.

The PDF formats amounts for a locale (the client's country's); the CSV keeps plain decimal
amounts and ISO dates for machines, one section per table: a row naming the section, a header
row, the rows, and an empty row. Text from people (account names, references) cannot run as a
spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from bpo.audit.queries import spreadsheet_safe
from bpo.portal.reports import GREY, LIGHT, pdf_fonts
from bpo.web.formatting import format_money, format_number

TITLE = "Daily financial report"
KIND_WORDS = {"lines": "Statement lines", "entries": "Ledger entries"}
ITEM_WORDS = {"line": "Statement line", "entry": "Ledger entry"}
STATES = ("reconciled", "open")
PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _safe(value: object) -> object:
    """Text that a spreadsheet will not run as a formula; plain numbers ('-12.50') stay."""
    if isinstance(value, str) and not PLAIN_NUMBER.match(value):
        return spreadsheet_safe(value)
    return value


def figures_csv_rows(figures: dict[str, Any]) -> list[list[object]]:
    """The report's tables one after another, each a section: its name, header and rows."""
    rows: list[list[object]] = []

    def section(name: str, header: list[object], body: list[list[object]]) -> None:
        rows.append([name])
        rows.append(header)
        rows.extend([_safe(value) for value in row] for row in body)
        rows.append([])

    section(
        "report",
        ["field", "value"],
        [
            ["title", TITLE],
            ["service", figures["service"]["name"]],
            ["day", figures["day"]],
            ["as_of", figures["as_of"]],
            ["time_zone", figures["time_zone"]],
            ["generated_at", figures["generated_at"]],
        ],
    )
    accounts = figures["accounts"]
    section(
        "cash_position",
        ["account", "iban", "currency", "statement_date", "closing_balance", "statement_missing"],
        [
            [
                account["name"],
                account["iban"] or account["account_number"],
                (account["cash"] or {}).get("currency", account["currency"]),
                (account["cash"] or {}).get("date", ""),
                (account["cash"] or {}).get("balance", ""),
                "yes" if account["statement_missing"] else "no",
            ]
            for account in accounts
        ],
    )
    counts = ["count", "amount", *(f"{s}_{m}" for s in STATES for m in ("count", "amount"))]
    section(
        "reconciliation",
        ["account", "currency", "kind", *counts],
        [
            [account["name"], account["currency"], kind, *_counts(account[kind])]
            for account in accounts
            for kind in KIND_WORDS
        ],
    )
    section(
        "ageing",
        ["account", "currency", "kind", "bucket", "count", "amount"],
        [
            [account["name"], account["currency"], kind, row["bucket"], row["count"], row["amount"]]
            for account in accounts
            for kind in KIND_WORDS
            for row in account["ageing"][kind]
        ],
    )
    section(
        "largest_open_items",
        [
            "account",
            "rank",
            "kind",
            "id",
            "date",
            "age_days",
            "amount",
            "currency",
            "reference",
            "counterparty",
        ],
        [
            [
                account["name"],
                rank,
                item["kind"],
                item["id"],
                item["date"],
                item["age_days"],
                item["amount"],
                item["currency"],
                item["reference"],
                item["counterparty"],
            ]
            for account in accounts
            for rank, item in enumerate(account["largest_open"], start=1)
        ],
    )
    totals = figures["totals"]
    section(
        "currency_totals",
        ["currency", "accounts", "cash", "accounts_with_statement", "kind", *counts],
        [
            [
                total["currency"],
                total["accounts"],
                total["cash"]["balance"],
                total["cash"]["accounts_with_statement"],
                kind,
                *_counts(total[kind]),
            ]
            for total in totals
            for kind in KIND_WORDS
        ],
    )
    section(
        "currency_ageing",
        ["currency", "kind", "bucket", "count", "amount"],
        [
            [total["currency"], kind, row["bucket"], row["count"], row["amount"]]
            for total in totals
            for kind in KIND_WORDS
            for row in total["ageing"][kind]
        ],
    )
    return rows


def _counts(figure: dict[str, Any]) -> list[object]:
    """A reconciliation figure's columns: all, reconciled and open rows, count and amount."""
    return [
        figure["count"],
        figure["amount"],
        *(figure[state][measure] for state in STATES for measure in ("count", "amount")),
    ]


def figures_csv(figures: dict[str, Any]) -> bytes:
    """The report as CSV (UTF-8): one section per table, plain decimals, ISO dates."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(figures_csv_rows(figures))
    return buffer.getvalue().encode("utf-8")


def figures_pdf(
    figures: dict[str, Any], *, client_name: str, service_name: str, locale: str
) -> bytes:
    """The report as an A4 PDF: cash position, reconciliation, ageing and the largest open
    items per account, with totals per currency."""
    regular, bold = pdf_fonts()
    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontName=regular, fontSize=9)
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=9, textColor=GREY)
    cell = ParagraphStyle("cell", parent=body, fontSize=8, leading=10)
    right = ParagraphStyle("right", parent=cell, alignment=2)
    h1 = ParagraphStyle("h1", parent=styles["Heading1"], fontName=bold, fontSize=16)
    h2 = ParagraphStyle("h2", parent=styles["Heading2"], fontName=bold, fontSize=12)
    zone = ZoneInfo(figures["time_zone"])
    day = figures["day"]

    def text(value: object, style: ParagraphStyle = cell) -> Paragraph:
        return Paragraph(escape(str(value)), style)

    def money(amount: str, currency: str) -> str:
        return format_money(Decimal(amount), currency, locale)

    def number(value: int) -> str:
        return format_number(value, locale)

    def local(instant: str) -> str:
        return f"{datetime.fromisoformat(instant).astimezone(zone):%Y-%m-%d %H:%M %Z}"

    def table(rows: list[list[Any]], widths: list[float], numbers: int, totals: int = 0) -> Table:
        """A table whose columns from ``numbers`` on are figures (aligned right)."""
        drawn = Table(rows, colWidths=[w * mm for w in widths], repeatRows=1)
        style = [
            ("FONT", (0, 0), (-1, -1), regular, 8),
            ("FONT", (0, 0), (-1, 0), bold, 8),
            ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
            ("ALIGN", (numbers, 0), (-1, -1), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
        if totals:
            first = len(rows) - totals
            style += [
                ("LINEABOVE", (0, first), (-1, first), 0.75, colors.black),
                ("FONT", (0, first), (-1, -1), bold, 8),
            ]
        drawn.setStyle(TableStyle(style))
        return drawn

    accounts = figures["accounts"]
    totals = figures["totals"]
    story: list[Any] = [
        Paragraph(TITLE, h1),
        text(f"Client: {client_name}", body),
        text(f"Service: {service_name}", body),
        text(f"Business day: {day}, as of its end ({local(figures['as_of'])}).", body),
        text(f"Generated at {local(figures['generated_at'])}.", body),
        Spacer(1, 3 * mm),
    ]
    if not accounts:
        story.append(text("The service has no bank accounts.", body))

    # Cash position.
    rows: list[list[Any]] = [["Account", "IBAN / number", "Statement of", "Closing balance"]]
    for account in accounts:
        cash = account["cash"]
        rows.append(
            [
                text(account["name"]),
                text(account["iban"] or account["account_number"]),
                text(
                    (cash["date"] if cash else "no statement")
                    + (" (none yet for the day)" if account["statement_missing"] and cash else "")
                ),
                money(cash["balance"], cash["currency"]) if cash else "—",
            ]
        )
    for total in totals:
        with_statement = total["cash"]["accounts_with_statement"]
        rows.append(
            [
                f"Total {total['currency']}",
                "",
                f"{number(with_statement)} of {number(total['accounts'])} with a statement",
                money(total["cash"]["balance"], total["currency"]) if with_statement else "—",
            ]
        )
    story += [Paragraph("Cash position", h2), table(rows, [55, 50, 45, 30], 3, len(totals))]
    if any(account["statement_missing"] for account in accounts):
        story.append(
            text(
                f"An account marked 'none yet for the day' has no statement ending on {day}: "
                "its balance is that of its latest statement.",
                small,
            )
        )

    # Reconciliation.
    rows = [["Account", "Rows", "Reconciled", "Amount", "Open", "Amount"]]

    def reconciliation(label: str, figure: dict[str, Any], currency: str) -> list[Any]:
        return [
            text(label),
            number(figure["count"]),
            number(figure["reconciled"]["count"]),
            money(figure["reconciled"]["amount"], currency),
            number(figure["open"]["count"]),
            money(figure["open"]["amount"], currency),
        ]

    for account in accounts:
        for kind, words in KIND_WORDS.items():
            rows.append(
                reconciliation(f"{account['name']}: {words}", account[kind], account["currency"])
            )
    for total in totals:
        for kind, words in KIND_WORDS.items():
            rows.append(
                reconciliation(
                    f"Total {total['currency']}: {words}", total[kind], total["currency"]
                )
            )
    story += [
        Paragraph("Reconciliation", h2),
        table(rows, [62, 16, 20, 31, 20, 31], 1, 2 * len(totals)),
        text(
            f"Statement lines booked and ledger entries dated up to {day}; reconciled: in an "
            "accepted match by the end of the day.",
            small,
        ),
    ]

    # Ageing of the open items.
    buckets = figures["buckets"]
    rows = [["Open items", *(bucket["label"] for bucket in buckets)]]

    def ageing(label: str, cells: list[dict[str, Any]], currency: str) -> list[Any]:
        return [
            text(label),
            *(
                Paragraph(
                    f"{escape(money(c['amount'], currency))}<br/>({number(c['count'])})", right
                )
                if c["count"]
                else "—"
                for c in cells
            ),
        ]

    for account in accounts:
        for kind, words in KIND_WORDS.items():
            rows.append(
                ageing(f"{account['name']}: {words}", account["ageing"][kind], account["currency"])
            )
    for total in totals:
        for kind, words in KIND_WORDS.items():
            rows.append(
                ageing(
                    f"Total {total['currency']}: {words}", total["ageing"][kind], total["currency"]
                )
            )
    story += [
        Paragraph("Ageing of open items", h2),
        table(rows, [55, 25, 25, 25, 25, 25], 1, 2 * len(totals)),
        text(f"Age: days from the booking or entry date to {day}; amount (count).", small),
    ]

    # The largest open items.
    story.append(Paragraph("Largest open items", h2))
    for account in accounts:
        items = account["largest_open"]
        if not items:
            story.append(text(f"{account['name']}: nothing open.", body))
            continue
        rows = [["#", "Kind", "Date", "Reference / counterparty", "Age", "Amount"]]
        for rank, item in enumerate(items, start=1):
            who = " · ".join(part for part in (item["reference"], item["counterparty"]) if part)
            rows.append(
                [
                    str(rank),
                    text(ITEM_WORDS.get(item["kind"], item["kind"])),
                    item["date"],
                    text(who or "—"),
                    f"{number(item['age_days'])} d",
                    money(item["amount"], item["currency"]),
                ]
            )
        story.append(
            KeepTogether(
                [
                    text(account["name"], body),
                    table(rows, [8, 26, 20, 83, 13, 30], 4),
                    Spacer(1, 2 * mm),
                ]
            )
        )

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"{TITLE} {day}",
        author=client_name,
        subject=service_name,
    )

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(regular, 7)
        canvas.setFillColor(GREY)
        canvas.drawString(15 * mm, 8 * mm, f"{TITLE} · {client_name} · {service_name} · {day}")
        canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, f"Page {doc.page}")
        canvas.restoreState()

    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
