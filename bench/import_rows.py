"""File import: rows per second from upload to work items, beside a bare bulk insert of the
same rows in the same run.

A client admin imports a CSV file of 100,000 rows (2,000 with --quick) into a service whose
terms define custom fields of the kinds a spreadsheet fills (text, number, date, choice), on a
client whose table already holds a backlog of items. The columns (reference, subject,
description, some with a quoted line break, priority in mixed case, customer e-mail and name,
tags, order number, value, date and reason) are mapped by their headers as proposed, and 20,000
distinct addresses, new every run, make the import create its contacts. The end-to-end time runs
from ``import_upload`` (the file stored, its header read, every row checked) through
``import_start`` to the last batch of ``import_run``, called in this process as the import
command and the worker's task call it: every row checked again, and each item written with
its contact, SLA clocks, due time and timeline entry, an audit entry a batch, the import's
progress committed with each batch of 5,000 rows.

The baseline, ``bare_bulk_create``, reads the same file with ``csv.reader`` and writes each row
as a bare WorkItem (its cells as they are: no checks, contact, clocks, due time, events or
audit) with ``WorkItem.objects.bulk_create``, a batch of 5,000 a transaction as the import
commits them: the ORM insert the import itself ends in, and nothing else. A second figure sets
that bulk_create beside the same bare rows in plain SQL (COPY on PostgreSQL, executemany on
SQLite): the cost of the ORM itself. Runs alternate the order of the three. After each
measurement the rows are counted and removed (with their clocks, events and contacts), so every
run starts from the same table; the first run also imports its file a second time, which must
create nothing and skip every row.
"""

from __future__ import annotations

import csv
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from bench import Figure, Options, median, progress
from bench._workload import (
    PASSWORD,
    Shape,
    client_services,
    fast_hashing,
    insert_items,
    seed_provider,
)
from bpo.accounts import actions as people
from bpo.accounts.models import User
from bpo.accounts.roles import Role
from bpo.audit.context import request_context
from bpo.contracts import actions as contracts
from bpo.contracts.models import Service, ServiceTerms
from bpo.intake import imports
from bpo.intake.models import ImportJob, ImportStatus
from bpo.tenancy.context import acting_as, actor_for
from bpo.tenancy.models import Client
from bpo.tenancy.scoping import client_scope
from bpo.work import actions as work
from bpo.work.models import Channel, Contact, Event, SlaClock, WorkItem

GOAL_ROWS_PER_SECOND = 5_000
FULL_ROWS = 100_000
QUICK_ROWS = 2_000
FULL_CONTACTS = 20_000  # distinct customers writing in one file
QUICK_CONTACTS = 400
FULL_BACKLOG = 100_000  # items the client already has
QUICK_BACKLOG = 2_000
WARM_ROWS = 500
# What a run does with its file, in an order that turns from run to run.
KINDS = ["import", "bulk_create", "sql"]
BATCH = imports.BATCH_ROWS
SEED = 20261201
HEADERS = (
    "Reference",
    "Subject",
    "Description",
    "Priority",
    "Customer email",
    "Contact name",
    "Tags",
    "Order number",
    "Order value",
    "Order date",
    "Reason",
)
CUSTOM_FIELDS: list[dict[str, Any]] = [
    {"name": "order_number", "label": "Order number", "type": "text", "required": True},
    {"name": "order_value", "label": "Order value", "type": "number"},
    {"name": "order_date", "label": "Order date", "type": "date"},
    {
        "name": "reason",
        "label": "Reason",
        "type": "choice",
        "choices": ["Delivery", "Return", "Refund", "Damage", "Other"],
    },
]
PRIORITIES = ("Low", "normal", "Normal", "normal", "NORMAL", "High", "high", "Urgent")
SUBJECTS = (
    "Where is my parcel?",
    "Refund not received",
    "Wrong size delivered",
    "Item arrived damaged",
    "Cancel my order, please",
    "Invoice address is wrong",
    "Voucher code does not work",
    "Return label missing",
)
BODIES = (
    "Hello, my order was due last Tuesday and the tracking page has not moved since; "
    "could you check with the carrier?",
    "I sent the jacket back two weeks ago (return label attached), but the refund is not "
    "on my card yet.",
    'The box was crushed and the lamp\'s shade is "cracked"; photos attached.\n'
    "Please send a replacement.",
    "Ich habe die falsche Größe bekommen – bitte tauschen Sie die Schuhe gegen 42 um.",
    "",
)
TAGS = ("", "parcel", "refund, carrier", "damage;photo", "vip", "return, label, eu")
REASONS = ("Delivery", "return", "Refund", "damage", "Other", "")
FIRST_NAMES = ("Anna", "Jonas", "Marie", "Luca", "Sofia", "Noah", "Emma", "Ben", "Léa", "Ömer")
LAST_NAMES = ("Schmidt", "Rossi", "Dubois", "Novak", "García", "Jansen", "Nowak", "Silva")


