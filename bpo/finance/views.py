"""Web UI of finance: the back office of a client's bank accounts, ledger and close calendar.

*Finance* (``/finance/``) shows, per client the actor may see (the provider's people: the
clients they serve; the client's people: their own company, its window on the process), the
bank accounts with their balance, what is open and what awaits approval, the due dates of the
close and filing calendar with their state and service level, the latest daily reports, and a
chart. An account's page takes statement and ledger files (the import's warnings and errors
shown), lists its files, statements, open lines and entries, the engine's proposals, the
matches awaiting a second agent, the accepted ones, and its engine runs. A line's page offers
its candidates and a search of the open entries to match it by hand; a match made by one agent
is approved by another (four eyes). Managers set up accounts, column mappings (read from a
sample file), matching rules and the policy, and the calendar's obligations; filings take
their confirmation document and reference. Daily reports open to their figures, PDF and CSV.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import BaseForm
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from bpo.accounts.forms import add_validation_errors
from bpo.accounts.roles import Permission
from bpo.calendars.forms import ClientFilterForm
from bpo.contracts.models import ProcessType, Service
from bpo.finance import actions, page_queries, parsers, queries, schedule
from bpo.finance.forms import (
    RECURRENCE_EXAMPLES,
    AccountForm,
    EntrySearchForm,
    EvidenceForm,
    LedgerUploadForm,
    MappingForm,
    MatchForm,
    ObligationForm,
    PolicyForm,
    ReasonForm,
    ReportMakeForm,
    RetryForm,
    RuleForm,
    StatementUploadForm,
)
from bpo.finance.models import (
    BankAccount,
    ColumnMapping,
    DailyReport,
    FileKind,
    Match,
    MatchStatus,
    Obligation,
    Occurrence,
    StatementLine,
)
from bpo.paging import keyset_page
from bpo.tenancy.context import Actor, request_actor
from bpo.tenancy.models import Client
from bpo.web.formatting import browser_locale
from bpo.web.params import int_or_none, query_without
from bpo.work.models import OPEN_STATES, State, WorkItem
from bpo.work.presentation import Due, due, state_label

PAGE_SIZE = 50
RECENT_RUNS = 5
LATEST_REPORTS = 5
CHART_REPORTS = 30
UPCOMING_DAYS = 30
PLANNED_DATES = 8
CANDIDATES_ON_ITEM = 3
TABS = (
    ("lines", "Open lines"),
    ("entries", "Open entries"),
    ("proposals", "Proposals"),
    ("pending", "Awaiting approval"),
    ("accepted", "Accepted"),
    ("statements", "Statements"),
    ("files", "Files"),
    ("runs", "Runs"),
)
TAB_OF_STATUS = {
    MatchStatus.PROPOSED: "proposals",
    MatchStatus.PENDING: "pending",
    MatchStatus.ACCEPTED: "accepted",
}
STATUS_OF_TAB = {tab: status for status, tab in TAB_OF_STATUS.items()}
T = TypeVar("T")


def _next_url(request: HttpRequest, default: str) -> str:
    """Where to go after a step: the page it was taken on, if it is one of ours."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _account_url(account_id: int, tab: str = "") -> str:
    url = reverse("finance:account", kwargs={"account_id": account_id})
    return f"{url}?tab={tab}" if tab else url


def _attempt(
    request: HttpRequest, do: Callable[[], T], done: Callable[[T], str] | None = None
) -> T | None:
    """Take a step without a form: its result, said to be done (``done`` of it); or None,
    with the reason it was refused said instead."""
    try:
        result = do()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return None
    if done is not None:
        messages.success(request, done(result))
    return result


def _submitted(form: BaseForm, do: Callable[[dict[str, Any]], T]) -> T | None:
    """The result of the action a valid form asks for; or None, with the form's errors or the
    action's refusal next to the fields they concern (an unbound form, a GET's, asks for none)."""
    if not form.is_valid():
        return None
    try:
        return do(form.cleaned_data)
    except ValidationError as exc:
        add_validation_errors(form, exc)
        return None


def _client_filter(request: HttpRequest, actor: Actor) -> tuple[list[Client], dict[str, Any]]:
    """The clients whose finance the actor sees, and what a list page needs to narrow itself to
    one of them (``client_id`` None: all)."""
    clients = page_queries.finance_clients(actor=actor)
    form = ClientFilterForm(request.GET or None, clients=[(c.pk, c.name) for c in clients])
    return clients, {
        "filter_form": form,
        "client_id": form.client_id(),
        "show_client_filter": len(clients) > 1,
    }


# --- Presentation helpers ------------------------------------------------------------------


@dataclass(frozen=True)
class DueRow:
    """A due date of the calendar as the pages show it: its item's state and how it stands
    against its deadline (met on time, late, or due in / overdue by)."""

    occurrence: Occurrence
    state: str
    state_label: str
    standing: str  # on_time, late, open, cancelled
    due: Due | None
    needs_evidence: bool
    has_evidence: bool


def due_row(occurrence: Occurrence, now: datetime) -> DueRow:
    """How one due date stands now."""
    item = occurrence.item
    if item.state in OPEN_STATES:
        standing, when = "open", due(occurrence.due_at, now)
    elif item.state == State.CANCELLED:
        standing, when = "cancelled", None
    else:
        met = item.resolved_at is not None and item.resolved_at <= occurrence.due_at
        standing, when = ("on_time" if met else "late"), None
    return DueRow(
        occurrence=occurrence,
        state=item.state,
        state_label=state_label(item.state),
        standing=standing,
        due=when,
        needs_evidence=occurrence.obligation.needs_evidence,
        has_evidence=bool(occurrence.evidence_id and occurrence.evidence_reference),
    )


def report_on_time(report: DailyReport) -> bool | None:
    """Whether a report met its deliverable's deadline (None: it was not a deliverable)."""
    if report.occurrence_id is None or report.occurrence is None:
        return None
    return report.generated_at <= report.occurrence.due_at


