"""The finance back office as its users drive it: files in, reconciliation, maker-checker,
rules learned, the close and filing calendar with evidence, the daily report delivered."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.db import OperationalError

from bpo.contracts import actions as contracts
from bpo.finance import actions, queries
from bpo.finance.models import (
    DailyReport,
    FileStatus,
    LedgerEntry,
    Match,
    MatchStatus,
    Occurrence,
    OpenLine,
    SourceFile,
    Statement,
    StatementLine,
)
from bpo.finance.tests.conftest import SAMPLES, upload
from bpo.tenancy.context import Forbidden, acting_as
from bpo.work import actions as work
from bpo.work.models import Attachment, SlaClock, State, WorkItem

pytestmark = pytest.mark.django_db(transaction=False)


def _statement(world, books, name="statement.mt940", role="agent", **kwargs):
    kwargs.setdefault("upload", upload(name))
    with acting_as(world.actor(role)) as actor:
        return actions.statement_import(
            actor=actor, account=books.account, reconcile_after=False, **kwargs
        )


def _ledger(world, books, name="ledger.csv", role="agent"):
    with acting_as(world.actor(role)) as actor:
        return actions.ledger_import(
            actor=actor, account=books.account, upload=upload(name), reconcile_after=False
        )


# --- Statements -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["statement.mt940", "statement_camt053.xml", "statement.ofx"])
def test_a_statement_file_is_imported_whole_with_its_balances(world, books, name):
    imported = _statement(world, books, name)
    with acting_as(world.actor("agent")):
        statements = list(Statement.objects.filter(account=books.account).order_by("start_date"))
        lines = StatementLine.objects.filter(account=books.account)
        assert imported.file.status == FileStatus.IMPORTED
        assert imported.written == lines.count() > 20
        assert statements[0].opening_balance == Decimal("48215.37")
        assert statements[-1].closing_balance == Decimal("79299.42")
        total = sum(line.amount for line in lines)
        assert statements[0].opening_balance + total == statements[-1].closing_balance


def test_the_same_statement_twice_is_refused_and_nothing_is_written_twice(world, books):
    _statement(world, books)
    with acting_as(world.actor("agent")):
        count = StatementLine.objects.count()
    with pytest.raises(ValidationError, match="already imported"):
        _statement(world, books)
    # The same statements in a file of other bytes: duplicates by period and balances.
    again = (SAMPLES / "statement.mt940").read_bytes() + b"\r\n"
    with acting_as(world.actor("agent")) as actor, pytest.raises(ValidationError) as caught:
        actions.statement_import(
            actor=actor, account=books.account, upload=upload("again.sta", again)
        )
    assert "is a duplicate of the statement 2026-10-01–2026-10-15" in str(caught.value)
    # The month in another format overlaps both.
    with pytest.raises(ValidationError, match="overlaps the statement"):
        _statement(world, books, "statement_camt053.xml")
    with acting_as(world.actor("agent")):
        assert StatementLine.objects.count() == count
        failed = SourceFile.objects.get(filename="statement_camt053.xml")
        assert failed.status == FileStatus.FAILED and "nothing was imported" in failed.error


def test_a_malformed_file_names_its_line_is_kept_and_imports_nothing(world, books):
    with pytest.raises(ValidationError) as caught:
        _statement(world, books, "statement_bad61.mt940")
    assert "line" in str(caught.value)
    with acting_as(world.actor("agent")):
        source = SourceFile.objects.get()
        assert source.status == FileStatus.FAILED and "line" in source.error
        assert actions.file_path(source.stored_name).exists()  # kept for a retry
        assert not Statement.objects.exists() and not StatementLine.objects.exists()


def test_a_statement_of_another_account_is_refused(world, books):
    with acting_as(world.actor("admin")) as admin:
        actions.bank_account_save(
            actor=admin,
            account=books.account,
            service=books.reconciliation,
            name=books.account.name,
            iban="DE02120300000000202051",
            currency="EUR",
            statement_mapping=books.bank_mapping,
            ledger_mapping=books.ledger_mapping,
        )
    with pytest.raises(ValidationError, match="is for account DE89370400440532013000"):
        _statement(world, books)


def test_an_mt940_naming_its_account_by_bank_code_and_number_is_the_accounts_iban(world, books):
    """German banks' MT940 often writes :25: as bank code/account number: it is the account
    whose IBAN those make (DE89 3704 0044 0532 0130 00), and another pair is refused."""
    data = (SAMPLES / "statement.mt940").read_bytes()
    national = data.replace(b":25:DE89370400440532013000", b":25:37040044/0532013000")
    assert national != data
    imported = _statement(world, books, upload=upload("national.sta", national))
    with acting_as(world.actor("agent")):
        assert Statement.objects.filter(file=imported.file).count() == 2
    other = data.replace(b":25:DE89370400440532013000", b":25:37040044/0532013001")
    with pytest.raises(ValidationError, match="is for account 37040044/0532013001, not"):
        _statement(world, books, upload=upload("other.sta", other))


def test_a_gap_in_balances_and_missing_business_days_are_flagged(world, books):
    """A CSV statement after the MT940 one: its balance column starts elsewhere and the days
    between are missing; the import goes through with both flagged."""
    _statement(world, books, "statement.mt940")
    with acting_as(world.actor("agent")):
        last = Statement.objects.order_by("-end_date").first()
    data = (
        '"Auftragskonto";"Buchungstag";"Valutadatum";"Verwendungszweck";'
        '"Beguenstigter/Zahlungspflichtiger";"Kontonummer/IBAN";"Betrag";"Waehrung";'
        '"Saldo nach Buchung"\n'
        '"DE89370400440532013000";"06.11.2026";"06.11.2026";"RE-2026-10480";"Müller";"";'
        '"100,00";"EUR";"79.400,00"\n'
    ).encode("cp1252")
    with acting_as(world.actor("agent")) as actor:
        imported = actions.statement_import(
            actor=actor,
            account=books.account,
            upload=upload("nov.csv", data),
            reconcile_after=False,
        )
        new = Statement.objects.order_by("-end_date").first()
    assert last.end_date == date(2026, 10, 31)
    assert new.previous_id == last.pk
    assert new.opening_balance == Decimal("79300.00")
    assert new.balance_gap == Decimal("0.58")
    # 2–5 November are business days in Berlin with no statement (1 Nov is a Sunday).
    assert new.missing_days == ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"]
    assert any("opening balance" in w for w in imported.warnings)
    assert any("no statement for 4 business day" in w for w in imported.warnings)


def test_a_csv_without_balances_continues_from_the_previous_closing(world, books):
    with acting_as(world.actor("admin")) as admin:
        mapping = actions.column_mapping_save(
            actor=admin,
            client=books.client,
            kind="bank",
            name="No balance",
            columns={"booking_date": "Date", "amount": "Amount", "reference": "Text"},
        )
        books.read_statements_with(admin, mapping)
    data = b"Date,Amount,Text\n2026-11-02,10.00,first\n2026-11-02,-2.50,second\n"
    with acting_as(world.actor("agent")) as actor:
        with pytest.raises(ValidationError, match="enter the opening balance"):
            actions.statement_import(
                actor=actor, account=books.account, upload=upload("a.csv", data)
            )
        source = SourceFile.objects.get(status=FileStatus.FAILED)
        imported = actions.statement_file_import(
            actor=actor, source=source, opening_balance=Decimal("100.00"), reconcile_after=False
        )
        statement = Statement.objects.get()
    assert imported.file.status == FileStatus.IMPORTED
    assert (statement.opening_balance, statement.closing_balance) == (
        Decimal("100.00"),
        Decimal("107.50"),
    )


def test_a_client_admin_imports_a_statement_a_viewer_may_not(world, books):
    _statement(world, books, role="client_admin")
    with pytest.raises(Forbidden):
        _statement(world, books, "statement_camt053.xml", role="client_viewer")


# --- Ledger -----------------------------------------------------------------------------------


def test_ledger_entries_come_in_once_by_their_ledger_id(world, books):
    first = _ledger(world, books)
    assert first.written > 20 and first.skipped == 0
    data = (SAMPLES / "ledger.csv").read_bytes()
    header, *rows = data.decode().splitlines()
    more = "\n".join([header, *rows[-3:], "BU-2026-009999,2026-10-31,X-1,1.00,EUR,,,,new"])
    with acting_as(world.actor("agent")) as actor:
        second = actions.ledger_import(
            actor=actor,
            account=books.account,
            upload=upload("more.csv", more.encode()),
            reconcile_after=False,
        )
        assert LedgerEntry.objects.count() == first.written + 1
    assert (second.written, second.skipped) == (1, 3)


def test_a_bad_ledger_row_refuses_the_whole_file_naming_row_and_column(world, books):
    data = (
        b"Entry,Date,Document,Amount,Currency,Partner,IBAN,Reference,Text\n"
        b"A1,2026-10-01,D1,10.00,EUR,,,,\nA2,2026-10-02,D2,ten,EUR,,,,\n"
    )
    with acting_as(world.actor("agent")) as actor:
        with pytest.raises(ValidationError) as caught:
            actions.ledger_import(
                actor=actor, account=books.account, upload=upload("bad.csv", data)
            )
        assert not LedgerEntry.objects.exists()
    assert "row 3" in str(caught.value) and "Amount" in str(caught.value)


# --- Reconciliation -----------------------------------------------------------------------------


def _reconciled(world, books):
    _statement(world, books)
    _ledger(world, books)
    with acting_as(world.actor("agent")) as actor:
        return actions.reconciliation_run(actor=actor, account=books.account)


def test_an_accounts_figures_count_its_open_lines_and_name_its_last_statement(world, books):
    with acting_as(world.actor("agent")) as agent:
        fresh = queries.account_get(actor=agent, account_id=books.account.pk)
        assert (fresh.open_lines, fresh.last_statement) == (0, None)
    _reconciled(world, books)
    with acting_as(world.actor("agent")) as agent:
        account = queries.account_get(actor=agent, account_id=books.account.pk)
        lines = StatementLine.objects.filter(account=books.account)
        assert account.open_lines == lines.filter(match__isnull=True).count() > 0
        assert account.open_lines < lines.count()
        assert account.last_statement == max(s.end_date for s in Statement.objects.all())


def test_a_run_settles_what_it_is_sure_of_and_queues_the_rest(world, books):
    run = _reconciled(world, books)
    with acting_as(world.actor("agent")):
        open_lines = StatementLine.objects.filter(match__isnull=True)
        assert run.accepted > 10
        assert run.opened == OpenLine.objects.count() == open_lines.count() > 0
        item = WorkItem.objects.get(open_line__line=open_lines.first())
        assert item.service_id == books.reconciliation.pk and item.state == State.NEW
        accepted = Match.objects.filter(status=MatchStatus.ACCEPTED).first()
        assert accepted.reasons and accepted.confidence >= Decimal(90)
    # Running again changes nothing.
    with acting_as(world.actor("agent")) as actor:
        again = actions.reconciliation_run(actor=actor, account=books.account)
        assert (again.accepted, again.opened) == (0, 0)
        assert OpenLine.objects.count() == run.opened


def test_maker_checker_a_manual_match_needs_a_second_agent(world, books):
    _reconciled(world, books)
    with acting_as(world.actor("agent")) as maker:
        line = StatementLine.objects.filter(match__isnull=True, amount__gt=0).first()
        entry = LedgerEntry.objects.create(
            client_id=books.client.pk,
            account=books.account,
            file=SourceFile.objects.filter(kind="ledger").first(),
            row=999,
            entry_date=line.booking_date,
            amount=line.amount,
            currency="EUR",
            document_number="MANUAL-1",
        )
        with pytest.raises(ValidationError, match="apart"):
            actions.match_make(
                actor=maker,
                account=books.account,
                line_ids=[line.pk],
                entry_ids=[entry.pk, LedgerEntry.objects.filter(match__isnull=True).first().pk],
            )
        match = actions.match_make(
            actor=maker, account=books.account, line_ids=[line.pk], entry_ids=[entry.pk]
        )
        assert match.status == MatchStatus.PENDING
        with pytest.raises(ValidationError, match="another agent"):
            actions.match_approve(actor=maker, match=match)
    with acting_as(world.actor("manager")) as checker:
        approved = actions.match_approve(actor=checker, match=match)
        line.refresh_from_db()
        assert approved.status == MatchStatus.ACCEPTED and line.match_id == match.pk
        item = WorkItem.objects.get(open_line__line=line)
        assert item.state == State.RESOLVED
        with pytest.raises(ValidationError):
            actions.match_approve(actor=checker, match=match)
        rule = actions.match_rule_learn(actor=checker, match=approved)
        assert rule.learned_from_id == match.pk
        assert rule.counterparty_iban or rule.reference_pattern or rule.counterparty_name


def test_a_match_taken_back_opens_its_lines_work_again(world, books):
    _reconciled(world, books)
    with acting_as(world.actor("agent")) as maker:
        lines = list(StatementLine.objects.filter(match__isnull=True).order_by("pk")[:2])
        entries = []
        for number, line in enumerate(lines):
            entries.append(
                LedgerEntry.objects.create(
                    client_id=books.client.pk,
                    account=books.account,
                    file=SourceFile.objects.filter(kind="ledger").first(),
                    row=900 + number,
                    entry_date=line.booking_date,
                    amount=line.amount,
                    currency="EUR",
                    document_number=f"MANUAL-{number}",
                )
            )
        matches = [
            actions.match_make(
                actor=maker, account=books.account, line_ids=[line.pk], entry_ids=[entry.pk]
            )
            for line, entry in zip(lines, entries, strict=True)
        ]
    with acting_as(world.actor("manager")) as manager:
        for match in matches:
            actions.match_approve(actor=manager, match=match)
        closed = WorkItem.objects.get(open_line__line=lines[1])
        work.work_item_transition(actor=manager, item=closed, state=State.CLOSED)
        for match in matches:
            actions.match_undo(actor=manager, match=match, reason="Wrong customer.")
        reopened = WorkItem.objects.get(open_line__line=lines[0])
        assert reopened.state == State.OPEN
        replaced = WorkItem.objects.get(open_line__line=lines[1])
        assert replaced.pk != closed.pk and replaced.state == State.NEW
        assert not StatementLine.objects.filter(pk__in=[x.pk for x in lines], match__isnull=False)


def test_a_client_user_cannot_match(world, books):
    _reconciled(world, books)
    with acting_as(world.actor("client_admin")) as client:
        line = StatementLine.objects.filter(match__isnull=True).first()
        entry = LedgerEntry.objects.filter(match__isnull=True).first()
        with pytest.raises(Forbidden):
            actions.match_make(
                actor=client, account=books.account, line_ids=[line.pk], entry_ids=[entry.pk]
            )


@pytest.mark.parametrize(
    ("reference", "pattern_matches"),
    [("RE-2026-10431 Lieferung", "RE 2026-11111"), ("INV 88231", "INV-99999")],
)
def test_a_learned_pattern_recognises_the_next_reference_of_the_kind(reference, pattern_matches):
    import re

    pattern = actions.learned_pattern(reference)
    assert re.search(pattern, pattern_matches)
    assert not re.search(pattern, "nothing to see 42")


# --- Close and filing calendar ---------------------------------------------------------------


def _vat(world, books, **extra):
    with acting_as(world.actor("manager")) as manager:
        return actions.obligation_save(
            actor=manager,
            service=books.close,
            name="VAT return (UStVA)",
            kind="tax_return",
            recurrence="FREQ=MONTHLY;BYMONTHDAY=10",
            starts_on=date(2026, 1, 1),
            roll="preceding",
            due_time=time(12, 0),
            lead_days=10,
            authority="Finanzamt Köln-Mitte",
            **extra,
        )


def test_an_obligation_becomes_a_work_item_due_on_the_rolled_business_day(world, books):
    _vat(world, books)
    now = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)
    assert actions.obligations_schedule(now=now) == 1
    assert actions.obligations_schedule(now=now) == 0  # once
    with acting_as(world.actor("agent")):
        occurrence = Occurrence.objects.select_related("item").get()
        # 10 October 2026 is a Saturday: due on Friday 9 October, 12:00 in Berlin.
        assert occurrence.nominal_date == date(2026, 10, 10)
        assert occurrence.due_date == date(2026, 10, 9)
        assert occurrence.due_at == datetime(2026, 10, 9, 10, 0, tzinfo=UTC)
        clock = SlaClock.objects.get(item=occurrence.item, metric="deadline")
        assert clock.due_at == occurrence.due_at == occurrence.item.due_at


def test_a_filing_resolves_only_with_its_evidence(world, books):
    _vat(world, books)
    actions.obligations_schedule(now=datetime(2026, 10, 1, 6, 0, tzinfo=UTC))
    with acting_as(world.actor("agent")) as agent:
        occurrence = Occurrence.objects.get()
        item = WorkItem.objects.get(pk=occurrence.item_id)
        with pytest.raises(ValidationError, match="confirmation document"):
            work.work_item_transition(actor=agent, item=item, state=State.RESOLVED)
        with pytest.raises(ValidationError, match="reference"):
            actions.occurrence_evidence(
                actor=agent,
                occurrence=occurrence,
                upload=upload("x.pdf", b"%PDF-1.4"),
                reference="",
            )
        actions.occurrence_evidence(
            actor=agent,
            occurrence=occurrence,
            upload=upload("elster-confirmation.pdf", b"%PDF-1.4 confirmation"),
            reference="ELSTER-TT-2026-10-884211",
        )
        resolved = work.work_item_transition(actor=agent, item=item, state=State.RESOLVED)
        assert resolved.state == State.RESOLVED


def test_a_close_task_resolves_without_evidence(world, books):
    with acting_as(world.actor("manager")) as manager:
        actions.obligation_save(
            actor=manager,
            service=books.close,
            name="Month-end close: accruals",
            kind="close_task",
            recurrence="FREQ=MONTHLY;BYMONTHDAY=-1",
            starts_on=date(2026, 1, 1),
            roll="modified_following",
            due_time=time(17, 0),
            lead_days=5,
        )
    actions.obligations_schedule(now=datetime(2026, 10, 27, 6, 0, tzinfo=UTC))
    with acting_as(world.actor("agent")) as agent:
        occurrence = Occurrence.objects.get()
        assert occurrence.due_date == date(2026, 10, 30)  # 31 Oct is a Saturday
        item = WorkItem.objects.get(pk=occurrence.item_id)
        assert work.work_item_transition(actor=agent, item=item, state=State.RESOLVED)


def test_a_bad_recurrence_is_refused_with_the_reason(world, books):
    with pytest.raises(ValidationError) as caught, acting_as(world.actor("manager")) as manager:
        actions.obligation_save(
            actor=manager,
            service=books.close,
            name="Broken",
            kind="other",
            recurrence="FREQ=HOURLY",
            starts_on=date(2026, 1, 1),
            due_time=time(9, 0),
        )
    assert "recurrence" in caught.value.message_dict


# --- Daily financial report ------------------------------------------------------------------


def _daily_report_due_at_ten(world, books) -> None:
    """The reconciliation service's daily report, due at 10:00 each business day."""
    with acting_as(world.actor("manager")) as manager:
        actions.obligation_save(
            actor=manager,
            service=books.reconciliation,
            name="Daily financial report",
            kind="daily_report",
            recurrence="FREQ=DAILY",
            starts_on=date(2026, 10, 1),
            roll="following",
            due_time=time(10, 0),
            lead_days=0,
        )


