"""API of the finance back office: bank accounts and file mappings, statement and ledger
imports, the lines and entries, reconciliation (runs, matches with maker-checker, rules), the
close and filing calendar with filing evidence, and the daily financial reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from bpo.accounts.roles import Permission
from bpo.apitypes import DbId, changes, money
from bpo.errors import FieldError, documented_errors
from bpo.finance import actions, queries
from bpo.finance.models import (
    BankAccount,
    ColumnMapping,
    DailyReport,
    FileKind,
    Match,
    MatchRule,
    Obligation,
    Occurrence,
    ReconciliationPolicy,
    ReconciliationRun,
)
from bpo.finance.schemas import (
    AccountIn,
    AccountOut,
    CandidateOut,
    ClientParams,
    DatesParams,
    DueDateOut,
    EntryPage,
    EvidenceForm,
    FilePage,
    ImportOut,
    LinePage,
    MappingIn,
    MappingOut,
    MatchIn,
    MatchOut,
    MatchPage,
    MatchParams,
    NoteIn,
    ObligationIn,
    ObligationOut,
    ObligationPatch,
    OccurrenceOut,
    OccurrencePage,
    OccurrenceParams,
    PolicyIn,
    PolicyOut,
    ReasonIn,
    ReportIn,
    ReportOut,
    ReportPage,
    ReportParams,
    RuleIn,
    RuleOut,
    RulePatch,
    RunOut,
    StandingOut,
    StatementForm,
    StatementPage,
    StateParams,
)
from bpo.paging import PageParams, page_of
from bpo.tenancy.context import Actor, request_actor
from bpo.tenancy.models import Client
from bpo.tenancy.queries import client_get

router = Router(tags=["finance"])

T = TypeVar("T")
FILE_RESPONSES = {
    "responses": {
        "200": {
            "description": "The report file.",
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    }
}


def _in_body(path: str, what: str, ident: int, lookup: Callable[[], T]) -> T:
    """An id sent in a body, looked up in the actor's scope: a 422 naming the field if not."""
    try:
        return lookup()
    except Http404:
        raise FieldError(path, f"There is no {what} with id {ident}.") from None


def _account_page(
    request: HttpRequest,
    account_id: int,
    params: PageParams,
    rows_of: Callable[..., QuerySet[Any]],
    **filters: Any,
) -> dict[str, Any]:
    """One page of an account's rows (``rows_of`` a query taking actor= and account=)."""
    actor = request_actor(request)
    account = queries.account_get(actor=actor, account_id=account_id)
    return page_of(rows_of(actor=actor, account=account, **filters), params)


# --- Set-up --------------------------------------------------------------------------------


@router.get(
    "/finance/accounts",
    response={200: list[AccountOut], **documented_errors(403)},
    summary="Bank accounts whose statements are reconciled",
)
def list_accounts(request: HttpRequest, params: Query[ClientParams]) -> Any:
    actor = request_actor(request)
    actor.require(Permission.VIEW_FINANCE)
    return list(queries.accounts_visible(actor=actor, client_id=params.client_id))


def _mapping(actor: Actor, key: str, ident: int | None) -> ColumnMapping | None:
    if ident is None:
        return None
    return _in_body(
        f"body.{key}",
        "column mapping",
        ident,
        lambda: queries.mapping_get(actor=actor, mapping_id=ident),
    )


def _account_fields(actor: Actor, payload: AccountIn) -> dict[str, Any]:
    service = _in_body(
        "body.service_id",
        "reconciliation service",
        payload.service_id,
        lambda: queries.service_get(actor=actor, service_id=payload.service_id),
    )
    fields = payload.dict(exclude={"service_id", "statement_mapping_id", "ledger_mapping_id"})
    for key in ("statement_mapping_id", "ledger_mapping_id"):
        fields[key.removesuffix("_id")] = _mapping(actor, key, getattr(payload, key))
    return {"service": service, **fields}


@router.post(
    "/finance/accounts",
    response={201: AccountOut, **documented_errors(403)},
    summary="Add a client's bank account to one of its reconciliation services",
)
def create_account(request: HttpRequest, payload: AccountIn) -> Status[BankAccount]:
    actor = request_actor(request)
    actor.require(Permission.MANAGE_FINANCE)
    return Status(201, actions.bank_account_save(actor=actor, **_account_fields(actor, payload)))


