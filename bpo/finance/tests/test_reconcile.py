"""One run of the engine over an account in the database: it writes exactly what the engine
decided, all or nothing, in a bounded number of queries, and a second run changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from bpo.finance import engine, reconcile, synthetic
from bpo.finance.models import (
    LedgerEntry,
    Match,
    MatchRule,
    MatchStatus,
    ReconciliationPolicy,
    SourceFile,
    Statement,
    StatementLine,
)
from bpo.finance.reconcile import Outcome, from_minor, run_engine
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import ScopeError

NOW = datetime(2027, 5, 3, 9, 30, tzinfo=UTC)
Key = tuple[tuple[int, ...], tuple[int, ...]]


class Loaded:
    """A synthetic data set in the database: its ids both ways."""

    def __init__(self, data: synthetic.DataSet, lines: dict[int, int], entries: dict[int, int]):
        self.data = data
        self.line_row = lines  # data set id -> row id
        self.entry_row = entries
        self.line_id = {row: i for i, row in lines.items()}
        self.entry_id = {row: i for i, row in entries.items()}

    def rows(self, key: Key) -> Key:
        return (
            tuple(sorted(self.line_row[i] for i in key[0])),
            tuple(sorted(self.entry_row[i] for i in key[1])),
        )


def load(books, user, data: synthetic.DataSet) -> Loaded:
    """Write the data set as one statement and one ledger file of the books' account."""
    account = books.account
    client_id = account.client_id
    files = [
        SourceFile.objects.create(
            client_id=client_id,
            account=account,
            kind=kind,
            format="csv",
            filename=f"{kind}.csv",
            stored_name=f"{kind}-{account.pk}-{len(data.lines)}",
            size=1,
            sha256="0" * 64,
            status="imported",
            uploaded_by=user,
        )
        for kind in ("statement", "ledger")
    ]
    statement = Statement.objects.create(
        client_id=client_id,
        account=account,
        file=files[0],
        start_date=data.lines[0].date,
        end_date=data.lines[-1].date,
        currency="EUR",
        opening_balance=0,
        closing_balance=0,
    )
    lines = StatementLine.objects.bulk_create(
        StatementLine(
            client_id=client_id,
            statement=statement,
            account=account,
            position=n,
            booking_date=x.date,
            amount=from_minor(x.amount_minor),
            currency="EUR",
            reference=x.reference,
            counterparty_name=x.name,
            counterparty_iban=x.iban,
        )
        for n, x in enumerate(data.lines, start=1)
    )
    entries = LedgerEntry.objects.bulk_create(
        LedgerEntry(
            client_id=client_id,
            account=account,
            file=files[1],
            row=n,
            entry_date=e.date,
            amount=from_minor(e.amount_minor),
            currency="EUR",
            document_number=e.document_number,
            reference=e.reference,
            counterparty_name=e.name,
            counterparty_iban=e.iban,
        )
        for n, e in enumerate(data.entries, start=1)
    )
    return Loaded(
        data,
        {x.id: row.pk for x, row in zip(data.lines, lines, strict=True)},
        {e.id: row.pk for e, row in zip(data.entries, entries, strict=True)},
    )


def add_rules(books, data: synthetic.DataSet) -> None:
    for rule in data.rules:
        MatchRule.objects.create(
            client_id=books.account.client_id,
            service=books.reconciliation,
            name=rule.name,
            date_window_days=rule.window_days,
            amount_tolerance=from_minor(rule.tolerance_minor),
            reference_pattern=rule.reference_pattern,
            counterparty_iban=rule.counterparty_iban,
            counterparty_name=rule.counterparty_name,
            name_threshold=rule.name_threshold,
            confidence_percent=Decimal(str(rule.confidence)),
        )


