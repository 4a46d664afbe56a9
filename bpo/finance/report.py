"""The figures of the daily financial report of a reconciliation service for one business day.

:func:`daily_figures` states each bank account of the service as of the end of ``day`` in the
service's calendar: its cash position (the closing balance of its latest statement ending on or
before the day), its statement lines and ledger entries dated up to the day, reconciled or still
open, the ageing of the open ones and the largest of them; then totals per currency, never adding
different currencies. The figures are plain JSON (amounts are decimal strings, dates ISO) and are
stored with the report; the PDF and CSV are drawn from them only (see
:mod:`bpo.finance.documents`), so a report reads the same every time it is opened.

"Reconciled as of the end of the day" means the row belongs to an accepted match decided before
the next midnight in the service's zone (a match accepted later leaves it open in this day's
figures, so making the report of a past day again gives the same figures, unless a match was
taken back since). A row's age is the number of days from its booking or entry date to ``day``.

Every figure comes from a fixed handful of aggregate queries (zone, accounts with their cash,
grouped lines, grouped entries, the largest open lines, the largest open entries), however many
accounts and rows there are; only the grouped results, a few per account, are folded in Python.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Abs, Coalesce, RowNumber
from django.utils import timezone

from bpo.apitypes import money
from bpo.contracts.models import Service
from bpo.finance.models import BankAccount, LedgerEntry, MatchStatus, Statement, StatementLine
from bpo.portal.queries import zone_of

# Ageing buckets: key, label, and the ages in days they hold (None: no upper bound).
BUCKETS: tuple[tuple[str, str, int, int | None], ...] = (
    ("0-2", "0–2 days", 0, 2),
    ("3-7", "3–7 days", 3, 7),
    ("8-30", "8–30 days", 8, 30),
    ("31-60", "31–60 days", 31, 60),
    ("over-60", "over 60 days", 61, None),
)
LARGEST_OPEN = 10  # open items listed per account
RECONCILED, OPEN = "reconciled", "open"
# The two kinds of row: the figures' names for many and one, their model and date field.
KINDS: tuple[tuple[str, str, type[StatementLine] | type[LedgerEntry], str], ...] = (
    ("lines", "line", StatementLine, "booking_date"),
    ("entries", "entry", LedgerEntry, "entry_date"),
)


def money_text(value: Decimal, currency: str) -> str:
    """An amount as a plain decimal string with its currency's decimals ('1234.50'); any finer
    digits a row carries are kept rather than rounded away."""
    text = money(value, currency)
    return text if Decimal(text) == value else format(value.normalize(), "f")


def _sums() -> dict[str, Any]:
    """A count and an amount, both zero."""
    return {"count": 0, "amount": Decimal(0)}


class _Tally:
    """Counts and amounts of one kind of row (lines or entries) in one currency."""

    def __init__(self) -> None:
        self.states: dict[str, dict[str, Any]] = {RECONCILED: _sums(), OPEN: _sums()}
        self.buckets: dict[str, dict[str, Any]] = {key: _sums() for key, *_ in BUCKETS}

    def add(self, state: str, bucket: str, count: int, amount: Decimal) -> None:
        """Count one group of rows (open ones in their ageing bucket as well)."""
        for target in (self.states[state], *([self.buckets[bucket]] if state == OPEN else [])):
            target["count"] += count
            target["amount"] += amount

    def merge(self, other: _Tally) -> None:
        """Add another tally of the same currency to this one."""
        for mine, theirs in (
            *((self.states[k], other.states[k]) for k in self.states),
            *((self.buckets[k], other.buckets[k]) for k in self.buckets),
        ):
            mine["count"] += theirs["count"]
            mine["amount"] += theirs["amount"]

    def totals(self, currency: str) -> dict[str, Any]:
        """All rows, the reconciled and the open ones: count and amount of each."""
        reconciled, open_ = self.states[RECONCILED], self.states[OPEN]
        return {
            "count": reconciled["count"] + open_["count"],
            "amount": money_text(reconciled["amount"] + open_["amount"], currency),
            RECONCILED: _figure(reconciled, currency),
            OPEN: _figure(open_, currency),
        }

    def ageing(self, currency: str) -> list[dict[str, Any]]:
        """The open rows per ageing bucket, in the order of the buckets."""
        return [
            {"bucket": key, "label": label, **_figure(self.buckets[key], currency)}
            for key, label, *_ in BUCKETS
        ]


def _figure(sums: dict[str, Any], currency: str) -> dict[str, Any]:
    """A count and amount as JSON."""
    return {"count": sums["count"], "amount": money_text(sums["amount"], currency)}


def _classified(
    model: type[StatementLine] | type[LedgerEntry],
    date_field: str,
    service: Service,
    day: date,
    end: datetime,
) -> QuerySet[Any]:
    """The service's rows dated up to ``day``, each marked reconciled or open as of ``end`` (the
    end of the day) and, when open, with its ageing bucket."""
    reconciled = Q(match__status=MatchStatus.ACCEPTED, reconciled_at__lt=end)
    buckets = [
        When(**{f"{date_field}__gte": day - timedelta(days=high)}, then=Value(key))
        for key, _, _, high in BUCKETS
        if high is not None
    ]
    return (
        model.objects.filter(
            client_id=service.client_id, account__service=service, **{f"{date_field}__lte": day}
        )
        .annotate(reconciled_at=Coalesce("match__decided_at", "match__made_at"))
        .annotate(
            state=Case(
                When(reconciled, then=Value(RECONCILED)),
                default=Value(OPEN),
                output_field=CharField(),
            ),
            bucket=Case(
                When(reconciled, then=Value("")),
                *buckets,
                default=Value(BUCKETS[-1][0]),
                output_field=CharField(),
            ),
        )
    )


def _largest_open(
    rows: QuerySet[Any], date_field: str, kind: str, day: date
) -> dict[int, list[dict[str, Any]]]:
    """Per account, its open rows of one kind with the largest absolute amounts."""
    ranked = (
        rows.filter(state=OPEN)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("account_id")],
                order_by=[Abs("amount").desc(), F(date_field).asc(), F("id").asc()],
            )
        )
        .filter(rank__lte=LARGEST_OPEN)
        .values(
            "id", "account_id", date_field, "amount", "currency", "reference", "counterparty_name"
        )
        .order_by()
    )
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in ranked:
        found[row["account_id"]].append(
            {
                "kind": kind,
                "id": row["id"],
                "date": row[date_field].isoformat(),
                "age_days": (day - row[date_field]).days,
                "amount": row["amount"],
                "currency": row["currency"],
                "reference": row["reference"],
                "counterparty": row["counterparty_name"],
            }
        )
    return found


def daily_figures(service: Service, day: date, *, now: datetime | None = None) -> dict[str, Any]:
    """The report's figures for ``day`` (as of its end in the service's calendar), JSON-ready;
    run inside a tenant scope holding the service's client."""
    zone = zone_of(service)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    latest = Statement.objects.filter(account=OuterRef("pk"), end_date__lte=day).order_by(
        "-end_date", "-id"
    )
    accounts = list(
        BankAccount.objects.filter(client_id=service.client_id, service=service)
        .annotate(
            cash_balance=Subquery(latest.values("closing_balance")[:1]),
            cash_date=Subquery(latest.values("end_date")[:1]),
            cash_currency=Subquery(latest.values("currency")[:1]),
            cash_reference=Subquery(latest.values("reference")[:1]),
        )
        .order_by("name", "id")
    )
    # (account, kind, currency) → tally; the account's own currency goes into its section,
    # any other only into the totals of that currency.
    tallies: dict[tuple[int, str, str], _Tally] = defaultdict(_Tally)
    largest: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for kind, one, model, date_field in KINDS:
        rows = _classified(model, date_field, service, day, end)
        grouped = (
            rows.values("account_id", "currency", "state", "bucket")
            .annotate(count=Count("id"), amount=Sum("amount"))
            .order_by()
        )
        for group in grouped:
            tallies[(group["account_id"], kind, group["currency"])].add(
                group["state"], group["bucket"], group["count"], group["amount"] or Decimal(0)
            )
        for account_id, items in _largest_open(rows, date_field, one, day).items():
            largest[account_id].extend(items)

    sections = []
    totals: dict[str, dict[str, Any]] = {}

    def total_of(currency: str) -> dict[str, Any]:
        """The running totals of a currency, started when first met."""
        if currency not in totals:
            totals[currency] = {
                "accounts": 0,
                "cash": Decimal(0),
                "with_statement": 0,
                "lines": _Tally(),
                "entries": _Tally(),
            }
        return totals[currency]

    for account in accounts:
        currency = account.currency
        total_of(currency)["accounts"] += 1
        cash = None
        if account.cash_balance is not None:
            cash = {
                "balance": money_text(account.cash_balance, account.cash_currency),
                "currency": account.cash_currency,
                "date": account.cash_date.isoformat(),
                "statement": account.cash_reference,
            }
            cash_total = total_of(account.cash_currency)
            cash_total["cash"] += account.cash_balance
            cash_total["with_statement"] += 1
        section: dict[str, Any] = {
            "id": account.pk,
            "name": account.name,
            "iban": account.iban,
            "account_number": account.account_number,
            "currency": currency,
            "cash": cash,
            "statement_missing": account.cash_date != day,
            "other_currencies": {"lines": 0, "entries": 0},
        }
        ageing: dict[str, list[dict[str, Any]]] = {}
        for kind, *_ in KINDS:
            own = tallies.get((account.pk, kind, currency), _Tally())
            section[kind] = own.totals(currency)
            ageing[kind] = own.ageing(currency)
        section["ageing"] = ageing
        sections.append(section)
        items = sorted(
            largest.get(account.pk, []),
            key=lambda item: (-abs(item["amount"]), item["date"], item["kind"], item["id"]),
        )[:LARGEST_OPEN]
        section["largest_open"] = [
            {**item, "amount": money_text(item["amount"], item["currency"])} for item in items
        ]
    by_id = {section["id"]: section for section in sections}
    for (account_id, kind, row_currency), tally in tallies.items():
        total_of(row_currency)[kind].merge(tally)
        owner = by_id.get(account_id)  # None: an account opened while the figures were read
        if owner is not None and row_currency != owner["currency"]:
            owner["other_currencies"][kind] += sum(s["count"] for s in tally.states.values())

    return {
        "day": day.isoformat(),
        "time_zone": str(zone),
        "as_of": end.isoformat(),
        "generated_at": (now or timezone.now()).astimezone(UTC).isoformat(),
        "service": {"id": service.pk, "key": service.key, "name": service.name},
        "buckets": [
            {"key": key, "label": label, "from_days": low, "to_days": high}
            for key, label, low, high in BUCKETS
        ],
        "accounts": sections,
        "totals": [
            {
                "currency": currency,
                "accounts": total["accounts"],
                "cash": {
                    "balance": money_text(total["cash"], currency),
                    "accounts_with_statement": total["with_statement"],
                },
                "lines": total["lines"].totals(currency),
                "entries": total["entries"].totals(currency),
                "ageing": {
                    "lines": total["lines"].ageing(currency),
                    "entries": total["entries"].ageing(currency),
                },
            }
            for currency, total in sorted(totals.items())
        ],
    }