@router.get(
    "/finance/accounts/{account_id}",
    response={200: AccountOut, **documented_errors(404)},
    summary="One bank account",
)
def get_account(request: HttpRequest, account_id: DbId) -> BankAccount:
    return queries.account_get(actor=request_actor(request), account_id=account_id)


@router.put(
    "/finance/accounts/{account_id}",
    response={200: AccountOut, **documented_errors(403, 404)},
    summary="Change a bank account",
)
def update_account(request: HttpRequest, account_id: DbId, payload: AccountIn) -> BankAccount:
    actor = request_actor(request)
    account = queries.account_get(actor=actor, account_id=account_id)
    return actions.bank_account_save(
        actor=actor, account=account, **_account_fields(actor, payload)
    )


@router.get(
    "/finance/accounts/{account_id}/standing",
    response={200: StandingOut, **documented_errors(404)},
    summary="Balance, open lines and entries, matches awaiting a decision",
)
def account_standing(request: HttpRequest, account_id: DbId) -> dict[str, Any]:
    actor = request_actor(request)
    account = queries.account_get(actor=actor, account_id=account_id)
    figures = queries.standing(actor=actor, account=account)
    currency = account.currency
    return {
        **figures.__dict__,
        "currency": currency,
        "balance": None if figures.balance is None else money(figures.balance, currency),
        "lines_open_total": money(figures.lines_open_total, currency),
        "entries_open_total": money(figures.entries_open_total, currency),
    }


@router.get(
    "/finance/mappings",
    response={200: list[MappingOut], **documented_errors(403)},
    summary="Saved column mappings of statement CSVs and ledger exports",
)
def list_mappings(request: HttpRequest, params: Query[ClientParams]) -> Any:
    actor = request_actor(request)
    actor.require(Permission.VIEW_FINANCE)
    return list(queries.mappings_visible(actor=actor, client_id=params.client_id))


def _client(actor: Actor, client_id: int) -> Client:
    try:
        return client_get(actor=actor, client_id=client_id)
    except Client.DoesNotExist:
        raise FieldError("body.client_id", f"There is no client with id {client_id}.") from None


@router.post(
    "/finance/mappings",
    response={201: MappingOut, **documented_errors(403)},
    summary="Save how a client's statement CSV or ledger export is read",
)
def create_mapping(request: HttpRequest, payload: MappingIn) -> Status[ColumnMapping]:
    actor = request_actor(request)
    actor.require(Permission.MANAGE_FINANCE)
    client = _client(actor, payload.client_id)
    fields = payload.dict(exclude={"client_id"})
    return Status(201, actions.column_mapping_save(actor=actor, client=client, **fields))


@router.put(
    "/finance/mappings/{mapping_id}",
    response={200: MappingOut, **documented_errors(403, 404)},
    summary="Change a saved column mapping",
)
def update_mapping(request: HttpRequest, mapping_id: DbId, payload: MappingIn) -> ColumnMapping:
    actor = request_actor(request)
    mapping = queries.mapping_get(actor=actor, mapping_id=mapping_id)
    actor.require(Permission.MANAGE_FINANCE, client_id=mapping.client_id)
    if payload.client_id != mapping.client_id:
        raise FieldError("body.client_id", "A mapping stays with its client.")
    fields = payload.dict(exclude={"client_id"})
    client = _client(actor, payload.client_id)
    return actions.column_mapping_save(actor=actor, client=client, mapping=mapping, **fields)


@router.get(
    "/finance/services/{service_id}/policy",
    response={200: PolicyOut, **documented_errors(404)},
    summary="How a reconciliation service matches (defaults until set)",
)
def get_policy(request: HttpRequest, service_id: DbId) -> ReconciliationPolicy:
    actor = request_actor(request)
    return queries.policy_of(queries.service_get(actor=actor, service_id=service_id))


@router.put(
    "/finance/services/{service_id}/policy",
    response={200: PolicyOut, **documented_errors(403, 404)},
    summary="Set the date window, group size and auto-accept threshold of a service",
)
def set_policy(request: HttpRequest, service_id: DbId, payload: PolicyIn) -> ReconciliationPolicy:
    actor = request_actor(request)
    service = queries.service_get(actor=actor, service_id=service_id)
    return actions.reconciliation_policy_save(actor=actor, service=service, **payload.dict())