def snapshot(account_id: int) -> dict[str, object]:
    """Everything a run writes, to compare."""
    return {
        "matches": sorted(
            Match.objects.filter(account_id=account_id).values_list(
                "id", "status", "shape", "confidence", "reasons", "rule_id", "automatic"
            )
        ),
        "lines": sorted(
            StatementLine.objects.filter(account_id=account_id).values_list("id", "match_id")
        ),
        "entries": sorted(
            LedgerEntry.objects.filter(account_id=account_id).values_list("id", "match_id")
        ),
        "proposed_lines": sorted(
            Match.proposed_lines.through.objects.filter(match__account_id=account_id).values_list(
                "match_id", "statementline_id"
            )
        ),
        "proposed_entries": sorted(
            Match.proposed_entries.through.objects.filter(match__account_id=account_id).values_list(
                "match_id", "ledgerentry_id"
            )
        ),
    }


def written(account_id: int) -> dict[Key, tuple[str, Decimal]]:
    """The matches of the account: (line ids, entry ids) -> (status, confidence)."""
    out = {}
    for match in Match.objects.filter(account_id=account_id).prefetch_related(
        "lines", "entries", "proposed_lines", "proposed_entries"
    ):
        if match.status == MatchStatus.ACCEPTED:
            lines, entries = match.lines.all(), match.entries.all()
        else:
            lines, entries = match.proposed_lines.all(), match.proposed_entries.all()
        key = (tuple(sorted(x.pk for x in lines)), tuple(sorted(e.pk for e in entries)))
        out[key] = (match.status, match.confidence)
    return out


@pytest.fixture
def admin(world):
    return world.actor("admin")


def test_a_run_writes_what_the_engine_decided(world, books, admin):
    data = synthetic.generate(400, seed=21)
    with acting_as(admin):
        loaded = load(books, admin.user, data)
        add_rules(books, data)
        outcome = run_engine(books.account, user=admin.user, now=NOW)
        matches = written(books.account.pk)
        accepted_matches = list(Match.objects.filter(status=MatchStatus.ACCEPTED))
    decided = engine.reconcile(data.lines, data.entries, data.rules, data.policy)
    expected = {
        loaded.rows(p.key): (
            MatchStatus.ACCEPTED if p.accepted else MatchStatus.PROPOSED,
            Decimal(f"{p.confidence:.2f}"),
        )
        for p in decided
    }
    assert matches == expected
    assert outcome == Outcome(
        accepted=sum(1 for p in decided if p.accepted),
        proposed=sum(1 for p in decided if not p.accepted),
        open_line_ids=sorted(
            loaded.line_row[x.id]
            for x in data.lines
            if x.id not in {i for p in decided if p.accepted for i in p.line_ids}
        ),
        lines=400,
        entries=480,
    )
    assert outcome.accepted > 300
    match = accepted_matches[0]
    assert match.automatic and match.made_by == admin.user and match.made_at == NOW
    assert match.decided_at == NOW and match.decided_by is None
    assert match.reasons and match.client_id == books.account.client_id
    # what was accepted is right, as the labels say
    links = {
        (loaded.line_id[li], loaded.entry_id[ei])
        for (lines, entries), (status, _) in matches.items()
        if status == MatchStatus.ACCEPTED
        for li in lines
        for ei in entries
    }
    score = synthetic.score_links(links, data.labels)
    assert score.precision >= 0.995 and score.recall >= 0.9


def test_rules_and_differences_are_written(world, books, admin):
    data = synthetic.generate(600, seed=8)
    with acting_as(admin):
        load(books, admin.user, data)
        add_rules(books, data)
        MatchRule.objects.create(
            client_id=books.account.client_id,
            service=books.reconciliation,
            name="Switched off",
            is_active=False,
            amount_tolerance=Decimal("1000"),
            confidence_percent=Decimal("100"),
        )
        run_engine(books.account, user=None, now=NOW)
        by_rule = {
            rule.name: rule.matches.filter(status=MatchStatus.ACCEPTED).count()
            for rule in MatchRule.objects.all()
        }
        charges = Match.objects.filter(rule__name="Foreign payments less charges").exclude(
            difference=0
        )
        assert charges.exists()
        for match in charges:
            line_total = sum(x.amount for x in match.lines.all())
            entry_total = sum(e.amount for e in match.entries.all())
            assert match.difference == line_total - entry_total
            assert "rule 'Foreign payments less charges'" in match.reasons
    assert by_rule["Stripe payouts"] > 0
    assert by_rule["Switched off"] == 0