@dataclass(frozen=True)
class MatchRow:
    """A match with the rows it settles (accepted) or proposes (otherwise)."""

    match: Match
    lines: list[Any]
    entries: list[Any]
    lines_total: Decimal
    entries_total: Decimal
    reasons: list[str]
    made_by: str
    decided_by: str


def _person(user: Any, named: bool) -> str:
    if user is None:
        return ""
    return str(user.full_name or user.email) if named else "an agent"


def match_row(match: Match, *, named: bool) -> MatchRow:
    """A match as the pages show it; the provider's agents are named to the provider's staff
    only (the client reads "an agent", as billing does)."""
    accepted = match.status == MatchStatus.ACCEPTED
    lines = list(match.lines.all() if accepted else match.proposed_lines.all())
    entries = list(match.entries.all() if accepted else match.proposed_entries.all())
    reasons = [str(r) for r in match.reasons or []]
    if not named:
        reasons = [r for r in reasons if not r.startswith("matched by ")]
    return MatchRow(
        match=match,
        lines=lines,
        entries=entries,
        lines_total=sum((x.amount for x in lines), Decimal(0)),
        entries_total=sum((x.amount for x in entries), Decimal(0)),
        reasons=reasons,
        made_by=_person(match.made_by, named),
        decided_by=_person(match.decided_by, named),
    )


def names_agents(actor: Actor, client_id: int) -> bool:
    """Whether the actor reads the names of the provider's agents (its own staff do)."""
    return actor.can(Permission.VIEW_AGENTS, client_id=client_id)


@dataclass(frozen=True)
class CandidateRow:
    """A candidate match of a line: its rows, how sure, and why."""

    line_ids: list[int]
    entry_ids: list[int]
    lines: list[Any]
    entries: list[Any]
    confidence: Decimal
    reasons: list[str]
    shape: str
    difference: Decimal  # lines minus entries: a candidate that is not 0 cannot be matched


def candidate_rows(
    actor: Actor, line: StatementLine, limit: int | None = None
) -> list[CandidateRow]:
    """The engine's candidates for an open line, with their lines and entries."""
    if line.match_id is not None:
        return []
    found = queries.line_candidates(actor=actor, line=line)[:limit]
    lines, entries = page_queries.rows_of(
        actor=actor,
        account=line.account,
        line_ids={i for c in found for i in c["line_ids"]},
        entry_ids={i for c in found for i in c["entry_ids"]},
    )
    return [
        CandidateRow(
            line_ids=c["line_ids"],
            entry_ids=c["entry_ids"],
            lines=[lines[i] for i in c["line_ids"] if i in lines],
            entries=[entries[i] for i in c["entry_ids"] if i in entries],
            confidence=Decimal(c["confidence"]),
            reasons=c["reasons"],
            shape=c["shape"],
            difference=Decimal(c["difference"]),
        )
        for c in found
    ]


def item_panel(actor: Actor, item: WorkItem) -> dict[str, Any] | None:
    """What the work item page shows of finance: the bank line an open-line item is about
    (with its best candidates), or the obligation and evidence of a due date's item."""
    if not actor.can(Permission.VIEW_FINANCE, client_id=item.client_id):
        return None
    if item.service.process_type not in (ProcessType.RECONCILIATION, ProcessType.TASK):
        return None
    can_handle = actor.can(Permission.HANDLE_WORK, client_id=item.client_id)
    if item.service.process_type == ProcessType.RECONCILIATION:
        open_line = queries.open_line_of(actor=actor, item=item)
        if open_line is not None:
            line = open_line.line
            named = names_agents(actor, item.client_id)
            return {
                "kind": "line",
                "line": line,
                "candidates": candidate_rows(actor, line, limit=CANDIDATES_ON_ITEM),
                "matches": [
                    match_row(m, named=named)
                    for m in page_queries.matches_of_line(actor=actor, line=line)
                ],
                "can_handle": can_handle,
            }
    occurrence = queries.occurrence_of_item(actor=actor, item=item)
    if occurrence is None:
        return None
    occurrence.item = item
    return {
        "kind": "occurrence",
        "row": due_row(occurrence, timezone.now()),
        "occurrence": occurrence,
        "obligation": occurrence.obligation,
        "can_handle": can_handle,
        "evidence_form": EvidenceForm(initial={"reference": occurrence.evidence_reference}),
    }


# --- Overview --------------------------------------------------------------------------------


@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """Per client: accounts and their standing, the calendar's next due dates, the latest daily
    reports and a chart; links to set-up for managers."""
    actor = request_actor(request)
    actor.require(Permission.VIEW_FINANCE)
    clients, filters = _client_filter(request, actor)
    client_id = filters["client_id"]
    shown = [c for c in clients if client_id is None or c.pk == client_id]
    ids = [c.pk for c in shown]
    now = timezone.now()
    today = timezone.localdate()
    accounts: dict[int, list[Any]] = defaultdict(list)
    for account in page_queries.account_rows(actor=actor, client_ids=ids):
        accounts[account.client_id].append(account)
    dues: dict[int, list[DueRow]] = defaultdict(list)
    for occurrence in page_queries.calendar_due(
        actor=actor, client_ids=ids, today=today, days=UPCOMING_DAYS
    ):
        dues[occurrence.client_id].append(due_row(occurrence, now))
    reports: dict[int, list[DailyReport]] = defaultdict(list)
    for report in page_queries.recent_reports(
        actor=actor, client_ids=ids, per_client=CHART_REPORTS
    ):
        reports[report.client_id].append(report)
    sections = [
        {
            "client": client,
            "accounts": accounts[client.pk],
            "dues": dues[client.pk],
            "reports": [
                {"report": r, "on_time": report_on_time(r)}
                for r in reports[client.pk][:LATEST_REPORTS]
            ],
            "chart": _overview_chart(accounts[client.pk], reports[client.pk]),
            "chart_id": f"finance-chart-{client.pk}",
        }
        for client in shown
    ]
    return render(
        request,
        "finance/overview.html",
        {
            "sections": sections,
            **filters,
            "can_manage": actor.can(Permission.MANAGE_FINANCE),
            "upcoming_days": UPCOMING_DAYS,
        },
    )