@router.get(
    "/finance/services/{service_id}/rules",
    response={200: list[RuleOut], **documented_errors(404)},
    summary="A reconciliation service's matching rules",
)
def list_rules(request: HttpRequest, service_id: DbId) -> Any:
    actor = request_actor(request)
    service = queries.service_get(actor=actor, service_id=service_id)
    return list(queries.rules_of(actor=actor, service=service))


@router.post(
    "/finance/services/{service_id}/rules",
    response={201: RuleOut, **documented_errors(403, 404)},
    summary="Add a matching rule",
)
def create_rule(request: HttpRequest, service_id: DbId, payload: RuleIn) -> Status[MatchRule]:
    actor = request_actor(request)
    service = queries.service_get(actor=actor, service_id=service_id)
    return Status(201, actions.match_rule_save(actor=actor, service=service, **payload.dict()))


@router.patch(
    "/finance/rules/{rule_id}",
    response={200: RuleOut, **documented_errors(403, 404)},
    summary="Change a matching rule",
)
def update_rule(request: HttpRequest, rule_id: DbId, payload: RulePatch) -> MatchRule:
    actor = request_actor(request)
    rule = queries.rule_get(actor=actor, rule_id=rule_id)
    return actions.match_rule_save(
        actor=actor,
        service=rule.service,
        rule=rule,
        **changes(payload, nullable=("date_window_days",)),
    )


@router.delete(
    "/finance/rules/{rule_id}",
    response={204: None, **documented_errors(403, 404)},
    summary="Remove a matching rule",
)
def delete_rule(request: HttpRequest, rule_id: DbId) -> Status[None]:
    actor = request_actor(request)
    actions.match_rule_delete(actor=actor, rule=queries.rule_get(actor=actor, rule_id=rule_id))
    return Status(204, None)


# --- Files, statements, lines, entries ------------------------------------------------------


@router.post(
    "/finance/accounts/{account_id}/statements",
    response={201: ImportOut, **documented_errors(403, 404, 413)},
    summary="Import a bank statement file (multipart: CSV, XLSX, OFX, MT940, CAMT.053); "
    "refused whole when malformed, a duplicate or overlapping",
)
def import_statement(
    request: HttpRequest,
    account_id: DbId,
    file: File[UploadedFile],
    form: Form[StatementForm],
) -> Status[actions.Imported]:
    actor = request_actor(request)
    account = queries.account_get(actor=actor, account_id=account_id)
    imported = actions.statement_import(
        actor=actor,
        account=account,
        upload=file,
        filename=file.name or "",
        format=form.format or "",
        opening_balance=form.opening_balance,
    )
    return Status(201, imported)


@router.post(
    "/finance/accounts/{account_id}/ledger",
    response={201: ImportOut, **documented_errors(403, 404, 413)},
    summary="Import ledger (cash book) entries, CSV or XLSX, with the account's ledger mapping",
)
def import_ledger(
    request: HttpRequest, account_id: DbId, file: File[UploadedFile]
) -> Status[actions.Imported]:
    actor = request_actor(request)
    account = queries.account_get(actor=actor, account_id=account_id)
    imported = actions.ledger_import(
        actor=actor, account=account, upload=file, filename=file.name or ""
    )
    return Status(201, imported)


@router.get(
    "/finance/accounts/{account_id}/files",
    response={200: FilePage, **documented_errors(404)},
    summary="Statement and ledger files of an account, as uploaded, with what became of them",
)
def list_files(request: HttpRequest, account_id: DbId, params: Query[PageParams]) -> Any:
    return _account_page(request, account_id, params, queries.files_of)


@router.post(
    "/finance/files/{file_id}/retry",
    response={201: ImportOut, **documented_errors(403, 404)},
    summary="Import a failed file again (after its mapping was mended)",
)
def retry_file(request: HttpRequest, file_id: DbId, form: StatementForm) -> Status[Any]:
    actor = request_actor(request)
    source = queries.file_get(actor=actor, file_id=file_id)
    if source.kind == FileKind.LEDGER:
        return Status(201, actions.ledger_file_import(actor=actor, source=source))
    return Status(
        201,
        actions.statement_file_import(
            actor=actor, source=source, opening_balance=form.opening_balance
        ),
    )


