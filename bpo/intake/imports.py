"""File import: work items from a CSV or XLSX file (the actions of an import, from upload to
the last batch).

An import goes: upload (the file is stored as it came, its header read and its columns mapped
to work item fields by their names), check (every row is read and checked; errors name their
row and column, and nothing is written while any remain), run (batches of rows taken in through
work_items_create_many; each batch commits its items together with the import's progress, so an
import killed halfway resumes after its last batch and writes no row twice). A row whose
external reference the client already has is skipped: a file imported twice creates nothing
twice.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import islice
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bpo.accounts.roles import Permission
from bpo.audit.log import record
from bpo.contracts.models import Priority, Service, ServiceTerms
from bpo.intake.models import ImportJob, ImportStatus
from bpo.intake.tabular import Table, TableError, cell_text, open_table
from bpo.tenancy.context import Actor, Forbidden, actor_for
from bpo.tenancy.scoping import all_clients_unscoped, ensure_client_in_scope
from bpo.work import actions as work
from bpo.work.models import Channel, Queue

# The work item fields a column can fill, with the names people give such columns.
FIELDS = {
    "title": ("Title", ("title", "subject", "summary", "betreff")),
    "description": ("Description", ("description", "body", "details", "text", "message")),
    "priority": ("Priority", ("priority", "prio", "urgency")),
    "contact_email": (
        "Contact e-mail",
        ("contactemail", "email", "emailaddress", "requesteremail", "customeremail", "mail"),
    ),
    "contact_name": ("Contact name", ("contactname", "name", "requester", "customer")),
    "external_ref": (
        "External reference",
        ("externalref", "externalreference", "reference", "ref", "ticketid", "caseid"),
    ),
    "tags": ("Tags", ("tags", "labels")),
    "language": ("Language", ("language", "lang", "locale")),
}
CUSTOM = "cf:"
BATCH_ROWS = 5000
MAX_ERRORS = 200
# A run that has written nothing for this long was killed; another may take over.
LEASE = timedelta(minutes=2)
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "x", "ja", "oui", "si", "sí", "wahr"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "nein", "non", "falsch", ""})
_WORD = re.compile(r"[^a-z0-9]")
# A priority as a file may write it, its value or its label in any case: {word: value}.
PRIORITY_WORDS = {
    word.lower(): value for value, label in Priority.choices for word in (value, str(label))
}


# The states in which the columns may still be mapped again.
MAPPABLE = (ImportStatus.UPLOADED, ImportStatus.INVALID, ImportStatus.READY)


class ImportBusy(Exception):
    """Another process is running this import (its lease is fresh)."""


@dataclass(frozen=True)
class RowError:
    """A problem in the file: its row and column as a spreadsheet shows them (None for a
    problem of the whole file or of the mapping)."""

    row: int | None
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


def targets(terms: ServiceTerms) -> dict[str, str]:
    """What a column can be mapped to for this service: {target: label}."""
    found = {key: label for key, (label, _) in FIELDS.items()}
    for spec in terms.custom_fields:
        found[CUSTOM + spec["name"]] = f"{spec.get('label') or spec['name']} (custom field)"
    return found


def _word(text: str) -> str:
    return _WORD.sub("", text.lower())


def propose_mapping(headers: list[str], terms: ServiceTerms) -> list[str]:
    """Each column's target, guessed from its header: a field's or custom field's name or
    label, or a usual synonym; "" for a column nobody would guess. No target twice."""
    names: dict[str, str] = {}
    for spec in terms.custom_fields:
        names.setdefault(_word(spec["name"]), CUSTOM + spec["name"])
        names.setdefault(_word(spec.get("label") or ""), CUSTOM + spec["name"])
    for key, (label, synonyms) in FIELDS.items():
        for word in (_word(key), _word(label), *synonyms):
            names.setdefault(word, key)
    names.pop("", None)
    mapping, used = [], set()
    for header in headers:
        target = names.get(_word(header), "")
        if target in used:
            target = ""
        used.add(target)
        mapping.append(target)
    return mapping


def mapping_problems(mapping: list[str], headers: list[str], terms: ServiceTerms) -> list[str]:
    """What is wrong with a mapping before any row is read."""
    known = targets(terms)
    problems = []
    if len(mapping) != len(headers):
        problems.append(f"The mapping names {len(mapping)} columns; the file has {len(headers)}.")
    for index, target in enumerate(mapping):
        if target and target not in known:
            problems.append(f"Column {index + 1}: {target!r} is not a field of this service.")
    chosen = [t for t in mapping if t]
    for target in sorted({t for t in chosen if chosen.count(t) > 1}):
        problems.append(f"{known.get(target, target)} is chosen for more than one column.")
    if "title" not in chosen:
        problems.append("Choose the column that holds each item's title.")
    for spec in terms.custom_fields:
        if spec.get("required") and CUSTOM + spec["name"] not in chosen:
            label = spec.get("label") or spec["name"]
            problems.append(f"{label} is required by the service: choose the column that holds it.")
    return problems


class RowReader:
    """Turns a file's rows into checked item details under one service's terms."""

    def __init__(self, table: Table, mapping: list[str], terms: ServiceTerms) -> None:
        self.table = table
        self.terms = terms
        self.columns = [(i, t) for i, t in enumerate(mapping) if t]
        self.column_of = {t: i for i, t in self.columns}
        self.specs = {spec["name"]: spec for spec in terms.custom_fields}

    def details(self, number: int, cells: list[Any]) -> dict[str, Any] | list[RowError]:
        """The row's checked details, or every problem it has, in the columns' order."""
        values: dict[str, Any] = {"custom_fields": {}}
        problems: dict[str, str] = {}  # target -> message
        for index, target in self.columns:
            cell = cells[index] if index < len(cells) else None
            try:
                if target.startswith(CUSTOM):
                    name = target[len(CUSTOM) :]
                    values["custom_fields"][name] = _custom_value(self.specs[name], cell)
                else:
                    values[target] = _field_value(target, cell)
            except ValueError as exc:
                problems[target] = str(exc)
        values.setdefault("title", "")
        try:
            checked = work.item_details_check(self.terms, **values)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                problems.setdefault(_target_of(key), " ".join(messages))
        else:
            if not problems:
                return checked
        ordered = sorted(problems.items(), key=lambda p: self.column_of.get(p[0], -1))
        return [RowError(number, self.column_named(t), message) for t, message in ordered]

    def column_named(self, key: str) -> str:
        index = self.column_of.get(_target_of(key))
        return self.table.column(index) if index is not None else "—"


def _target_of(key: str) -> str:
    """The mapping target of a field path of item_details_check ('custom_fields.x' → 'cf:x')."""
    return CUSTOM + key.split(".", 1)[1] if key.startswith("custom_fields.") else key


def _field_value(target: str, cell: Any) -> Any:
    text = cell_text(cell)
    if target == "priority":
        if not text:
            return Priority.NORMAL
        try:
            return PRIORITY_WORDS[text.lower()]
        except KeyError:
            raise ValueError(f"{text!r} is not a priority: {', '.join(Priority.values)}.") from None
    if target == "tags":
        return [t for t in re.split(r"[,;]", text) if t.strip()]
    return text


def _custom_value(spec: dict[str, Any], cell: Any) -> Any:
    """A cell as a custom field's value: spreadsheet numbers, dates and yes/no words read."""
    kind = spec["type"]
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    if kind == "number":
        if isinstance(cell, bool):
            raise ValueError("Expected a number.")
        if isinstance(cell, (int, float)):
            return cell_text(cell)
        try:
            return str(Decimal(cell_text(cell).replace(" ", "")))
        except InvalidOperation:
            raise ValueError(
                f"{cell_text(cell)!r} is not a number (write decimals with a point: 1234.5)."
            ) from None
    if kind == "date":
        if isinstance(cell, datetime):
            return cell.date().isoformat()
        if isinstance(cell, date):
            return cell.isoformat()
        return cell_text(cell)
    if kind == "boolean":
        if isinstance(cell, bool):
            return cell
        word = cell_text(cell).lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(f"{cell_text(cell)!r} is not yes or no.")
    text = cell_text(cell)
    if kind == "choice":
        for choice in spec["choices"]:
            if text.lower() == choice.lower():
                return choice
    return text