@dataclass(frozen=True)
class Setup:
    """What the benchmark imports into: a client, its service and the client admin importing."""

    client_id: int
    service: Service
    terms: ServiceTerms
    queue_id: int
    importer: User


def seed(backlog: int) -> Setup:
    """A client with one service, its terms given custom fields in a second contract version, a
    client admin who imports, and a backlog of items in the service's queue."""
    shape = Shape(clients=1, queues_per_client=1, agents=0, clients_per_agent=0, items=backlog)
    provider = seed_provider(shape)
    client_id = provider.client_ids[0]
    admin = User.objects.get(pk=provider.admin_id)
    with (
        request_context(request_id="bench-import-rows"),
        fast_hashing(),
        acting_as(actor_for(admin)) as actor,
    ):
        service = client_services(client_id)[0]
        draft = contracts.contract_version_draft(actor=actor, contract=service.contract)
        contracts.service_terms_update(
            actor=actor,
            terms=ServiceTerms.objects.get(version=draft, service=service),
            custom_fields=CUSTOM_FIELDS,
        )
        contracts.contract_version_activate(actor=actor, version=draft)
        importer = people.user_create(
            actor=actor,
            email="imports@client.example",
            full_name="Client Imports",
            password=PASSWORD,
        )
        client = Client.objects.get(pk=client_id)
        people.membership_create(actor=actor, user=importer, role=Role.CLIENT_ADMIN, client=client)
        terms = work.agreed_terms(service)
        queue_id = work.queue_default(service).pk
    progress(
        f"the service's terms (version {terms.version.number}) have {len(CUSTOM_FIELDS)} "
        "custom fields; a client admin imports"
    )
    if backlog:
        progress(f"inserting a backlog of {backlog:,} items")
        insert_items(provider, backlog)
    return Setup(client_id, service, terms, queue_id, importer)


def write_file(path: Path, rows: int, contacts: int, run: str) -> None:
    """A reproducible CSV file of ``rows`` rows, external references and contact addresses
    of its own (``run`` names them)."""
    rng = random.Random(f"{SEED}-{run}")  # noqa: S311 (reproducible test data, not secrets)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        for number in range(1, rows + 1):
            customer = rng.randrange(contacts)
            has_email = rng.random() > 0.05
            name = (
                f"{FIRST_NAMES[customer % len(FIRST_NAMES)]} "
                f"{LAST_NAMES[customer % len(LAST_NAMES)]}"
            )
            writer.writerow(
                (
                    f"{run}-{number:07d}",
                    f"{rng.choice(SUBJECTS)} (order {rng.randrange(10**6, 10**7)})",
                    rng.choice(BODIES),
                    rng.choice(PRIORITIES),
                    f"customer{customer}@{run}.example.net" if has_email else "",
                    name if has_email else "",
                    rng.choice(TAGS),
                    f"WEB-{rng.randrange(10**8, 10**9)}",
                    f"{rng.randrange(100, 100_000) / 100:.2f}" if rng.random() > 0.2 else "",
                    f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                    rng.choice(REASONS),
                )
            )


