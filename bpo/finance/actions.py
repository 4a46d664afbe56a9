"""Writes of the finance back office: one function per use case, checked, transactional, audited.

Set-up (bank accounts, column mappings, matching rules, the reconciliation policy, obligations)
is the provider's managers'. Statement and ledger files come in from agents or the client's
admin: each is stored as uploaded, then parsed whole; it is imported in one transaction or
refused with the line at fault, never half. After an import the engine runs over the account
(bpo.finance.reconcile); what it cannot settle becomes work items in the service's queue, where
a match made by one agent waits for another's approval (maker-checker).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.db.models import Model, Q
from django.utils import timezone
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from bpo.accounts.roles import Permission
from bpo.audit.log import record
from bpo.bulk import insert_rows
from bpo.calendars.engine import BusinessClock, Convention
from bpo.calendars.models import BusinessCalendar
from bpo.contracts.models import Metric, ProcessType, Service, ServiceTerms, SlaTarget
from bpo.finance import documents, parsers, reconcile, report, schedule
from bpo.finance.models import (
    BankAccount,
    ColumnMapping,
    DailyReport,
    FileKind,
    FileStatus,
    LedgerEntry,
    Match,
    MatchRule,
    MatchShape,
    MatchStatus,
    Obligation,
    ObligationKind,
    Occurrence,
    OpenLine,
    ReconciliationPolicy,
    ReconciliationRun,
    SourceFile,
    Statement,
    StatementFormat,
    StatementLine,
)
from bpo.tenancy.context import Actor
from bpo.tenancy.models import Client
from bpo.tenancy.scoping import all_clients_unscoped, client_scope, ensure_client_in_scope
from bpo.uploads import too_large_message
from bpo.web.formatting import locale_of_country
from bpo.work import actions as work
from bpo.work.clocks import business_clock
from bpo.work.files import clean_filename, inspect
from bpo.work.models import OPEN_STATES, State, WorkItem

logger = logging.getLogger(__name__)

# The largest statement or ledger file taken in (a year of a busy account fits easily).
MAX_FILE_BYTES = 50 * 1024 * 1024
ID_BATCH = 5000
# What format detection reads of a file.
HEAD_BYTES = 4096
T = TypeVar("T")


def _storage() -> Any:
    return storages["finance"]


@contextmanager
def _removed_unless_written(*stored_names: str) -> Iterator[None]:
    """Files just stored for rows the block writes: deleted again if the block fails, so a
    failed write leaves no file that nothing points to."""
    try:
        yield
    except BaseException:
        for name in stored_names:
            _delete_quietly(_storage(), name)
        raise


def _delete_quietly(storage: Any, name: str) -> None:
    """Remove a stored file on the way out of a failure, never hiding that failure."""
    try:
        storage.delete(name)
    except OSError:
        logger.exception("Could not remove the stored file %s after a failed write", name)


def file_path(stored_name: str) -> Path:
    """Where a stored finance file lies on disk."""
    return Path(_storage().path(stored_name))


def compact_iban(value: str, *, field: str) -> str:
    """An IBAN validated (country, length, checksum) and written compact, or a clear error."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return str(IBAN(value).compact)
    except SchwiftyException as exc:
        raise ValidationError({field: f"{value!r} is not a valid IBAN: {exc}."}) from None


# --- set-up -------------------------------------------------------------------------------


def _reconciliation_service(service: Service) -> None:
    if service.process_type != ProcessType.RECONCILIATION:
        raise ValidationError({"service_id": f"{service.name} is not a reconciliation service."})


def _save_audited(
    row: Model, noun: str, *, after: dict[str, Any], before: dict[str, Any] | None = None
) -> None:
    """Save a set-up row with its audit entry (finance.<noun>_created or _changed), both or
    neither."""
    with transaction.atomic():
        created = row.pk is None
        row.save()
        record(
            f"finance.{noun}_{'created' if created else 'changed'}",
            obj=row,
            before=before,
            after=after,
        )


def bank_account_save(
    *,
    actor: Actor,
    service: Service,
    name: str,
    currency: str,
    iban: str = "",
    account_number: str = "",
    bic: str = "",
    bank_name: str = "",
    statement_mapping: ColumnMapping | None = None,
    ledger_mapping: ColumnMapping | None = None,
    account: BankAccount | None = None,
) -> BankAccount:
    """Create or change a client's bank account under one of its reconciliation services."""
    actor.require(Permission.MANAGE_FINANCE, client_id=service.client_id)
    ensure_client_in_scope(service.client_id)
    _reconciliation_service(service)
    if account is not None and account.client_id != service.client_id:
        raise ValidationError({"service_id": "The service belongs to another client."})
    for field, mapping, kind in (
        ("statement_mapping_id", statement_mapping, "bank"),
        ("ledger_mapping_id", ledger_mapping, "ledger"),
    ):
        if mapping is not None and (mapping.client_id != service.client_id or mapping.kind != kind):
            raise ValidationError({field: f"Choose a {kind} mapping of this client."})
    before = _snapshot(account) if account else None
    account = account or BankAccount(client_id=service.client_id)
    account.service = service
    account.name = name.strip()
    account.iban = compact_iban(iban, field="iban")
    account.account_number = account_number.strip()
    account.bic = bic.strip().upper()
    account.bank_name = bank_name.strip()
    account.currency = currency.strip().upper()
    account.statement_mapping = statement_mapping
    account.ledger_mapping = ledger_mapping
    account.full_clean(exclude=["client", "service", "statement_mapping", "ledger_mapping"])
    account.validate_constraints()
    _save_audited(account, "bank_account", before=before, after=_snapshot(account))
    return account


def _snapshot(account: BankAccount) -> dict[str, Any]:
    return {
        "name": account.name,
        "iban": account.iban,
        "account_number": account.account_number,
        "currency": account.currency,
        "service": account.service_id,
    }


def column_mapping_save(
    *,
    actor: Actor,
    client: Client,
    kind: str,
    name: str,
    columns: dict[str, str],
    date_format: str = "",
    decimal_comma: bool = False,
    encoding: str = "",
    mapping: ColumnMapping | None = None,
) -> ColumnMapping:
    """Save how one kind of export of the client is read: header per field and formats."""
    actor.require(Permission.MANAGE_FINANCE, client_id=client.pk)
    ensure_client_in_scope(client.pk)
    spec = parsers.MappingSpec(
        columns={k: str(v).strip() for k, v in (columns or {}).items() if str(v).strip()},
        date_format=date_format.strip(),
        decimal_comma=decimal_comma,
        encoding=encoding.strip(),
    )
    problems = parsers.mapping_problems(spec, kind)
    if problems:
        raise ValidationError({"columns": problems})
    mapping = mapping or ColumnMapping(client_id=client.pk)
    mapping.kind = kind
    mapping.name = name.strip()
    mapping.columns = spec.columns
    mapping.date_format = spec.date_format
    mapping.decimal_comma = spec.decimal_comma
    mapping.encoding = spec.encoding
    mapping.full_clean(exclude=["client"])
    mapping.validate_constraints()
    with transaction.atomic():
        mapping.save()
        record("finance.mapping_saved", obj=mapping, after={"kind": kind, "columns": spec.columns})
    return mapping


