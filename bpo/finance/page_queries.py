"""Reads the finance pages need beyond bpo.finance.queries, scoped the same way: the clients
whose finance the actor may see, their accounts with the overview's figures in one query, the
calendar's due dates around today, recent reports, the open entries offered to match a line,
and the matches a line is part of."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Abs, Coalesce, RowNumber

from bpo.accounts.roles import Permission
from bpo.contracts.models import ProcessType, Service, ServiceTerms, VersionStatus
from bpo.finance import queries
from bpo.finance.models import (
    BankAccount,
    ColumnMapping,
    DailyReport,
    LedgerEntry,
    Match,
    MatchStatus,
    Obligation,
    Occurrence,
    OpenLine,
    ReconciliationRun,
    SourceFile,
    Statement,
    StatementLine,
)
from bpo.finance.queries import client_ids_where
from bpo.tenancy.context import Actor
from bpo.tenancy.models import Client
from bpo.work.models import OPEN_STATES

# Text fields of a ledger entry an agent may search when matching a line by hand.
ENTRY_TEXT = ("reference", "document_number", "counterparty_name", "description", "external_id")


def finance_clients(*, actor: Actor) -> list[Client]:
    """The clients whose finance the actor may see that have a reconciliation service or an
    obligation on their close and filing calendar, by name."""
    allowed = client_ids_where(actor)
    with_finance = Service.objects.filter(
        client_id__in=allowed, process_type=ProcessType.RECONCILIATION
    ).values("client_id")
    with_calendar = Obligation.objects.filter(client_id__in=allowed).values("client_id")
    return list(
        Client.objects.filter(pk__in=allowed)
        .filter(Q(pk__in=with_finance) | Q(pk__in=with_calendar))
        .order_by("name", "id")
    )


def reconciliation_services(
    *, actor: Actor, permission: Permission = Permission.VIEW_FINANCE
) -> list[Service]:
    """The reconciliation services of the clients where the actor holds ``permission``."""
    return list(
        queries.services_visible(actor=actor)
        .filter(
            client_id__in=client_ids_where(actor, permission),
            process_type=ProcessType.RECONCILIATION,
        )
        .select_related("client")
    )


def finance_services(
    *, actor: Actor, permission: Permission = Permission.VIEW_FINANCE
) -> list[Service]:
    """The reconciliation and back-office task services where the actor holds ``permission``
    (those an obligation can be set on)."""
    return list(
        queries.services_visible(actor=actor)
        .filter(client_id__in=client_ids_where(actor, permission))
        .select_related("client")
    )


def _count(rows: QuerySet[Any]) -> Subquery:
    return Subquery(
        rows.order_by().values("account_id").annotate(n=Count("pk")).values("n")[:1],
        output_field=IntegerField(),
    )


def account_rows(*, actor: Actor, client_ids: Iterable[int]) -> list[BankAccount]:
    """The bank accounts of these clients with the overview's figures, in one query: the
    latest closing balance and its date, the lines and how many are open (and their total),
    matches awaiting a decision, statements with a gap before them."""
    allowed = set(client_ids_where(actor)) & set(client_ids)
    latest = Statement.objects.filter(account=OuterRef("pk")).order_by("-end_date", "-id")
    lines = StatementLine.objects.filter(account=OuterRef("pk"))
    open_lines = lines.filter(match__isnull=True)
    matches = Match.objects.filter(account=OuterRef("pk"))
    gaps = Statement.objects.filter(account=OuterRef("pk")).filter(
        ~Q(balance_gap=0) & Q(balance_gap__isnull=False) | ~Q(missing_days=[])
    )
    money: Any = DecimalField(max_digits=18, decimal_places=4)
    return list(
        BankAccount.objects.filter(client_id__in=allowed)
        .select_related("service", "client")
        .annotate(
            balance=Subquery(latest.values("closing_balance")[:1], output_field=money),
            balance_date=Subquery(latest.values("end_date")[:1]),
            line_count=Coalesce(_count(lines), Value(0)),
            open_count=Coalesce(_count(open_lines), Value(0)),
            open_total=Coalesce(
                Subquery(
                    open_lines.order_by()
                    .values("account_id")
                    .annotate(total=Sum("amount"))
                    .values("total")[:1],
                    output_field=money,
                ),
                Value(Decimal(0)),
                output_field=money,
            ),
            pending_count=Coalesce(_count(matches.filter(status=MatchStatus.PENDING)), Value(0)),
            proposed_count=Coalesce(_count(matches.filter(status=MatchStatus.PROPOSED)), Value(0)),
            gap_count=Coalesce(_count(gaps), Value(0)),
        )
        .order_by("client__name", "name", "id")
    )


def calendar_due(
    *, actor: Actor, client_ids: Iterable[int], today: date, days: int = 30
) -> list[Occurrence]:
    """Due dates of the close and filing calendar from today to ``days`` ahead, and earlier
    ones still open (late), soonest first, with their work items."""
    return list(
        queries.occurrences_visible(actor=actor)
        .filter(client_id__in=list(client_ids))
        .filter(
            Q(due_date__gte=today, due_date__lte=today + timedelta(days=days))
            | Q(due_date__lt=today, item__state__in=OPEN_STATES)
        )
        .select_related("obligation__service", "item", "evidence", "report")
    )


def recent_reports(
    *, actor: Actor, client_ids: Iterable[int], per_client: int
) -> list[DailyReport]:
    """The latest ``per_client`` daily reports of each of these clients, newest day first."""
    return list(
        queries.reports_visible(actor=actor)
        .filter(client_id__in=list(client_ids))
        .annotate(
            rank=Window(
                RowNumber(), partition_by=[F("client_id")], order_by=[F("day").desc(), F("id")]
            )
        )
        .filter(rank__lte=per_client)
    )


def reconcile_waiting(*, actor: Actor, account: BankAccount) -> bool:
    """Whether a file was imported since the account's last engine run (the run an import
    starts goes in the background)."""
    actor.require(Permission.VIEW_FINANCE, client_id=account.client_id)
    last_file = SourceFile.objects.filter(account=account, status="imported").aggregate(
        at=Max("uploaded_at")
    )["at"]
    if last_file is None:
        return False
    last_run = ReconciliationRun.objects.filter(account=account).aggregate(at=Max("started_at"))[
        "at"
    ]
    return last_run is None or last_run < last_file


def open_entries_for(
    *,
    actor: Actor,
    line: StatementLine,
    text: str = "",
    amount: Decimal | None = None,
    limit: int = 50,
) -> list[LedgerEntry]:
    """Open ledger entries of the line's account an agent may match it with: those closest in
    amount first, then by date; narrowed by words in their texts and by an amount (either
    sign)."""
    entries = queries.entries_of(actor=actor, account=line.account, state="open")
    for word in text.split()[:5]:
        found = Q()
        for field in ENTRY_TEXT:
            found |= Q(**{f"{field}__icontains": word})
        entries = entries.filter(found)
    if amount is not None:
        entries = entries.filter(Q(amount=amount) | Q(amount=-amount))
    return list(
        entries.annotate(distance=Abs(F("amount") - Value(line.amount))).order_by(
            "distance", "entry_date", "id"
        )[:limit]
    )


def rows_of(
    *, actor: Actor, account: BankAccount, line_ids: Iterable[int], entry_ids: Iterable[int]
) -> tuple[dict[int, StatementLine], dict[int, LedgerEntry]]:
    """Lines and entries of an account by id (the rows of candidate matches)."""
    actor.require(Permission.VIEW_FINANCE, client_id=account.client_id)
    lines = StatementLine.objects.filter(account=account, pk__in=list(line_ids))
    entries = LedgerEntry.objects.filter(account=account, pk__in=list(entry_ids))
    return {x.pk: x for x in lines}, {x.pk: x for x in entries}


def matches_of_line(*, actor: Actor, line: StatementLine) -> list[Match]:
    """The proposals and matches awaiting approval a line is part of, and its accepted match."""
    actor.require(Permission.VIEW_FINANCE, client_id=line.client_id)
    matches = Match.objects.filter(account_id=line.account_id).filter(
        Q(status__in=[MatchStatus.PROPOSED, MatchStatus.PENDING], proposed_lines=line)
        | Q(pk=line.match_id or 0)
    )
    return list(
        matches.distinct()
        .select_related("rule", "made_by", "decided_by")
        .prefetch_related("lines", "entries", "proposed_lines", "proposed_entries")
        .order_by("-made_at", "-id")
    )


def open_item_of_line(*, actor: Actor, line: StatementLine) -> OpenLine | None:
    """The work item an open bank line became, if any."""
    actor.require(Permission.VIEW_FINANCE, client_id=line.client_id)
    return OpenLine.objects.select_related("item").filter(line=line).first()


def obligations_of(*, actor: Actor, client_id: int | None) -> list[Obligation]:
    """The calendar's obligations with the count of their due dates still open, and the time zone
    of the calendar their due time is on (``time_zone``; blank while the service has no agreed
    terms)."""
    obligations: list[Obligation] = list(
        queries.obligations_visible(actor=actor, client_id=client_id)
        .select_related("service__client")
        .annotate(
            open_count=Count("occurrences", filter=Q(occurrences__item__state__in=OPEN_STATES))
        )
    )
    zones = dict(
        ServiceTerms.objects.filter(
            service_id__in={o.service_id for o in obligations},
            version__status=VersionStatus.ACTIVE,
        ).values_list("service_id", "calendar__time_zone")
    )
    for obligation in obligations:
        obligation.time_zone = zones.get(obligation.service_id, "")  # type: ignore[attr-defined]
    return obligations


def accounts_of_service(*, actor: Actor, service: Service) -> list[BankAccount]:
    """The bank accounts of one reconciliation service."""
    return list(
        BankAccount.objects.filter(client_id__in=client_ids_where(actor), service=service).order_by(
            "name", "id"
        )
    )


def mappings_of(
    *, actor: Actor, permission: Permission = Permission.VIEW_FINANCE
) -> list[ColumnMapping]:
    """Saved column mappings of the clients where the actor holds ``permission``, with their
    client."""
    return list(
        queries.mappings_visible(actor=actor)
        .filter(client_id__in=client_ids_where(actor, permission))
        .select_related("client")
        .order_by("client__name", "kind", "name")
    )


def other_open_lines(*, actor: Actor, line: StatementLine, limit: int = 30) -> list[StatementLine]:
    """Other open lines of the line's account within a month of it, none awaiting approval:
    those an agent may match together with it against one entry (an invoice paid in parts,
    fees the ledger books as one)."""
    actor.require(Permission.VIEW_FINANCE, client_id=line.client_id)
    held = Match.objects.filter(status=MatchStatus.PENDING, account_id=line.account_id).values(
        "proposed_lines"
    )
    return list(
        StatementLine.objects.filter(
            account_id=line.account_id,
            match__isnull=True,
            booking_date__gte=line.booking_date - timedelta(days=31),
            booking_date__lte=line.booking_date + timedelta(days=31),
        )
        .exclude(pk=line.pk)
        .exclude(pk__in=held)
        .order_by("booking_date", "id")[:limit]
    )