def test_the_daily_report_is_made_each_morning_and_delivered(world, books):
    _reconciled(world, books)
    _daily_report_due_at_ten(world, books)
    # Monday 2 November, 06:00 in Berlin: the report of Friday 30 October is due at 10:00.
    morning = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    assert actions.obligations_schedule(now=morning) == 1
    # The statement of 30 October is there (the October statement ends on the 31st): at once.
    assert actions.daily_reports_deliver(now=morning) == 1
    assert actions.daily_reports_deliver(now=morning + timedelta(minutes=5)) == 0
    with acting_as(world.actor("client_viewer")):
        report = queries.reports_visible(actor=world.actor("client_viewer")).get()
        assert report.day == date(2026, 10, 30)
        assert report.occurrence.item.state == State.RESOLVED
        assert report.figures["accounts"][0]["cash"]["balance"]
        name, content = queries.report_file(
            actor=world.actor("client_viewer"), report=report, fmt="pdf"
        )
        assert content.read(4) == b"%PDF" and name.endswith("2026-10-30.pdf")


@pytest.mark.parametrize(
    ("data", "says"),
    [(b" \r\n\r\n", "The file is empty"), (b"\x00\x01junk", "is not a statement OpenBPO reads")],
)
def test_a_file_of_no_format_is_refused_with_a_clear_error(world, books, data, says):
    with acting_as(world.actor("agent")) as actor, pytest.raises(ValidationError) as caught:
        actions.statement_import(
            actor=actor, account=books.account, upload=upload("upload.bin", data)
        )
    assert says in str(caught.value)
    with acting_as(world.actor("agent")):
        assert not SourceFile.objects.exists()