def test_a_second_run_changes_nothing(world, books, admin):
    data = synthetic.generate(500, seed=22)
    with acting_as(admin):
        load(books, admin.user, data)
        add_rules(books, data)
        first = run_engine(books.account, user=admin.user, now=NOW)
        before = snapshot(books.account.pk)
        second = run_engine(books.account, user=admin.user, now=NOW.replace(hour=11))
        after = snapshot(books.account.pk)
    assert after == before
    assert second.accepted == 0
    assert second.proposed == first.proposed
    assert second.open_line_ids == first.open_line_ids


def test_the_query_count_does_not_grow_with_the_lines(world, books, admin):
    counts = []
    with acting_as(admin):
        for size, seed in ((100, 30), (800, 31)):
            load(books, admin.user, synthetic.generate(size, seed=seed))
            with CaptureQueriesContext(connection) as queries:
                outcome = run_engine(books.account, user=admin.user, now=NOW)
            assert outcome.accepted > size * 0.7
            counts.append(len(queries))
        # more lines and entries: some proposals of the last run give way
        load(books, admin.user, synthetic.generate(50, seed=32))
        with CaptureQueriesContext(connection) as queries:
            run_engine(books.account, user=admin.user, now=NOW)
        replacing = len(queries)
    assert counts[1] == counts[0] + 2  # the first run found no proposals to read
    assert counts[1] <= 22
    assert replacing <= 30


def test_nothing_is_half_written(world, books, admin, monkeypatch):
    data = synthetic.generate(300, seed=23)
    with acting_as(admin):
        load(books, admin.user, data)
        before = snapshot(books.account.pk)

        def broken(model, rows):
            if model is Match.proposed_entries.through:
                raise RuntimeError("disk full")
            return insert_rows(model, rows)

        insert_rows = reconcile.insert_rows
        monkeypatch.setattr(reconcile, "insert_rows", broken)
        with pytest.raises(RuntimeError, match="disk full"):
            run_engine(books.account, user=admin.user, now=NOW)
        assert snapshot(books.account.pk) == before
        assert not Match.objects.exists()


def test_a_change_meanwhile_makes_the_run_start_again(world, books, admin, monkeypatch):
    data = synthetic.generate(200, seed=24)
    with acting_as(admin):
        loaded = load(books, admin.user, data)
        by_agent = loaded.line_row[data.lines[0].id]
        calls = []

        def decide_while_an_agent_works(*args, **kwargs):
            calls.append(1)
            if len(calls) == 1:  # an agent settles a line while the engine runs
                match = Match.objects.create(
                    client_id=books.account.client_id,
                    account=books.account,
                    shape="1:1",
                    status=MatchStatus.ACCEPTED,
                    confidence=100,
                    made_at=NOW,
                )
                StatementLine.objects.filter(pk=by_agent).update(match=match)
            return real(*args, **kwargs)

        real = engine.reconcile
        monkeypatch.setattr(engine, "reconcile", decide_while_an_agent_works)
        outcome = run_engine(books.account, user=admin.user, now=NOW)
        assert len(calls) == 2
        assert by_agent not in outcome.open_line_ids
        assert outcome.lines == 199
        assert StatementLine.objects.get(pk=by_agent).match.made_at == NOW
        assert not Match.objects.filter(
            Q(proposed_lines__pk=by_agent) | Q(lines__pk=by_agent), automatic=True
        ).exists()