# --- Actions ----------------------------------------------------------------------------------


def import_upload(
    *,
    actor: Actor,
    service: Service,
    upload: IO[bytes],
    file_name: str,
    encoding: str = "",
    queue: Queue | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportJob:
    """Store a file as it came, read its header and propose a mapping; check it at once when
    the mapping is complete (``progress`` hears the rows checked so far). A file that cannot
    be read is refused with the reason."""
    actor.require(Permission.IMPORT_WORK, client_id=service.client_id)
    ensure_client_in_scope(service.client_id)
    terms = work.agreed_terms(service)
    if queue is not None and queue.service_id != service.pk:
        raise ValidationError({"queue_id": "The queue belongs to another service."})
    file_name = Path(file_name or "upload.csv").name[:255]
    digest = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: upload.read(1 << 20), b""):
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    suffix = ".xlsx" if file_name.lower().endswith((".xlsx", ".xlsm")) else ".csv"
    stored_name = storages["imports"].save(
        f"{service.client_id}/{timezone.now():%Y-%m}/{uuid.uuid4().hex}{suffix}", File(upload)
    )
    try:
        table = open_table(_path(stored_name), filename=file_name, encoding=encoding)
    except TableError as exc:
        storages["imports"].delete(stored_name)
        raise ValidationError({"file": str(exc)}) from None
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                client_id=service.client_id,
                service=service,
                queue=queue,
                created_by=actor.user,
                file_name=file_name,
                stored_name=stored_name,
                size=size,
                sha256=digest.hexdigest(),
                kind=table.kind,
                encoding=table.encoding if table.kind == "csv" else "",
                delimiter=table.delimiter if table.kind == "csv" else "",
                headers=table.headers,
                mapping=propose_mapping(table.headers, terms),
            )
            record(
                "import.uploaded",
                obj=job,
                after={"file": file_name, "size": size, "sha256": job.sha256, "kind": job.kind},
            )
    except BaseException:
        storages["imports"].delete(stored_name)
        raise
    if not mapping_problems(job.mapping, job.headers, terms):
        import_check(actor=actor, job=job, progress=progress)
    return job