def spec_of(mapping: ColumnMapping) -> parsers.MappingSpec:
    """The parser's view of a saved mapping."""
    return parsers.MappingSpec(
        columns=dict(mapping.columns),
        date_format=mapping.date_format,
        decimal_comma=mapping.decimal_comma,
        encoding=mapping.encoding,
    )


def reconciliation_policy_save(
    *,
    actor: Actor,
    service: Service,
    date_window_days: int,
    max_group_size: int,
    auto_accept_percent: Decimal,
) -> ReconciliationPolicy:
    """Set how a reconciliation service matches and how sure a match must be to go alone."""
    actor.require(Permission.MANAGE_FINANCE, client_id=service.client_id)
    ensure_client_in_scope(service.client_id)
    _reconciliation_service(service)
    policy = ReconciliationPolicy.objects.filter(service=service).first() or ReconciliationPolicy(
        client_id=service.client_id, service=service
    )
    policy.date_window_days = date_window_days
    policy.max_group_size = max_group_size
    policy.auto_accept_percent = auto_accept_percent
    policy.full_clean(exclude=["client", "service"], validate_unique=False)
    with transaction.atomic():
        policy.save()
        record(
            "finance.policy_saved",
            obj=policy,
            after={
                "date_window_days": date_window_days,
                "max_group_size": max_group_size,
                "auto_accept_percent": str(auto_accept_percent),
            },
        )
    return policy


RULE_FIELDS = (
    "name",
    "is_active",
    "date_window_days",
    "amount_tolerance",
    "reference_pattern",
    "counterparty_iban",
    "counterparty_name",
    "name_threshold",
    "confidence_percent",
)


def match_rule_save(
    *, actor: Actor, service: Service, rule: MatchRule | None = None, **fields: Any
) -> MatchRule:
    """Create or change a matching rule of a reconciliation service."""
    actor.require(Permission.MANAGE_FINANCE, client_id=service.client_id)
    ensure_client_in_scope(service.client_id)
    _reconciliation_service(service)
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError({k: "Not a field of a rule." for k in unknown})
    rule = rule or MatchRule(client_id=service.client_id, service=service, created_by=actor.user)
    for key, value in fields.items():
        setattr(rule, key, value.strip() if isinstance(value, str) else value)
    if rule.reference_pattern:
        try:
            re.compile(rule.reference_pattern)
        except re.error as exc:
            raise ValidationError(
                {"reference_pattern": f"Not a regular expression: {exc}."}
            ) from None
    rule.counterparty_iban = compact_iban(rule.counterparty_iban, field="counterparty_iban")
    if not (rule.reference_pattern or rule.counterparty_iban or rule.counterparty_name):
        raise ValidationError(
            {"reference_pattern": "A rule needs a reference pattern, an IBAN or a name to match."}
        )
    rule.full_clean(exclude=["client", "service", "learned_from", "created_by"])
    rule.validate_constraints()
    _save_audited(rule, "rule", after={k: str(getattr(rule, k)) for k in RULE_FIELDS})
    return rule


def match_rule_delete(*, actor: Actor, rule: MatchRule) -> None:
    """Remove a rule; matches it made keep their reasons."""
    actor.require(Permission.MANAGE_FINANCE, client_id=rule.client_id)
    with transaction.atomic():
        record("finance.rule_deleted", obj=rule, before={"name": rule.name})
        rule.delete()


# --- imports ------------------------------------------------------------------------------


def _received(
    actor: Actor, account: BankAccount, upload: File, filename: str, kind: str, fmt: str
) -> SourceFile:
    """Store the upload and its row first, committed, so a failed parse can be tried again
    (a file refused before parsing, as empty, too large, a duplicate or of no known format, is
    not kept)."""
    actor.require(Permission.IMPORT_FINANCE, client_id=account.client_id)
    ensure_client_in_scope(account.client_id)
    filename = clean_filename(filename or upload.name or "upload")
    facts = inspect(upload, filename)
    size, sha = facts.size, facts.sha256
    if size > MAX_FILE_BYTES:
        raise ValidationError({"file": too_large_message(filename, MAX_FILE_BYTES)})
    if size == 0:
        raise ValidationError({"file": f"{filename!r} is empty: there is nothing to import."})
    earlier = (
        SourceFile.objects.filter(
            account=account, kind=kind, sha256=sha, status=FileStatus.IMPORTED
        )
        .order_by("uploaded_at")
        .first()
    )
    if earlier is not None:
        raise ValidationError(
            {
                "file": f"This file was already imported: {earlier.filename!r} on "
                f"{earlier.uploaded_at:%Y-%m-%d %H:%M} UTC has the same content."
            }
        )
    if not fmt:
        try:
            fmt = parsers.detect_format(upload.read(HEAD_BYTES), filename)
        except parsers.ParseError as exc:  # blank, or binary of no known format
            raise ValidationError({"file": f"{filename}: {exc}"}) from None
        upload.seek(0)
    if fmt not in StatementFormat.values:
        raise ValidationError({"format": f"{fmt!r} is not one of {', '.join(StatementFormat)}."})
    suffix = Path(filename).suffix.lower()[:10]
    stored = _storage().save(
        f"{account.client_id}/{timezone.now():%Y-%m}/{uuid.uuid4().hex}{suffix}", upload
    )
    with _removed_unless_written(stored), transaction.atomic():
        source = SourceFile.objects.create(
            client_id=account.client_id,
            account=account,
            kind=kind,
            format=fmt,
            filename=filename,
            stored_name=stored,
            size=size,
            sha256=sha,
            uploaded_by=actor.user,
        )
        record(
            "finance.file_received",
            obj=source,
            after={"file": filename, "kind": kind, "format": fmt, "size": size, "sha256": sha},
        )
    return source


def _failed(source: SourceFile, message: str) -> ValidationError:
    with transaction.atomic():
        SourceFile.objects.filter(pk=source.pk).update(status=FileStatus.FAILED, error=message)
        record("finance.file_failed", obj=source, after={"error": message})
    source.status, source.error = FileStatus.FAILED, message
    return ValidationError({"file": f"{source.filename}: {message}"})


@dataclass(frozen=True)
class Imported:
    """What an import did: the file, how many rows it wrote and skipped, what to look at."""

    file: SourceFile
    written: int
    skipped: int
    warnings: list[str]