def test_a_daily_report_of_a_service_whose_contract_ended_is_not_made(world, books):
    """The periodic job passes over it (and so goes on to the other services) rather than
    failing on the missing agreed terms."""
    _daily_report_due_at_ten(world, books)
    morning = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    assert actions.obligations_schedule(now=morning) == 1
    with acting_as(world.actor("admin")) as admin:
        contracts.contract_end(
            actor=admin, contract=books.reconciliation.contract, end_date=date(2026, 10, 31)
        )
    assert actions.daily_reports_deliver(now=morning) == 0


# --- A failed write leaves no file behind -----------------------------------------------------


def _stored_files() -> set[Path]:
    return {
        path
        for name in ("finance", "attachments")
        for path in Path(storages[name].path("")).rglob("*")
        if path.is_file()
    }


def _failing_record(action: str):
    """The audit record of ``action`` fails, as a write can fail at its last step."""
    real = actions.record

    def record(name, *args, **kwargs):
        if name == action:
            raise OperationalError("disk I/O error")
        return real(name, *args, **kwargs)

    return record


def test_a_daily_report_that_fails_to_be_written_leaves_no_files(world, books, monkeypatch):
    _reconciled(world, books)
    before = _stored_files()
    monkeypatch.setattr(actions, "record", _failing_record("finance.daily_report_made"))
    with acting_as(world.actor("agent")) as agent, pytest.raises(OperationalError):
        actions.daily_report_make(actor=agent, service=books.reconciliation, day=date(2026, 10, 30))
    assert _stored_files() == before
    with acting_as(world.actor("agent")):
        assert not DailyReport.objects.exists()