@router.get(
    "/finance/accounts/{account_id}/statements",
    response={200: StatementPage, **documented_errors(404)},
    summary="An account's statements with balances, gaps and missing days",
)
def list_statements(request: HttpRequest, account_id: DbId, params: Query[PageParams]) -> Any:
    return _account_page(request, account_id, params, queries.statements_of)


@router.get(
    "/finance/accounts/{account_id}/lines",
    response={200: LinePage, **documented_errors(404)},
    summary="An account's bank lines (state=open|matched)",
)
def list_lines(
    request: HttpRequest,
    account_id: DbId,
    filters: Query[StateParams],
    params: Query[PageParams],
) -> Any:
    return _account_page(request, account_id, params, queries.lines_of, state=filters.state)


@router.get(
    "/finance/accounts/{account_id}/entries",
    response={200: EntryPage, **documented_errors(404)},
    summary="An account's ledger entries (state=open|matched)",
)
def list_entries(
    request: HttpRequest,
    account_id: DbId,
    filters: Query[StateParams],
    params: Query[PageParams],
) -> Any:
    return _account_page(request, account_id, params, queries.entries_of, state=filters.state)


# --- Reconciliation -----------------------------------------------------------------------


@router.post(
    "/finance/accounts/{account_id}/reconcile",
    response={201: RunOut, **documented_errors(403, 404)},
    summary="Run the engine over the account's open lines and entries now",
)
def reconcile(request: HttpRequest, account_id: DbId) -> Status[ReconciliationRun]:
    actor = request_actor(request)
    account = queries.account_get(actor=actor, account_id=account_id)
    return Status(201, actions.reconciliation_run(actor=actor, account=account))


@router.get(
    "/finance/accounts/{account_id}/matches",
    response={200: MatchPage, **documented_errors(404)},
    summary="An account's matches (status=proposed|pending|accepted|rejected)",
)
def list_matches(
    request: HttpRequest,
    account_id: DbId,
    filters: Query[MatchParams],
    params: Query[PageParams],
) -> Any:
    status = filters.status.value if filters.status else ""
    return _account_page(request, account_id, params, queries.matches_of, status=status)


@router.post(
    "/finance/accounts/{account_id}/matches",
    response={201: MatchOut, **documented_errors(403, 404)},
    summary="Match bank lines with ledger entries by hand; a second agent approves it",
)
def make_match(request: HttpRequest, account_id: DbId, payload: MatchIn) -> Status[Match]:
    actor = request_actor(request)
    account = queries.account_get(actor=actor, account_id=account_id)
    match = actions.match_make(
        actor=actor,
        account=account,
        line_ids=payload.line_ids,
        entry_ids=payload.entry_ids,
        note=payload.note,
    )
    return Status(201, queries.match_get(actor=actor, match_id=match.pk))


@router.get(
    "/finance/matches/{match_id}",
    response={200: MatchOut, **documented_errors(404)},
    summary="One match with its reasons",
)
def get_match(request: HttpRequest, match_id: DbId) -> Match:
    return queries.match_get(actor=request_actor(request), match_id=match_id)


@router.post(
    "/finance/matches/{match_id}/confirm",
    response={201: MatchOut, **documented_errors(403, 404)},
    summary="Take an engine proposal as your match (it then awaits a second agent)",
)
def confirm_match(request: HttpRequest, match_id: DbId, payload: NoteIn) -> Status[Match]:
    actor = request_actor(request)
    proposal = queries.match_get(actor=actor, match_id=match_id)
    match = actions.match_confirm(actor=actor, match=proposal, note=payload.note)
    return Status(201, queries.match_get(actor=actor, match_id=match.pk))


@router.post(
    "/finance/matches/{match_id}/approve",
    response={200: MatchOut, **documented_errors(403, 404)},
    summary="Approve a match another agent made: its rows are reconciled",
)
def approve_match(request: HttpRequest, match_id: DbId) -> Match:
    actor = request_actor(request)
    match = actions.match_approve(
        actor=actor, match=queries.match_get(actor=actor, match_id=match_id)
    )
    return queries.match_get(actor=actor, match_id=match.pk)