def statement_import(
    *,
    actor: Actor,
    account: BankAccount,
    upload: File,
    filename: str = "",
    format: str = "",
    opening_balance: Decimal | None = None,
    reconcile_after: bool = True,
) -> Imported:
    """Take in a bank statement file (CSV with the account's mapping, XLSX, OFX, MT940 or
    CAMT.053): refused whole if it is malformed, a duplicate, for another account or overlaps
    a statement already imported; warned when its opening balance is not the previous closing
    balance or business days are missing between statements. Then the engine runs."""
    source = _received(actor, account, upload, filename, FileKind.STATEMENT, format)
    return statement_file_import(
        actor=actor,
        source=source,
        opening_balance=opening_balance,
        reconcile_after=reconcile_after,
    )


def statement_file_import(
    *,
    actor: Actor,
    source: SourceFile,
    opening_balance: Decimal | None = None,
    reconcile_after: bool = True,
) -> Imported:
    """Parse a stored statement file and import it (again, after a failure was mended)."""
    account = _importable(actor, source, FileKind.STATEMENT)
    mapping = None
    if source.format in (StatementFormat.CSV, StatementFormat.XLSX):
        mapping = _mapping_spec(
            source,
            account.statement_mapping_id,
            f"{account.name} has no CSV mapping for its bank: set one up, then import again.",
        )
    try:
        parsed = parsers.parse_statements(
            file_path(source.stored_name).read_bytes(),
            format=source.format,
            filename=source.filename,
            mapping=mapping,
            currency=account.currency,
        )
    except parsers.ParseError as exc:
        raise _failed(source, str(exc)) from None
    try:
        with transaction.atomic():
            BankAccount.objects.select_for_update().get(pk=account.pk)
            written, warnings = _write_statements(account, source, parsed, opening_balance)
            _mark_imported(
                source,
                "finance.statements_imported",
                rows=written,
                warnings=warnings,
                after={"statements": len(parsed), "lines": written, "warnings": warnings},
            )
    except ValidationError as exc:
        raise _failed(source, "; ".join(exc.messages)) from None
    return _imported(source, account, written, 0, warnings, reconcile_after=reconcile_after)


def _is_account(named: str, account: BankAccount) -> bool:
    """Whether a statement's account, as its file names it, is ``account``: its IBAN, its
    account number, or the bank code and number its IBAN is made of (``37040044/532013000``)."""
    named = named.replace(" ", "").upper()
    return named in {account.iban, account.account_number.replace(" ", "").upper()} or bool(
        account.iban and parsers.iban_of_national(account.iban[:2], named) == account.iban
    )


def _write_statements(
    account: BankAccount,
    source: SourceFile,
    parsed: list[parsers.ParsedStatement],
    opening_balance: Decimal | None,
) -> tuple[int, list[str]]:
    warnings: list[str] = []
    written = 0
    clock = business_clock(work.agreed_terms(account.service).calendar)
    for number, stmt in enumerate(sorted(parsed, key=lambda s: (s.start_date, s.end_date)), 1):
        where = f"statement {number} ({stmt.start_date}–{stmt.end_date})"
        if stmt.account and not _is_account(stmt.account, account):
            raise ValidationError(
                f"{where} is for account {stmt.account}, not {account.name} ({account.identifier})."
            )
        if stmt.currency != account.currency:
            raise ValidationError(
                f"{where} is in {stmt.currency}; {account.name} is kept in {account.currency}."
            )
        overlapping = (
            Statement.objects.filter(
                account=account, start_date__lte=stmt.end_date, end_date__gte=stmt.start_date
            )
            .select_related("file")
            .first()
        )
        if overlapping is not None:
            same = (
                overlapping.start_date == stmt.start_date
                and overlapping.end_date == stmt.end_date
                and (
                    stmt.closing_balance is None
                    or overlapping.closing_balance == stmt.closing_balance
                )
            ) or (stmt.reference and overlapping.reference == stmt.reference)
            what = "is a duplicate of" if same else "overlaps"
            raise ValidationError(
                f"{where} {what} the statement {overlapping.start_date}–{overlapping.end_date} "
                f"imported from {overlapping.file.filename!r}; nothing was imported."
            )
        previous = (
            Statement.objects.filter(account=account, end_date__lt=stmt.start_date)
            .order_by("-end_date", "-id")
            .first()
        )
        total = sum((line.amount for line in stmt.lines), Decimal(0))
        opening = stmt.opening_balance
        if opening is None:
            if previous is not None:
                opening = previous.closing_balance
            elif opening_balance is not None and number == 1:
                opening = opening_balance
            else:
                raise ValidationError(
                    f"{where} has no balances and {account.name} has no earlier statement: "
                    "enter the opening balance of this first statement."
                )
        closing = stmt.closing_balance if stmt.closing_balance is not None else opening + total
        gap = None
        missing: list[str] = []
        if previous is not None:
            gap = opening - previous.closing_balance
            if gap:
                warnings.append(
                    f"{where}: opening balance {opening} is not the closing balance "
                    f"{previous.closing_balance} of the statement ending {previous.end_date} "
                    f"(difference {gap})."
                )
            missing = _business_days_between(clock, previous.end_date, stmt.start_date)
            if missing:
                warnings.append(
                    f"{where}: no statement for {len(missing)} business day(s) since "
                    f"{previous.end_date}: {', '.join(missing[:10])}"
                    + (" …" if len(missing) > 10 else "")
                )
        statement = Statement.objects.create(
            client_id=account.client_id,
            account=account,
            file=source,
            reference=stmt.reference[:80],
            start_date=stmt.start_date,
            end_date=stmt.end_date,
            currency=stmt.currency,
            opening_balance=opening,
            closing_balance=closing,
            previous=previous,
            balance_gap=gap,
            missing_days=missing,
        )
        insert_rows(
            StatementLine,
            [
                {
                    "client_id": account.client_id,
                    "statement_id": statement.pk,
                    "account_id": account.pk,
                    "position": line.position,
                    "booking_date": line.booking_date,
                    "value_date": line.value_date,
                    "amount": line.amount,
                    "currency": line.currency,
                    "reference": line.reference[:500],
                    "counterparty_name": line.counterparty_name[:200],
                    "counterparty_iban": line.counterparty_iban[:34],
                    "bank_reference": line.bank_reference[:120],
                    "description": line.description,
                }
                for line in stmt.lines
            ],
        )
        written += len(stmt.lines)
    return written, warnings


def _business_days_between(clock: BusinessClock, after: date, before: date) -> list[str]:
    """The business days strictly between two dates, ISO-written."""
    days = (after + timedelta(days=n) for n in range(1, (before - after).days))
    return [day.isoformat() for day in days if clock.is_business_day(day)]


