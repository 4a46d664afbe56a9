# ruff: noqa: S608 (the SQL is built from constants and ids of this file, never from input)
"""Bank reconciliation: 100,000 statement lines against 120,000 ledger entries, the engine end to
end beside a naive matcher, with the precision and recall of both from the data set's labels.

The data set is ``bpo.finance.synthetic.generate(lines, seed=SEED)``: a manufacturer's operating
account and cash book with customers' payments written as people write them (references whole,
mangled, missing; names in capitals, truncated, misspelt), supplier payments, one transfer for
several invoices (1:n), invoices paid in parts (n:1), foreign payments less bank charges, Stripe
payouts, the same customer's equal invoices in one week, equal amounts of different customers,
bank charges and receipts with no entry, and entries not yet cleared (see its docstring). One
client, seeded through the app's actions: a reconciliation service, its policy (the defaults: 5
days, groups of up to 4, accepted from 90 %) and the data set's two rules ("Stripe payouts",
"Foreign payments less charges"), and an account per size. The lines and entries are loaded in
bulk (``bpo.bulk.insert_rows``: COPY on PostgreSQL, multi-row INSERTs on SQLite), untimed.

What is measured (each run starts from the same open books: the matches of the run before are
removed and the lines and entries opened again, untimed):

- ``reconcile_seconds``: ``bpo.finance.reconcile.run_engine`` over the account, end to end:
  loading the open lines and entries, the rules and policy, the engine, and writing the accepted
  matches and the proposals (as the reconciliation action calls it; the work items it makes for
  open lines are not included). Baseline ``naive_seconds``: for each open line in date order,
  one SQL query for the open entries of the same amount within the window (ordered by date),
  the first one not yet taken accepted; written with the same bulk writes. The naive query gets
  an index on (account, amount, date) that the app does not have, so that its time is its round
  trips rather than scans.
- ``precision`` and ``recall`` (%): of the links (line, entry) that the accepted matches make,
  read back from the database after the run: correct links / accepted links, and correct
  accepted links / true links (one link per line and entry that belong together, so a 1:n
  match of three entries is three links). Baselines: the naive matcher's.
- ``engine_seconds``: ``bpo.finance.engine.reconcile`` alone, in memory, on the data set.
  Baseline ``naive_memory_seconds``: the naive matcher in memory (a dict of amounts, entries by
  date, the first open one in the window).
- ``reconcile_seconds_<n>_lines``: the end-to-end run at other sizes of the same data set (same
  density of 300 lines a business day, so more lines are a longer period): 10,000 and 1,000,000
  lines (quick: 500 and 8,000). Baseline ``linear_from_<main>_lines_seconds``: the main size's
  time scaled in proportion to the lines; the ratio says how much worse than linear.

Goal (issue #8): under 20 seconds on 2 cores for 100,000 lines, precision at least 99.5 % and
recall at least 95 %.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import islice

from django.db import connection, transaction

from bench import Figure, Options, median, progress
from bench._workload import PASSWORD, fast_hashing
from bpo.accounts import actions as people
from bpo.accounts.models import User
from bpo.audit.context import request_context
from bpo.bulk import insert_rows
from bpo.calendars import actions as calendars
from bpo.contracts import actions as contracts
from bpo.contracts.models import Service
from bpo.finance import actions as finance
from bpo.finance import engine, reconcile, synthetic
from bpo.finance.models import (
    BankAccount,
    LedgerEntry,
    SourceFile,
    Statement,
    StatementLine,
)
from bpo.tenancy import actions as tenancy
from bpo.tenancy.context import Actor, acting_as, actor_for

SEED = 20261125
FULL_LINES = 100_000
QUICK_LINES = 2_000
FULL_GROWTH = (10_000, 1_000_000)
QUICK_GROWTH = (500, 8_000)
LARGE_RUNS = 3
LOAD_BATCH = 50_000
NOW = datetime(2030, 1, 2, 8, 0, tzinfo=UTC)


@dataclass
class Books:
    """An account in the database with its data set: the data set's ids as row ids."""

    account_id: int
    data: synthetic.DataSet
    line_rows: list[int]  # row id of the data set's line i + 1
    entry_rows: list[int]

    @property
    def labels(self) -> frozenset[tuple[int, int]]:
        """The true links, in row ids."""
        return frozenset(
            (self.line_rows[li - 1], self.entry_rows[ei - 1]) for li, ei in self.data.labels
        )