@router.post(
    "/finance/matches/{match_id}/reject",
    response={200: MatchOut, **documented_errors(403, 404)},
    summary="Turn down a proposal or a match awaiting approval",
)
def reject_match(request: HttpRequest, match_id: DbId, payload: ReasonIn) -> Match:
    actor = request_actor(request)
    match = queries.match_get(actor=actor, match_id=match_id)
    actions.match_reject(actor=actor, match=match, reason=payload.reason)
    return queries.match_get(actor=actor, match_id=match_id)


@router.post(
    "/finance/matches/{match_id}/undo",
    response={200: MatchOut, **documented_errors(403, 404)},
    summary="Take back an accepted match: its lines and entries are open again",
)
def undo_match(request: HttpRequest, match_id: DbId, payload: ReasonIn) -> Match:
    actor = request_actor(request)
    match = queries.match_get(actor=actor, match_id=match_id)
    actions.match_undo(actor=actor, match=match, reason=payload.reason)
    return queries.match_get(actor=actor, match_id=match_id)


@router.post(
    "/finance/matches/{match_id}/rule",
    response={201: RuleOut, **documented_errors(403, 404)},
    summary="Turn a match made by hand into a rule of the service",
)
def learn_rule(request: HttpRequest, match_id: DbId) -> Status[MatchRule]:
    actor = request_actor(request)
    match = queries.match_get(actor=actor, match_id=match_id)
    return Status(201, actions.match_rule_learn(actor=actor, match=match))


@router.get(
    "/finance/lines/{line_id}/candidates",
    response={200: list[CandidateOut], **documented_errors(404)},
    summary="The ledger entries that could settle an open bank line, best first, with reasons",
)
def line_candidates(request: HttpRequest, line_id: DbId) -> Any:
    actor = request_actor(request)
    line = queries.line_get(actor=actor, line_id=line_id)
    return queries.line_candidates(actor=actor, line=line)


# --- Close and filing calendar --------------------------------------------------------------


@router.get(
    "/finance/obligations",
    response={200: list[ObligationOut], **documented_errors(403)},
    summary="The close and filing calendar: recurring obligations",
)
def list_obligations(request: HttpRequest, params: Query[ClientParams]) -> Any:
    actor = request_actor(request)
    actor.require(Permission.VIEW_FINANCE)
    return list(queries.obligations_visible(actor=actor, client_id=params.client_id))


@router.post(
    "/finance/obligations",
    response={201: ObligationOut, **documented_errors(403)},
    summary="Add a recurring obligation (RFC 5545 rule, business-day roll, due time, lead days)",
)
def create_obligation(request: HttpRequest, payload: ObligationIn) -> Status[Obligation]:
    actor = request_actor(request)
    actor.require(Permission.MANAGE_FINANCE)
    service = _in_body(
        "body.service_id",
        "service",
        payload.service_id,
        lambda: queries.service_get(actor=actor, service_id=payload.service_id),
    )
    fields = payload.dict(exclude={"service_id"})
    return Status(201, actions.obligation_save(actor=actor, service=service, **fields))


@router.get(
    "/finance/obligations/{obligation_id}",
    response={200: ObligationOut, **documented_errors(404)},
    summary="One obligation",
)
def get_obligation(request: HttpRequest, obligation_id: DbId) -> Obligation:
    return queries.obligation_get(actor=request_actor(request), obligation_id=obligation_id)


@router.patch(
    "/finance/obligations/{obligation_id}",
    response={200: ObligationOut, **documented_errors(403, 404)},
    summary="Change an obligation (due dates already made keep their work items)",
)
def update_obligation(
    request: HttpRequest, obligation_id: DbId, payload: ObligationPatch
) -> Obligation:
    actor = request_actor(request)
    obligation = queries.obligation_get(actor=actor, obligation_id=obligation_id)
    return actions.obligation_save(
        actor=actor,
        service=obligation.service,
        obligation=obligation,
        **changes(payload, nullable=("ends_on",)),
    )


@router.get(
    "/finance/obligations/{obligation_id}/dates",
    response={200: list[DueDateOut], **documented_errors(404)},
    summary="The obligation's due dates between two days, rolled onto business days",
)
def obligation_dates(request: HttpRequest, obligation_id: DbId, params: Query[DatesParams]) -> Any:
    actor = request_actor(request)
    obligation = queries.obligation_get(actor=actor, obligation_id=obligation_id)
    if params.until < params.since or (params.until - params.since).days > 800:
        raise FieldError("query.until", "Give a span of at most 800 days, until after since.")
    return [
        {"nominal_date": nominal, "due_date": due}
        for nominal, due in actions.planned_dates(obligation, params.since, params.until)
    ]