def ledger_import(
    *,
    actor: Actor,
    account: BankAccount,
    upload: File,
    filename: str = "",
    reconcile_after: bool = True,
) -> Imported:
    """Take in the client's cash book export for an account (CSV or XLSX, read with the
    account's ledger mapping): refused whole on the first bad row; entries whose ledger id is
    already imported are skipped, so an overlapping export adds only what is new."""
    filename = filename or upload.name or "ledger.csv"
    fmt = "xlsx" if filename.lower().endswith((".xlsx", ".xlsm")) else "csv"
    source = _received(actor, account, upload, filename, FileKind.LEDGER, fmt)
    return ledger_file_import(actor=actor, source=source, reconcile_after=reconcile_after)


def ledger_file_import(
    *, actor: Actor, source: SourceFile, reconcile_after: bool = True
) -> Imported:
    """Parse a stored ledger file and import it (again, after the mapping was mended)."""
    account = _importable(actor, source, FileKind.LEDGER)
    mapping = _mapping_spec(
        source,
        account.ledger_mapping_id,
        f"{account.name} has no ledger mapping: set one up, then import again.",
    )
    try:
        parsed = parsers.parse_ledger(
            file_path(source.stored_name),
            filename=source.filename,
            mapping=mapping,
            currency=account.currency,
        )
    except parsers.ParseError as exc:
        raise _failed(source, str(exc)) from None
    wrong = next((e for e in parsed if e.currency != account.currency), None)
    if wrong is not None:
        raise _failed(
            source,
            f"row {wrong.row}: the entry is in {wrong.currency}; {account.name} is kept in "
            f"{account.currency}.",
        )
    ids = [e.external_id for e in parsed if e.external_id]
    seen: set[str] = set()
    for entry in parsed:
        if entry.external_id and entry.external_id in seen:
            raise _failed(source, f"row {entry.row}: entry id {entry.external_id!r} appears twice.")
        seen.add(entry.external_id)
    with transaction.atomic():
        BankAccount.objects.select_for_update().get(pk=account.pk)
        taken: set[str] = set()
        for batch in _batches(ids):
            imported = LedgerEntry.objects.filter(account=account, external_id__in=batch)
            taken.update(imported.values_list("external_id", flat=True))
        fresh = [e for e in parsed if not (e.external_id and e.external_id in taken)]
        insert_rows(
            LedgerEntry,
            [
                {
                    "client_id": account.client_id,
                    "account_id": account.pk,
                    "file_id": source.pk,
                    "row": e.row,
                    "external_id": e.external_id[:80],
                    "entry_date": e.entry_date,
                    "amount": e.amount,
                    "currency": e.currency,
                    "document_number": e.document_number[:80],
                    "reference": e.reference[:500],
                    "counterparty_name": e.counterparty_name[:200],
                    "counterparty_iban": e.counterparty_iban[:34],
                    "description": e.description,
                }
                for e in fresh
            ],
        )
        skipped = len(parsed) - len(fresh)
        warnings = [f"{skipped} entries were imported before and are skipped."] if skipped else []
        _mark_imported(
            source,
            "finance.ledger_imported",
            rows=len(fresh),
            warnings=warnings,
            after={"entries": len(fresh), "skipped": skipped},
        )
    return _imported(
        source, account, len(fresh), skipped, warnings, reconcile_after=reconcile_after
    )


def _importable(actor: Actor, source: SourceFile, kind: str) -> BankAccount:
    """The account of a stored file of the kind, which the actor may import (again)."""
    actor.require(Permission.IMPORT_FINANCE, client_id=source.client_id)
    if source.kind != kind or source.status == FileStatus.IMPORTED:
        raise ValidationError({"file": f"Only a {kind} file not yet imported can be imported."})
    return BankAccount.objects.select_related("service").get(pk=source.account_id)


def _mapping_spec(source: SourceFile, mapping_id: int | None, missing: str) -> parsers.MappingSpec:
    """How the account's file is read; the file fails with ``missing`` if it has no mapping."""
    if mapping_id is None:
        raise _failed(source, missing)
    return spec_of(ColumnMapping.objects.get(pk=mapping_id))


def _mark_imported(
    source: SourceFile, action: str, *, rows: int, warnings: list[str], after: dict[str, Any]
) -> None:
    """Inside the import's transaction: the file is imported, audited."""
    SourceFile.objects.filter(pk=source.pk).update(
        status=FileStatus.IMPORTED, error="", warnings=warnings, rows=rows
    )
    record(action, obj=source, after=after)


def _imported(
    source: SourceFile,
    account: BankAccount,
    written: int,
    skipped: int,
    warnings: list[str],
    *,
    reconcile_after: bool,
) -> Imported:
    """What an import did, with the file as it is now; the engine runs once it commits."""
    source.refresh_from_db()
    if reconcile_after:
        _reconcile_later(account)
    return Imported(file=source, written=written, skipped=skipped, warnings=warnings)


def _batches(values: list[T]) -> Iterator[list[T]]:
    """The values in slices small enough for an IN list (SQLite binds at most 32,766
    parameters a statement, PostgreSQL 65,535)."""
    for start in range(0, len(values), ID_BATCH):
        yield values[start : start + ID_BATCH]


def _reconcile_later(account: BankAccount) -> None:
    from bpo.finance.tasks import reconcile_job

    transaction.on_commit(
        lambda: reconcile_job.enqueue(account_id=account.pk, client_id=account.client_id)
    )


# --- reconciliation -----------------------------------------------------------------------


def reconciliation_run(*, actor: Actor | None, account: BankAccount) -> ReconciliationRun:
    """Match the account's open lines and entries (bpo.finance.reconcile), then give every
    line left open a work item in the service's queue, with its candidates to choose from, and
    close the work items of lines that are settled now. ``actor`` None: the run an import
    started, done by the system."""
    if actor is not None:
        actor.require(Permission.HANDLE_WORK, client_id=account.client_id)
    ensure_client_in_scope(account.client_id)
    now = timezone.now()
    user = actor.user if actor else None
    current = BankAccount.objects.select_related("service").get(pk=account.pk)
    # The engine reads and computes outside any transaction and writes in its own (it checks
    # that nothing changed meanwhile), so other writers do not wait for the whole run.
    try:
        outcome = reconcile.run_engine(current, user=user, now=now)
    except reconcile.ReconciliationConflict:
        raise ValidationError(
            {"account": "The account changed while it was being reconciled: try again."}
        ) from None
    with transaction.atomic():
        BankAccount.objects.select_for_update().get(pk=account.pk)
        opened = _open_items(current, outcome.open_line_ids)
        settled = _close_settled_items(actor, current)
        run = ReconciliationRun.objects.create(
            client_id=account.client_id,
            account=current,
            started_by=user,
            started_at=now,
            finished_at=timezone.now(),
            lines=outcome.lines,
            entries=outcome.entries,
            accepted=outcome.accepted,
            proposed=outcome.proposed,
            opened=opened,
        )
        record(
            "finance.reconciled",
            obj=run,
            after={
                "account": current.name,
                "lines": outcome.lines,
                "entries": outcome.entries,
                "accepted": outcome.accepted,
                "proposed": outcome.proposed,
                "opened": opened,
                "closed": settled,
            },
            actor_email="" if actor else "system: reconciliation",
        )
    return run


