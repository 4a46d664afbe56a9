"""Reads of the finance back office, scoped to what the actor may see: the provider's people of
the clients they serve, and the client's own people, see a client's accounts, statements,
ledger, reconciliation and daily reports; set-up details go with them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.files import File
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from bpo.accounts.roles import Permission
from bpo.apitypes import money
from bpo.audit.log import record
from bpo.contracts.models import ProcessType, Service
from bpo.finance import engine, reconcile
from bpo.finance.actions import file_path
from bpo.finance.models import (
    BankAccount,
    ColumnMapping,
    DailyReport,
    LedgerEntry,
    Match,
    MatchRule,
    MatchStatus,
    Obligation,
    Occurrence,
    OpenLine,
    ReconciliationPolicy,
    ReconciliationRun,
    SourceFile,
    Statement,
    StatementLine,
)
from bpo.tenancy.context import Actor
from bpo.work.models import WorkItem


def client_ids_where(actor: Actor, permission: Permission = Permission.VIEW_FINANCE) -> list[int]:
    """The clients where the actor may do ``permission`` (by default: see their finance)."""
    return [c for c in actor.client_ids if actor.can(permission, client_id=c)]


def _get(queryset: QuerySet[Any], pk: int, what: str) -> Any:
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise Http404(f"No {what} {pk}.")
    return found


def services_visible(*, actor: Actor, client_id: int | None = None) -> QuerySet[Service]:
    """The reconciliation and back-office task services the actor may see finance of."""
    services = Service.objects.filter(
        client_id__in=client_ids_where(actor),
        process_type__in=[ProcessType.RECONCILIATION, ProcessType.TASK],
    ).select_related("contract")
    if client_id is not None:
        services = services.filter(client_id=client_id)
    return services.order_by("client__name", "name")


def service_get(*, actor: Actor, service_id: int) -> Service:
    """One service of those, or 404."""
    return _get(services_visible(actor=actor), service_id, "finance service")


def accounts_visible(*, actor: Actor, client_id: int | None = None) -> QuerySet[BankAccount]:
    """Bank accounts the actor may see, with the figures of the overview."""
    # Correlated subqueries, not a join over every line of every account: the open lines are
    # counted on the line_open index, so the cost follows what is open, not the account's age.
    open_lines = (
        StatementLine.objects.filter(
            client_id=OuterRef("client_id"), account=OuterRef("pk"), match__isnull=True
        )
        .order_by()
        .values("account")
        .annotate(n=Count("*"))
        .values("n")
    )
    last_statement = (
        Statement.objects.filter(client_id=OuterRef("client_id"), account=OuterRef("pk"))
        .order_by("-end_date")
        .values("end_date")
    )
    accounts = (
        BankAccount.objects.filter(client_id__in=client_ids_where(actor))
        .select_related("service", "statement_mapping", "ledger_mapping")
        .annotate(
            last_statement=Subquery(last_statement[:1]),
            open_lines=Coalesce(Subquery(open_lines), Value(0)),
        )
    )
    if client_id is not None:
        accounts = accounts.filter(client_id=client_id)
    return accounts.order_by("client__name", "name")


def account_get(*, actor: Actor, account_id: int) -> BankAccount:
    """One bank account the actor may see, or 404."""
    return _get(accounts_visible(actor=actor), account_id, "bank account")


@dataclass(frozen=True)
class AccountStanding:
    """Where an account stands: balance, what is open on each side, what awaits a decision."""

    balance: Decimal | None
    balance_date: date | None
    lines: int
    lines_open: int
    lines_open_total: Decimal
    entries: int
    entries_open: int
    entries_open_total: Decimal
    proposed: int
    pending: int
    gaps: int


def standing(*, actor: Actor, account: BankAccount) -> AccountStanding:
    """The account's figures for its page (a handful of aggregate queries)."""
    actor.require(Permission.VIEW_FINANCE, client_id=account.client_id)
    last = Statement.objects.filter(account=account).order_by("-end_date", "-id").first()
    lines = StatementLine.objects.filter(account=account).aggregate(
        n=Count("id"),
        open=Count("id", filter=Q(match__isnull=True)),
        open_total=Sum("amount", filter=Q(match__isnull=True)),
    )
    entries = LedgerEntry.objects.filter(account=account).aggregate(
        n=Count("id"),
        open=Count("id", filter=Q(match__isnull=True)),
        open_total=Sum("amount", filter=Q(match__isnull=True)),
    )
    matches = Match.objects.filter(account=account).aggregate(
        proposed=Count("id", filter=Q(status=MatchStatus.PROPOSED)),
        pending=Count("id", filter=Q(status=MatchStatus.PENDING)),
    )
    gaps = (
        Statement.objects.filter(account=account)
        .filter(~Q(balance_gap=0) & Q(balance_gap__isnull=False) | ~Q(missing_days=[]))
        .count()
    )
    return AccountStanding(
        balance=last.closing_balance if last else None,
        balance_date=last.end_date if last else None,
        lines=lines["n"],
        lines_open=lines["open"],
        lines_open_total=lines["open_total"] or Decimal(0),
        entries=entries["n"],
        entries_open=entries["open"],
        entries_open_total=entries["open_total"] or Decimal(0),
        proposed=matches["proposed"],
        pending=matches["pending"],
        gaps=gaps,
    )


