"""The demo's finance back office, the second reference scenario: Acme's European operating
account reconciled against its cash book. A month of synthetic bank lines and ledger entries
(bpo.finance.synthetic: realistic references, typos, split and combined payments, fees,
same-amount traps) comes in as weekly statement files and one ledger export through the same
actions a person uses; the engine settles what it is sure of, the rest waits in the
reconciliation queue (one match made by hand awaits a second agent). The close and filing
calendar holds the daily financial report, the VAT return, the month-end close and the payroll
tax filing; yesterday's daily report is made."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import time, timedelta
from decimal import Decimal
from itertools import groupby
from typing import Any

from django.core.files.base import ContentFile
from django.utils import timezone

from bpo.accounts.models import User
from bpo.contracts.models import Service
from bpo.finance import actions, reconcile, synthetic
from bpo.finance.models import BankAccount, LedgerEntry, MatchStatus, Obligation, StatementLine
from bpo.tenancy.context import Actor, acting_as, actor_for

ACCOUNT = "European operating account"
OPENING = Decimal("184250.00")
LINES_PER_DAY = 24
DAYS = 20
OBLIGATIONS: list[dict[str, Any]] = [
    {
        "service": "acme-reconciliation",
        "name": "Daily financial report",
        "kind": "daily_report",
        "recurrence": "FREQ=DAILY",
        "roll": "following",
        "due_time": time(10, 0),
        "lead_days": 1,
        "instructions": "Cash position, reconciled and open items, ageing: from the morning's "
        "statements.",
    },
    {
        "service": "acme-close",
        "name": "VAT return (UStVA)",
        "kind": "tax_return",
        "recurrence": "FREQ=MONTHLY;BYMONTHDAY=10",
        "roll": "preceding",
        "due_time": time(12, 0),
        "lead_days": 10,
        "authority": "Finanzamt Köln-Mitte (ELSTER)",
        "instructions": "Prepare the advance VAT return from the closed month, file through "
        "ELSTER, attach the transmission protocol and its ticket number.",
    },
    {
        "service": "acme-close",
        "name": "Payroll tax filing (Lohnsteuer-Anmeldung)",
        "kind": "payroll_filing",
        "recurrence": "FREQ=MONTHLY;BYMONTHDAY=10",
        "roll": "preceding",
        "due_time": time(12, 0),
        "lead_days": 10,
        "authority": "Finanzamt Köln-Mitte (ELSTER)",
        "instructions": "File the wage tax return of the month before; attach the protocol.",
    },
    {
        "service": "acme-close",
        "name": "Month-end close: accruals and bank reconciliation sign-off",
        "kind": "close_task",
        "recurrence": "FREQ=MONTHLY;BYMONTHDAY=-1",
        "roll": "modified_following",
        "due_time": time(17, 0),
        "lead_days": 7,
        "instructions": "Book accruals, reconcile every bank account to the statement, sign off.",
    },
]


def _csv(header: list[str], rows: list[list[object]]) -> ContentFile:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return ContentFile(out.getvalue().encode())


def _money(minor: int) -> str:
    return str(reconcile.from_minor(minor).quantize(Decimal("0.01")))


def seed_finance(*, admin: User, clients: dict, progress: Callable[[str], None]) -> None:
    """Acme's account, mappings, rules, a month of statements and ledger, the calendar."""
    acme = clients["acme"]
    accountant = User.objects.get(email="accountant@meridian.example")
    manager = User.objects.get(email="manager@meridian.example")
    with acting_as(actor_for(admin).narrowed_to(acme.pk)) as actor:
        services = {s.key: s for s in Service.objects.filter(client=acme)}
        if BankAccount.objects.filter(client=acme, name=ACCOUNT).exists():
            progress("[9/9] finance of Acme: already there")
            return
        today = timezone.localdate()
        start = today - timedelta(days=DAYS * 7 // 5 + 2)
        data = synthetic.generate(
            LINES_PER_DAY * DAYS, seed=7, start=start, lines_per_day=LINES_PER_DAY
        )
        bank = actions.column_mapping_save(
            actor=actor,
            client=acme,
            kind="bank",
            name="Commerzbank CSV",
            columns={
                "booking_date": "booking_date",
                "amount": "amount",
                "reference": "reference",
                "counterparty_name": "counterparty_name",
                "counterparty_iban": "counterparty_iban",
            },
        )
        ledger = actions.column_mapping_save(
            actor=actor,
            client=acme,
            kind="ledger",
            name="ERP cash book export",
            columns={
                "external_id": "entry",
                "entry_date": "entry_date",
                "amount": "amount",
                "document_number": "document_number",
                "reference": "reference",
                "counterparty_name": "counterparty_name",
                "counterparty_iban": "counterparty_iban",
            },
        )
        account = actions.bank_account_save(
            actor=actor,
            service=services["acme-reconciliation"],
            name=ACCOUNT,
            iban=data.account_iban,
            bic="COBADEFFXXX",
            bank_name="Commerzbank",
            currency="EUR",
            statement_mapping=bank,
            ledger_mapping=ledger,
        )
        for rule in data.rules:
            actions.match_rule_save(
                actor=actor,
                service=account.service,
                name=rule.name,
                date_window_days=rule.window_days,
                amount_tolerance=reconcile.from_minor(rule.tolerance_minor),
                reference_pattern=rule.reference_pattern,
                counterparty_iban=rule.counterparty_iban,
                counterparty_name=rule.counterparty_name,
                name_threshold=rule.name_threshold,
                confidence_percent=Decimal(str(rule.confidence)),
            )
    progress(f"[9/9] finance of Acme: {ACCOUNT}, mappings and rules")

    with acting_as(actor_for(accountant).narrowed_to(acme.pk)) as actor:
        entries = _csv(
            [
                "entry",
                "entry_date",
                "amount",
                "document_number",
                "reference",
                "counterparty_name",
                "counterparty_iban",
            ],
            [
                [
                    f"BU-{e.id:06d}",
                    e.date.isoformat(),
                    _money(e.amount_minor),
                    e.document_number,
                    e.reference,
                    e.name,
                    e.iban,
                ]
                for e in data.entries
            ],
        )
        actions.ledger_import(
            actor=actor,
            account=account,
            upload=entries,
            filename="cash-book-export.csv",
            reconcile_after=False,
        )
        weeks = groupby(data.lines, key=lambda x: x.date.isocalendar()[:2])
        for number, (_, lines) in enumerate(weeks, 1):
            rows = list(lines)
            statement = _csv(
                ["booking_date", "amount", "reference", "counterparty_name", "counterparty_iban"],
                [
                    [x.date.isoformat(), _money(x.amount_minor), x.reference, x.name, x.iban]
                    for x in rows
                ],
            )
            actions.statement_import(
                actor=actor,
                account=account,
                upload=statement,
                filename=f"commerzbank-{rows[0].date:%Y-%m-%d}.csv",
                opening_balance=OPENING if number == 1 else None,
                reconcile_after=False,
            )
            progress(f"[9/9] finance of Acme: statement of the week of {rows[0].date:%d %b}")
        run = actions.reconciliation_run(actor=actor, account=account)
        progress(
            f"[9/9] finance of Acme: {run.accepted} matches accepted, {run.proposed} proposed, "
            f"{run.opened} open lines queued"
        )
        _one_match_by_hand(actor, account)

    with acting_as(actor_for(manager).narrowed_to(acme.pk)) as actor:
        for spec in OBLIGATIONS:
            fields = dict(spec)
            service = services[fields.pop("service")]
            if not Obligation.objects.filter(service=service, name=fields["name"]).exists():
                actions.obligation_save(
                    actor=actor, service=service, starts_on=today.replace(day=1), **fields
                )
    made = actions.obligations_schedule()
    progress(f"[9/9] finance of Acme: close and filing calendar, {made} due dates ahead")
    with acting_as(actor_for(accountant).narrowed_to(acme.pk)) as actor:
        last = max(x.date for x in data.lines)
        report = actions.daily_report_make(actor=actor, service=account.service, day=last)
    progress(f"[9/9] finance of Acme: daily financial report of {report.day:%d %b %Y}")


def _one_match_by_hand(actor: Actor, account: BankAccount) -> None:
    """The accountant settles one open line by hand; it waits for a second agent."""
    # The first open entry of each amount not held by a match awaiting approval (one query).
    first_of_amount: dict[Decimal, LedgerEntry] = {}
    for open_entry in LedgerEntry.objects.filter(account=account, match__isnull=True).exclude(
        proposals__status=MatchStatus.PENDING
    ):
        first_of_amount.setdefault(open_entry.amount, open_entry)
    for line in StatementLine.objects.filter(account=account, match__isnull=True)[:200]:
        entry = first_of_amount.get(line.amount)
        if entry is not None and abs((entry.entry_date - line.booking_date).days) <= 10:
            actions.match_make(
                actor=actor,
                account=account,
                line_ids=[line.pk],
                entry_ids=[entry.pk],
                note="Same amount, customer confirmed by phone.",
            )
            return