def _open_items(account: BankAccount, line_ids: list[int], again: str = "") -> int:
    """A work item per open line that has none yet, in the service's default queue (``again``
    tells a line's later item from its first in the item's external reference)."""
    have = set(OpenLine.objects.filter(line__account=account).values_list("line_id", flat=True))
    lines: list[StatementLine] = []
    for batch in _batches(sorted(set(line_ids) - have)):
        lines.extend(StatementLine.objects.filter(pk__in=batch))
    lines.sort(key=lambda line: (line.booking_date, line.pk))
    if not lines:
        return 0
    terms = work.agreed_terms(account.service)
    rows = [
        work.item_details_check(
            terms,
            title=line_title(line, account),
            description=line.description or line.reference,
            external_ref=f"bank-line-{line.pk}{again}",
            tags=["reconciliation"],
            fields_required=False,
        )
        for line in lines
    ]
    created = work.channel_items_create_many(
        service=account.service,
        terms=terms,
        rows=rows,
        origin="system: reconciliation",
        source=account,
    )
    by_ref = {item.external_ref: item for item in created.items}
    OpenLine.objects.bulk_create(
        [
            OpenLine(
                client_id=account.client_id, line=line, item=by_ref[f"bank-line-{line.pk}{again}"]
            )
            for line in lines
            if f"bank-line-{line.pk}{again}" in by_ref
        ]
    )
    return len(by_ref)


def line_title(line: StatementLine, account: BankAccount) -> str:
    """How an open line's work item is named in the queue."""
    who = line.counterparty_name or line.reference[:60] or "no counterparty"
    return f"Unmatched {line.booking_date:%Y-%m-%d} {line.amount:+.2f} {line.currency} {who}"[:300]


def _resolve(actor: Actor | None, item: WorkItem, reason: str, origin: str) -> None:
    """Resolve a work item the finance engine or an agent's decision settled: as the agent
    when one acted, else as the system."""
    if actor is not None:
        work.work_item_transition(actor=actor, item=item, state=State.RESOLVED, reason=reason)
    else:
        work.system_transition(item, State.RESOLVED, reason=reason, origin=origin)


def _close_settled_items(actor: Actor | None, account: BankAccount) -> int:
    """Resolve the work items of open lines that a match settled since."""
    done = list(
        WorkItem.objects.filter(
            open_line__line__account=account,
            open_line__line__match__status=MatchStatus.ACCEPTED,
            state__in=sorted(OPEN_STATES),
        )
    )
    for item in done:
        _resolve(actor, item, "The bank line is reconciled.", "system: reconciliation")
    return len(done)


def _open_rows(
    account: BankAccount, line_ids: Iterable[int], entry_ids: Iterable[int]
) -> tuple[list[StatementLine], list[LedgerEntry]]:
    """Lock the lines and entries of a match, all of the account and still open."""
    line_ids, entry_ids = sorted(set(line_ids)), sorted(set(entry_ids))
    if not line_ids or not entry_ids:
        raise ValidationError(
            {"line_ids": "A match needs at least one bank line and one ledger entry."}
        )
    lines = list(StatementLine.objects.select_for_update().filter(pk__in=line_ids, account=account))
    entries = list(
        LedgerEntry.objects.select_for_update().filter(pk__in=entry_ids, account=account)
    )
    problems: dict[str, str] = {}
    missing_lines = set(line_ids) - {x.pk for x in lines}
    missing_entries = set(entry_ids) - {x.pk for x in entries}
    if missing_lines:
        problems["line_ids"] = f"No bank line {sorted(missing_lines)} on {account.name}."
    if missing_entries:
        problems["entry_ids"] = f"No ledger entry {sorted(missing_entries)} on {account.name}."
    if problems:
        raise ValidationError(problems)
    taken_lines = [x.pk for x in lines if x.match_id]
    taken_entries = [x.pk for x in entries if x.match_id]
    if taken_lines:
        problems["line_ids"] = f"Bank line(s) {taken_lines} are reconciled already."
    if taken_entries:
        problems["entry_ids"] = f"Ledger entry(ies) {taken_entries} are reconciled already."
    if len(lines) > 1 and len(entries) > 1:
        problems["line_ids"] = "Match one line with several entries or several lines with one."
    if problems:
        raise ValidationError(problems)
    return lines, entries


def _shape(lines: list[Any], entries: list[Any]) -> str:
    if len(lines) == 1 and len(entries) == 1:
        return MatchShape.ONE_TO_ONE
    return MatchShape.ONE_TO_MANY if len(lines) == 1 else MatchShape.MANY_TO_ONE


def match_make(
    *,
    actor: Actor,
    account: BankAccount,
    line_ids: list[int],
    entry_ids: list[int],
    note: str = "",
    proposal: Match | None = None,
) -> Match:
    """An agent matches lines with entries by hand (or confirms an engine proposal); the
    match waits for a second agent's approval. The amounts must balance exactly."""
    actor.require(Permission.HANDLE_WORK, client_id=account.client_id)
    ensure_client_in_scope(account.client_id)
    with transaction.atomic():
        lines, entries = _open_rows(account, line_ids, entry_ids)
        lines_total = sum((x.amount for x in lines), Decimal(0))
        entries_total = sum((x.amount for x in entries), Decimal(0))
        difference = lines_total - entries_total
        if difference and not (note.strip() or proposal is not None):
            raise ValidationError(
                {
                    "entry_ids": f"The lines come to {lines_total} and the entries to "
                    f"{entries_total}: {difference} apart. Say in the note why they belong "
                    "together all the same (bank charges, a discount)."
                }
            )
        waiting = (
            Match.objects.filter(status=MatchStatus.PENDING, account=account)
            .filter(Q(proposed_lines__in=lines) | Q(proposed_entries__in=entries))
            .first()
        )
        if waiting is not None:
            raise ValidationError(
                {"line_ids": f"Match {waiting.pk} with these rows already awaits approval."}
            )
        match = Match.objects.create(
            client_id=account.client_id,
            account=account,
            shape=_shape(lines, entries),
            status=MatchStatus.PENDING,
            confidence=proposal.confidence if proposal else Decimal(100),
            reasons=(list(proposal.reasons) if proposal else []) + ["matched by hand"],
            rule=proposal.rule if proposal else None,
            difference=difference,
            made_by=actor.user,
            made_at=timezone.now(),
            note=note.strip(),
        )
        match.proposed_lines.set(lines)
        match.proposed_entries.set(entries)
        if proposal is not None:
            Match.objects.filter(pk=proposal.pk).update(
                status=MatchStatus.REJECTED,
                decided_by=actor.user,
                decided_at=match.made_at,
                note=f"Confirmed as match {match.pk}.",
            )
        _note_on_items(actor, lines, f"Match {match.pk} made; it awaits a second agent's approval.")
        record(
            "finance.match_made",
            obj=match,
            after={"lines": [x.pk for x in lines], "entries": [x.pk for x in entries]},
        )
    return match