def mappings_visible(
    *, actor: Actor, client_id: int | None = None, kind: str = ""
) -> QuerySet[ColumnMapping]:
    """Saved column mappings the actor may see."""
    mappings = ColumnMapping.objects.filter(client_id__in=client_ids_where(actor))
    if client_id is not None:
        mappings = mappings.filter(client_id=client_id)
    if kind:
        mappings = mappings.filter(kind=kind)
    return mappings


def mapping_get(*, actor: Actor, mapping_id: int) -> ColumnMapping:
    """One mapping, or 404."""
    return _get(mappings_visible(actor=actor), mapping_id, "column mapping")


def files_of(*, actor: Actor, account: BankAccount) -> QuerySet[SourceFile]:
    """The statement and ledger files of an account, newest first."""
    actor.require(Permission.VIEW_FINANCE, client_id=account.client_id)
    return SourceFile.objects.filter(account=account).select_related("uploaded_by")


def file_get(*, actor: Actor, file_id: int) -> SourceFile:
    """One uploaded file, or 404."""
    files = SourceFile.objects.filter(client_id__in=client_ids_where(actor))
    return _get(files.select_related("account", "uploaded_by"), file_id, "file")


def statements_of(*, actor: Actor, account: BankAccount) -> QuerySet[Statement]:
    """An account's statements, newest first, with their line counts."""
    actor.require(Permission.VIEW_FINANCE, client_id=account.client_id)
    return (
        Statement.objects.filter(account=account)
        .select_related("file")
        .annotate(line_count=Count("lines"))
        .order_by("-end_date", "-id")
    )


def lines_of(
    *,
    actor: Actor,
    account: BankAccount,
    state: str = "",
    statement: Statement | None = None,
) -> QuerySet[StatementLine]:
    """An account's bank lines (``state`` 'open' or 'matched' narrows them); reading them is
    a view of the counterparties' data, so it is recorded."""
    actor.require(Permission.VIEW_FINANCE, client_id=account.client_id)
    lines = StatementLine.objects.filter(account=account).select_related("match")
    if statement is not None:
        lines = lines.filter(statement=statement)
    if state == "open":
        lines = lines.filter(match__isnull=True)
    elif state == "matched":
        lines = lines.filter(match__isnull=False)
    record(
        "finance.lines_viewed",
        obj=statement or account,
        after={"state": state or "all"},
    )
    return lines.order_by("booking_date", "id")


