"""The daily financial report of a reconciliation service: its figures worked out by hand
(cash position, reconciled and open totals, ageing, largest open items, totals per currency),
the CSV drawn from them, and the PDF that renders them."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pypdfium2
import pytest

from bpo.accounts.models import User
from bpo.calendars import actions as calendars
from bpo.contracts import actions as contracts
from bpo.contracts.models import Service
from bpo.finance.documents import figures_csv, figures_pdf
from bpo.finance.models import (
    BankAccount,
    LedgerEntry,
    Match,
    MatchStatus,
    SourceFile,
    Statement,
    StatementLine,
)
from bpo.finance.report import daily_figures, money_text
from bpo.tenancy.context import acting_as

DAY = date(2026, 10, 30)  # a Friday; Berlin is UTC+1 (the clocks went back on 25 October)
END = datetime(2026, 10, 30, 23, 0, tzinfo=UTC)  # midnight after DAY in Berlin
NOW = datetime(2026, 11, 2, 7, 15, tzinfo=UTC)
_names = itertools.count()


@dataclass
class ReportBooks:
    """A client's reconciliation service and the rows of its accounts, built by hand."""

    service: Service
    user: User
    accounts: dict[str, BankAccount] = field(default_factory=dict)
    files: dict[int, SourceFile] = field(default_factory=dict)
    rows: dict[str, StatementLine | LedgerEntry] = field(default_factory=dict)

    def account(self, key: str, name: str, currency: str = "EUR", **extra) -> BankAccount:
        if "iban" not in extra:
            extra.setdefault("account_number", f"ACC-{key}")
        account = BankAccount.objects.create(
            client_id=self.service.client_id,
            service=self.service,
            name=name,
            currency=currency,
            **extra,
        )
        self.accounts[key] = account
        return account

    def file(self, account: BankAccount, kind: str) -> SourceFile:
        n = next(_names)
        return SourceFile.objects.create(
            client_id=account.client_id,
            account=account,
            kind=kind,
            format="csv",
            filename=f"{kind}-{n}.csv",
            stored_name=f"test/{kind}-{n}-{account.pk}",
            size=1,
            sha256=hashlib.sha256(str(n).encode()).hexdigest(),
            uploaded_by=self.user,
        )

    def statement(self, account: BankAccount, start: str, end: str, closing: str) -> Statement:
        return Statement.objects.create(
            client_id=account.client_id,
            account=account,
            file=self.file(account, "statement"),
            reference=f"ST-{end}",
            start_date=start,
            end_date=end,
            currency=account.currency,
            opening_balance=Decimal(0),
            closing_balance=Decimal(closing),
        )

    def line(self, key: str, account: BankAccount, booked: str, amount: str, **extra) -> None:
        statement = Statement.objects.filter(account=account).first() or self.statement(
            account, booked, booked, "0"
        )
        self.rows[key] = StatementLine.objects.create(
            client_id=account.client_id,
            statement=statement,
            account=account,
            position=next(_names) + 1,
            booking_date=booked,
            amount=Decimal(amount),
            currency=extra.pop("currency", account.currency),
            reference=extra.pop("reference", f"Line {key}"),
            counterparty_name=extra.pop("counterparty_name", f"Party {key}"),
            **extra,
        )

    def entry(self, key: str, account: BankAccount, dated: str, amount: str, **extra) -> None:
        self.rows[key] = LedgerEntry.objects.create(
            client_id=account.client_id,
            account=account,
            file=self.file(account, "ledger"),
            row=next(_names) + 1,
            entry_date=dated,
            amount=Decimal(amount),
            currency=extra.pop("currency", account.currency),
            reference=extra.pop("reference", f"Entry {key}"),
            **extra,
        )

    def match(
        self,
        *keys: str,
        decided_at: datetime | None,
        made_at: datetime | None = None,
        status: str = MatchStatus.ACCEPTED,
    ) -> Match:
        rows = [self.rows[key] for key in keys]
        match = Match.objects.create(
            client_id=rows[0].client_id,
            account_id=rows[0].account_id,
            shape="1:1",
            status=status,
            confidence=Decimal(100),
            automatic=decided_at is None,
            made_at=made_at or decided_at or NOW,
            decided_at=decided_at,
        )
        for row in rows:
            type(row).objects.filter(pk=row.pk).update(match=match)
        return match


