"""One reconciliation run of a bank account, in the database: load what is open, let the engine
(bpo.finance.engine) decide, write what it decided.

``run_engine`` loads the account's open statement lines and ledger entries (``match`` empty,
and not held by a match an agent made or is approving), the service's active rules and its
policy (the model's defaults when the service has none), and the matches it must respect: its
own earlier automatic proposals, and the proposals agents rejected (never proposed again).
Then, in one transaction:

- accepted matches are written as ``Match`` rows (status accepted, automatic, ``made_at`` and
  ``decided_at`` the run's time, ``made_by`` the user who ran it, ``decided_by`` empty: nobody
  but the engine decided) and their lines and entries point to them, set by one UPDATE a batch
  of rows that also checks each is still open;
- proposals below the threshold are written as ``Match`` rows (status proposed, automatic)
  with their lines and entries in ``proposed_lines``/``proposed_entries``;
- earlier automatic proposals the engine makes again, identical, are kept as they are; the
  others are deleted (their lines and entries are open again, or now accepted).

The engine reaches a fixpoint (bpo.finance.engine), so a second run over an account nothing
happened to finds exactly the proposals it left and writes nothing.

Reading and deciding happen before the write transaction, so a long run holds no write lock
meanwhile; the transaction first checks that nothing changed on the account since the read
(open lines and entries, matches) and, if something did, the run starts again (up to
``ATTEMPTS`` times, then ``ReconciliationConflict``). Every statement is a batch: the number
of queries does not grow with the number of lines.

Queries run in the caller's tenant scope (raw SQL checks the account's client against it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import islice
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Count, Max, QuerySet

from bpo.bulk import insert_rows
from bpo.finance import engine
from bpo.finance.models import (
    BankAccount,
    LedgerEntry,
    Match,
    MatchRule,
    MatchStatus,
    ReconciliationPolicy,
    StatementLine,
)
from bpo.tenancy.scoping import ensure_client_in_scope

if TYPE_CHECKING:
    from bpo.accounts.models import User

ATTEMPTS = 3
UPDATE_BATCH = 10_000  # rows a batch of the UPDATE that points lines and entries to matches
Key = tuple[tuple[int, ...], tuple[int, ...]]


class ReconciliationConflict(Exception):
    """The account kept changing while the engine ran: nothing was written."""


@dataclass(frozen=True)
class Outcome:
    """What a run did: matches accepted and proposals standing after it, the lines it left open
    (every line it loaded that no accepted match settles, proposed or not), and how many lines
    and entries it considered."""

    accepted: int
    proposed: int
    open_line_ids: list[int]
    lines: int
    entries: int


def to_minor(amount: Decimal) -> int:
    """A model amount (Decimal, 4 places) in the engine's units."""
    return int(amount.scaleb(4))


def from_minor(minor: int) -> Decimal:
    """The engine's units as a model amount."""
    return Decimal(minor).scaleb(-4)


def policy_of(service_id: int) -> engine.Policy:
    """The service's reconciliation policy, or the model's defaults when it has none."""
    saved = ReconciliationPolicy.objects.filter(service_id=service_id).first()
    policy = saved or ReconciliationPolicy()
    return engine.Policy(
        window_days=int(policy.date_window_days),
        max_group_size=int(policy.max_group_size),
        auto_accept=float(policy.auto_accept_percent),
    )


def rules_of(service_id: int) -> list[engine.Rule]:
    """The service's active rules."""
    return [
        engine.Rule(
            id=rule.pk,
            name=rule.name,
            window_days=rule.date_window_days,
            tolerance_minor=to_minor(rule.amount_tolerance),
            reference_pattern=rule.reference_pattern,
            counterparty_iban=rule.counterparty_iban,
            counterparty_name=rule.counterparty_name,
            name_threshold=rule.name_threshold,
            confidence=float(rule.confidence_percent),
        )
        for rule in MatchRule.objects.filter(service_id=service_id, is_active=True).order_by("id")
    ]


@dataclass
class _Standing:
    """The account's matches the run must respect."""

    held_lines: set[int]  # in a match an agent made or is approving
    held_entries: set[int]
    proposals: dict[Key, tuple[int, Decimal, list[str], int | None, str]]  # automatic ones
    rejected: set[Key]