def test_a_received_file_that_fails_to_be_recorded_is_not_kept(world, books, monkeypatch):
    before = _stored_files()
    monkeypatch.setattr(actions, "record", _failing_record("finance.file_received"))
    with pytest.raises(OperationalError):
        _statement(world, books)
    assert _stored_files() == before
    with acting_as(world.actor("agent")):
        assert not SourceFile.objects.exists()


def test_filing_evidence_that_fails_to_be_recorded_leaves_neither_document_nor_file(
    world, books, monkeypatch
):
    _vat(world, books)
    actions.obligations_schedule(now=datetime(2026, 10, 1, 6, 0, tzinfo=UTC))
    before = _stored_files()
    monkeypatch.setattr(actions, "record", _failing_record("finance.evidence_attached"))
    with acting_as(world.actor("agent")) as agent, pytest.raises(OperationalError):
        actions.occurrence_evidence(
            actor=agent,
            occurrence=Occurrence.objects.get(),
            upload=upload("elster-confirmation.pdf", b"%PDF-1.4 confirmation"),
            reference="ELSTER-TT-2026-10-884211",
        )
    assert _stored_files() == before
    with acting_as(world.actor("agent")):
        occurrence = Occurrence.objects.get()
        assert occurrence.evidence_id is None
        assert not Attachment.objects.filter(item_id=occurrence.item_id).exists()