def match_confirm(*, actor: Actor, match: Match, note: str = "") -> Match:
    """An agent takes an engine proposal as their own match (it then needs approval)."""
    actor.require(Permission.HANDLE_WORK, client_id=match.client_id)
    if match.status != MatchStatus.PROPOSED:
        raise ValidationError({"status": "Only a proposal can be confirmed."})
    account = BankAccount.objects.get(pk=match.account_id)
    return match_make(
        actor=actor,
        account=account,
        line_ids=list(match.proposed_lines.values_list("pk", flat=True)),
        entry_ids=list(match.proposed_entries.values_list("pk", flat=True)),
        note=note,
        proposal=match,
    )


def match_approve(*, actor: Actor, match: Match) -> Match:
    """A second agent approves a match made by hand: its lines and entries are reconciled
    and their work items resolved. The maker cannot approve their own match."""
    actor.require(Permission.HANDLE_WORK, client_id=match.client_id)
    with transaction.atomic():
        locked = _locked(match, MatchStatus.PENDING)
        if locked.made_by_id == actor.user.pk:
            raise ValidationError(
                {"status": "You made this match: another agent must approve it (four eyes)."}
            )
        account = BankAccount.objects.get(pk=locked.account_id)
        lines, entries = _open_rows(
            account,
            locked.proposed_lines.values_list("pk", flat=True),
            locked.proposed_entries.values_list("pk", flat=True),
        )
        _decide(locked, actor, MatchStatus.ACCEPTED)
        StatementLine.objects.filter(pk__in=[x.pk for x in lines]).update(match=locked)
        LedgerEntry.objects.filter(pk__in=[x.pk for x in entries]).update(match=locked)
        for item in WorkItem.objects.filter(
            open_line__line__in=lines, state__in=sorted(OPEN_STATES)
        ):
            work.work_item_transition(
                actor=actor,
                item=item,
                state=State.RESOLVED,
                reason=f"Match {locked.pk} approved by {actor.user.email}.",
            )
        record(
            "finance.match_approved",
            obj=locked,
            after={"lines": [x.pk for x in lines], "entries": [x.pk for x in entries]},
        )
    return locked


def match_reject(*, actor: Actor, match: Match, reason: str) -> Match:
    """Turn down a proposal or a match awaiting approval, with the reason."""
    actor.require(Permission.HANDLE_WORK, client_id=match.client_id)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the match is wrong."})
    with transaction.atomic():
        locked = _locked(match, MatchStatus.PROPOSED, MatchStatus.PENDING)
        _decide(locked, actor, MatchStatus.REJECTED, note=reason.strip())
        _note_on_items(
            actor, list(locked.proposed_lines.all()), f"Match {locked.pk} rejected: {reason}"
        )
        record("finance.match_rejected", obj=locked, after={"reason": reason.strip()})
    return locked


def match_undo(*, actor: Actor, match: Match, reason: str) -> Match:
    """Take back an accepted match (a wrong one found later): its rows are open again."""
    actor.require(Permission.MANAGE_FINANCE, client_id=match.client_id)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the match is taken back."})
    with transaction.atomic():
        locked = _locked(
            match, MatchStatus.ACCEPTED, refusal="Only an accepted match can be taken back."
        )
        line_ids = list(locked.lines.values_list("pk", flat=True))
        entry_ids = list(locked.entries.values_list("pk", flat=True))
        locked.proposed_lines.add(*line_ids)
        locked.proposed_entries.add(*entry_ids)
        StatementLine.objects.filter(pk__in=line_ids).update(match=None)
        LedgerEntry.objects.filter(pk__in=entry_ids).update(match=None)
        _decide(locked, actor, MatchStatus.REJECTED, note=reason.strip())
        _reopen_items(actor, locked, line_ids, reason.strip())
        record(
            "finance.match_undone",
            obj=locked,
            after={"lines": line_ids, "entries": entry_ids, "reason": reason.strip()},
        )
    return locked


def _reopen_items(actor: Actor, match: Match, line_ids: list[int], reason: str) -> None:
    """The lines of a match taken back are open again, so their work is too: a resolved item
    reopens; a line whose item is closed or cancelled gets a new one."""
    why = f"Match {match.pk} was taken back: {reason}"
    for item in WorkItem.objects.filter(open_line__line_id__in=line_ids, state=State.RESOLVED):
        work.work_item_transition(actor=actor, item=item, state=State.OPEN, reason=why)
    finished = OpenLine.objects.filter(line_id__in=line_ids).exclude(
        item__state__in=sorted(OPEN_STATES)
    )
    if finished.exists():
        finished.delete()
        account = BankAccount.objects.select_related("service").get(pk=match.account_id)
        _open_items(account, line_ids, again=f"-undo-{match.pk}")


def _locked(match: Match, *statuses: str, refusal: str = "") -> Match:
    """The match locked for a decision, refused unless it is in one of the statuses."""
    locked = Match.objects.select_for_update().get(pk=match.pk)
    if locked.status not in statuses:
        raise ValidationError({"status": refusal or f"The match is {locked.get_status_display()}."})
    return locked


def _decide(locked: Match, actor: Actor, status: str, *, note: str | None = None) -> None:
    """Record the actor's decision on a locked match (and its note, when given)."""
    locked.status = status
    locked.decided_by = actor.user
    locked.decided_at = timezone.now()
    fields = ["status", "decided_by", "decided_at"]
    if note is not None:
        locked.note = note
        fields.append("note")
    locked.save(update_fields=fields)


def _note_on_items(actor: Actor, lines: list[StatementLine], body: str) -> None:
    for item in WorkItem.objects.filter(open_line__line__in=lines):
        work.work_item_note(actor=actor, item=item, body=body)


# A reference token worth learning: letters, then digits (RE-2026-10431, INV 88231).
_TOKEN = re.compile(r"\b([A-Za-z]{2,6})[\s\-/]?(\d{2,}(?:[\-/]\d+)*)\b")