def _standing(account_id: int) -> _Standing:
    live = (MatchStatus.PROPOSED, MatchStatus.PENDING, MatchStatus.REJECTED)
    matches = {
        row[0]: row
        for row in Match.objects.filter(account_id=account_id, status__in=live)
        .order_by()
        .values_list("id", "status", "automatic", "confidence", "reasons", "rule_id", "shape")
    }
    lines: dict[int, list[int]] = defaultdict(list)
    entries: dict[int, list[int]] = defaultdict(list)
    if matches:
        through_lines = Match.proposed_lines.through.objects.filter(
            match__account_id=account_id, match__status__in=live
        ).values_list("match_id", "statementline_id")
        for match_id, line_id in through_lines:
            lines[match_id].append(line_id)
        through_entries = Match.proposed_entries.through.objects.filter(
            match__account_id=account_id, match__status__in=live
        ).values_list("match_id", "ledgerentry_id")
        for match_id, entry_id in through_entries:
            entries[match_id].append(entry_id)
    standing = _Standing(set(), set(), {}, set())
    for match_id, status, automatic, confidence, reasons, rule_id, shape in matches.values():
        key = (tuple(sorted(lines[match_id])), tuple(sorted(entries[match_id])))
        if status == MatchStatus.REJECTED:
            standing.rejected.add(key)
        elif status == MatchStatus.PROPOSED and automatic:
            standing.proposals[key] = (match_id, confidence, list(reasons), rule_id, shape)
        else:
            standing.held_lines.update(key[0])
            standing.held_entries.update(key[1])
    return standing


def _open_lines(account_id: int, held: set[int]) -> list[engine.Line]:
    rows = (
        StatementLine.objects.filter(account_id=account_id, match__isnull=True)
        .order_by()
        .values_list(
            "id", "booking_date", "amount", "reference", "counterparty_name", "counterparty_iban"
        )
    )
    return [
        engine.Line(pk, day, to_minor(amount), reference, name, iban)
        for pk, day, amount, reference, name, iban in rows
        if pk not in held
    ]


def _open_entries(account_id: int, held: set[int]) -> list[engine.Entry]:
    open_entries = LedgerEntry.objects.filter(account_id=account_id, match__isnull=True)
    return engine_entries(open_entries, leave_out=held)


def engine_entries(
    entries: QuerySet[LedgerEntry], *, leave_out: Collection[int] = ()
) -> list[engine.Entry]:
    """Ledger entries as the engine reads them (but those in ``leave_out``), in one query."""
    rows = entries.order_by().values_list(
        "id",
        "entry_date",
        "amount",
        "document_number",
        "reference",
        "counterparty_name",
        "counterparty_iban",
    )
    return [
        engine.Entry(pk, day, to_minor(amount), document, reference, name, iban)
        for pk, day, amount, document, reference, name, iban in rows
        if pk not in leave_out
    ]


def engine_line(line: StatementLine) -> engine.Line:
    """A statement line as the engine reads it."""
    return engine.Line(
        line.pk,
        line.booking_date,
        to_minor(line.amount),
        line.reference,
        line.counterparty_name,
        line.counterparty_iban,
    )


def _fingerprint(account_id: int) -> tuple[Any, ...]:
    """What changes when anything the run read changes: open lines and entries, matches."""
    lines = StatementLine.objects.filter(account_id=account_id, match__isnull=True).aggregate(
        n=Count("id"), top=Max("id")
    )
    entries = LedgerEntry.objects.filter(account_id=account_id, match__isnull=True).aggregate(
        n=Count("id"), top=Max("id")
    )
    matches = Match.objects.filter(account_id=account_id).aggregate(n=Count("id"), top=Max("id"))
    return tuple(d[k] for d in (lines, entries, matches) for k in ("n", "top"))


def _same(
    proposal: engine.Proposal, standing: tuple[int, Decimal, list[str], int | None, str]
) -> bool:
    _, confidence, reasons, rule_id, shape = standing
    return (
        _confidence(proposal) == confidence
        and list(proposal.reasons) == reasons
        and proposal.rule_id == rule_id
        and proposal.shape == shape
    )


def _confidence(proposal: engine.Proposal) -> Decimal:
    return Decimal(f"{proposal.confidence:.2f}")


def run_engine(account: BankAccount, *, user: User | None, now: datetime) -> Outcome:
    """Reconcile the account's open lines and entries: write the matches the engine accepts
    and its proposals for an agent, in one transaction. See the module's docstring."""
    ensure_client_in_scope(account.client_id)
    for _ in range(ATTEMPTS):
        before = _fingerprint(account.pk)
        policy = policy_of(account.service_id)
        rules = rules_of(account.service_id)
        standing = _standing(account.pk)
        lines = _open_lines(account.pk, standing.held_lines)
        entries = _open_entries(account.pk, standing.held_entries)
        proposals = engine.reconcile(lines, entries, rules, policy, rejected=standing.rejected)
        with transaction.atomic():
            # Serialise runs of one account (a row lock on PostgreSQL; SQLite's write
            # transaction already excludes every other writer).
            BankAccount.objects.select_for_update().filter(pk=account.pk).first()
            if _fingerprint(account.pk) != before:
                continue
            accepted = write_decisions(account, proposals, standing, user=user, now=now)
        settled = {line_id for p in proposals if p.accepted for line_id in p.line_ids}
        return Outcome(
            accepted=accepted,
            proposed=sum(1 for p in proposals if not p.accepted),
            open_line_ids=sorted(line.id for line in lines if line.id not in settled),
            lines=len(lines),
            entries=len(entries),
        )
    raise ReconciliationConflict(
        f"The lines, entries or matches of {account} kept changing while the engine ran "
        f"({ATTEMPTS} attempts); nothing was written. Run it again."
    )