def _overview_chart(accounts: list[Any], reports: list[DailyReport]) -> dict[str, Any] | None:
    """The chart of a client's section, read by finance/charts.js: the cash position of each
    account over the last daily reports when there are some, else the reconciled and open
    lines of each account."""
    locale = browser_locale()
    chosen = sorted(reports, key=lambda r: (r.day, r.pk))[-CHART_REPORTS:]
    days = sorted({r.day for r in chosen})
    if len(days) >= 2:
        series: dict[tuple[int, str], dict[str, Any]] = {}
        for report in chosen:
            for account in (report.figures or {}).get("accounts", []):
                cash = account.get("cash") or {}
                key = (account.get("id"), cash.get("currency") or account.get("currency", ""))
                entry = series.setdefault(
                    key, {"label": f"{account.get('name')} ({key[1]})", "values": {}}
                )
                if cash.get("balance") is not None:
                    entry["values"][report.day] = cash["balance"]
        return {
            "kind": "cash",
            "title": f"Cash position over the last {len(days)} daily reports",
            "locale": locale,
            "labels": [f"{d:%Y-%m-%d}" for d in days],
            "datasets": [
                {"label": s["label"], "data": [s["values"].get(d) for d in days]}
                for s in series.values()
            ],
        }
    if not any(a.line_count for a in accounts):
        return None
    return {
        "kind": "lines",
        "title": "Bank lines reconciled and open, per account",
        "locale": locale,
        "labels": [a.name for a in accounts],
        "datasets": [
            {"label": "Reconciled", "data": [a.line_count - a.open_count for a in accounts]},
            {"label": "Open", "data": [a.open_count for a in accounts]},
        ],
    }


# --- An account ------------------------------------------------------------------------------


@login_required
@require_GET
def account_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    """An account: its standing, file uploads, and its rows and matches a tab at a time."""
    actor = request_actor(request)
    actor.require(Permission.VIEW_FINANCE)
    account = queries.account_get(actor=actor, account_id=account_id)
    return _render_account(request, actor, account)


