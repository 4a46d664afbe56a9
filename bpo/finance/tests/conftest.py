"""Fixtures of the finance tests: a client's finance back office as a manufacturing company
outsources it, a reconciliation service and a close and filing service on a German calendar
(public holidays of Berlin), with deadline targets, and the operating account at Commerzbank."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from bpo.calendars import actions as calendars
from bpo.contracts import actions as contracts
from bpo.contracts.models import Service
from bpo.finance import actions
from bpo.finance.models import BankAccount, ColumnMapping
from bpo.tenancy.context import Actor, acting_as
from bpo.tenancy.models import Client

SAMPLES = Path(__file__).parent / "samples"
IBAN = "DE89370400440532013000"


@dataclass
class Books:
    """One client's finance set-up."""

    client: Client
    reconciliation: Service
    close: Service
    account: BankAccount
    bank_mapping: ColumnMapping
    ledger_mapping: ColumnMapping

    def read_statements_with(self, actor: Actor, mapping: ColumnMapping) -> None:
        """Let the operating account read its statement files through ``mapping``."""
        actions.bank_account_save(
            actor=actor,
            account=self.account,
            service=self.reconciliation,
            name=self.account.name,
            iban=self.account.iban,
            currency="EUR",
            statement_mapping=mapping,
            ledger_mapping=self.ledger_mapping,
        )


def finance_books(world, client: Client, key: str = "fin") -> Books:
    """Set up a client's finance services, account and mappings through the actions."""
    with acting_as(world.actor("admin")) as admin:
        calendar = calendars.calendar_create(
            actor=admin,
            client=client,
            name=f"Berlin office {key}",
            time_zone="Europe/Berlin",
            weekly={d: ["08:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
            holiday_country="DE",
            holiday_subdivision="BE",
        )
        contract = contracts.contract_create(
            actor=admin,
            client=client,
            reference=f"F-{key}",
            title="Finance and accounting",
            start_date="2026-01-01",
            currency="EUR",
        )
        version = contract.versions.get()
        policy = contracts.sla_policy_save(
            actor=admin,
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
        services = {}
        for service_key, name, process_type in (
            (f"{key}-rec", "Bank reconciliation", "reconciliation"),
            (f"{key}-close", "Close and filings", "task"),
        ):
            services[process_type] = contracts.service_add(
                actor=admin,
                version=version,
                key=service_key,
                name=name,
                process_type=process_type,
                calendar=calendar,
                sla_policy_id=policy.pk,
            ).service
        contracts.contract_version_activate(actor=admin, version=version)
        bank_mapping = actions.column_mapping_save(
            actor=admin,
            client=client,
            kind="bank",
            name="Sparkasse CSV",
            columns={
                "booking_date": "Buchungstag",
                "value_date": "Valutadatum",
                "amount": "Betrag",
                "currency": "Waehrung",
                "reference": "Verwendungszweck",
                "counterparty_name": "Beguenstigter/Zahlungspflichtiger",
                "counterparty_iban": "Kontonummer/IBAN",
                "balance": "Saldo nach Buchung",
            },
            date_format="%d.%m.%Y",
            decimal_comma=True,
        )
        ledger_mapping = actions.column_mapping_save(
            actor=admin,
            client=client,
            kind="ledger",
            name="Cash book export",
            columns={
                "entry_date": "Date",
                "amount": "Amount",
                "external_id": "Entry",
                "document_number": "Document",
                "currency": "Currency",
                "reference": "Reference",
                "description": "Text",
                "counterparty_name": "Partner",
                "counterparty_iban": "IBAN",
            },
        )
        account = actions.bank_account_save(
            actor=admin,
            service=services["reconciliation"],
            name="Operating account",
            iban=IBAN,
            currency="EUR",
            bank_name="Commerzbank",
            statement_mapping=bank_mapping,
            ledger_mapping=ledger_mapping,
        )
    return Books(
        client=client,
        reconciliation=services["reconciliation"],
        close=services["task"],
        account=account,
        bank_mapping=bank_mapping,
        ledger_mapping=ledger_mapping,
    )


@pytest.fixture
def books(world) -> Books:
    """The own client's finance back office."""
    return finance_books(world, world.own)


def upload(name: str, data: bytes | None = None) -> ContentFile:
    """A sample file (or given bytes) as an upload."""
    content = ContentFile(data if data is not None else (SAMPLES / name).read_bytes())
    content.name = name
    return content