def import_file(
    setup: Setup, path: Path, rows: int, *, report: Callable[[str], None] | None = None
) -> tuple[ImportJob, float, float]:
    """Upload, check, start and run an import as the import command does (the worker's task
    runs it the same way); (the finished import, seconds to upload and check every row,
    seconds to start and take in every row)."""
    step = max(BATCH, rows // 5 // BATCH * BATCH)
    began = time.perf_counter()

    def row_checked(done: int) -> None:
        if report and done % step == 0:
            report(f"checked {done:,}/{rows:,} rows ({time.perf_counter() - began:.1f} s)")

    with acting_as(actor_for(setup.importer)) as actor:
        with path.open("rb") as upload:
            job = imports.import_upload(
                actor=actor,
                service=setup.service,
                upload=upload,
                file_name=path.name,
                progress=row_checked,
            )
        if job.status != ImportStatus.READY:
            raise RuntimeError(f"the import is {job.status}, not ready: {job.errors[:3]}")
        checked = time.perf_counter()
        job = imports.import_start(actor=actor, job=job, enqueue=False)

    def batch_done(current: ImportJob) -> None:
        # After each batch, and once more when the import is done.
        if report and current.status == ImportStatus.RUNNING and current.rows_done % step == 0:
            report(
                f"taken in {current.rows_done:,}/{rows:,} rows "
                f"({time.perf_counter() - checked:.1f} s)"
            )

    with client_scope([setup.client_id]):  # as the worker's task and the command run it
        job = imports.import_run(job_id=job.pk, progress=batch_done)
    return job, checked - began, time.perf_counter() - checked


def file_rows(path: Path) -> Iterator[list[list[str]]]:
    """The file's data rows, batch by batch, as csv.reader reads them."""
    with path.open(encoding="utf-8", newline="") as source:
        reader = csv.reader(source)
        if next(reader) != list(HEADERS):
            raise RuntimeError(f"{path.name} does not start with the expected header")
        while batch := list(islice(reader, BATCH)):
            yield batch


COLUMN = {name: index for index, name in enumerate(HEADERS)}
CUSTOM_COLUMNS = [(f["name"], COLUMN[f["label"]]) for f in CUSTOM_FIELDS]


def bare_bulk_create(setup: Setup, path: Path) -> int:
    """The file's rows as bare WorkItems through the ORM, batch by batch, each committed."""
    ref, title, body = COLUMN["Reference"], COLUMN["Subject"], COLUMN["Description"]
    priority, tags = COLUMN["Priority"], COLUMN["Tags"]
    count = 0
    with client_scope([setup.client_id]):
        for batch in file_rows(path):
            items = [
                WorkItem(
                    client_id=setup.client_id,
                    service_id=setup.service.pk,
                    terms_id=setup.terms.pk,
                    queue_id=setup.queue_id,
                    channel=Channel.IMPORT,
                    external_ref=cells[ref],
                    title=cells[title],
                    description=cells[body],
                    priority=cells[priority].lower(),
                    tags=cells[tags].split(","),
                    custom_fields={name: cells[index] for name, index in CUSTOM_COLUMNS},
                )
                for cells in batch
            ]
            with transaction.atomic():
                WorkItem.objects.bulk_create(items, batch_size=work.BULK_BATCH)
            count += len(items)
    return count


SQL_COLUMNS = (
    "client_id",
    "service_id",
    "terms_id",
    "queue_id",
    "channel",
    "state",
    "external_ref",
    "title",
    "description",
    "priority",
    "tags",
    "custom_fields",
    "required_skills",
    "language",
    "created_at",
    "updated_at",
)


def bare_sql_insert(setup: Setup, path: Path) -> int:
    """The same bare rows in plain SQL, batch by batch, each committed: COPY on PostgreSQL,
    one parametrised INSERT run over the batch (executemany) on SQLite, as bench._workload
    inserts its backlog. No ORM: what the database and its driver can take."""
    table = WorkItem._meta.db_table
    columns = ", ".join(SQL_COLUMNS)
    ref, title, body = COLUMN["Reference"], COLUMN["Subject"], COLUMN["Description"]
    priority, tags = COLUMN["Priority"], COLUMN["Tags"]
    fixed = (setup.client_id, setup.service.pk, setup.terms.pk, setup.queue_id, "import", "new")
    count = 0
    with connection.cursor() as cursor:
        for batch in file_rows(path):
            now = connection.ops.adapt_datetimefield_value(timezone.now())
            params = [
                (
                    *fixed,
                    cells[ref],
                    cells[title],
                    cells[body],
                    cells[priority].lower(),
                    json.dumps(cells[tags].split(",")),
                    json.dumps({name: cells[index] for name, index in CUSTOM_COLUMNS}),
                    "{}",
                    "",
                    now,
                    now,
                )
                for cells in batch
            ]
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        for row in params:
                            copy.write_row(row)
                else:
                    marks = ", ".join("%s" for _ in SQL_COLUMNS)
                    cursor.executemany(
                        f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608
                        params,
                    )
            count += len(params)
    return count


def imported(setup: Setup) -> int:
    """Items of the client that came from a file (imported or inserted bare)."""
    with client_scope([setup.client_id]):
        return WorkItem.objects.filter(channel=Channel.IMPORT).count()


def clear(setup: Setup) -> None:
    """Remove the run's items, their clocks and timeline entries and the client's contacts, so
    the next run starts from the same table (the backlog stays)."""
    items = f"SELECT id FROM {WorkItem._meta.db_table} WHERE client_id = %s AND channel = %s"  # noqa: S608
    params: list[int | str] = [setup.client_id, Channel.IMPORT.value]
    tables = [SlaClock._meta.db_table, Event._meta.db_table]
    with transaction.atomic(), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {table} WHERE item_id IN ({items})", params)  # noqa: S608
        cursor.execute(
            f"DELETE FROM {WorkItem._meta.db_table} WHERE client_id = %s AND channel = %s",  # noqa: S608
            params,
        )
        cursor.execute(
            f"DELETE FROM {Contact._meta.db_table} WHERE client_id = %s",  # noqa: S608
            [setup.client_id],
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in [*tables, WorkItem._meta.db_table, Contact._meta.db_table]:
                cursor.execute(f"VACUUM (ANALYZE) {table}")


def check_import(setup: Setup, job: ImportJob, rows: int) -> None:
    """The import finished with exactly the file's rows as items."""
    count = imported(setup)
    if job.status != ImportStatus.DONE or job.items_created != rows or count != rows:
        raise RuntimeError(
            f"import #{job.pk} is {job.status} with {job.items_created} created "
            f"({job.failure or 'no failure'}); {count} items for {rows} rows"
        )


def reimport(setup: Setup, path: Path, rows: int) -> None:
    """The same file again: every row is found existing and skipped, no item created."""
    job, check_s, run_s = import_file(setup, path, rows)
    if job.rows_existing != rows or job.items_created or job.items_skipped != rows:
        raise RuntimeError(
            f"re-import #{job.pk}: {job.rows_existing} existing, {job.items_created} created, "
            f"{job.items_skipped} skipped of {rows} rows"
        )
    if imported(setup) != rows:
        raise RuntimeError("the re-import changed the number of items")
    progress(
        f"re-import of the same file: {rows:,} rows found existing and skipped, none created "
        f"({rows / (check_s + run_s):,.0f} rows/s)"
    )


def measure(kind: str, setup: Setup, path: Path, rows: int, label: str) -> tuple[float, str]:
    """Take the file in one way; (seconds, what was done), the outcome checked."""
    if kind == "import":

        def report(message: str) -> None:
            progress(f"{label} import: {message}")

        job, check_s, run_s = import_file(setup, path, rows, report=report)
        check_import(setup, job, rows)
        detail = (
            f"check {check_s:.1f} s, {rows / check_s:,.0f}/s; "
            f"run {run_s:.1f} s, {rows / run_s:,.0f}/s"
        )
        return check_s + run_s, detail
    insert = bare_bulk_create if kind == "bulk_create" else bare_sql_insert
    began = time.perf_counter()
    written = insert(setup, path)
    seconds = time.perf_counter() - began
    if written != rows or imported(setup) != rows:
        raise RuntimeError(f"the bare {kind} wrote {written} of {rows} rows")
    return seconds, "bare rows: no checks, contacts, clocks, events or audit"


def run(options: Options) -> list[Figure]:
    """Imports of a file beside bare bulk inserts of it, interleaved runs."""
    rows = QUICK_ROWS if options.quick else FULL_ROWS
    contacts = QUICK_CONTACTS if options.quick else FULL_CONTACTS
    backlog = QUICK_BACKLOG if options.quick else FULL_BACKLOG
    setup = seed(backlog)

    warm = options.workdir / "warm.csv"
    write_file(warm, WARM_ROWS, WARM_ROWS, "warm")
    job, _, _ = import_file(setup, warm, WARM_ROWS)
    check_import(setup, job, WARM_ROWS)
    clear(setup)

    rates: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for number in range(1, options.runs + 1):
        path = options.workdir / f"import-{number}.csv"
        write_file(path, rows, contacts, f"r{number}")
        progress(
            f"run {number}/{options.runs}: {path.name}, {rows:,} rows, "
            f"{path.stat().st_size / 1e6:.1f} MB"
        )
        shift = (number - 1) % len(KINDS)
        for kind in KINDS[shift:] + KINDS[:shift]:
            seconds, detail = measure(kind, setup, path, rows, f"run {number}/{options.runs}")
            rates[kind].append(rows / seconds)
            progress(
                f"run {number}/{options.runs} {kind}: {rows:,} rows in {seconds:.2f} s, "
                f"{rows / seconds:,.0f} rows/s ({detail})"
            )
            if kind == "import" and number == 1:
                reimport(setup, path, rows)
            clear(setup)
        path.unlink()
    scale = (
        f"{rows:,} CSV rows a run ({len(HEADERS)} columns, {len(CUSTOM_FIELDS)} custom fields, "
        f"{contacts:,} new contacts) into one service of a client with {backlog:,} items; "
        f"goal {GOAL_ROWS_PER_SECOND:,} rows/s"
    )
    return [
        Figure(
            "rows_per_second",
            median(rates["import"]),
            "rows/s",
            "bare_bulk_create_rows_per_s",
            median(rates["bulk_create"]),
            options.runs,
            scale,
        ),
        Figure(
            "bare_bulk_create_rows_per_s",
            median(rates["bulk_create"]),
            "rows/s",
            "bare_sql_insert_rows_per_s",
            median(rates["sql"]),
            options.runs,
            scale,
        ),
    ]