def entries_of(*, actor: Actor, account: BankAccount, state: str = "") -> QuerySet[LedgerEntry]:
    """An account's ledger entries (``state`` 'open' or 'matched' narrows them)."""
    actor.require(Permission.VIEW_FINANCE, client_id=account.client_id)
    entries = LedgerEntry.objects.filter(account=account).select_related("match")
    if state == "open":
        entries = entries.filter(match__isnull=True)
    elif state == "matched":
        entries = entries.filter(match__isnull=False)
    record("finance.entries_viewed", obj=account, after={"state": state or "all"})
    return entries.order_by("entry_date", "id")


def line_get(*, actor: Actor, line_id: int) -> StatementLine:
    """One bank line, or 404."""
    lines = StatementLine.objects.filter(client_id__in=client_ids_where(actor))
    return _get(lines.select_related("account", "statement", "match"), line_id, "bank line")


def matches_of(*, actor: Actor, account: BankAccount, status: str = "") -> QuerySet[Match]:
    """An account's matches with their rows (lists page them oldest first, by id)."""
    actor.require(Permission.VIEW_FINANCE, client_id=account.client_id)
    matches = Match.objects.filter(account=account)
    if status:
        matches = matches.filter(status=status)
    return matches.select_related("rule", "made_by", "decided_by").prefetch_related(
        "lines", "entries", "proposed_lines", "proposed_entries"
    )


def match_get(*, actor: Actor, match_id: int) -> Match:
    """One match, or 404."""
    matches = Match.objects.filter(client_id__in=client_ids_where(actor)).select_related(
        "account", "rule", "made_by", "decided_by"
    )
    return _get(matches, match_id, "match")


def open_line_of(*, actor: Actor, item: WorkItem) -> OpenLine | None:
    """The bank line a reconciliation work item is about, if it is one."""
    actor.require(Permission.VIEW_FINANCE, client_id=item.client_id)
    return (
        OpenLine.objects.select_related("line__account__service", "line__match")
        .filter(item_id=item.pk)
        .first()
    )


def runs_of(*, actor: Actor, account: BankAccount) -> QuerySet[ReconciliationRun]:
    """The account's engine runs, newest first."""
    actor.require(Permission.VIEW_FINANCE, client_id=account.client_id)
    return ReconciliationRun.objects.filter(account=account).select_related("started_by")


def rules_of(*, actor: Actor, service: Service) -> QuerySet[MatchRule]:
    """A reconciliation service's matching rules."""
    actor.require(Permission.VIEW_FINANCE, client_id=service.client_id)
    return MatchRule.objects.filter(service=service).select_related("created_by")


def rule_get(*, actor: Actor, rule_id: int) -> MatchRule:
    """One rule, or 404."""
    rules = MatchRule.objects.filter(client_id__in=client_ids_where(actor)).select_related(
        "service"
    )
    return _get(rules, rule_id, "rule")


def policy_of(service: Service) -> ReconciliationPolicy:
    """The service's reconciliation policy, or the defaults when none was set."""
    saved = ReconciliationPolicy.objects.filter(service=service).first()
    if saved is not None:
        return saved
    policy = ReconciliationPolicy(client_id=service.client_id, service=service)
    policy.auto_accept_percent = Decimal(policy.auto_accept_percent)  # the default is an int
    return policy


def obligations_visible(
    *, actor: Actor, client_id: int | None = None, service: Service | None = None
) -> QuerySet[Obligation]:
    """The close and filing calendar's obligations the actor may see."""
    obligations = Obligation.objects.filter(client_id__in=client_ids_where(actor)).select_related(
        "service"
    )
    if client_id is not None:
        obligations = obligations.filter(client_id=client_id)
    if service is not None:
        obligations = obligations.filter(service=service)
    return obligations.order_by("client__name", "service__name", "name")