def learned_pattern(reference: str) -> str:
    """A regular expression for references like this one: its prefix kept, its digits free
    ('RE-2026-10431' gives 'RE[\\s\\-/]?(\\d{2,}(?:[\\-/]\\d+)*)'); empty if it has none."""
    found = _TOKEN.search(reference or "")
    if not found:
        return ""
    return rf"\b{re.escape(found.group(1))}[\s\-/]?(\d{{2,}}(?:[\-/]\d+)*)\b"


def match_rule_learn(*, actor: Actor, match: Match) -> MatchRule:
    """Turn a match an agent made into a rule of the service: the counterparty's IBAN and
    name, and the shape of the reference, as the match's line shows them."""
    actor.require(Permission.HANDLE_WORK, client_id=match.client_id)
    if match.automatic or match.status not in (MatchStatus.PENDING, MatchStatus.ACCEPTED):
        raise ValidationError({"status": "Only a match made by an agent can become a rule."})
    line = match.lines.first() or match.proposed_lines.first()
    assert line is not None
    account = BankAccount.objects.select_related("service").get(pk=match.account_id)
    pattern = learned_pattern(line.reference)
    name = line.counterparty_name or (pattern and line.reference[:40]) or f"match {match.pk}"
    with transaction.atomic():
        base = f"Learned: {name}"[:110]
        taken = set(
            MatchRule.objects.filter(service=account.service, name__startswith=base).values_list(
                "name", flat=True
            )
        )
        rule_name = base
        n = 1
        while rule_name in taken:
            n += 1
            rule_name = f"{base} ({n})"
        fields: dict[str, Any] = {
            "name": rule_name,
            "reference_pattern": pattern,
            "counterparty_iban": line.counterparty_iban,
            "counterparty_name": line.counterparty_name if not line.counterparty_iban else "",
            "confidence_percent": Decimal(95),
        }
        if not (pattern or line.counterparty_iban or line.counterparty_name):
            raise ValidationError(
                {"status": "The line has no reference, IBAN or name a rule could recognise."}
            )
        rule = MatchRule(
            client_id=match.client_id,
            service=account.service,
            created_by=actor.user,
            learned_from=match,
            **fields,
        )
        rule.full_clean(exclude=["client", "service", "learned_from", "created_by"])
        rule.save()
        record("finance.rule_learned", obj=rule, after={**fields, "match": match.pk})
    return rule


# --- close and filing calendar ------------------------------------------------------------

OBLIGATION_FIELDS = (
    "name",
    "kind",
    "recurrence",
    "starts_on",
    "ends_on",
    "roll",
    "due_time",
    "lead_days",
    "authority",
    "instructions",
    "is_active",
)


def _has_deadline_target(service: Service) -> bool:
    policy_id = work.agreed_terms(service).sla_policy_id
    return (
        policy_id is not None
        and SlaTarget.objects.filter(policy_id=policy_id, metric=Metric.DEADLINE).exists()
    )


def obligation_save(
    *, actor: Actor, service: Service, obligation: Obligation | None = None, **fields: Any
) -> Obligation:
    """Create or change a recurring obligation (report, close task, return) of a service;
    its due dates become work items measured by the service's deadline target."""
    actor.require(Permission.MANAGE_FINANCE, client_id=service.client_id)
    ensure_client_in_scope(service.client_id)
    unknown = set(fields) - set(OBLIGATION_FIELDS)
    if unknown:
        raise ValidationError({k: "Not a field of an obligation." for k in unknown})
    if not _has_deadline_target(service):
        raise ValidationError(
            {
                "service_id": f"{service.name}'s SLA policy has no deadline target: add one so "
                "that each due date is measured."
            }
        )
    obligation = obligation or Obligation(client_id=service.client_id, service=service)
    for key, value in fields.items():
        setattr(obligation, key, value.strip() if isinstance(value, str) else value)
    obligation.recurrence = schedule.validate_recurrence(obligation.recurrence)
    if obligation.ends_on and obligation.ends_on < obligation.starts_on:
        raise ValidationError({"ends_on": "The end comes before the start."})
    obligation.full_clean(exclude=["client", "service"])
    obligation.validate_constraints()
    _save_audited(
        obligation,
        "obligation",
        after={k: str(getattr(obligation, k)) for k in OBLIGATION_FIELDS},
    )
    return obligation


def planned_dates(
    obligation: Obligation, since: date, until: date, *, calendar: BusinessCalendar | None = None
) -> list[tuple[date, date]]:
    """The (nominal, due) dates of an obligation between two days, on its service's calendar
    (``calendar`` when the caller has it at hand)."""
    calendar = calendar or work.agreed_terms(obligation.service).calendar
    return schedule.due_dates(
        obligation.recurrence,
        starts_on=obligation.starts_on,
        ends_on=obligation.ends_on,
        roll=Convention(obligation.roll),
        clock=business_clock(calendar),
        since=since,
        until=until,
    )


def obligations_schedule(*, now: datetime | None = None) -> int:
    """Periodic: every active obligation's due dates within its lead time become work items
    (once each), due at the obligation's time on the service's calendar. Returns how many."""
    now = now or timezone.now()
    made = 0
    for client_id in _active_clients("the close and filing calendar goes through every client"):
        with client_scope([client_id]):
            obligations = Obligation.objects.filter(client_id=client_id, is_active=True)
            terms_of: dict[int, ServiceTerms | None] = {}  # per service, read once
            for obligation in obligations.select_related("service"):
                if obligation.service_id not in terms_of:
                    terms_of[obligation.service_id] = _terms_if_agreed(obligation.service)
                terms = terms_of[obligation.service_id]
                if terms is not None:  # None: no active contract, nothing is due
                    made += _schedule_one(obligation, terms, now)
    return made


def _active_clients(reason: str) -> list[int]:
    """The ids of every active client, read on the named cross-client path."""
    with all_clients_unscoped(reason):
        return list(Client.objects.filter(is_active=True).values_list("pk", flat=True))


def _terms_if_agreed(service: Service) -> ServiceTerms | None:
    try:
        return work.agreed_terms(service)
    except ValidationError:
        return None