def import_map(
    *,
    actor: Actor,
    job: ImportJob,
    mapping: list[str],
    progress: Callable[[int], None] | None = None,
) -> ImportJob:
    """Set which column fills which field, then check every row against it."""
    actor.require(Permission.IMPORT_WORK, client_id=job.client_id)
    if job.status not in MAPPABLE:
        raise ValidationError({"mapping": f"The import is {job.get_status_display().lower()}."})
    if not isinstance(mapping, list) or not all(isinstance(t, str) for t in mapping):
        raise ValidationError({"mapping": "Expected a list of targets, one per column."})
    before = job.mapping
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(mapping=mapping)
        job.mapping = mapping
        record("import.mapped", obj=job, before={"mapping": before}, after={"mapping": mapping})
    return import_check(actor=actor, job=job, progress=progress)


def import_check(
    *, actor: Actor, job: ImportJob, progress: Callable[[int], None] | None = None
) -> ImportJob:
    """Read every row and check it: fields, custom fields, the external reference not twice in
    the file. Ready when nothing is wrong; otherwise the first errors with row and column."""
    actor.require(Permission.IMPORT_WORK, client_id=job.client_id)
    terms = work.agreed_terms(job.service)
    errors: list[RowError] = [
        RowError(None, "—", p) for p in mapping_problems(job.mapping, job.headers, terms)
    ]
    rows = existing = 0
    if not errors:
        reader = RowReader(table_of(job), job.mapping, terms)
        first_row_of: dict[str, int] = {}
        try:
            for number, cells in reader.table.rows():
                rows += 1
                if progress and rows % BATCH_ROWS == 0:
                    progress(rows)
                if not cells:
                    continue
                found = reader.details(number, cells)
                if isinstance(found, list):
                    errors.extend(found)
                    continue
                ref = found["external_ref"]
                if ref and ref in first_row_of:
                    errors.append(
                        RowError(
                            number,
                            reader.column_named("external_ref"),
                            f"The external reference {ref!r} is on row {first_row_of[ref]} too.",
                        )
                    )
                elif ref:
                    first_row_of[ref] = number
        except TableError as exc:
            errors.append(RowError(None, "—", str(exc)))
        existing = len(work.external_refs_taken(job.client_id, list(first_row_of)))
    with transaction.atomic():
        job.status = ImportStatus.INVALID if errors else ImportStatus.READY
        job.errors = [e.as_dict() for e in errors[:MAX_ERRORS]]
        job.error_count = len(errors)
        job.rows_total = rows
        job.rows_existing = existing
        job.checked_at = timezone.now()
        job.save(
            update_fields=[
                "status",
                "errors",
                "error_count",
                "rows_total",
                "rows_existing",
                "checked_at",
            ]
        )
        record(
            "import.checked",
            obj=job,
            after={"status": job.status, "rows": rows, "errors": len(errors), "existing": existing},
        )
    return job