@router.get(
    "/finance/occurrences",
    response={200: OccurrencePage, **documented_errors(403, 404)},
    summary="Due dates of the calendar with their work items and evidence",
)
def list_occurrences(
    request: HttpRequest, filters: Query[OccurrenceParams], params: Query[PageParams]
) -> Any:
    actor = request_actor(request)
    actor.require(Permission.VIEW_FINANCE)
    obligation = None
    if filters.obligation_id is not None:
        obligation = queries.obligation_get(actor=actor, obligation_id=filters.obligation_id)
    rows = queries.occurrences_visible(
        actor=actor,
        client_id=filters.client_id,
        obligation=obligation,
        since=filters.since,
        until=filters.until,
    )
    return page_of(rows, params)


@router.post(
    "/finance/occurrences/{occurrence_id}/evidence",
    response={200: OccurrenceOut, **documented_errors(403, 404, 413)},
    summary="Attach a filing's confirmation document and reference (multipart)",
)
def attach_evidence(
    request: HttpRequest,
    occurrence_id: DbId,
    file: File[UploadedFile],
    form: Form[EvidenceForm],
) -> Occurrence:
    actor = request_actor(request)
    occurrence = queries.occurrence_get(actor=actor, occurrence_id=occurrence_id)
    actions.occurrence_evidence(
        actor=actor, occurrence=occurrence, upload=file, reference=form.reference
    )
    return queries.occurrence_get(actor=actor, occurrence_id=occurrence_id)


# --- Daily reports --------------------------------------------------------------------------


@router.get(
    "/finance/reports",
    response={200: ReportPage, **documented_errors(403, 404)},
    summary="Daily financial reports, newest day first",
)
def list_reports(
    request: HttpRequest, filters: Query[ReportParams], params: Query[PageParams]
) -> Any:
    actor = request_actor(request)
    actor.require(Permission.VIEW_FINANCE)
    service = None
    if filters.service_id is not None:
        service = queries.service_get(actor=actor, service_id=filters.service_id)
    rows = queries.reports_visible(actor=actor, client_id=filters.client_id, service=service)
    return page_of(rows, params)


@router.post(
    "/finance/services/{service_id}/reports",
    response={201: ReportOut, **documented_errors(403, 404)},
    summary="Make (or make again) the daily financial report of a business day now",
)
def make_report(request: HttpRequest, service_id: DbId, payload: ReportIn) -> Status[DailyReport]:
    actor = request_actor(request)
    service = queries.service_get(actor=actor, service_id=service_id)
    report = actions.daily_report_make(actor=actor, service=service, day=payload.day)
    return Status(201, queries.report_get(actor=actor, report_id=report.pk))


@router.get(
    "/finance/reports/{report_id}",
    response={200: ReportOut, **documented_errors(404)},
    summary="One daily financial report with its figures",
)
def get_report(request: HttpRequest, report_id: DbId) -> DailyReport:
    return queries.report_get(actor=request_actor(request), report_id=report_id)


def _report_file(request: HttpRequest, report_id: DbId, fmt: str) -> FileResponse:
    actor = request_actor(request)
    report = queries.report_get(actor=actor, report_id=report_id)
    filename, content = queries.report_file(actor=actor, report=report, fmt=fmt)
    return FileResponse(
        content,
        as_attachment=True,
        filename=filename,
        content_type="application/pdf" if fmt == "pdf" else "text/csv; charset=utf-8",
    )


@router.get(
    "/finance/reports/{report_id}/pdf",
    response={**documented_errors(404)},
    summary="A daily financial report as PDF",
    openapi_extra=FILE_RESPONSES,
)
def report_pdf(request: HttpRequest, report_id: DbId) -> FileResponse:
    return _report_file(request, report_id, "pdf")


@router.get(
    "/finance/reports/{report_id}/csv",
    response={**documented_errors(404)},
    summary="A daily financial report as CSV",
    openapi_extra=FILE_RESPONSES,
)
def report_csv(request: HttpRequest, report_id: DbId) -> FileResponse:
    return _report_file(request, report_id, "csv")
