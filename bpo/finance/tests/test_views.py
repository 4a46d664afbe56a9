"""Finance in the web UI: the overview per client, an account's files, rows and matches, a
line matched by hand and approved by a second agent, the set-up of accounts, mappings, rules
and the policy, the close and filing calendar with a filing's evidence, and the daily reports.
Every page renders for those who may see it, answers 403 or 404 to the others, and shows an
action's refusal next to the field it concerns with status 400."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from bpo.accounts.roles import Role
from bpo.finance import actions
from bpo.finance.models import (
    BankAccount,
    ColumnMapping,
    DailyReport,
    FileStatus,
    LedgerEntry,
    Match,
    MatchRule,
    MatchStatus,
    Obligation,
    Occurrence,
    OpenLine,
    ReconciliationPolicy,
    SourceFile,
    StatementLine,
)
from bpo.finance.tests.conftest import IBAN, SAMPLES, finance_books, upload
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.models import State, WorkItem
from conftest import make_person

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}
NBSP = "\xa0"
VIEWERS = ("admin", "manager", "agent", "qa", "finance", "client_admin", "client_viewer")


def page(http: HttpClient, url: str, status: int = 200, **headers: str) -> str:
    response = http.get(url, **headers)
    assert response.status_code == status, response.content.decode()[:3000]
    return response.content.decode()


def post(http: HttpClient, url: str, data: dict | None = None, status: int = 302, **extra):
    response = http.post(url, data or {}, **extra)
    assert response.status_code == status, response.content.decode()[:3000]
    return response


def sample(name: str, data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data if data is not None else (SAMPLES / name).read_bytes())


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def imported(world, books, *, reconcile: bool = True) -> None:
    """The October statement and ledger in, and (by default) the engine run over them."""
    with acting_as(world.actor("agent")) as agent:
        actions.statement_import(
            actor=agent,
            account=books.account,
            upload=upload("bank_sparkasse.csv"),
            reconcile_after=False,
        )
        actions.ledger_import(
            actor=agent, account=books.account, upload=upload("ledger.csv"), reconcile_after=False
        )
        if reconcile:
            actions.reconciliation_run(actor=agent, account=books.account)


def open_line_with_entry(world, books, *, named: bool = False) -> tuple[StatementLine, LedgerEntry]:
    """An open line (with a counterparty, if ``named``) and a fresh open entry of exactly its
    amount (to match by hand)."""
    with acting_as(world.actor("admin")):
        lines = StatementLine.objects.filter(account=books.account, match__isnull=True).exclude(
            proposals__status__in=[MatchStatus.PENDING]
        )
        if named:
            lines = lines.exclude(counterparty_name="")
        line = lines.order_by("booking_date", "pk").first()
        source = SourceFile.objects.filter(account=books.account, kind="ledger").first()
        assert line is not None and source is not None
        entry = LedgerEntry.objects.create(
            client_id=books.client.pk,
            account=books.account,
            file=source,
            row=999,
            entry_date=line.booking_date,
            amount=line.amount,
            currency="EUR",
            document_number="MANUAL-4711",
            counterparty_name="Hand-matched GmbH",
        )
    return line, entry


@pytest.fixture
def agent(world):
    return world.login("agent")


@pytest.fixture
def second_agent(world):
    """Another agent of the own client: the checker of a match the first one makes."""
    user = make_person(Role.AGENT, world.own, email="agent2@own.test")
    http = HttpClient()
    http.force_login(user)
    return http


# --- Overview and navigation ------------------------------------------------------------------


@pytest.mark.parametrize("role", VIEWERS)
def test_the_overview_shows_the_clients_accounts_to_everyone_who_may_see_finance(
    world, books, role
):
    imported(world, books)
    body = page(world.login(role), "/finance/", **GERMAN)
    assert "Operating account" in body
    # The balance of 30 October, for a German reader.
    assert f"79.299,42{NBSP}€" in body
    assert "as of 2026-10-30" in body
    assert 'href="/finance/"' in body  # the menu entry
    assert "Other Client Inc" not in body
    assert ("Set up" in body) == (role in ("admin", "manager"))


def test_people_without_finance_do_not_see_it(world, books):
    planner = world.login("planner")
    assert 'href="/finance/"' not in page(planner, "/")
    page(planner, "/finance/", status=403)
    anonymous = HttpClient()
    response = anonymous.get("/finance/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_another_clients_finance_is_not_shown_nor_reachable(world, books):
    other = finance_books(world, world.other, key="oth")
    imported(world, books)
    body = page(world.login("agent"), "/finance/")
    assert "Other Client Inc" not in body
    # The other client's people see theirs only.
    outsider = HttpClient()
    outsider.force_login(world.other_people["agent"])
    body = page(outsider, "/finance/")
    assert "Own Client GmbH" not in body and "79,299.42" not in body
    page(outsider, f"/finance/accounts/{books.account.pk}/", status=404)
    with acting_as(world.actor("admin")):
        line = StatementLine.objects.filter(account=books.account).first()
    page(outsider, f"/finance/lines/{line.pk}/", status=404)
    page(world.login("agent"), f"/finance/accounts/{other.account.pk}/", status=404)
    page(world.login("agent"), "/finance/accounts/987654/", status=404)


def test_the_overview_lists_due_dates_and_reports_with_their_standing(world, books):
    imported(world, books)
    vat = _obligation(world, books, kind="tax_return", name="VAT return (UStVA)")
    actions.obligations_schedule(now=datetime(2026, 11, 20, 6, 0, tzinfo=UTC))
    with acting_as(world.actor("agent")) as agent:
        report = actions.daily_report_make(
            actor=agent, service=books.reconciliation, day=date(2026, 10, 30)
        )
    viewer = world.people["client_viewer"]
    viewer.time_zone = "Pacific/Auckland"  # 13 hours ahead of UTC in December
    viewer.save(update_fields=["time_zone"])
    body = page(world.login("client_viewer"), "/finance/")
    assert vat.name in body and 'data-testid="due-row"' in body
    assert "Thu 2026-12-10" in body  # the 10th of December on the client's calendar
    # …at noon in Berlin, which is past midnight for the viewer: the weekday says so
    assert re.search(r'data-testid="due-at"[^>]*>Fri 00:00<', body)
    assert "not yet" in body  # a filing's evidence, missing
    assert f'href="/finance/reports/{report.pk}/"' in body
    assert f'href="/finance/reports/{report.pk}.pdf"' in body
    assert 'data-chart="finance-chart-' in body


# --- An account: files, rows, matches ---------------------------------------------------------


def test_an_agent_uploads_a_statement_and_its_lines_are_listed(world, books, agent):
    url = f"/finance/accounts/{books.account.pk}/"
    body = page(agent, url)
    assert 'data-testid="statement-form"' in body and "Reconcile now" in body
    response = post(
        agent,
        f"{url}statements/",
        {"statement-file": sample("bank_sparkasse.csv"), "statement-format": ""},
    )
    assert response["Location"] == url
    assert any("bank_sparkasse.csv: 31 bank lines imported" in m for m in messages_of(response))
    body = page(agent, url)
    assert 'data-testid="reconcile-waiting"' in body
    assert body.count('data-testid="line-row"') == 31
    assert "RE-2026-10474" in body and "Schneider" in body
    files = page(agent, f"{url}?tab=files")
    assert "bank_sparkasse.csv" in files and "Imported" in files
    statements = page(agent, f"{url}?tab=statements")
    assert "2026-10-01 – 2026-10-30" in statements


def test_a_bad_statement_is_refused_next_to_the_file_with_the_line(world, books, agent):
    url = f"/finance/accounts/{books.account.pk}/"
    response = post(
        agent, f"{url}statements/", {"statement-file": sample("empty.csv", b"")}, status=400
    )
    assert "The submitted file is empty" in response.content.decode()
    response = post(
        agent, f"{url}statements/", {"statement-file": sample("statement_bad61.mt940")}, status=400
    )
    body = response.content.decode()
    assert 'data-testid="statement-error"' in body and "line" in body
    # The file is kept, failed, with its error, and can be imported again.
    files = page(agent, f"{url}?tab=files")
    assert "Failed" in files and 'data-testid="retry"' in files
    # The same statement twice: the second is refused, saying when the first came.
    post(agent, f"{url}statements/", {"statement-file": sample("statement.mt940")})
    response = post(
        agent, f"{url}statements/", {"statement-file": sample("statement.mt940")}, status=400
    )
    assert "already imported" in response.content.decode()


def test_gaps_and_missing_days_are_warned_of_and_listed(world, books, agent):
    url = f"/finance/accounts/{books.account.pk}/"
    post(agent, f"{url}statements/", {"statement-file": sample("statement.mt940")})
    data = (
        '"Auftragskonto";"Buchungstag";"Valutadatum";"Verwendungszweck";'
        '"Beguenstigter/Zahlungspflichtiger";"Kontonummer/IBAN";"Betrag";"Waehrung";'
        '"Saldo nach Buchung"\n'
        f'"{IBAN}";"06.11.2026";"06.11.2026";"RE-2026-10480";"Müller";"";'
        '"100,00";"EUR";"79.400,00"\n'
    ).encode("cp1252")
    response = post(agent, f"{url}statements/", {"statement-file": sample("nov.csv", data)})
    said = " ".join(messages_of(response))
    assert "opening balance" in said and "no statement for 4 business day" in said
    body = page(agent, f"{url}?tab=statements")
    assert 'data-testid="gap"' in body and "2026-11-02" in body
    assert 'data-testid="gaps">1<' in page(agent, url)


def test_a_failed_file_is_imported_again_after_its_mapping_is_mended(world, books, agent):
    url = f"/finance/accounts/{books.account.pk}/"
    with acting_as(world.actor("admin")):
        BankAccount.objects.filter(pk=books.account.pk).update(ledger_mapping=None)
    response = post(agent, f"{url}ledger/", {"ledger-file": sample("ledger.csv")}, status=400)
    assert "has no ledger mapping" in response.content.decode()
    with acting_as(world.actor("admin")):
        BankAccount.objects.filter(pk=books.account.pk).update(ledger_mapping=books.ledger_mapping)
        failed = SourceFile.objects.get(kind="ledger")
    assert failed.status == FileStatus.FAILED
    response = post(agent, f"/finance/files/{failed.pk}/retry/")
    assert response["Location"] == f"{url}?tab=files"
    assert any("ledger entries imported" in m for m in messages_of(response))
    assert "BU-2026-004711" in page(agent, f"{url}?tab=entries")
    # A client viewer may not import, nor retry.
    viewer = world.login("client_viewer")
    assert 'data-testid="ledger-form"' not in page(viewer, url)
    post(viewer, f"{url}ledger/", {"ledger-file": sample("ledger.csv")}, status=403)
    post(viewer, f"/finance/files/{failed.pk}/retry/", status=403)


def test_reconcile_now_runs_the_engine_and_shows_its_result(world, books, agent):
    imported(world, books, reconcile=False)
    url = f"/finance/accounts/{books.account.pk}/"
    response = post(agent, f"{url}reconcile/")
    said = " ".join(messages_of(response))
    assert re.search(r"Reconciled 31 open lines against 30 open entries: \d+ matched", said)
    body = page(agent, url)
    assert 'data-testid="reconcile-waiting"' not in body
    assert 'data-testid="recent-run"' in body
    accepted = page(agent, f"{url}?tab=accepted")
    assert 'data-status="accepted"' in accepted and "by the engine" in accepted
    runs = page(agent, f"{url}?tab=runs")
    assert "agent@own.test" in runs or "Agent of own" in runs
    # Client users read the results; they do not run the engine.
    viewer = world.login("client_viewer")
    assert "Reconcile now" not in page(viewer, url)
    post(viewer, f"{url}reconcile/", status=403)


def test_every_tab_renders_and_pages(world, books, agent):
    imported(world, books)
    url = f"/finance/accounts/{books.account.pk}/"
    for tab in ("lines", "entries", "proposals", "pending", "accepted", "statements", "files"):
        page(agent, f"{url}?tab={tab}")
    page(agent, f"{url}?tab=runs")
    page(agent, f"{url}?tab=nonsense")
    with acting_as(world.actor("admin")):
        first = StatementLine.objects.filter(account=books.account).order_by("pk").first()
    assert page(agent, f"{url}?tab=lines&after={first.pk}")


# --- Maker-checker ------------------------------------------------------------------------------


def test_a_line_is_matched_by_one_agent_and_approved_by_another(world, books, agent, second_agent):
    imported(world, books)
    line, entry = open_line_with_entry(world, books)
    url = f"/finance/lines/{line.pk}/"
    body = page(agent, url)
    assert 'data-testid="match-form"' in body and "MANUAL-4711" in body
    # The search narrows the entries offered.
    found = page(agent, f"{url}?q=MANUAL-4711")
    assert found.count('data-testid="entry-choice"') == 1
    assert page(agent, f"{url}?q=nothing-like-this").count('data-testid="entry-choice"') == 0

    response = post(agent, f"{url}match/", {"entry_ids": [entry.pk], "note": "Paid by hand"})
    assert response["Location"] == url
    with acting_as(world.actor("admin")):
        match = Match.objects.get(status=MatchStatus.PENDING, proposed_entries=entry)
    body = page(agent, url)
    assert "Awaiting approval" in body and 'data-testid="awaiting-other"' in body
    assert 'data-testid="approve"' not in body
    # The maker's own approval is refused, the match stays pending.
    response = post(agent, f"/finance/matches/{match.pk}/approve/", {"next": url})
    assert any("another agent must approve it" in m for m in messages_of(response))
    match.refresh_from_db()
    assert match.status == MatchStatus.PENDING

    pending = page(second_agent, f"/finance/accounts/{books.account.pk}/?tab=pending")
    assert f'id="match-{match.pk}"' in pending and 'data-testid="approve"' in pending
    response = post(second_agent, f"/finance/matches/{match.pk}/approve/")
    assert response["Location"] == f"/finance/accounts/{books.account.pk}/?tab=pending"
    match.refresh_from_db()
    line.refresh_from_db()
    assert match.status == MatchStatus.ACCEPTED and line.match_id == match.pk
    body = page(agent, url)
    assert "Reconciled" in body and 'data-testid="match-form"' not in body
    with acting_as(world.actor("admin")):
        item = WorkItem.objects.get(open_line__line=line)
    assert item.state == State.RESOLVED


def test_a_manual_match_that_does_not_add_up_is_refused_on_the_form(world, books, agent):
    imported(world, books)
    line, entry = open_line_with_entry(world, books)
    with acting_as(world.actor("admin")):
        other = (
            LedgerEntry.objects.filter(account=books.account, match__isnull=True)
            .exclude(pk=entry.pk)
            .first()
        )
    response = post(
        agent,
        f"/finance/lines/{line.pk}/match/",
        {"entry_ids": [entry.pk, other.pk]},
        status=400,
    )
    body = response.content.decode()
    assert 'data-testid="match-error"' in body and "apart" in body
    assert f'value="{entry.pk}" id="entry-{entry.pk}" data-amount' in body
    # Nothing ticked: said too.
    response = post(agent, f"/finance/lines/{line.pk}/match/", {}, status=400)
    assert "at least one bank line and one ledger entry" in response.content.decode()
    # Client users may not match.
    post(world.login("client_admin"), f"/finance/lines/{line.pk}/match/", {}, status=403)
    # A difference the agent explains in the note goes to the checker.
    post(
        agent,
        f"/finance/lines/{line.pk}/match/",
        {"entry_ids": [entry.pk, other.pk], "note": "The customer took a discount."},
    )
    with acting_as(world.actor("admin")):
        made = Match.objects.get(status=MatchStatus.PENDING, proposed_entries=other)
    assert made.note == "The customer took a discount."


def test_a_rejection_needs_a_reason_and_a_manager_takes_a_match_back(
    world, books, agent, second_agent
):
    imported(world, books)
    line, entry = open_line_with_entry(world, books)
    post(agent, f"/finance/lines/{line.pk}/match/", {"entry_ids": [entry.pk]})
    with acting_as(world.actor("admin")):
        match = Match.objects.get(status=MatchStatus.PENDING)
    response = post(
        second_agent, f"/finance/matches/{match.pk}/reject/", {"reason": ""}, status=400
    )
    body = response.content.decode()
    assert "Say why the match is wrong." in body and 'data-testid="reject-form"' in body
    post(second_agent, f"/finance/matches/{match.pk}/reject/", {"reason": "Wrong invoice"})
    match.refresh_from_db()
    assert match.status == MatchStatus.REJECTED and match.note == "Wrong invoice"

    # An accepted match: agents may not undo it, a manager may, with a reason.
    with acting_as(world.actor("admin")):
        accepted = Match.objects.filter(status=MatchStatus.ACCEPTED).first()
    post(agent, f"/finance/matches/{accepted.pk}/undo/", {"reason": "x"}, status=403)
    manager = world.login("manager")
    response = post(manager, f"/finance/matches/{accepted.pk}/undo/", {"reason": ""}, status=400)
    assert "Say why the match is taken back." in response.content.decode()
    post(manager, f"/finance/matches/{accepted.pk}/undo/", {"reason": "Booked twice"})
    accepted.refresh_from_db()
    assert accepted.status == MatchStatus.REJECTED


def test_a_proposal_is_confirmed_and_a_match_made_by_hand_becomes_a_rule(
    world, books, agent, second_agent
):
    imported(world, books)
    with acting_as(world.actor("admin")):
        proposal = Match.objects.filter(status=MatchStatus.PROPOSED).first()
    if proposal is not None:
        body = page(agent, f"/finance/accounts/{books.account.pk}/?tab=proposals")
        assert 'data-testid="confirm"' in body
        post(agent, f"/finance/matches/{proposal.pk}/confirm/")
        proposal.refresh_from_db()
        assert proposal.status == MatchStatus.REJECTED  # taken over by the agent's match
        with acting_as(world.actor("admin")):
            assert Match.objects.filter(
                status=MatchStatus.PENDING, made_by__email="agent@own.test"
            ).exists()
    line, entry = open_line_with_entry(world, books, named=True)
    post(agent, f"/finance/lines/{line.pk}/match/", {"entry_ids": [entry.pk]})
    with acting_as(world.actor("admin")):
        match = Match.objects.get(status=MatchStatus.PENDING, proposed_entries=entry)
    post(second_agent, f"/finance/matches/{match.pk}/approve/")
    body = page(agent, f"/finance/accounts/{books.account.pk}/?tab=accepted")
    assert 'data-testid="learn"' in body
    response = post(agent, f"/finance/matches/{match.pk}/rule/")
    assert any("is added" in m for m in messages_of(response)), messages_of(response)
    with acting_as(world.actor("admin")):
        assert MatchRule.objects.filter(learned_from=match).exists()


# --- Set-up -------------------------------------------------------------------------------------


def test_a_manager_adds_and_edits_a_bank_account(world, books):
    manager = world.login("manager")
    body = page(manager, "/finance/accounts/new/")
    assert "Bank reconciliation" in body and "Sparkasse CSV" in body
    data = {
        "service_id": books.reconciliation.pk,
        "name": "Savings",
        "currency": "EUR",
        "iban": "DE89 3704 0044 0532 0130 01",
        "statement_mapping_id": books.bank_mapping.pk,
    }
    response = post(manager, "/finance/accounts/new/", data, status=400)
    assert "is not a valid IBAN" in response.content.decode()
    data["iban"] = "DE02 1203 0000 0000 2020 51"
    response = post(manager, "/finance/accounts/new/", data)
    with acting_as(world.actor("admin")):
        account = BankAccount.objects.get(name="Savings")
    assert account.iban == "DE02120300000000202051"
    assert response["Location"] == f"/finance/accounts/{account.pk}/"
    edit = f"/finance/accounts/{account.pk}/edit/"
    assert "DE02120300000000202051" in page(manager, edit)
    post(manager, edit, {**data, "name": "Savings account", "bank_name": "DKB"})
    account.refresh_from_db()
    assert (account.name, account.bank_name) == ("Savings account", "DKB")
    # Neither agents nor clients set accounts up.
    page(world.login("agent"), "/finance/accounts/new/", status=403)
    page(world.login("client_admin"), edit, status=403)


def test_a_mapping_is_made_from_a_sample_files_headers(world, books):
    manager = world.login("manager")
    assert "Sparkasse CSV" in page(manager, "/finance/mappings/")
    body = page(manager, "/finance/mappings/new/?kind=bank")
    assert "Booking date" in body
    response = post(
        manager,
        "/finance/mappings/new/",
        {
            "client": books.client.pk,
            "kind": "bank",
            "name": "Sparkasse CAMT CSV",
            "read_sample": "1",
            "sample": sample("bank_sparkasse.csv"),
        },
        status=200,
    )
    body = response.content.decode()
    assert 'data-testid="headers-read"' in body
    # The headers are offered, the proposal chosen, the date format and decimal comma guessed.
    assert '<option value="Buchungstag" selected>' in body
    assert 'value="%d.%m.%Y"' in body
    assert 'data-testid="sample-rows"' in body and "RE-2026-10474" in body
    headers = re.search(r'name="headers" value="([^"]*)"', body)
    assert headers
    missing = {
        "client": books.client.pk,
        "kind": "bank",
        "name": "Sparkasse CAMT CSV",
        "headers": headers.group(1).replace("&quot;", '"'),
        "col_booking_date": "Buchungstag",
    }
    response = post(manager, "/finance/mappings/new/", missing, status=400)
    assert "Map a column to Amount" in response.content.decode()
    response = post(
        manager,
        "/finance/mappings/new/",
        {**missing, "col_amount": "Nicht da"},
        status=400,
    )
    assert "The sample file has no column" in response.content.decode()
    post(
        manager,
        "/finance/mappings/new/",
        {**missing, "col_amount": "Betrag", "date_format": "%d.%m.%Y", "decimal_comma": "on"},
    )
    with acting_as(world.actor("admin")):
        saved = ColumnMapping.objects.get(name="Sparkasse CAMT CSV")
    assert saved.columns == {"booking_date": "Buchungstag", "amount": "Betrag"}
    assert saved.decimal_comma and saved.date_format == "%d.%m.%Y"
    body = page(manager, f"/finance/mappings/{saved.pk}/edit/")
    assert 'value="Betrag"' in body
    page(world.login("agent"), "/finance/mappings/", status=403)
    page(world.login("agent"), f"/finance/mappings/{saved.pk}/edit/", status=403)


def test_a_mapping_reads_a_remittance_spread_over_numbered_columns(world, books):
    """A sample with Verwendungszweck 1 and 2: the reference is offered (and proposed) as both
    joined, is saved so, and a statement imported through it reads both."""
    manager = world.login("manager")
    csv = (
        "Buchungstag;Betrag;Saldo;Verwendungszweck 1;Verwendungszweck 2\n"
        "02.11.2026;100,00;1.100,00;RE-2026-10480;Kunde 4711\n"
    ).encode("cp1252")
    response = post(
        manager,
        "/finance/mappings/new/",
        {
            "client": books.client.pk,
            "kind": "bank",
            "name": "Volksbank CSV",
            "read_sample": "1",
            "sample": sample("volksbank.csv", csv),
        },
        status=200,
    )
    body = response.content.decode()
    joined = "Verwendungszweck 1 + Verwendungszweck 2"
    assert f'<option value="{joined}" selected>' in body
    headers = re.search(r'name="headers" value="([^"]*)"', body)
    assert headers
    post(
        manager,
        "/finance/mappings/new/",
        {
            "client": books.client.pk,
            "kind": "bank",
            "name": "Volksbank CSV",
            "headers": headers.group(1).replace("&quot;", '"'),
            "col_booking_date": "Buchungstag",
            "col_amount": "Betrag",
            "col_balance": "Saldo",
            "col_reference": joined,
            "date_format": "%d.%m.%Y",
            "decimal_comma": "on",
        },
    )
    with acting_as(world.actor("admin")) as admin:
        mapping = ColumnMapping.objects.get(name="Volksbank CSV")
        assert mapping.columns["reference"] == joined
        books.read_statements_with(admin, mapping)
        actions.statement_import(
            actor=admin,
            account=books.account,
            upload=upload("volksbank.csv", csv),
            reconcile_after=False,
        )
        (line,) = StatementLine.objects.filter(account=books.account)
        assert line.reference == "RE-2026-10480 Kunde 4711"


def test_rules_and_the_policy_of_a_service(world, books):
    manager = world.login("manager")
    url = f"/finance/services/{books.reconciliation.pk}/rules/"
    body = page(manager, url)
    assert "No rule yet" in body and 'data-testid="policy-form"' in body
    response = post(
        manager,
        f"{url}new/",
        {
            "name": "Rent",
            "is_active": "on",
            "reference_pattern": "Miete (",
            "name_threshold": 85,
            "amount_tolerance": "0",
            "confidence_percent": "95",
        },
        status=400,
    )
    assert "Not a regular expression" in response.content.decode()
    post(
        manager,
        f"{url}new/",
        {
            "name": "Rent",
            "is_active": "on",
            "counterparty_iban": "DE75370501981901234567",
            "name_threshold": 85,
            "amount_tolerance": "0",
            "confidence_percent": "97",
        },
    )
    with acting_as(world.actor("admin")):
        rule = MatchRule.objects.get(name="Rent")
    assert "DE75370501981901234567" in page(manager, url)
    post(
        manager,
        f"/finance/rules/{rule.pk}/edit/",
        {
            "name": "Rent Rheinpark",
            "counterparty_iban": "DE75370501981901234567",
            "name_threshold": 85,
            "amount_tolerance": "1",
            "confidence_percent": "95",
        },
    )
    rule.refresh_from_db()
    assert rule.name == "Rent Rheinpark" and not rule.is_active
    response = post(
        manager,
        f"/finance/services/{books.reconciliation.pk}/policy/",
        {"date_window_days": 99, "max_group_size": 4, "auto_accept_percent": "90"},
        status=400,
    )
    assert "less than or equal to 60" in response.content.decode()
    post(
        manager,
        f"/finance/services/{books.reconciliation.pk}/policy/",
        {"date_window_days": 7, "max_group_size": 3, "auto_accept_percent": "92.5"},
    )
    with acting_as(world.actor("admin")):
        policy = ReconciliationPolicy.objects.get(service=books.reconciliation)
    assert (policy.date_window_days, policy.max_group_size) == (7, 3)
    # an agent reads the rules and the policy the engine works by, and changes neither
    agent = world.login("agent")
    read_only = page(agent, url)
    assert "Rent Rheinpark" in read_only and "7 days either side" in read_only
    assert 'data-testid="policy-form"' not in read_only and "/edit/" not in read_only
    assert 'data-testid="new-rule"' not in read_only and "delete-rule" not in read_only
    page(agent, f"{url}new/", status=403)
    post(manager, f"/finance/rules/{rule.pk}/delete/")
    with acting_as(world.actor("admin")):
        assert not MatchRule.objects.filter(pk=rule.pk).exists()
    page(manager, f"/finance/services/{books.close.pk}/rules/", status=404)


# --- Close and filing calendar ---------------------------------------------------------------


def _obligation(world, books, *, kind: str, name: str) -> Obligation:
    with acting_as(world.actor("manager")) as manager:
        return actions.obligation_save(
            actor=manager,
            service=books.close,
            name=name,
            kind=kind,
            recurrence="FREQ=MONTHLY;BYMONTHDAY=10",
            starts_on=date(2026, 1, 1),
            roll="preceding",
            due_time=time(12, 0),
            lead_days=25,
            authority="Finanzamt Köln-Mitte",
        )


def test_a_manager_puts_an_obligation_on_the_calendar_with_a_preview(world, books):
    manager = world.login("manager")
    body = page(manager, "/finance/obligations/new/")
    assert "FREQ=MONTHLY;BYMONTHDAY=10" in body and "Close and filings" in body
    data = {
        "service_id": books.close.pk,
        "name": "VAT return (UStVA)",
        "kind": "tax_return",
        "recurrence": "FREQ=HOURLY",
        "starts_on": "2026-01-01",
        "roll": "preceding",
        "due_time": "12:00",
        "lead_days": 10,
        "is_active": "on",
    }
    response = post(manager, "/finance/obligations/new/", {**data, "preview": "1"}, status=400)
    assert "HOURLY" in response.content.decode()
    response = post(
        manager,
        "/finance/obligations/new/",
        {**data, "recurrence": "FREQ=MONTHLY;BYMONTHDAY=10", "preview": "1"},
        status=200,
    )
    body = response.content.decode()
    # 10 January 2027 is a Sunday: due on Friday the 8th.
    assert 'data-testid="planned-date"' in body and "Fri 2027-01-08" in body
    with acting_as(world.actor("admin")):
        assert not Obligation.objects.exists()  # a preview saves nothing
    response = post(
        manager, "/finance/obligations/new/", {**data, "recurrence": "FREQ=MONTHLY;BYMONTHDAY=10"}
    )
    assert response["Location"] == "/finance/calendar/"
    with acting_as(world.actor("admin")):
        obligation = Obligation.objects.get(name="VAT return (UStVA)")
    body = page(manager, f"/finance/obligations/{obligation.pk}/edit/")
    assert 'data-testid="planned-date"' in body
    post(
        manager,
        f"/finance/obligations/{obligation.pk}/edit/",
        {**data, "recurrence": "FREQ=MONTHLY;BYMONTHDAY=12", "lead_days": 5},
    )
    obligation.refresh_from_db()
    assert obligation.recurrence == "FREQ=MONTHLY;BYMONTHDAY=12" and obligation.lead_days == 5
    calendar = page(world.login("client_viewer"), "/finance/calendar/")
    assert "VAT return (UStVA)" in calendar
    # the due time is on the service's calendar, whose zone is named beside it
    assert re.search(r'data-testid="obligation-zone">Europe/Berlin<', calendar)
    page(world.login("agent"), "/finance/obligations/new/", status=403)
    page(world.login("agent"), f"/finance/obligations/{obligation.pk}/edit/", status=403)


def test_a_filing_takes_its_evidence_then_resolves(world, books, agent):
    _obligation(world, books, kind="tax_return", name="VAT return (UStVA)")
    actions.obligations_schedule(now=datetime(2026, 11, 20, 6, 0, tzinfo=UTC))
    with acting_as(world.actor("admin")):
        occurrence = Occurrence.objects.get()
    calendar = page(agent, "/finance/calendar/")
    assert f'href="/finance/occurrences/{occurrence.pk}/"' in calendar
    item_url = f"/work/items/{occurrence.item_id}/"
    body = page(agent, item_url)
    assert 'data-testid="finance-occurrence-panel"' in body
    assert "VAT return (UStVA)" in body and 'data-testid="evidence-form"' in body
    # Resolving without the evidence is refused.
    response = post(agent, f"{item_url}state/", {"state": "resolved"})
    assert any("confirmation document" in m for m in messages_of(response))
    evidence = f"/finance/occurrences/{occurrence.pk}/evidence/"
    response = post(
        agent,
        evidence,
        {"reference": "", "file": sample("confirmation.pdf", b"%PDF-1.4 ok"), "next": item_url},
        status=400,
    )
    assert "Enter the confirmation reference" in response.content.decode()
    response = post(agent, evidence, {"reference": "ELSTER-TT-884211"}, status=400)
    assert "This field is required" in response.content.decode()
    response = post(
        agent,
        evidence,
        {
            "reference": "ELSTER-TT-884211",
            "file": sample("confirmation.pdf", b"%PDF-1.4 ok"),
            "next": item_url,
        },
    )
    assert response["Location"] == item_url
    body = page(agent, item_url)
    assert "ELSTER-TT-884211" in body and "confirmation.pdf" in body
    link = re.search(r'href="(/api/v1/attachments/\d+/content)"', body)
    assert link and agent.get(link.group(1)).status_code == 200
    post(agent, f"{item_url}state/", {"state": "resolved"})
    with acting_as(world.actor("admin")):
        assert WorkItem.objects.get(pk=occurrence.item_id).state == State.RESOLVED
    body = page(world.login("client_viewer"), f"/finance/occurrences/{occurrence.pk}/")
    assert "ELSTER-TT-884211" in body and 'data-testid="evidence-form"' not in body
    post(world.login("client_admin"), evidence, {"reference": "x"}, status=403)


def test_an_open_lines_work_item_shows_its_bank_line(world, books, agent):
    imported(world, books)
    with acting_as(world.actor("admin")):
        open_line = OpenLine.objects.select_related("line").first()
    body = page(agent, f"/work/items/{open_line.item_id}/")
    assert 'data-testid="finance-line-panel"' in body
    assert f'href="/finance/lines/{open_line.line_id}/"' in body
    line = page(agent, f"/finance/lines/{open_line.line_id}/")
    assert f'href="/work/items/{open_line.item_id}/"' in line


# --- Daily reports ----------------------------------------------------------------------------


def test_an_agent_makes_a_daily_report_and_the_client_reads_it(world, books, agent):
    imported(world, books)
    body = page(agent, "/finance/reports/")
    assert 'data-testid="report-make-form"' in body
    response = post(
        agent,
        "/finance/reports/make/",
        {"service_id": books.reconciliation.pk, "day": "not a day"},
        status=400,
    )
    assert "Enter a valid date" in response.content.decode()
    response = post(
        agent,
        "/finance/reports/make/",
        {"service_id": books.reconciliation.pk, "day": "2026-10-30"},
    )
    with acting_as(world.actor("admin")):
        report = DailyReport.objects.get()
    assert response["Location"] == f"/finance/reports/{report.pk}/"
    viewer = world.login("client_viewer")
    body = page(viewer, f"/finance/reports/{report.pk}/", **GERMAN)
    assert "Operating account" in body and f"79.299,42{NBSP}€" in body
    assert 'data-testid="ageing"' in body and 'data-testid="largest-open"' in body
    listing = page(viewer, "/finance/reports/")
    assert 'data-testid="report-make-form"' not in listing and "2026-10-30" in listing
    pdf = viewer.get(f"/finance/reports/{report.pk}.pdf")
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF-")
    csv = viewer.get(f"/finance/reports/{report.pk}.csv")
    assert csv.status_code == 200 and "Operating account" in b"".join(csv.streaming_content).decode(
        "utf-8-sig"
    )
    post(viewer, "/finance/reports/make/", {}, status=403)
    outsider = HttpClient()
    outsider.force_login(world.other_people["client_admin"])
    page(outsider, f"/finance/reports/{report.pk}/", status=404)
    assert outsider.get(f"/finance/reports/{report.pk}.pdf").status_code == 404


def test_uploads_too_large_are_refused_by_the_upload_limit(world, books, agent, settings):
    settings.OPENBPO_MAX_ATTACHMENT_BYTES = 1000
    response = agent.post(
        f"/finance/accounts/{books.account.pk}/statements/",
        {"statement-file": sample("statement.mt940")},
    )
    assert response.status_code == 413
    assert "larger than the limit" in response.content.decode()
    with all_clients_unscoped("test"):
        assert not SourceFile.objects.exists()


# --- Query counts ---------------------------------------------------------------------------


def _queries(http: HttpClient, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        page(http, url)
    return len(captured)


def test_the_overview_reads_a_fixed_number_of_queries_however_many_accounts(world, books):
    imported(world, books)
    with acting_as(world.actor("agent")) as agent:
        actions.daily_report_make(actor=agent, service=books.reconciliation, day=date(2026, 10, 29))
    admin = world.login("admin")
    few = _queries(admin, "/finance/")
    other = finance_books(world, world.other, key="oth")
    with acting_as(world.actor("admin")) as manager:
        for n in range(3):
            actions.bank_account_save(
                actor=manager,
                service=other.reconciliation,
                name=f"Account {n}",
                account_number=f"ACC-{n}",
                currency="EUR",
            )
        actions.daily_report_make(
            actor=manager, service=books.reconciliation, day=date(2026, 10, 30)
        )
        actions.daily_report_make(
            actor=manager, service=other.reconciliation, day=date(2026, 10, 30)
        )
    _obligation(world, books, kind="tax_return", name="VAT return (UStVA)")
    actions.obligations_schedule(now=datetime(2026, 11, 20, 6, 0, tzinfo=UTC))
    assert _queries(admin, "/finance/") == few


def test_an_account_tab_reads_a_fixed_number_of_queries_however_many_matches(world, books, agent):
    imported(world, books)
    url = f"/finance/accounts/{books.account.pk}/?tab=accepted"
    with acting_as(world.actor("admin")):
        accepted = Match.objects.filter(status=MatchStatus.ACCEPTED).count()
    assert accepted > 10
    many = _queries(agent, url)
    # Fewer matches: as many queries.
    manager = world.login("manager")
    with acting_as(world.actor("admin")):
        ids = list(Match.objects.filter(status=MatchStatus.ACCEPTED).values_list("pk", flat=True))
    for pk in ids[:-2]:
        post(manager, f"/finance/matches/{pk}/undo/", {"reason": "test"})
    assert _queries(agent, url) == many


def test_a_name_already_taken_is_refused_on_the_form(world, books):
    manager = world.login("manager")
    manager.raise_request_exception = False
    response = manager.post(
        "/finance/accounts/new/",
        {
            "service_id": books.reconciliation.pk,
            "name": "Operating account",
            "currency": "EUR",
            "account_number": "123",
        },
    )
    assert response.status_code == 400 and "already exists" in response.content.decode()