def import_start(*, actor: Actor, job: ImportJob, enqueue: bool = True) -> ImportJob:
    """Start a checked import; the worker runs it (import_run), or the caller does when it
    says so with ``enqueue=False`` (the import command)."""
    actor.require(Permission.IMPORT_WORK, client_id=job.client_id)
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != ImportStatus.READY:
            raise ValidationError(
                {"status": f"Only a checked import starts; this one is {locked.status}."}
            )
        locked.status = ImportStatus.RUNNING
        locked.started_at = timezone.now()
        locked.save(update_fields=["status", "started_at"])
        record("import.started", obj=locked, after={"rows": locked.rows_total})
        if enqueue:
            _enqueue(locked)
    return locked


def import_run(
    *,
    job_id: int,
    progress: Callable[[ImportJob], None] | None = None,
    take_over: bool = False,
) -> ImportJob:
    """Take in a started import's rows, batch by batch, from where it stopped. Runs as the
    user who started it. Raises ImportBusy when another process holds the import's lease
    (``take_over`` ignores the lease: a person who knows the other run is dead)."""
    runner = uuid.uuid4().hex
    now = timezone.now()
    claim = ImportJob.objects.filter(pk=job_id, status=ImportStatus.RUNNING)
    if not take_over:
        claim = claim.filter(Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - LEASE))
    if not claim.update(runner=runner, heartbeat_at=now):
        job = ImportJob.objects.get(pk=job_id)
        if job.status == ImportStatus.RUNNING:
            raise ImportBusy(f"Import #{job.pk} is being run by another process.")
        return job
    job = ImportJob.objects.select_related("service", "queue", "created_by").get(pk=job_id)
    actor = actor_for(job.created_by)
    try:
        terms = work.agreed_terms(job.service)
        reader = RowReader(table_of(job), job.mapping, terms)
        rows = reader.table.rows(skip=job.rows_done)
        while batch := list(islice(rows, BATCH_ROWS)):
            _take_batch(actor, job, terms, reader, batch, runner)
            if progress:
                progress(job)
    except _LostLease:
        return ImportJob.objects.get(pk=job_id)
    except (TableError, ValidationError, Forbidden) as exc:
        return _fail(job, runner, exc)
    except Exception as exc:
        _fail(job, runner, exc)
        raise
    with transaction.atomic():
        done = ImportJob.objects.filter(pk=job.pk, runner=runner).update(
            status=ImportStatus.DONE, finished_at=timezone.now(), runner=""
        )
        if done:
            job.refresh_from_db()
            record(
                "import.finished",
                obj=job,
                after={"created": job.items_created, "skipped": job.items_skipped},
            )
    if progress:
        progress(job)
    return ImportJob.objects.get(pk=job_id)


class _LostLease(Exception):
    """Another process took the import over (this one was presumed dead)."""