def write_decisions(
    account: BankAccount,
    proposals: Sequence[engine.Proposal],
    standing: _Standing | None = None,
    *,
    user: User | None,
    now: datetime,
) -> int:
    """Write decisions about the account's open lines and entries (inside the caller's
    transaction): accepted matches and proposals, replacing the earlier automatic proposals of
    ``standing`` that are not made again. Returns the number of accepted matches."""
    standing = standing or _Standing(set(), set(), {}, set())
    kept = {
        p.key
        for p in proposals
        if not p.accepted and p.key in standing.proposals and _same(p, standing.proposals[p.key])
    }
    stale = [match_id for key, (match_id, *_) in standing.proposals.items() if key not in kept]
    if stale:
        Match.objects.filter(pk__in=stale).delete()
    new = [p for p in proposals if p.accepted or p.key not in kept]
    if not new:
        return 0
    user_id = user.pk if user is not None else None
    ids = insert_rows(
        Match,
        [
            {
                "client_id": account.client_id,
                "account_id": account.pk,
                "shape": p.shape,
                "status": MatchStatus.ACCEPTED if p.accepted else MatchStatus.PROPOSED,
                "confidence": _confidence(p),
                "reasons": list(p.reasons),
                "rule_id": p.rule_id,
                "automatic": True,
                "difference": from_minor(p.difference_minor),
                "made_by_id": user_id,
                "made_at": now,
                "decided_at": now if p.accepted else None,
            }
            for p in new
        ],
    )
    line_matches = [
        (li, m) for p, m in zip(new, ids, strict=True) if p.accepted for li in p.line_ids
    ]
    entry_matches = [
        (ei, m) for p, m in zip(new, ids, strict=True) if p.accepted for ei in p.entry_ids
    ]
    _point_to_matches(StatementLine._meta.db_table, account, line_matches)
    _point_to_matches(LedgerEntry._meta.db_table, account, entry_matches)
    proposed = [(p, m) for p, m in zip(new, ids, strict=True) if not p.accepted]
    insert_rows(
        Match.proposed_lines.through,
        [{"match_id": m, "statementline_id": li} for p, m in proposed for li in p.line_ids],
    )
    insert_rows(
        Match.proposed_entries.through,
        [{"match_id": m, "ledgerentry_id": ei} for p, m in proposed for ei in p.entry_ids],
    )
    return sum(1 for p in new if p.accepted)


def _point_to_matches(table: str, account: BankAccount, pairs: list[tuple[int, int]]) -> None:
    """Set ``match_id`` of the rows (id, match id), a batch a statement; every row must still
    be open and the account's, else ReconciliationConflict (and the transaction is undone)."""
    quote = connection.ops.quote_name
    name = quote(table)
    # Names from the model's meta; every value a bound parameter.
    guard = (
        f"{name}.id = v.id AND {name}.match_id IS NULL "
        f"AND {name}.account_id = %s AND {name}.client_id = %s"
    )
    rows = iter(pairs)
    with connection.cursor() as cursor:
        while batch := list(islice(rows, UPDATE_BATCH)):
            if connection.vendor == "postgresql":
                # Two arrays bind in no time; a VALUES list of thousands of rows does not.
                sql = (
                    f"UPDATE {name} SET match_id = v.match_id "  # noqa: S608
                    "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, match_id) "
                    f"WHERE {guard}"
                )
                params: list[Any] = [[row for row, _ in batch], [match for _, match in batch]]
            else:
                values = ", ".join(["(%s, %s)"] * len(batch))
                sql = (
                    f"UPDATE {name} SET match_id = v.match_id "  # noqa: S608
                    f"FROM (SELECT column1 AS id, column2 AS match_id FROM (VALUES {values})) "
                    f"AS v WHERE {guard}"
                )
                params = [value for pair in batch for value in pair]
            cursor.execute(sql, [*params, account.pk, account.client_id])
            if cursor.rowcount != len(batch):
                raise ReconciliationConflict(
                    f"{len(batch) - cursor.rowcount} of the rows a match settles were no longer "
                    "open; nothing was written."
                )