@dataclass
class Seeded:
    admin_id: int
    client_id: int
    service_id: int


def seed() -> Seeded:
    """The provider's admin, the client, its reconciliation service with policy and rules."""
    with request_context(request_id="bench-seed"), fast_hashing():
        admin = people.admin_bootstrap(
            email="admin@bench.example", full_name="Bench Admin", password=PASSWORD
        )
        with acting_as(actor_for(admin)) as actor:
            client = tenancy.client_create(
                actor=actor, name="Maschinenbau Beispiel GmbH", slug="maschinenbau"
            )
        with acting_as(actor_for(admin)) as actor:
            calendar = calendars.calendar_create(
                actor=actor,
                client=client,
                name="Office hours",
                time_zone="Europe/Berlin",
                weekly={d: ["08:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
            )
            contract = contracts.contract_create(
                actor=actor,
                client=client,
                reference="FIN-01",
                title="Finance and accounting",
                start_date="2026-01-01",
                currency="EUR",
            )
            version = contract.versions.get()
            sla = contracts.sla_policy_save(
                actor=actor,
                version=version,
                name="Deadlines",
                targets=[
                    {
                        "priority": p,
                        "metric": "deadline",
                        "deadline": {"kind": "next_business_day", "at": "10:00"},
                    }
                    for p in ("low", "normal", "high", "urgent")
                ],
            )
            service = contracts.service_add(
                actor=actor,
                version=version,
                key="reconciliation",
                name="Bank reconciliation",
                process_type="reconciliation",
                calendar=calendar,
                sla_policy_id=sla.pk,
            ).service
            contracts.contract_version_activate(actor=actor, version=version)
            policy = engine.Policy()
            finance.reconciliation_policy_save(
                actor=actor,
                service=service,
                date_window_days=policy.window_days,
                max_group_size=policy.max_group_size,
                auto_accept_percent=Decimal(str(policy.auto_accept)),
            )
            for rule in synthetic.service_rules():
                finance.match_rule_save(
                    actor=actor,
                    service=service,
                    name=rule.name,
                    date_window_days=rule.window_days,
                    amount_tolerance=reconcile.from_minor(rule.tolerance_minor),
                    reference_pattern=rule.reference_pattern,
                    counterparty_iban=rule.counterparty_iban,
                    confidence_percent=Decimal(str(rule.confidence)),
                )
    return Seeded(admin_id=admin.pk, client_id=client.pk, service_id=service.pk)


def load(seeded: Seeded, actor: Actor, lines: int) -> Books:
    """A new account of the client with the data set of ``lines`` lines, in bulk."""
    began = time.perf_counter()
    data = synthetic.generate(lines, seed=SEED)
    generated = time.perf_counter() - began
    service = seeded_service(seeded)
    account = finance.bank_account_save(
        actor=actor,
        service=service,
        name=f"Operating account {lines}",
        iban=synthetic.make_iban("DE", f"37040044{lines:010d}"),
        currency="EUR",
    )
    user = User.objects.get(pk=seeded.admin_id)
    with transaction.atomic():
        files = [
            SourceFile.objects.create(
                client_id=seeded.client_id,
                account=account,
                kind=kind,
                format="csv",
                filename=f"{kind}-{lines}.csv",
                stored_name=f"bench-{kind}-{lines}",
                size=0,
                sha256="0" * 64,
                status="imported",
                rows=lines,
                uploaded_by=user,
            )
            for kind in ("statement", "ledger")
        ]
        statement = Statement.objects.create(
            client_id=seeded.client_id,
            account=account,
            file=files[0],
            start_date=data.lines[0].date,
            end_date=data.lines[-1].date,
            currency="EUR",
            opening_balance=0,
            closing_balance=sum(
                (reconcile.from_minor(x.amount_minor) for x in data.lines), Decimal(0)
            ),
        )
        line_rows: list[int] = []
        rows = (
            {
                "client_id": seeded.client_id,
                "statement_id": statement.pk,
                "account_id": account.pk,
                "position": n,
                "booking_date": x.date,
                "amount": reconcile.from_minor(x.amount_minor),
                "currency": "EUR",
                "reference": x.reference,
                "counterparty_name": x.name,
                "counterparty_iban": x.iban,
            }
            for n, x in enumerate(data.lines, start=1)
        )
        while batch := list(islice(rows, LOAD_BATCH)):
            line_rows.extend(insert_rows(StatementLine, batch))
        entry_rows: list[int] = []
        entry_dicts = (
            {
                "client_id": seeded.client_id,
                "account_id": account.pk,
                "file_id": files[1].pk,
                "row": n,
                "external_id": f"E{n}",
                "entry_date": e.date,
                "amount": reconcile.from_minor(e.amount_minor),
                "currency": "EUR",
                "document_number": e.document_number,
                "reference": e.reference,
                "counterparty_name": e.name,
                "counterparty_iban": e.iban,
            }
            for n, e in enumerate(data.entries, start=1)
        )
        while batch := list(islice(entry_dicts, LOAD_BATCH)):
            entry_rows.extend(insert_rows(LedgerEntry, batch))
    analyse()
    progress(
        f"loaded {lines:,} lines and {len(data.entries):,} entries (generated in "
        f"{generated:.1f} s, {time.perf_counter() - began:.1f} s in all): "
        + ", ".join(f"{k} {v:,}" for k, v in data.summary().items())
    )
    return Books(account.pk, data, line_rows, entry_rows)


def seeded_service(seeded: Seeded) -> Service:
    return Service.objects.get(pk=seeded.service_id)


def analyse() -> None:
    """Fresh planner statistics after a bulk load or a reset."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in ("finance_statementline", "finance_ledgerentry", "finance_match"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        else:
            cursor.execute("ANALYZE")


def naive_index() -> None:
    """The index the naive matcher's query needs (the app has none on amounts)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE INDEX bench_entry_amount ON finance_ledgerentry "
            "(client_id, account_id, amount, entry_date)"
        )


def reset(books: Books) -> None:
    """Open every line and entry of the account again and remove its matches (untimed)."""
    with transaction.atomic(), connection.cursor() as cursor:
        for table in ("finance_statementline", "finance_ledgerentry"):
            cursor.execute(
                f"UPDATE {table} SET match_id = NULL "
                "WHERE account_id = %s AND match_id IS NOT NULL",
                [books.account_id],
            )
        for through in ("finance_match_proposed_lines", "finance_match_proposed_entries"):
            cursor.execute(
                f"DELETE FROM {through} WHERE match_id IN "
                "(SELECT id FROM finance_match WHERE account_id = %s)",
                [books.account_id],
            )
        cursor.execute("DELETE FROM finance_match WHERE account_id = %s", [books.account_id])
    if connection.vendor == "postgresql":
        analyse()


def accepted_links(books: Books) -> set[tuple[int, int]]:
    """The (line, entry) links of the account's accepted matches, as written (two reads joined
    here: SQLite's plan for the join in SQL scans the entries for every line)."""
    by_match: dict[int, list[int]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, match_id FROM finance_ledgerentry "
            "WHERE account_id = %s AND match_id IS NOT NULL",
            [books.account_id],
        )
        for entry_id, match_id in cursor.fetchall():
            by_match[match_id].append(entry_id)
        cursor.execute(
            "SELECT id, match_id FROM finance_statementline "
            "WHERE account_id = %s AND match_id IS NOT NULL",
            [books.account_id],
        )
        return {
            (line_id, entry_id)
            for line_id, match_id in cursor.fetchall()
            for entry_id in by_match[match_id]
        }


def timed_engine(books: Books, admin: User) -> tuple[float, reconcile.Outcome]:
    """Seconds of one end-to-end run of the engine over the account."""
    account = BankAccount.objects.get(pk=books.account_id)
    began = time.perf_counter()
    outcome = reconcile.run_engine(account, user=admin, now=NOW)
    return time.perf_counter() - began, outcome


def timed_naive(books: Books, admin: User, window: int) -> float:
    """Seconds of the naive matcher: a query per line, the first open entry of the same
    amount in the window taken, written with the engine's bulk writes."""
    account = BankAccount.objects.get(pk=books.account_id)
    began = time.perf_counter()
    lines = (
        StatementLine.objects.filter(account_id=account.pk, match__isnull=True)
        .order_by("booking_date", "id")
        .values_list("id", "booking_date", "amount")
    )
    sql = (
        "SELECT id FROM finance_ledgerentry WHERE client_id = %s AND account_id = %s "
        "AND match_id IS NULL AND amount = %s AND entry_date BETWEEN %s AND %s "
        "ORDER BY entry_date, id"
    )
    taken: set[int] = set()
    decisions = []
    with connection.cursor() as cursor:
        for line_id, day, amount in lines:
            cursor.execute(
                sql,
                [
                    account.client_id,
                    account.pk,
                    amount,
                    day - timedelta(days=window),
                    day + timedelta(days=window),
                ],
            )
            for (entry_id,) in cursor.fetchall():
                if entry_id not in taken:
                    taken.add(entry_id)
                    decisions.append(
                        engine.Proposal(
                            (line_id,),
                            (entry_id,),
                            100.0,
                            ("amount equal", "first open entry in the window"),
                            None,
                            "1:1",
                            accepted=True,
                        )
                    )
                    break
    with transaction.atomic():
        reconcile.write_decisions(account, decisions, user=admin, now=NOW)
    return time.perf_counter() - began


def naive_memory(data: synthetic.DataSet) -> list[engine.Proposal]:
    """The naive matcher in memory: entries by amount in date order, the first open one."""
    window = data.policy.window_days
    by_amount: dict[int, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for e in sorted(data.entries, key=lambda e: (e.date, e.id)):
        days, ids = by_amount[e.amount_minor]
        days.append(e.date.toordinal())
        ids.append(e.id)
    taken: set[int] = set()
    out = []
    for x in sorted(data.lines, key=lambda x: (x.date, x.id)):
        bucket = by_amount.get(x.amount_minor)
        if bucket is None:
            continue
        days, ids = bucket
        day = x.date.toordinal()
        for k in range(bisect_left(days, day - window), bisect_right(days, day + window)):
            if ids[k] not in taken:
                taken.add(ids[k])
                out.append(
                    engine.Proposal(
                        (x.id,), (ids[k],), 100.0, ("amount equal",), None, "1:1", accepted=True
                    )
                )
                break
    return out


def growth_runs(size: int, main: int, runs: int) -> int:
    """Runs at a size: as many as the main size's, at most LARGE_RUNS above it (a million lines
    take minutes a run)."""
    return runs if size <= main else min(runs, LARGE_RUNS)


def percent(value: float) -> float:
    return 100.0 * value


def run(options: Options) -> list[Figure]:
    """The engine and the naive matcher side by side; the engine at other sizes."""
    main = QUICK_LINES if options.quick else FULL_LINES
    growth = QUICK_GROWTH if options.quick else FULL_GROWTH
    progress("seeding the client, its reconciliation service, policy and rules")
    seeded = seed()
    admin = User.objects.get(pk=seeded.admin_id)
    samples: dict[str, list[float]] = defaultdict(list)
    with acting_as(actor_for(admin)) as actor:
        books = {size: load(seeded, actor, size) for size in sorted({main, *growth})}
        naive_index()
        analyse()
        primary = books[main]
        window = primary.data.policy.window_days
        labels = primary.labels
        scores: dict[str, synthetic.Score] = {}
        for number in range(1, options.runs + 1):
            order = ("engine", "naive") if number % 2 else ("naive", "engine")
            for kind in order:
                reset(primary)
                if kind == "engine":
                    seconds, outcome = timed_engine(primary, admin)
                    samples["engine"].append(seconds)
                    score = synthetic.score_links(accepted_links(primary), labels)
                    progress(
                        f"run {number}/{options.runs}: engine {seconds:.2f} s: "
                        f"{outcome.accepted:,} accepted, {outcome.proposed:,} proposed, "
                        f"{len(outcome.open_line_ids):,} lines left open; precision "
                        f"{percent(score.precision):.3f} %, recall {percent(score.recall):.2f} %"
                    )
                else:
                    seconds = timed_naive(primary, admin, window)
                    samples["naive"].append(seconds)
                    score = synthetic.score_links(accepted_links(primary), labels)
                    progress(
                        f"run {number}/{options.runs}: naive {seconds:.2f} s: "
                        f"{score.accepted_links:,} accepted; precision "
                        f"{percent(score.precision):.3f} %, recall {percent(score.recall):.2f} %"
                    )
                if kind in scores and scores[kind] != score:
                    progress(f"  WARNING: the {kind} decided otherwise than in the run before")
                scores[kind] = score
            # in memory
            data = primary.data
            memory_order = ("engine", "naive") if number % 2 else ("naive", "engine")
            for kind in memory_order:
                began = time.perf_counter()
                if kind == "engine":
                    engine.reconcile(data.lines, data.entries, data.rules, data.policy)
                else:
                    naive_memory(data)
                samples[f"memory_{kind}"].append(time.perf_counter() - began)
            progress(
                f"run {number}/{options.runs}: in memory: engine "
                f"{samples['memory_engine'][-1]:.2f} s, naive {samples['memory_naive'][-1]:.2f} s"
            )
            for size in growth:
                if number > growth_runs(size, main, options.runs):
                    continue
                reset(books[size])
                seconds, outcome = timed_engine(books[size], admin)
                samples[f"growth_{size}"].append(seconds)
                progress(
                    f"run {number}/{options.runs}: {size:,} lines: engine end to end "
                    f"{seconds:.2f} s, {outcome.accepted:,} accepted"
                )
    engine_score, naive_score = scores["engine"], scores["naive"]
    scale = (
        f"{main:,} statement lines, {len(primary.data.entries):,} ledger entries, "
        f"{len(labels):,} true links (synthetic, seed {SEED}); window {window} days, groups "
        f"up to {primary.data.policy.max_group_size}, accepted from "
        f"{primary.data.policy.auto_accept:g} %"
    )
    figures = [
        Figure(
            "reconcile_seconds",
            median(samples["engine"]),
            "s",
            "naive_seconds",
            median(samples["naive"]),
            options.runs,
            f"{scale}; run_engine end to end (load, engine, writes) beside a query per line",
        ),
        Figure(
            "precision",
            percent(engine_score.precision),
            "%",
            "naive_precision",
            percent(naive_score.precision),
            options.runs,
            f"{scale}; correct accepted links / accepted links ({engine_score.accepted_links:,} "
            f"accepted, naive {naive_score.accepted_links:,})",
        ),
        Figure(
            "recall",
            percent(engine_score.recall),
            "%",
            "naive_recall",
            percent(naive_score.recall),
            options.runs,
            f"{scale}; correct accepted links / true links",
        ),
        Figure(
            "engine_seconds",
            median(samples["memory_engine"]),
            "s",
            "naive_memory_seconds",
            median(samples["memory_naive"]),
            options.runs,
            f"{scale}; the engine alone in memory beside a dict look-up per line",
        ),
    ]
    per_line = median(samples["engine"]) / main
    for size in growth:
        data = books[size].data
        figures.append(
            Figure(
                f"reconcile_seconds_{size}_lines",
                median(samples[f"growth_{size}"]),
                "s",
                f"linear_from_{main}_lines_seconds",
                per_line * size,
                growth_runs(size, main, options.runs),
                f"{size:,} lines, {len(data.entries):,} entries (same density: a longer "
                f"period); run_engine end to end beside the {main:,}-line time scaled linearly",
            )
        )
    return figures