def obligation_get(*, actor: Actor, obligation_id: int) -> Obligation:
    """One obligation, or 404."""
    return _get(obligations_visible(actor=actor), obligation_id, "obligation")


def occurrences_visible(
    *,
    actor: Actor,
    client_id: int | None = None,
    obligation: Obligation | None = None,
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[Occurrence]:
    """Due dates with their work items (state, SLA) and evidence, soonest first."""
    occurrences = Occurrence.objects.filter(client_id__in=client_ids_where(actor)).select_related(
        "obligation__service", "item", "evidence"
    )
    if client_id is not None:
        occurrences = occurrences.filter(client_id=client_id)
    if obligation is not None:
        occurrences = occurrences.filter(obligation=obligation)
    if since is not None:
        occurrences = occurrences.filter(due_date__gte=since)
    if until is not None:
        occurrences = occurrences.filter(due_date__lte=until)
    return occurrences.order_by("due_at", "id")


def occurrence_get(*, actor: Actor, occurrence_id: int) -> Occurrence:
    """One due date, or 404."""
    return _get(occurrences_visible(actor=actor), occurrence_id, "due date")


def occurrence_of_item(*, actor: Actor, item: WorkItem) -> Occurrence | None:
    """The due date a work item meets, if it is one of the calendar's."""
    actor.require(Permission.VIEW_FINANCE, client_id=item.client_id)
    return (
        Occurrence.objects.select_related("obligation", "evidence").filter(item_id=item.pk).first()
    )


def reports_visible(
    *, actor: Actor, client_id: int | None = None, service: Service | None = None
) -> QuerySet[DailyReport]:
    """Daily financial reports, newest day first, with the deliverable they met."""
    reports = DailyReport.objects.filter(client_id__in=client_ids_where(actor)).select_related(
        "service", "occurrence__item"
    )
    if client_id is not None:
        reports = reports.filter(client_id=client_id)
    if service is not None:
        reports = reports.filter(service=service)
    return reports.order_by("-day", "service__name")


def report_get(*, actor: Actor, report_id: int) -> DailyReport:
    """One daily report, or 404."""
    return _get(reports_visible(actor=actor), report_id, "daily report")


def report_file(*, actor: Actor, report: DailyReport, fmt: str) -> tuple[str, File]:
    """A daily report's PDF or CSV, its download recorded."""
    if fmt not in ("pdf", "csv"):
        raise Http404("A report is a pdf or a csv.")
    name = report.pdf_name if fmt == "pdf" else report.csv_name
    record("finance.report_downloaded", obj=report, after={"format": fmt})
    filename = f"daily-report-{report.service.key}-{report.day:%Y-%m-%d}.{fmt}"
    return filename, File(file_path(name).open("rb"))


def line_candidates(*, actor: Actor, line: StatementLine, limit: int = 5) -> list[dict[str, Any]]:
    """The best ways to settle an open bank line, best first, each with its confidence and
    reasons: what the engine would weigh, shown to the agent who decides."""
    actor.require(Permission.VIEW_FINANCE, client_id=line.client_id)
    if line.match_id is not None:
        return []
    span = timedelta(days=engine.CANDIDATE_DAYS)
    nearby = LedgerEntry.objects.filter(
        account_id=line.account_id,
        match__isnull=True,
        entry_date__gte=line.booking_date - span,
        entry_date__lte=line.booking_date + span,
    )
    service_id = line.account.service_id
    proposals = engine.candidates(
        reconcile.engine_line(line),
        reconcile.engine_entries(nearby),
        reconcile.rules_of(service_id),
        reconcile.policy_of(service_id),
        limit=limit,
    )
    return [
        {
            "line_ids": list(p.line_ids),
            "entry_ids": list(p.entry_ids),
            "confidence": f"{p.confidence:.2f}",
            "reasons": list(p.reasons),
            "shape": p.shape,
            "difference": money(reconcile.from_minor(p.difference_minor), line.currency),
        }
        for p in proposals
    ]