def _schedule_one(obligation: Obligation, terms: ServiceTerms, now: datetime) -> int:
    zone = ZoneInfo(terms.calendar.time_zone)
    today = now.astimezone(zone).date()
    known = set(
        Occurrence.objects.filter(
            obligation=obligation, nominal_date__gte=today - timedelta(days=7)
        ).values_list("nominal_date", flat=True)
    )
    made = 0
    for nominal, due in planned_dates(
        obligation, today, today + timedelta(days=obligation.lead_days), calendar=terms.calendar
    ):
        if nominal in known:
            continue
        due_at = schedule.due_instant(due, obligation.due_time, terms.calendar.time_zone)
        if due_at <= now:
            continue
        try:
            with transaction.atomic():
                item = work.channel_item_create(
                    service=obligation.service,
                    origin="system: close and filing calendar",
                    fields_required=False,
                    title=f"{obligation.name} due {due:%Y-%m-%d}"[:300],
                    description=obligation.instructions,
                    external_ref=f"obligation-{obligation.pk}-{nominal:%Y%m%d}",
                    tags=[obligation.kind],
                    terms=terms,
                    deadline_at=due_at,
                )
                Occurrence.objects.create(
                    client_id=obligation.client_id,
                    obligation=obligation,
                    nominal_date=nominal,
                    due_date=due,
                    due_at=due_at,
                    item=item,
                )
        except (IntegrityError, ValidationError):
            continue  # made concurrently by another run
        made += 1
    return made


def occurrence_evidence(
    *, actor: Actor, occurrence: Occurrence, upload: File, reference: str
) -> Occurrence:
    """Attach a filing's evidence: the confirmation document (shared with the client) and the
    authority's confirmation reference. The filing can then be resolved."""
    actor.require(Permission.HANDLE_WORK, client_id=occurrence.client_id)
    reference = reference.strip()
    if not reference:
        raise ValidationError({"reference": "Enter the confirmation reference of the filing."})
    if len(reference) > 120:
        raise ValidationError({"reference": "At most 120 characters."})
    item = WorkItem.objects.get(pk=occurrence.item_id)
    attachment = None
    try:
        with transaction.atomic():  # the document and its standing as evidence, or neither
            attachment = work.work_item_attach(
                actor=actor,
                item=item,
                upload=upload,
                note=f"Filing confirmation {reference}",
                internal=False,
            )
            locked = Occurrence.objects.select_for_update().get(pk=occurrence.pk)
            locked.evidence = attachment
            locked.evidence_reference = reference
            locked.evidence_by = actor.user
            locked.evidence_at = timezone.now()
            locked.save(
                update_fields=["evidence", "evidence_reference", "evidence_by", "evidence_at"]
            )
            record(
                "finance.evidence_attached",
                obj=locked,
                after={"reference": reference, "attachment": attachment.pk},
            )
    except BaseException:
        if attachment is not None:  # its row is rolled back: its file goes too
            _delete_quietly(storages["attachments"], attachment.stored_name)
        raise
    return locked


# --- daily financial report ---------------------------------------------------------------


def daily_report_make(
    *, actor: Actor | None, service: Service, day: date, occurrence: Occurrence | None = None
) -> DailyReport:
    """Make (or make again) the daily financial report of a reconciliation service for a
    business day from the reconciled data: figures, PDF and CSV, stored for the portal. When
    it meets an occurrence of the service's daily report obligation, its work item is resolved:
    the report is the deliverable."""
    if actor is not None:
        actor.require(Permission.HANDLE_WORK, client_id=service.client_id)
    ensure_client_in_scope(service.client_id)
    _reconciliation_service(service)
    zone = ZoneInfo(work.agreed_terms(service).calendar.time_zone)
    if day >= timezone.now().astimezone(zone).date():
        raise ValidationError({"day": f"{day} has not ended yet: a report states a day past."})
    client = Client.objects.get(pk=service.client_id)
    figures = report.daily_figures(service, day)
    pdf = documents.figures_pdf(
        figures,
        client_name=client.name,
        service_name=service.name,
        locale=locale_of_country(client.country),
    )
    csv = documents.figures_csv(figures)
    stem = f"{service.client_id}/reports/{service.key}-{day:%Y-%m-%d}-{uuid.uuid4().hex[:8]}"
    pdf_name = _storage().save(f"{stem}.pdf", ContentFile(pdf))
    csv_name = _storage().save(f"{stem}.csv", ContentFile(csv))
    now = timezone.now()
    with _removed_unless_written(pdf_name, csv_name), transaction.atomic():
        existing = DailyReport.objects.select_for_update().filter(service=service, day=day).first()
        old_names = (existing.pdf_name, existing.csv_name) if existing else ()
        made = existing or DailyReport(client_id=service.client_id, service=service, day=day)
        made.figures = figures
        made.pdf_name, made.csv_name = pdf_name, csv_name
        made.generated_at = now
        made.generated_by = actor.user if actor else None
        if occurrence is not None and made.occurrence_id is None:
            made.occurrence = occurrence
        made.save()
        record(
            "finance.daily_report_made",
            obj=made,
            after={"day": day.isoformat(), "again": existing is not None},
            actor_email="" if actor else "system: daily financial report",
        )
        if made.occurrence_id is not None:
            item = WorkItem.objects.get(occurrence__pk=made.occurrence_id)
            if item.state in OPEN_STATES:
                _resolve(
                    actor,
                    item,
                    f"Daily financial report of {day} delivered.",
                    "system: daily financial report",
                )
        if old_names:
            transaction.on_commit(lambda: [_storage().delete(name) for name in old_names])
    return made


# How long before its deadline a daily report goes out even if a statement is still missing.
REPORT_CUTOFF = timedelta(hours=1)


def daily_reports_deliver(*, now: datetime | None = None) -> int:
    """Periodic: for each open occurrence of a daily report obligation due today, make the
    report of the business day before and so deliver it, as soon as every account of the
    service has its statement of that day, and at the latest an hour before the deadline
    (the report then shows which statement is missing). Returns how many were made."""
    now = now or timezone.now()
    made = 0
    for client_id in _active_clients("the daily financial reports go through every client"):
        with client_scope([client_id]):
            due = Occurrence.objects.filter(
                client_id=client_id,
                obligation__kind=ObligationKind.DAILY_REPORT,
                obligation__service__process_type=ProcessType.RECONCILIATION,
                item__state__in=sorted(OPEN_STATES),
                report__isnull=True,
            ).select_related("obligation__service")
            for occurrence in due:
                if _report_delivered(occurrence, now):
                    made += 1
    return made


def _report_delivered(occurrence: Occurrence, now: datetime) -> bool:
    """Make the report an open daily report occurrence asks for, if it is time; whether it
    was made."""
    service = occurrence.obligation.service
    terms = _terms_if_agreed(service)
    if terms is None:
        return False  # no active contract: the service delivers nothing
    if now.astimezone(ZoneInfo(terms.calendar.time_zone)).date() < occurrence.due_date:
        return False
    clock = business_clock(terms.calendar)
    day = clock.roll(occurrence.due_date - timedelta(days=1), Convention.PRECEDING)
    behind = (
        BankAccount.objects.filter(service=service).exclude(statements__end_date__gte=day).exists()
    )
    if behind and now < occurrence.due_at - REPORT_CUTOFF:
        return False
    daily_report_make(actor=None, service=service, day=day, occurrence=occurrence)
    return True