def test_the_services_policy_is_used_else_the_defaults(world, books, admin):
    data = synthetic.generate(300, seed=25)
    with acting_as(admin):
        load(books, admin.user, data)
        assert reconcile.policy_of(books.reconciliation.pk) == engine.Policy(5, 4, 90.0)
        ReconciliationPolicy.objects.create(
            client_id=books.account.client_id,
            service=books.reconciliation,
            date_window_days=3,
            max_group_size=1,
            auto_accept_percent=Decimal("100"),
        )
        assert reconcile.policy_of(books.reconciliation.pk) == engine.Policy(3, 1, 100.0)
        run_engine(books.account, user=admin.user, now=NOW)
        assert not Match.objects.exclude(shape="1:1").exists()
        for match in Match.objects.filter(status=MatchStatus.ACCEPTED):
            assert match.confidence == 100


def test_agents_decisions_are_respected(world, books, admin):
    data = synthetic.generate(300, seed=26)
    with acting_as(admin):
        load(books, admin.user, data)
        run_engine(books.account, user=admin.user, now=NOW)
        proposal = Match.objects.filter(status=MatchStatus.PROPOSED).first()
        rejected = (
            tuple(proposal.proposed_lines.values_list("pk", flat=True)),
            tuple(proposal.proposed_entries.values_list("pk", flat=True)),
        )
        proposal.status = MatchStatus.REJECTED
        proposal.save()
        # an agent's own match awaiting approval holds its line and entry
        line = StatementLine.objects.filter(match__isnull=True, proposals__isnull=True).first()
        entry = LedgerEntry.objects.filter(match__isnull=True, proposals__isnull=True).first()
        pending = Match.objects.create(
            client_id=books.account.client_id,
            account=books.account,
            shape="1:1",
            status=MatchStatus.PENDING,
            confidence=100,
            made_by=admin.user,
            made_at=NOW,
        )
        pending.proposed_lines.add(line)
        pending.proposed_entries.add(entry)
        outcome = run_engine(books.account, user=admin.user, now=NOW)
        assert line.pk not in outcome.open_line_ids
        assert Match.objects.filter(proposed_lines=line).get() == pending
        assert Match.objects.filter(proposed_entries=entry).get() == pending
        assert rejected not in written(books.account.pk) or (
            written(books.account.pk)[rejected][0] == MatchStatus.REJECTED
        )
        assert Match.objects.filter(status=MatchStatus.REJECTED).count() == 1


def test_a_proposal_gives_way_when_a_better_entry_arrives(world, books, admin):
    data = synthetic.generate(100, seed=27)
    with acting_as(admin):
        load(books, admin.user, data)
        run_engine(books.account, user=admin.user, now=NOW)
        proposal = Match.objects.filter(status=MatchStatus.PROPOSED, shape="1:1").first()
        line = proposal.proposed_lines.get()
        wrong = proposal.proposed_entries.get()
        # the ledger books the line's receipt under its own document number
        right = LedgerEntry.objects.create(
            client_id=books.account.client_id,
            account=books.account,
            file=wrong.file,
            row=9999,
            entry_date=line.booking_date,
            amount=line.amount,
            currency="EUR",
            document_number="RE-2030-99999",
        )
        line.reference = "RE-2030-99999"
        line.save()
        run_engine(books.account, user=admin.user, now=NOW)
        assert not Match.objects.filter(pk=proposal.pk).exists()
        line.refresh_from_db()
        assert line.match.status == MatchStatus.ACCEPTED
        assert list(line.match.entries.all()) == [right]


def test_a_run_needs_the_accounts_client_in_scope(world, books):
    other_agent = world.actor("agent")
    with pytest.raises(ScopeError):
        run_engine(books.account, user=None, now=NOW)  # no scope at all
    with acting_as(world.actor("admin")), pytest.raises(ScopeError):
        from bpo.tenancy.scoping import client_scope

        with client_scope([world.other.pk]):
            run_engine(books.account, user=other_agent.user, now=NOW)