def reconciliation_service(world, client, key: str = "recon") -> Service:
    with acting_as(world.actor("admin")) as admin:
        calendar = calendars.calendar_create(
            actor=admin,
            client=client,
            name=f"Frankfurt {key}",
            time_zone="Europe/Berlin",
            weekly={d: ["08:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
            holiday_country="DE",
        )
        contract = contracts.contract_create(
            actor=admin,
            client=client,
            reference=f"C-{key}",
            title="Finance back office",
            start_date="2026-01-01",
            currency="EUR",
        )
        terms = contracts.service_add(
            actor=admin,
            version=contract.versions.get(),
            key=key,
            name="Bank reconciliation",
            process_type="reconciliation",
            calendar=calendar,
        )
    return terms.service


@pytest.fixture
def report_books(world) -> ReportBooks:
    """Three accounts of the own client's reconciliation service, reported on 30 Oct 2026:

    * Operating (EUR): statements to the 28th, to the 30th (the cash position) and of the 31st
      (after the day); lines and entries of every age, reconciled by the day's end or not.
    * Dollars (USD, an account number): one open line, on a statement ending after the day.
    * Savings (EUR): its latest statement ends on the 29th; one open line from June.
    """
    service = reconciliation_service(world, world.own)
    with acting_as(world.actor("admin")):
        b = ReportBooks(service=service, user=world.people["admin"])
        operating = b.account("op", "Operating account", iban="DE89370400440532013000")
        b.statement(operating, "2026-10-01", "2026-10-28", "1000.00")
        b.statement(operating, "2026-10-29", "2026-10-30", "1500.50")
        b.statement(operating, "2026-10-31", "2026-10-31", "9999.00")
        for key, booked, amount in [
            ("L1", "2026-10-30", "500.50"),  # reconciled with E1
            ("L2", "2026-10-29", "-200.00"),  # age 1
            ("L3", "2026-10-25", "-50.25"),  # age 5
            ("L4", "2026-10-22", "1000.00"),  # age 8
            ("L5", "2026-09-30", "-75.00"),  # age 30
            ("L6", "2026-09-29", "10.00"),  # age 31
            ("L7", "2026-08-31", "20.00"),  # age 60
            ("L8", "2026-08-30", "-5.00"),  # age 61
            ("L9", "2026-10-31", "123.00"),  # after the day
            ("L10", "2026-10-28", "300.00"),  # matched after the day ended: open, age 2
            ("L11", "2026-10-28", "42.00"),  # matched a minute before midnight
            ("L12", "2026-10-29", "7.00"),  # matched automatically
            ("L13", "2026-10-27", "1.00"),  # age 3, the smallest open item
        ]:
            b.line(key, operating, booked, amount)
        for key, dated, amount in [
            ("E1", "2026-10-30", "500.50"),
            ("E2", "2026-10-28", "300.00"),
            ("E3", "2026-10-28", "42.00"),
            ("E4", "2026-10-20", "-999.99"),  # age 10
            ("E5", "2026-11-02", "55.00"),  # after the day
            ("E6", "2026-10-29", "7.00"),
        ]:
            b.entry(key, operating, dated, amount)
        b.match("L1", "E1", decided_at=datetime(2026, 10, 30, 10, tzinfo=UTC))
        b.match("L10", "E2", decided_at=END + timedelta(minutes=30))
        b.match("L11", "E3", decided_at=END - timedelta(minutes=1))
        b.match("L12", "E6", decided_at=None, made_at=datetime(2026, 10, 29, 6, tzinfo=UTC))
        dollars = b.account("usd", "Dollar account", currency="USD", account_number="123456789")
        b.statement(dollars, "2026-10-30", "2026-10-31", "100.00")  # ends after the day
        b.line("U1", dollars, "2026-10-30", "100.00")
        savings = b.account("sav", "Savings", iban="DE02120300000000202051")
        b.statement(savings, "2026-10-01", "2026-10-29", "250.00")
        b.line("S1", savings, "2026-06-01", "-10.00")  # age 151
        # The same client's other service and the other client are not in this report.
        elsewhere = b.account("x", "Elsewhere")
        elsewhere.service = reconciliation_service(world, world.own, key="other-recon")
        elsewhere.save()
        b.statement(elsewhere, "2026-10-30", "2026-10-30", "77.00")
        b.line("Z1", elsewhere, "2026-10-30", "77.00")
    return b


def figures_of(world, report_books: ReportBooks, day: date = DAY) -> dict:
    with acting_as(world.actor("admin")):
        return daily_figures(report_books.service, day, now=NOW)


def ageing(**buckets: tuple[int, str]) -> list[dict]:
    labels = {
        "0-2": "0–2 days",
        "3-7": "3–7 days",
        "8-30": "8–30 days",
        "31-60": "31–60 days",
        "over-60": "over 60 days",
    }
    return [
        {
            "bucket": key,
            "label": label,
            "count": buckets.get(key.replace("-", "_"), (0, "0.00"))[0],
            "amount": buckets.get(key.replace("-", "_"), (0, "0.00"))[1],
        }
        for key, label in labels.items()
    ]


def test_figures_of_the_day(world, report_books):
    figures = figures_of(world, report_books)
    assert json.loads(json.dumps(figures)) == figures  # JSON as it is stored
    assert figures["day"] == "2026-10-30"
    assert figures["time_zone"] == "Europe/Berlin"
    assert figures["as_of"] == "2026-10-30T23:00:00+00:00"
    assert figures["generated_at"] == "2026-11-02T07:15:00+00:00"
    assert figures["service"] == {
        "id": report_books.service.pk,
        "key": "recon",
        "name": "Bank reconciliation",
    }
    assert [b["key"] for b in figures["buckets"]] == ["0-2", "3-7", "8-30", "31-60", "over-60"]
    assert [a["name"] for a in figures["accounts"]] == [
        "Dollar account",
        "Operating account",
        "Savings",
    ]
    dollars, operating, savings = figures["accounts"]

    assert operating["iban"] == "DE89370400440532013000"
    assert operating["cash"] == {
        "balance": "1500.50",
        "currency": "EUR",
        "date": "2026-10-30",
        "statement": "ST-2026-10-30",
    }
    assert operating["statement_missing"] is False
    assert operating["lines"] == {
        "count": 12,
        "amount": "1550.25",
        "reconciled": {"count": 3, "amount": "549.50"},
        "open": {"count": 9, "amount": "1000.75"},
    }
    assert operating["entries"] == {
        "count": 5,
        "amount": "-150.49",
        "reconciled": {"count": 3, "amount": "549.50"},
        "open": {"count": 2, "amount": "-699.99"},
    }
    assert operating["ageing"] == {
        "lines": ageing(
            **{
                "0_2": (2, "100.00"),
                "3_7": (2, "-49.25"),
                "8_30": (2, "925.00"),
                "31_60": (2, "30.00"),
                "over_60": (1, "-5.00"),
            }
        ),
        "entries": ageing(**{"0_2": (1, "300.00"), "8_30": (1, "-999.99")}),
    }
    largest = operating["largest_open"]
    assert [(i["kind"], i["amount"]) for i in largest] == [
        ("line", "1000.00"),
        ("entry", "-999.99"),
        ("entry", "300.00"),  # ties go by date, then entries before lines
        ("line", "300.00"),
        ("line", "-200.00"),
        ("line", "-75.00"),
        ("line", "-50.25"),
        ("line", "20.00"),
        ("line", "10.00"),
        ("line", "-5.00"),
    ]  # the eleventh, 1.00, is left out
    assert largest[0] == {
        "kind": "line",
        "id": report_books.rows["L4"].pk,
        "date": "2026-10-22",
        "age_days": 8,
        "amount": "1000.00",
        "currency": "EUR",
        "reference": "Line L4",
        "counterparty": "Party L4",
    }
    assert operating["other_currencies"] == {"lines": 0, "entries": 0}

    assert dollars["cash"] is None
    assert dollars["statement_missing"] is True
    assert (dollars["iban"], dollars["account_number"], dollars["currency"]) == (
        "",
        "123456789",
        "USD",
    )
    assert dollars["lines"]["open"] == {"count": 1, "amount": "100.00"}
    assert dollars["entries"] == {
        "count": 0,
        "amount": "0.00",
        "reconciled": {"count": 0, "amount": "0.00"},
        "open": {"count": 0, "amount": "0.00"},
    }
    assert dollars["ageing"]["lines"] == ageing(**{"0_2": (1, "100.00")})

    assert savings["cash"]["date"] == "2026-10-29"
    assert savings["statement_missing"] is True  # no statement of the 30th yet
    assert savings["ageing"]["lines"] == ageing(over_60=(1, "-10.00"))

    eur, usd = figures["totals"]
    assert eur["currency"] == "EUR"
    assert eur["accounts"] == 2
    assert eur["cash"] == {"balance": "1750.50", "accounts_with_statement": 2}
    assert eur["lines"] == {
        "count": 13,
        "amount": "1540.25",
        "reconciled": {"count": 3, "amount": "549.50"},
        "open": {"count": 10, "amount": "990.75"},
    }
    assert eur["entries"] == operating["entries"]
    assert eur["ageing"]["lines"][-1] == {
        "bucket": "over-60",
        "label": "over 60 days",
        "count": 2,
        "amount": "-15.00",
    }
    assert eur["ageing"]["entries"] == operating["ageing"]["entries"]
    assert usd["currency"] == "USD"
    assert usd["accounts"] == 1
    assert usd["cash"] == {"balance": "0.00", "accounts_with_statement": 0}
    assert usd["lines"]["open"] == {"count": 1, "amount": "100.00"}


def test_an_earlier_day_sees_less(world, report_books):
    figures = figures_of(world, report_books, date(2026, 10, 28))
    operating = figures["accounts"][1]
    assert operating["cash"]["balance"] == "1000.00"
    assert operating["cash"]["date"] == "2026-10-28"
    # L1, L2, L12 are booked later; L11 was matched only on the 30th: all of the 28th is open.
    assert operating["lines"]["reconciled"] == {"count": 0, "amount": "0.00"}
    assert operating["lines"]["open"]["count"] == 9
    # Ages count from the 28th: L10 and L11 are 0 days old, L13 one day, L3 three.
    assert operating["ageing"]["lines"][0] == {
        "bucket": "0-2",
        "label": "0–2 days",
        "count": 3,
        "amount": "343.00",
    }
    with acting_as(world.actor("admin")):
        assert daily_figures(report_books.service, date(2026, 1, 1))["accounts"][1]["cash"] is None


def test_a_row_in_another_currency_is_totalled_under_its_own(world, report_books):
    with acting_as(world.actor("admin")):
        report_books.entry("X1", report_books.accounts["usd"], "2026-10-30", "5.00", currency="EUR")
    figures = figures_of(world, report_books)
    dollars = figures["accounts"][0]
    assert dollars["other_currencies"] == {"lines": 0, "entries": 1}
    assert dollars["entries"]["count"] == 0  # the account's section is in dollars only
    eur = figures["totals"][0]
    assert eur["entries"]["open"] == {"count": 3, "amount": "-694.99"}
    assert figures["totals"][1]["entries"]["count"] == 0


def test_proposals_and_matches_awaiting_approval_leave_rows_open(world, report_books):
    with acting_as(world.actor("admin")):
        operating = report_books.accounts["op"]
        report_books.line("P1", operating, "2026-10-30", "64.00")
        proposal = report_books.match(
            "P1",
            decided_at=None,
            made_at=datetime(2026, 10, 30, 8, tzinfo=UTC),
            status=MatchStatus.PROPOSED,
        )
        assert proposal.pk
    lines = figures_of(world, report_books)["accounts"][1]["lines"]
    assert lines["reconciled"]["count"] == 3
    assert lines["open"] == {"count": 10, "amount": "1064.75"}


def test_the_figures_take_a_fixed_handful_of_queries(
    world, report_books, django_assert_max_num_queries
):
    with acting_as(world.actor("admin")):
        with django_assert_max_num_queries(6):
            daily_figures(report_books.service, DAY, now=NOW)
        for n in range(4):
            account = report_books.account(
                f"more{n}", f"More {n}", currency="CHF" if n % 2 else "EUR"
            )
            report_books.statement(account, "2026-10-30", "2026-10-30", f"{n}00.00")
            for m in range(15):
                report_books.line(f"M{n}-{m}", account, f"2026-10-{m + 1:02d}", f"{m + 1}.00")
                report_books.entry(f"N{n}-{m}", account, f"2026-10-{m + 1:02d}", f"-{m + 1}.50")
        with django_assert_max_num_queries(6):
            figures = daily_figures(report_books.service, DAY, now=NOW)
    more = figures["accounts"][1]
    assert more["name"] == "More 0"
    assert len(more["largest_open"]) == 10
    assert [i["amount"] for i in more["largest_open"][:3]] == ["-15.50", "15.00", "-14.50"]
    chf = next(t for t in figures["totals"] if t["currency"] == "CHF")
    assert chf["cash"] == {"balance": "400.00", "accounts_with_statement": 2}
    assert chf["lines"]["open"] == {"count": 30, "amount": "240.00"}


def test_amounts_keep_their_currency_decimals():
    assert money_text(Decimal("12.3000"), "EUR") == "12.30"
    assert money_text(Decimal("0E-4"), "EUR") == "0.00"
    assert money_text(Decimal("1200.0000"), "JPY") == "1200"
    assert money_text(Decimal("1.2345"), "EUR") == "1.2345"  # nothing rounded away
    assert money_text(Decimal("-7.5000"), "BHD") == "-7.500"


# -- the documents ------------------------------------------------------------------------------


def sections(data: bytes) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    n = 0
    while n < len(rows):
        name, header = rows[n][0], rows[n + 1]
        n += 2
        found[name] = []
        while rows[n]:
            found[name].append(dict(zip(header, rows[n], strict=True)))
            n += 1
        n += 1
    return found


def test_csv_has_a_section_per_table(world, report_books):
    data = sections(figures_csv(figures_of(world, report_books)))
    assert list(data) == [
        "report",
        "cash_position",
        "reconciliation",
        "ageing",
        "largest_open_items",
        "currency_totals",
        "currency_ageing",
    ]
    assert {row["field"]: row["value"] for row in data["report"]}["day"] == "2026-10-30"
    assert data["cash_position"] == [
        {
            "account": "Dollar account",
            "iban": "123456789",
            "currency": "USD",
            "statement_date": "",
            "closing_balance": "",
            "statement_missing": "yes",
        },
        {
            "account": "Operating account",
            "iban": "DE89370400440532013000",
            "currency": "EUR",
            "statement_date": "2026-10-30",
            "closing_balance": "1500.50",
            "statement_missing": "no",
        },
        {
            "account": "Savings",
            "iban": "DE02120300000000202051",
            "currency": "EUR",
            "statement_date": "2026-10-29",
            "closing_balance": "250.00",
            "statement_missing": "yes",
        },
    ]
    assert data["reconciliation"][2] == {
        "account": "Operating account",
        "currency": "EUR",
        "kind": "lines",
        "count": "12",
        "amount": "1550.25",
        "reconciled_count": "3",
        "reconciled_amount": "549.50",
        "open_count": "9",
        "open_amount": "1000.75",
    }
    assert len(data["ageing"]) == 3 * 2 * 5
    assert data["ageing"][10 + 2] == {
        "account": "Operating account",
        "currency": "EUR",
        "kind": "lines",
        "bucket": "8-30",
        "count": "2",
        "amount": "925.00",
    }
    top = [row for row in data["largest_open_items"] if row["account"] == "Operating account"]
    assert [(row["rank"], row["kind"], row["date"], row["amount"]) for row in top[:2]] == [
        ("1", "line", "2026-10-22", "1000.00"),
        ("2", "entry", "2026-10-20", "-999.99"),
    ]
    eur_lines = data["currency_totals"][0]
    assert (
        eur_lines["currency"],
        eur_lines["cash"],
        eur_lines["kind"],
        eur_lines["open_amount"],
    ) == ("EUR", "1750.50", "lines", "990.75")
    assert data["currency_ageing"][4] == {
        "currency": "EUR",
        "kind": "lines",
        "bucket": "over-60",
        "count": "2",
        "amount": "-15.00",
    }


def test_csv_text_cannot_run_as_a_formula(world, report_books):
    with acting_as(world.actor("admin")):
        report_books.line(
            "F1", report_books.accounts["sav"], "2026-10-30", "-3000.00", reference="=HYPERLINK(1)"
        )
    data = sections(figures_csv(figures_of(world, report_books)))
    [row] = [r for r in data["largest_open_items"] if r["reference"].endswith("HYPERLINK(1)")]
    assert row["reference"] == "'=HYPERLINK(1)"
    assert row["amount"] == "-3000.00"  # numbers stay numbers


def pdf_text(data: bytes) -> str:
    document = pypdfium2.PdfDocument(data)
    text = "\n".join(page.get_textpage().get_text_range() for page in document)
    return text.replace("\xa0", " ").replace("\u202f", " ").replace("\r", "")


def test_pdf_renders_the_figures_for_the_locale(world, report_books):
    data = figures_pdf(
        figures_of(world, report_books),
        client_name="Own Client GmbH",
        service_name="Bank reconciliation",
        locale="de_DE",
    )
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    for expected in [
        "Daily financial report",
        "Own Client GmbH",
        "Bank reconciliation",
        "Business day: 2026-10-30",
        "Generated at 2026-11-02 08:15 CET",
        "Cash position",
        "Reconciliation",
        "Ageing of open items",
        "Largest open items",
        "1.500,50 €",  # the operating account's balance
        "1.750,50 €",  # the EUR total
        "-999,99 €",
        "Total USD",
        "DE89370400440532013000",
        "Line L4",
    ]:
        assert expected in text, expected


def test_pdf_of_a_service_without_accounts(world):
    service = reconciliation_service(world, world.own, key="empty")
    with acting_as(world.actor("admin")):
        figures = daily_figures(service, DAY, now=NOW)
    assert figures["accounts"] == [] and figures["totals"] == []
    text = pdf_text(figures_pdf(figures, client_name="C", service_name="S", locale="en_US"))
    assert "no bank accounts" in text
    assert sections(figures_csv(figures))["cash_position"] == []