def _render_account(
    request: HttpRequest,
    actor: Actor,
    account: BankAccount,
    *,
    tab: str = "",
    bound: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    tabs = dict(TABS)
    tab = tab or request.GET.get("tab", "")
    tab = tab if tab in tabs else "lines"
    after = int_or_none(request.GET.get("after")) if request.method == "GET" else None
    client_id = account.client_id
    rows: Any
    if tab == "lines":
        rows = queries.lines_of(actor=actor, account=account, state="open")
    elif tab == "entries":
        rows = queries.entries_of(actor=actor, account=account, state="open")
    elif tab in STATUS_OF_TAB:
        rows = queries.matches_of(actor=actor, account=account, status=STATUS_OF_TAB[tab])
    elif tab == "statements":
        rows = queries.statements_of(actor=actor, account=account)
    elif tab == "files":
        rows = queries.files_of(actor=actor, account=account)
    else:
        rows = queries.runs_of(actor=actor, account=account)
    page = keyset_page(rows, after=after, limit=PAGE_SIZE)
    named = names_agents(actor, client_id)
    items: list[Any] = page.items
    if tab in STATUS_OF_TAB:
        items = [match_row(m, named=named) for m in page.items]
    can_import = actor.can(Permission.IMPORT_FINANCE, client_id=client_id)
    forms = {
        "statement_form": StatementUploadForm(prefix="statement"),
        "ledger_form": LedgerUploadForm(prefix="ledger"),
        "reason_form": None,
        "reason_match_id": None,
        **(bound or {}),
    }
    return render(
        request,
        "finance/account.html",
        {
            "account": account,
            "standing": queries.standing(actor=actor, account=account),
            "tab": tab,
            "tabs": TABS,
            "page": page,
            "items": items,
            "first_page": after is None,
            "next": _account_url(account.pk, tab),
            "runs": list(queries.runs_of(actor=actor, account=account)[:RECENT_RUNS]),
            "reconcile_waiting": page_queries.reconcile_waiting(actor=actor, account=account),
            "can_import": can_import,
            "can_handle": actor.can(Permission.HANDLE_WORK, client_id=client_id),
            "can_manage": actor.can(Permission.MANAGE_FINANCE, client_id=client_id),
            "names_agents": named,
            **forms,
        },
        status=status,
    )


def _imported_messages(request: HttpRequest, imported: actions.Imported, what: str) -> None:
    source = imported.file
    text = f"{source.filename}: {imported.written} {what} imported"
    if imported.skipped:
        text += f", {imported.skipped} skipped (imported before)"
    messages.success(
        request,
        f"{text}. The engine reconciles the account in the background; its results show "
        "here in a moment.",
    )
    for warning in imported.warnings:
        messages.warning(request, warning)


@login_required
@require_POST
def statement_upload(request: HttpRequest, account_id: int) -> HttpResponse:
    """Import a bank statement file into the account."""
    actor = request_actor(request)
    actor.require(Permission.IMPORT_FINANCE)
    account = queries.account_get(actor=actor, account_id=account_id)
    form = StatementUploadForm(request.POST, request.FILES, prefix="statement")
    imported = _submitted(
        form,
        lambda data: actions.statement_import(
            actor=actor,
            account=account,
            upload=data["file"],
            filename=data["file"].name or "",
            format=data["format"] or "",
            opening_balance=data["opening_balance"],
        ),
    )
    if imported is None:
        return _render_account(
            request, actor, account, tab="files", bound={"statement_form": form}, status=400
        )
    _imported_messages(request, imported, "bank lines")
    return redirect(_account_url(account.pk))


@login_required
@require_POST
def ledger_upload(request: HttpRequest, account_id: int) -> HttpResponse:
    """Import the client's ledger (cash book) entries of the account."""
    actor = request_actor(request)
    actor.require(Permission.IMPORT_FINANCE)
    account = queries.account_get(actor=actor, account_id=account_id)
    form = LedgerUploadForm(request.POST, request.FILES, prefix="ledger")
    imported = _submitted(
        form,
        lambda data: actions.ledger_import(
            actor=actor, account=account, upload=data["file"], filename=data["file"].name or ""
        ),
    )
    if imported is None:
        return _render_account(
            request, actor, account, tab="files", bound={"ledger_form": form}, status=400
        )
    _imported_messages(request, imported, "ledger entries")
    return redirect(_account_url(account.pk, "entries"))


@login_required
@require_POST
def file_retry(request: HttpRequest, file_id: int) -> HttpResponse:
    """Import a failed file again (after its mapping was mended)."""
    actor = request_actor(request)
    actor.require(Permission.IMPORT_FINANCE)
    source = queries.file_get(actor=actor, file_id=file_id)
    ledger = source.kind == FileKind.LEDGER
    form = RetryForm(request.POST)

    def again() -> actions.Imported:
        if ledger:
            return actions.ledger_file_import(actor=actor, source=source)
        return actions.statement_file_import(
            actor=actor, source=source, opening_balance=form.cleaned_data["opening_balance"]
        )

    if not form.is_valid():
        messages.error(request, "The opening balance is not an amount.")
    elif (imported := _attempt(request, again)) is not None:
        _imported_messages(request, imported, "ledger entries" if ledger else "bank lines")
    return redirect(_account_url(source.account_id, "files"))


@login_required
@require_POST
def reconcile_now(request: HttpRequest, account_id: int) -> HttpResponse:
    """Run the engine over the account's open lines and entries now."""
    actor = request_actor(request)
    actor.require(Permission.HANDLE_WORK)
    account = queries.account_get(actor=actor, account_id=account_id)
    _attempt(
        request,
        lambda: actions.reconciliation_run(actor=actor, account=account),
        lambda run: (
            f"Reconciled {run.lines} open lines against {run.entries} open entries: "
            f"{run.accepted} matched, {run.proposed} proposed for an agent, {run.opened} new "
            "work item(s) for lines left open."
        ),
    )
    return redirect(_next_url(request, _account_url(account.pk)))


# --- A line and its matches ------------------------------------------------------------------


@login_required
@require_GET
def line_detail(request: HttpRequest, line_id: int) -> HttpResponse:
    """A bank line: its candidates, the matches it is part of, and a manual match."""
    actor = request_actor(request)
    actor.require(Permission.VIEW_FINANCE)
    line = queries.line_get(actor=actor, line_id=line_id)
    return _render_line(request, actor, line)


def _render_line(
    request: HttpRequest,
    actor: Actor,
    line: StatementLine,
    *,
    match_form: MatchForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_handle = actor.can(Permission.HANDLE_WORK, client_id=line.client_id)
    named = names_agents(actor, line.client_id)
    matches = [
        match_row(m, named=named) for m in page_queries.matches_of_line(actor=actor, line=line)
    ]
    waiting = next((m for m in matches if m.match.status == MatchStatus.PENDING), None)
    search = EntrySearchForm(request.GET or None)
    entries: list[Any] = []
    other_lines: list[Any] = []
    if can_handle and line.match_id is None and waiting is None:
        entries = page_queries.open_entries_for(actor=actor, line=line, **search.filters())
        other_lines = page_queries.other_open_lines(actor=actor, line=line)
    open_item = page_queries.open_item_of_line(actor=actor, line=line)
    chosen = getattr(match_form, "cleaned_data", {})
    return render(
        request,
        "finance/line.html",
        {
            "line": line,
            "account": line.account,
            "statement": line.statement,
            "matches": matches,
            "waiting": waiting,
            "candidates": candidate_rows(actor, line) if waiting is None else [],
            "search": search,
            "entries": entries,
            "match_form": match_form or MatchForm(),
            "other_lines": other_lines,
            "locale": browser_locale(),
            "chosen": set(chosen.get("entry_ids") or []),
            "chosen_lines": set(chosen.get("line_ids") or []),
            "open_item": open_item,
            "can_handle": can_handle,
            "can_manage": actor.can(Permission.MANAGE_FINANCE, client_id=line.client_id),
        },
        status=status,
    )


@login_required
@require_POST
def line_match(request: HttpRequest, line_id: int) -> HttpResponse:
    """Match the line (and any other lines chosen) with ledger entries by hand; the match
    waits for a second agent's approval."""
    actor = request_actor(request)
    actor.require(Permission.HANDLE_WORK)
    line = queries.line_get(actor=actor, line_id=line_id)
    form = MatchForm(request.POST)

    def make(data: dict[str, Any]) -> Match:
        line_ids = data["line_ids"] or [line.pk]
        if line.pk not in line_ids:
            line_ids = [line.pk, *line_ids]
        return actions.match_make(
            actor=actor,
            account=line.account,
            line_ids=line_ids,
            entry_ids=data["entry_ids"],
            note=data["note"],
        )

    match = _submitted(form, make)
    if match is None:
        return _render_line(request, actor, line, match_form=form, status=400)
    messages.success(
        request, f"Match {match.pk} is made: it awaits another agent's approval (four eyes)."
    )
    return redirect(_next_url(request, reverse("finance:line", args=[line.pk])))


def _match_step(
    request: HttpRequest,
    match_id: int,
    permission: Permission,
    do: Callable[[Actor, Match], Any],
    done: Callable[[Any], str],
) -> HttpResponse:
    """A step on a match without input: done, or the reason it was refused, then back."""
    actor = request_actor(request)
    actor.require(permission)
    match = queries.match_get(actor=actor, match_id=match_id)
    _attempt(request, lambda: do(actor, match), done)
    tab = TAB_OF_STATUS.get(MatchStatus(match.status), "")
    return redirect(_next_url(request, _account_url(match.account_id, tab)))


@login_required
@require_POST
def match_confirm(request: HttpRequest, match_id: int) -> HttpResponse:
    """Take an engine proposal as one's own match (it then awaits another agent)."""
    return _match_step(
        request,
        match_id,
        Permission.HANDLE_WORK,
        lambda actor, match: actions.match_confirm(
            actor=actor, match=match, note=request.POST.get("note", "")[:2000]
        ),
        lambda made: (
            f"Match {made.pk} is made from the proposal: it awaits another agent's approval."
        ),
    )


@login_required
@require_POST
def match_approve(request: HttpRequest, match_id: int) -> HttpResponse:
    """Approve a match another agent made: its rows are reconciled."""
    return _match_step(
        request,
        match_id,
        Permission.HANDLE_WORK,
        lambda actor, match: actions.match_approve(actor=actor, match=match),
        lambda match: f"Match {match.pk} is approved: its lines and entries are reconciled.",
    )


@login_required
@require_POST
def match_learn(request: HttpRequest, match_id: int) -> HttpResponse:
    """Turn a match made by hand into a rule of the service."""
    actor = request_actor(request)
    actor.require(Permission.HANDLE_WORK)
    match = queries.match_get(actor=actor, match_id=match_id)
    rule = _attempt(
        request,
        lambda: actions.match_rule_learn(actor=actor, match=match),
        lambda rule: (
            f"The rule {rule.name!r} is added: the engine matches lines like this one by itself "
            "from its next run."
        ),
    )
    if rule is not None and actor.can(Permission.MANAGE_FINANCE, client_id=match.client_id):
        return redirect("finance:rule_edit", rule_id=rule.pk)
    return redirect(_next_url(request, _account_url(match.account_id, "accepted")))


def _reasoned_step(
    request: HttpRequest,
    match_id: int,
    permission: Permission,
    do: Callable[..., Match],
    done: str,
) -> HttpResponse:
    """Reject or take back a match, saying why; a refusal shows next to the reason."""
    actor = request_actor(request)
    actor.require(permission)
    match = queries.match_get(actor=actor, match_id=match_id)
    tab = TAB_OF_STATUS.get(MatchStatus(match.status), "")
    form = ReasonForm(request.POST)
    decided = _submitted(form, lambda data: do(actor=actor, match=match, reason=data["reason"]))
    if decided is not None:
        messages.success(request, done.format(id=match.pk))
        return redirect(_next_url(request, _account_url(match.account_id, tab)))
    account = queries.account_get(actor=actor, account_id=match.account_id)
    return _render_account(
        request,
        actor,
        account,
        tab=tab,
        bound={"reason_form": form, "reason_match_id": match.pk},
        status=400,
    )


@login_required
@require_POST
def match_reject(request: HttpRequest, match_id: int) -> HttpResponse:
    """Turn down a proposal or a match awaiting approval."""
    return _reasoned_step(
        request,
        match_id,
        Permission.HANDLE_WORK,
        actions.match_reject,
        "Match {id} is rejected: its rows are open again.",
    )


@login_required
@require_POST
def match_undo(request: HttpRequest, match_id: int) -> HttpResponse:
    """Take back an accepted match: its lines and entries are open again."""
    return _reasoned_step(
        request,
        match_id,
        Permission.MANAGE_FINANCE,
        actions.match_undo,
        "Match {id} is taken back: its lines and entries are open again.",
    )


# --- Set-up: accounts ----------------------------------------------------------------------


def _service_choices(services: list[Service]) -> list[tuple[int, str]]:
    return [(s.pk, f"{s.client.name} · {s.name}") for s in services]


def _account_form(actor: Actor, data: Any = None, **kwargs: Any) -> AccountForm:
    services = page_queries.reconciliation_services(
        actor=actor, permission=Permission.MANAGE_FINANCE
    )
    clients = {s.client_id for s in services}
    mappings = [m for m in queries.mappings_visible(actor=actor) if m.client_id in clients]
    names = {s.client_id: s.client.name for s in services}

    def choices(kind: str) -> list[tuple[int, str]]:
        return [(m.pk, f"{names[m.client_id]} · {m.name}") for m in mappings if m.kind == kind]

    return AccountForm(
        data,
        services=_service_choices(services),
        bank_mappings=choices("bank"),
        ledger_mappings=choices("ledger"),
        **kwargs,
    )


@login_required
def account_create(request: HttpRequest) -> HttpResponse:
    """Add a client's bank account to one of its reconciliation services."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_FINANCE)
    form = _account_form(actor, request.POST or None)
    account = _submitted(form, lambda data: _save_account(actor, data, None))
    if account is not None:
        messages.success(request, f"{account.name} is set up: upload its first statement.")
        return redirect("finance:account", account_id=account.pk)
    return _form_page(request, "finance/account_form.html", {"form": form, "account": None})


@login_required
def account_edit(request: HttpRequest, account_id: int) -> HttpResponse:
    """Change a bank account."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_FINANCE)
    account = queries.account_get(actor=actor, account_id=account_id)
    actor.require(Permission.MANAGE_FINANCE, client_id=account.client_id)
    form = _account_form(actor, request.POST or None, initial=AccountForm.initial_from(account))
    saved = _submitted(form, lambda data: _save_account(actor, data, account))
    if saved is not None:
        messages.success(request, f"{saved.name} is saved.")
        return redirect("finance:account", account_id=saved.pk)
    return _form_page(request, "finance/account_form.html", {"form": form, "account": account})


def _save_account(actor: Actor, data: dict[str, Any], account: BankAccount | None) -> BankAccount:
    """Save an account form's account; a service or mapping not in the actor's lists is
    refused (ValidationError), as the action's own refusals are."""
    try:
        service = queries.service_get(actor=actor, service_id=data["service_id"])
        mappings = {
            key: None
            if data[f"{key}_id"] is None
            else queries.mapping_get(actor=actor, mapping_id=data[f"{key}_id"])
            for key in ("statement_mapping", "ledger_mapping")
        }
        return actions.bank_account_save(
            actor=actor,
            service=service,
            account=account,
            name=data["name"],
            currency=data["currency"],
            iban=data["iban"],
            account_number=data["account_number"],
            bic=data["bic"],
            bank_name=data["bank_name"],
            **mappings,
        )
    except Http404:
        raise ValidationError("Choose a service and mappings from the lists.") from None


def _form_page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    form = context["form"]
    return render(request, template, context, status=400 if form.errors else 200)


# --- Set-up: column mappings ---------------------------------------------------------------


@login_required
@require_GET
def mapping_list(request: HttpRequest) -> HttpResponse:
    """The saved column mappings of statement CSVs and ledger exports."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_FINANCE)
    mappings = page_queries.mappings_of(actor=actor, permission=Permission.MANAGE_FINANCE)
    return render(request, "finance/mappings.html", {"mappings": mappings})


def _mapping_clients(actor: Actor) -> list[Client]:
    return [
        c
        for c in page_queries.finance_clients(actor=actor)
        if actor.can(Permission.MANAGE_FINANCE, client_id=c.pk)
    ]


@login_required
def mapping_create(request: HttpRequest) -> HttpResponse:
    """A new mapping: read a sample file's headers, choose the header of each field, save."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_FINANCE)
    return _mapping_page(request, actor, None, _mapping_clients(actor))


@login_required
def mapping_edit(request: HttpRequest, mapping_id: int) -> HttpResponse:
    """Change a mapping (a sample file may be read again to offer its headers)."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_FINANCE)
    mapping = queries.mapping_get(actor=actor, mapping_id=mapping_id)
    actor.require(Permission.MANAGE_FINANCE, client_id=mapping.client_id)
    clients = [c for c in _mapping_clients(actor) if c.pk == mapping.client_id]
    return _mapping_page(request, actor, mapping, clients)


def _mapping_page(
    request: HttpRequest, actor: Actor, mapping: ColumnMapping | None, clients: list[Client]
) -> HttpResponse:
    choices = [(c.pk, c.name) for c in clients]
    if mapping is not None and not choices:
        choices = [(mapping.client_id, "")]
    initial = MappingForm.initial_from(mapping) if mapping else {}
    if mapping is None and request.method == "GET":
        initial["kind"] = request.GET.get("kind", "")
        initial["client"] = int_or_none(request.GET.get("client"))
    form = MappingForm(
        request.POST or None, request.FILES or None, clients=choices, initial=initial
    )

    def save(data: dict[str, Any]) -> ColumnMapping:
        client = next((c for c in clients if c.pk == data["client"]), None)
        if client is None:
            raise ValidationError({"client": "Choose a client from the list."})
        return actions.column_mapping_save(
            actor=actor, client=client, mapping=mapping, **form.mapping_fields()
        )

    samples: list[list[str]] = []
    if request.method == "POST" and "read_sample" in request.POST:
        form, samples = _read_sample(request, form, choices, initial)
    elif request.method == "POST" and (saved := _submitted(form, save)) is not None:
        messages.success(request, f"The mapping {saved.name!r} is saved.")
        return redirect("finance:mappings")
    return _form_page(
        request,
        "finance/mapping_form.html",
        {"form": form, "mapping": mapping, "samples": samples, "headers": form.header_list},
    )


def _read_sample(
    request: HttpRequest, form: MappingForm, clients: list[tuple[int, str]], initial: dict[str, Any]
) -> tuple[MappingForm, list[list[str]]]:
    """Read the headers and first rows of the sample file and propose a mapping from them;
    the form comes back unbound, filled with the proposal (what was typed is kept)."""
    upload = request.FILES.get("sample")
    if upload is None:
        form.is_valid()
        form.add_error("sample", "Choose a CSV or XLSX file to read its headers.")
        return form, []
    kind = request.POST.get("kind", "bank")
    try:
        headers, samples = parsers.read_sample(
            upload.read(), filename=upload.name or "", encoding=request.POST.get("encoding", "")
        )
    except parsers.ParseError as exc:
        form.is_valid()
        form.add_error("sample", f"{upload.name}: {exc}")
        return form, []
    proposal = parsers.propose_mapping(
        headers, kind if kind in ("bank", "ledger") else "bank", samples
    )
    values = {key: request.POST.get(key, "") for key in ("client", "kind", "name", "encoding")}
    fresh = MappingForm(
        clients=clients,
        initial={**initial, **values, **MappingForm.initial_from_proposal(proposal, headers)},
        kind=kind,
    )
    return fresh, samples[:5]


# --- Set-up: rules and policy --------------------------------------------------------------


def _reconciliation_service(
    actor: Actor, service_id: int, permission: Permission = Permission.MANAGE_FINANCE
) -> Service:
    """A reconciliation service the actor has ``permission`` on, or 403/404."""
    actor.require(permission)
    service = queries.service_get(actor=actor, service_id=service_id)
    actor.require(permission, client_id=service.client_id)
    if service.process_type != ProcessType.RECONCILIATION:
        raise Http404("Not a reconciliation service.")
    return service


@login_required
@require_GET
def rules(request: HttpRequest, service_id: int) -> HttpResponse:
    """A reconciliation service's matching rules and policy: read by whoever sees its finance
    (an agent learns why the engine matched), changed by those who manage it."""
    actor = request_actor(request)
    service = _reconciliation_service(actor, service_id, Permission.VIEW_FINANCE)
    return _render_rules(request, actor, service)


def _render_rules(
    request: HttpRequest,
    actor: Actor,
    service: Service,
    policy_form: PolicyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    policy = queries.policy_of(service)
    return render(
        request,
        "finance/rules.html",
        {
            "service": service,
            "rules": list(queries.rules_of(actor=actor, service=service)),
            "policy": policy,
            "policy_form": policy_form or PolicyForm(initial=PolicyForm.initial_from(policy)),
            "accounts": page_queries.accounts_of_service(actor=actor, service=service),
            "can_manage": actor.can(Permission.MANAGE_FINANCE, client_id=service.client_id),
        },
        status=status,
    )


@login_required
@require_POST
def policy_save(request: HttpRequest, service_id: int) -> HttpResponse:
    """Set the date window, group size and auto-accept threshold of a service."""
    actor = request_actor(request)
    service = _reconciliation_service(actor, service_id)
    form = PolicyForm(request.POST)
    saved = _submitted(
        form,
        lambda data: actions.reconciliation_policy_save(actor=actor, service=service, **data),
    )
    if saved is None:
        return _render_rules(request, actor, service, form, status=400)
    messages.success(request, f"The policy of {service.name} is saved.")
    return redirect("finance:rules", service_id=service.pk)


@login_required
def rule_create(request: HttpRequest, service_id: int) -> HttpResponse:
    """Add a matching rule to a reconciliation service."""
    actor = request_actor(request)
    service = _reconciliation_service(actor, service_id)
    form = RuleForm(request.POST or None)
    rule = _submitted(
        form, lambda data: actions.match_rule_save(actor=actor, service=service, **data)
    )
    if rule is not None:
        messages.success(request, f"The rule {rule.name!r} is added.")
        return redirect("finance:rules", service_id=service.pk)
    return _form_page(
        request, "finance/rule_form.html", {"form": form, "service": service, "rule": None}
    )


@login_required
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Change a matching rule."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_FINANCE)
    rule = queries.rule_get(actor=actor, rule_id=rule_id)
    service = _reconciliation_service(actor, rule.service_id)
    form = RuleForm(request.POST or None, initial=RuleForm.initial_from(rule))
    saved = _submitted(
        form, lambda data: actions.match_rule_save(actor=actor, service=service, rule=rule, **data)
    )
    if saved is not None:
        messages.success(request, f"The rule {rule.name!r} is saved.")
        return redirect("finance:rules", service_id=service.pk)
    return _form_page(
        request, "finance/rule_form.html", {"form": form, "service": service, "rule": rule}
    )


@login_required
@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Remove a matching rule (matches it made keep their reasons)."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_FINANCE)
    rule = queries.rule_get(actor=actor, rule_id=rule_id)
    _attempt(
        request,
        lambda: actions.match_rule_delete(actor=actor, rule=rule),
        lambda _: f"The rule {rule.name!r} is removed.",
    )
    return redirect("finance:rules", service_id=rule.service_id)


# --- Close and filing calendar -------------------------------------------------------------


@login_required
@require_GET
def calendar(request: HttpRequest) -> HttpResponse:
    """The obligations of the close and filing calendar and their due dates."""
    actor = request_actor(request)
    actor.require(Permission.VIEW_FINANCE)
    _, filters = _client_filter(request, actor)
    after = int_or_none(request.GET.get("after"))
    since = timezone.localdate() - timedelta(days=31)
    occurrences = queries.occurrences_visible(
        actor=actor, client_id=filters["client_id"], since=since
    )
    page = keyset_page(occurrences, after=after, limit=PAGE_SIZE)
    now = timezone.now()
    return render(
        request,
        "finance/calendar.html",
        {
            "obligations": page_queries.obligations_of(actor=actor, client_id=filters["client_id"]),
            "rows": sorted(
                (due_row(o, now) for o in page.items), key=lambda r: r.occurrence.due_at
            ),
            "page": page,
            "first_page": after is None,
            **filters,
            "can_manage": actor.can(Permission.MANAGE_FINANCE),
            "query": query_without(request, "after"),
        },
    )


def _obligation_services(actor: Actor) -> list[Service]:
    return page_queries.finance_services(actor=actor, permission=Permission.MANAGE_FINANCE)


@login_required
def obligation_create(request: HttpRequest) -> HttpResponse:
    """Add a recurring obligation (a report, a close task, a return) to a service."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_FINANCE)
    return _obligation_page(request, actor, None)


@login_required
def obligation_edit(request: HttpRequest, obligation_id: int) -> HttpResponse:
    """Change an obligation (due dates already made keep their work items)."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_FINANCE)
    obligation = queries.obligation_get(actor=actor, obligation_id=obligation_id)
    actor.require(Permission.MANAGE_FINANCE, client_id=obligation.client_id)
    return _obligation_page(request, actor, obligation)


def _obligation_page(
    request: HttpRequest, actor: Actor, obligation: Obligation | None
) -> HttpResponse:
    services = _obligation_services(actor)
    if obligation is not None:
        services = [s for s in services if s.pk == obligation.service_id]
    initial = (
        ObligationForm.initial_from(obligation)
        if obligation
        else {"starts_on": timezone.localdate(), "due_time": "10:00"}
    )
    form = ObligationForm(
        request.POST or None, services=_service_choices(services), initial=initial
    )
    planned: list[tuple[date, date]] = []
    description = ""
    if request.method == "POST" and form.is_valid():
        service = next(s for s in services if s.pk == form.cleaned_data["service_id"])
        fields = form.obligation_fields()
        if "preview" in request.POST:
            planned, description = _preview(form, service, fields)
        else:
            saved = _submitted(
                form,
                lambda _: actions.obligation_save(
                    actor=actor, service=service, obligation=obligation, **fields
                ),
            )
            if saved is not None:
                messages.success(
                    request,
                    f"{saved.name} is on the calendar: each due date becomes a work item "
                    f"{saved.lead_days} days ahead.",
                )
                return redirect("finance:calendar")
    elif obligation is not None and request.method == "GET":
        planned, description = _planned(obligation, timezone.localdate())
    return _form_page(
        request,
        "finance/obligation_form.html",
        {
            "form": form,
            "obligation": obligation,
            "planned": planned,
            "description": description,
            "examples": RECURRENCE_EXAMPLES,
        },
    )


def _planned(obligation: Obligation, since: date) -> tuple[list[tuple[date, date]], str]:
    """The next due dates of an obligation (saved or a draft) from ``since`` on, within 400
    days, and its rule in words."""
    until = since + timedelta(days=400)
    return (
        actions.planned_dates(obligation, since, until)[:PLANNED_DATES],
        schedule.describe_recurrence(obligation.recurrence),
    )


def _preview(
    form: ObligationForm, service: Service, fields: dict[str, Any]
) -> tuple[list[tuple[date, date]], str]:
    """The next due dates the form's rule gives on the service's calendar (nothing saved)."""
    try:
        recurrence = schedule.validate_recurrence(fields["recurrence"])
        draft = Obligation(
            client_id=service.client_id, service=service, **{**fields, "recurrence": recurrence}
        )
        return _planned(draft, max(timezone.localdate(), fields["starts_on"]))
    except ValidationError as exc:
        add_validation_errors(form, exc)
        return [], ""


@login_required
@require_GET
def occurrence_detail(request: HttpRequest, occurrence_id: int) -> HttpResponse:
    """A due date: its obligation, work item, state and evidence."""
    actor = request_actor(request)
    actor.require(Permission.VIEW_FINANCE)
    occurrence = queries.occurrence_get(actor=actor, occurrence_id=occurrence_id)
    return _render_occurrence(request, actor, occurrence)


def _render_occurrence(
    request: HttpRequest,
    actor: Actor,
    occurrence: Occurrence,
    form: EvidenceForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "finance/occurrence.html",
        {
            "occurrence": occurrence,
            "obligation": occurrence.obligation,
            "row": due_row(occurrence, timezone.now()),
            "evidence_form": form
            or EvidenceForm(initial={"reference": occurrence.evidence_reference}),
            "can_handle": actor.can(Permission.HANDLE_WORK, client_id=occurrence.client_id),
            "next": request.POST.get("next", "") if request.method == "POST" else "",
        },
        status=status,
    )


@login_required
@require_POST
def occurrence_evidence(request: HttpRequest, occurrence_id: int) -> HttpResponse:
    """Attach a filing's confirmation document and reference; it may then be resolved."""
    actor = request_actor(request)
    actor.require(Permission.HANDLE_WORK)
    occurrence = queries.occurrence_get(actor=actor, occurrence_id=occurrence_id)
    form = EvidenceForm(request.POST, request.FILES)
    attached = _submitted(
        form,
        lambda data: actions.occurrence_evidence(
            actor=actor, occurrence=occurrence, upload=data["file"], reference=data["reference"]
        ),
    )
    if attached is None:
        return _render_occurrence(request, actor, occurrence, form, status=400)
    messages.success(
        request,
        f"The confirmation of {occurrence.obligation.name} is attached and shared with the "
        "client: the filing can be resolved.",
    )
    return redirect(_next_url(request, reverse("finance:occurrence", args=[occurrence.pk])))


# --- Daily reports ---------------------------------------------------------------------------


def _report_services(actor: Actor) -> list[Service]:
    if not actor.is_provider:
        return []
    return page_queries.reconciliation_services(actor=actor, permission=Permission.HANDLE_WORK)


@login_required
@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    """Daily financial reports, newest day first; provider staff make one on demand."""
    actor = request_actor(request)
    actor.require(Permission.VIEW_FINANCE)
    return _render_reports(request, actor)


def _render_reports(
    request: HttpRequest, actor: Actor, form: ReportMakeForm | None = None, status: int = 200
) -> HttpResponse:
    clients, filters = _client_filter(request, actor)
    after = int_or_none(request.GET.get("after"))
    page = keyset_page(
        queries.reports_visible(actor=actor, client_id=filters["client_id"]),
        after=after,
        limit=PAGE_SIZE,
    )
    names = {c.pk: c.name for c in clients}
    services = _report_services(actor)
    if services and form is None:
        yesterday = timezone.localdate() - timedelta(days=1)
        form = ReportMakeForm(services=_service_choices(services), initial={"day": yesterday})
    return render(
        request,
        "finance/reports.html",
        {
            "rows": [
                {"report": r, "on_time": report_on_time(r), "client": names.get(r.client_id, "")}
                for r in sorted(page.items, key=lambda r: (r.day, r.pk), reverse=True)
            ],
            "page": page,
            "first_page": after is None,
            **filters,
            "make_form": form if services else None,
            "query": query_without(request, "after"),
        },
        status=status,
    )


@login_required
@require_POST
def report_make(request: HttpRequest) -> HttpResponse:
    """Make (or make again) the daily report of a service for a business day now."""
    actor = request_actor(request)
    actor.require(Permission.HANDLE_WORK)
    services = _report_services(actor)
    form = ReportMakeForm(request.POST, services=_service_choices(services))
    by_id = {s.pk: s for s in services}
    report = _submitted(
        form,
        lambda data: actions.daily_report_make(
            actor=actor, service=by_id[data["service_id"]], day=data["day"]
        ),
    )
    if report is None:
        return _render_reports(request, actor, form, status=400)
    messages.success(
        request, f"The daily report of {report.service.name} for {report.day:%Y-%m-%d} is made."
    )
    return redirect("finance:report", report_id=report.pk)


@login_required
@require_GET
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    """A daily report's figures: cash, reconciliation, ageing and the largest open items."""
    actor = request_actor(request)
    actor.require(Permission.VIEW_FINANCE)
    report = queries.report_get(actor=actor, report_id=report_id)
    figures = report.figures or {}
    return render(
        request,
        "finance/report.html",
        {
            "report": report,
            "figures": figures,
            "accounts": figures.get("accounts", []),
            "totals": figures.get("totals", []),
            "buckets": figures.get("buckets", []),
            "on_time": report_on_time(report),
        },
    )


def _report_file(request: HttpRequest, report_id: int, fmt: str) -> FileResponse:
    actor = request_actor(request)
    actor.require(Permission.VIEW_FINANCE)
    report = queries.report_get(actor=actor, report_id=report_id)
    filename, content = queries.report_file(actor=actor, report=report, fmt=fmt)
    return FileResponse(
        content,
        as_attachment=True,
        filename=filename,
        content_type="application/pdf" if fmt == "pdf" else "text/csv; charset=utf-8",
    )


@login_required
@require_GET
def report_pdf(request: HttpRequest, report_id: int) -> FileResponse:
    """A daily report as PDF (an audited download)."""
    return _report_file(request, report_id, "pdf")


@login_required
@require_GET
def report_csv(request: HttpRequest, report_id: int) -> FileResponse:
    """A daily report as CSV (an audited download)."""
    return _report_file(request, report_id, "csv")