def _take_batch(
    actor: Actor,
    job: ImportJob,
    terms: ServiceTerms,
    reader: RowReader,
    batch: list[tuple[int, list[Any]]],
    runner: str,
) -> None:
    """One batch in one transaction: its items, and the import's progress past it."""
    details = []
    for number, cells in batch:
        if not cells:
            continue
        found = reader.details(number, cells)
        if isinstance(found, list):
            first = found[0]
            raise ValidationError(f"Row {first.row}, {first.column}: {first.message}")
        details.append(found)
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.runner != runner:
            raise _LostLease
        created = work.work_items_create_many(
            actor=actor,
            service=job.service,
            terms=terms,
            rows=details,
            queue=job.queue,
            channel=Channel.IMPORT,
            source=job,
        )
        job.rows_done = locked.rows_done + len(batch)
        job.items_created = locked.items_created + len(created.items)
        job.items_skipped = locked.items_skipped + len(created.skipped)
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["rows_done", "items_created", "items_skipped", "heartbeat_at"])


def _fail(job: ImportJob, runner: str, exc: Exception) -> ImportJob:
    """Stop the import with the reason; what was written stays, and it can be resumed."""
    if isinstance(exc, ValidationError):
        message = " ".join(exc.messages)
    elif isinstance(exc, Forbidden):
        message = f"{job.created_by} may no longer import work for this client."
    elif isinstance(exc, TableError):
        message = str(exc)
    else:
        message = f"Unexpected error ({type(exc).__name__}: {exc}); resume it when fixed."
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk, runner=runner).update(
            status=ImportStatus.FAILED, failure=message, finished_at=timezone.now(), runner=""
        )
        record("import.failed", obj=job, after={"failure": message, "rows_done": job.rows_done})
    return ImportJob.objects.get(pk=job.pk)


def import_resume(*, actor: Actor, job: ImportJob, enqueue: bool = True) -> ImportJob:
    """Go on with an import that stopped with an error, after its last written batch (in the
    worker, or in the caller with ``enqueue=False``)."""
    actor.require(Permission.IMPORT_WORK, client_id=job.client_id)
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != ImportStatus.FAILED:
            raise ValidationError(
                {"status": f"Only a stopped import resumes; this one is {locked.status}."}
            )
        locked.status, locked.failure, locked.finished_at = ImportStatus.RUNNING, "", None
        locked.heartbeat_at = None
        locked.save(update_fields=["status", "failure", "finished_at", "heartbeat_at"])
        record("import.resumed", obj=locked, after={"rows_done": locked.rows_done})
        if enqueue:
            _enqueue(locked)
    return locked


def import_take_over(*, actor: Actor, job: ImportJob) -> None:
    """Say (in the audit log) that this person goes on with a running import from its last
    written batch, as one does when its process was killed; import_run then takes it over."""
    actor.require(Permission.IMPORT_WORK, client_id=job.client_id)
    if job.status != ImportStatus.RUNNING:
        raise ValidationError({"status": f"The import is {job.status}, not running."})
    with transaction.atomic():
        record("import.taken_over", obj=job, after={"rows_done": job.rows_done})


def _enqueue(job: ImportJob) -> None:
    from bpo.intake.tasks import import_run_job

    job_id, client_id = job.pk, job.client_id
    transaction.on_commit(lambda: import_run_job.enqueue(job_id=job_id, client_id=client_id))


def imports_stalled() -> list[tuple[int, int]]:
    """(import id, client id) of running imports nobody runs: their runner stopped writing for
    longer than the lease (it was killed), or none took them up."""
    cutoff = timezone.now() - LEASE
    with all_clients_unscoped("finding imports whose runner was killed"):
        stale = ImportJob.objects.filter(status=ImportStatus.RUNNING).filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        )
        return list(stale.values_list("pk", "client_id"))


def _path(stored_name: str) -> Path:
    return Path(storages["imports"].path(stored_name))


def table_of(job: ImportJob) -> Table:
    """The import's stored file, opened as it was read at upload."""
    table = open_table(_path(job.stored_name), filename=job.file_name, encoding=job.encoding)
    if table.headers != job.headers:
        raise TableError("The stored file's header changed since it was uploaded.")
    return table
