"""The labelled synthetic data set: the same seed gives the same data, the data has every case
the engine must handle, and it is written as CSV."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from schwifty import IBAN

from bpo.finance import synthetic
from bpo.finance.engine import Proposal
from bpo.finance.synthetic import Score, evaluate, generate, make_iban


@pytest.fixture(scope="module")
def data() -> synthetic.DataSet:
    return generate(3000, seed=11)


def test_the_same_seed_gives_the_same_data_set():
    one, two = generate(500, seed=4), generate(500, seed=4)
    assert one.lines == two.lines
    assert one.entries == two.entries
    assert one.labels == two.labels
    other = generate(500, seed=5)
    assert other.lines != one.lines


def test_lines_entries_and_links(data):
    assert len(data.lines) == 3000
    assert len(data.entries) == 3600  # 1.2 entries a line
    assert [x.id for x in data.lines] == list(range(1, 3001))
    assert [e.id for e in data.entries] == list(range(1, 3601))
    assert [x.date for x in data.lines] == sorted(x.date for x in data.lines)  # ids by date
    assert all(x.date.weekday() < 5 for x in data.lines)  # banks book on business days
    line_ids = {x.id for x in data.lines}
    entry_ids = {e.id for e in data.entries}
    assert {li for li, _ in data.labels} <= line_ids
    assert {ei for _, ei in data.labels} <= entry_ids


def test_every_shape_and_every_trap_is_in_it(data):
    entries_of = defaultdict(set)
    lines_of = defaultdict(set)
    for li, ei in data.labels:
        entries_of[li].add(ei)
        lines_of[ei].add(li)
    assert any(len(es) > 1 for es in entries_of.values())  # 1:n
    assert any(len(ls) > 1 for ls in lines_of.values())  # n:1
    linked_lines = set(entries_of)
    linked_entries = set(lines_of)
    unlinked = Counter(data.line_kinds[x.id] for x in data.lines if x.id not in linked_lines)
    assert set(unlinked) == {"bank_fee", "unknown_receipt"}  # lines with no entry
    uncleared = [e for e in data.entries if e.id not in linked_entries]
    assert len(uncleared) > 0.1 * len(data.entries)  # entries with no line
    assert {data.entry_kinds[e.id] for e in uncleared} == {"uncleared"}
    kinds = Counter(data.line_kinds.values())
    for kind in synthetic.EVENTS:
        assert kinds[kind] > 0, kind
    # the same customer's equal invoices in one week
    by_party_amount = defaultdict(list)
    for e in data.entries:
        by_party_amount[(e.name, e.amount_minor)].append(e.date)
    assert any(
        abs((a - b).days) <= 7
        for days in by_party_amount.values()
        for a in days
        for b in days
        if a is not b
    )
    # equal amounts of different customers in one week
    by_amount = defaultdict(set)
    for e in data.entries:
        by_amount[e.amount_minor].add(e.name)
    assert sum(1 for names in by_amount.values() if len(names) > 1) > 20


def test_remittance_texts_and_names_are_written_as_people_write_them(data):
    lines = {x.id: x for x in data.lines}
    entries = {e.id: e for e in data.entries}
    pairs = [
        (lines[li], entries[ei]) for li, ei in data.labels if data.line_kinds[li] == "customer"
    ]
    exact = sum(1 for x, e in pairs if x.reference == e.document_number)
    missing = sum(1 for x, e in pairs if e.document_number[-5:] not in x.reference)
    assert 0.3 < exact / len(pairs) < 0.6
    assert 0.05 < missing / len(pairs) < 0.3
    assert any(x.name != e.name for x, e in pairs)
    assert any(x.name == e.name.upper() for x, e in pairs)
    assert any(x.date != e.date for x, e in pairs)


def test_ibans_are_valid():
    for country, bban in (
        ("DE", "370400440532013000"),
        ("AT", "1904300234573201"),
        ("NL", "ABNA0417164300"),
        ("BE", "539007547034"),
        ("FR", "20041010050500013M02606"),
    ):
        assert IBAN(make_iban(country, bban)).compact == make_iban(country, bban)
    assert make_iban("DE", "370400440532013000") == "DE89370400440532013000"
    data = generate(1000, seed=2)
    for e in data.entries:
        if e.iban:
            IBAN(e.iban)  # raises when invalid
    garbled = 0
    for x in data.lines:
        if x.iban:
            try:
                IBAN(x.iban)
            except ValueError:
                garbled += 1
    assert 0 < garbled < 0.03 * len(data.lines)  # a few the bank garbled


def test_precision_and_recall_are_counted_in_links():
    labels = frozenset({(1, 10), (2, 20), (2, 21), (3, 30), (4, 40)})
    proposals = [
        Proposal((1,), (10,), 100.0, ("amount equal",), None, "1:1", accepted=True),
        Proposal((2,), (20, 21), 95.0, ("amounts add up",), None, "1:n", accepted=True),
        Proposal((3,), (31,), 92.0, ("amount equal",), None, "1:1", accepted=True),  # wrong
        Proposal((4,), (40,), 60.0, ("amount equal",), None, "1:1", accepted=False),  # proposed
    ]
    score = evaluate(proposals, labels)
    assert score == Score(
        accepted_links=4, correct_links=3, true_links=5, proposed_links=1, proposed_correct=1
    )
    assert score.precision == 0.75
    assert score.recall == 0.6
    assert evaluate([], labels).precision == 1.0


def test_the_command_writes_the_data_set_as_csv(tmp_path, capsys):
    assert synthetic.main(["--lines", "200", "--seed", "3", "--out", str(tmp_path)]) == 0
    data = generate(200, seed=3)
    with (tmp_path / "bank_lines.csv").open(encoding="utf-8") as f:
        lines = list(csv.DictReader(f))
    with (tmp_path / "ledger_entries.csv").open(encoding="utf-8") as f:
        entries = list(csv.DictReader(f))
    with (tmp_path / "labels.csv").open(encoding="utf-8") as f:
        labels = list(csv.DictReader(f))
    with (tmp_path / "rules.csv").open(encoding="utf-8") as f:
        rules = list(csv.DictReader(f))
    assert len(lines) == 200 and len(entries) == 240
    assert Decimal(lines[0]["amount"]) * 10_000 == data.lines[0].amount_minor
    assert lines[0]["booking_date"] == data.lines[0].date.isoformat()
    assert entries[-1]["document_number"] == data.entries[-1].document_number
    assert {(int(r["line_id"]), int(r["entry_id"])) for r in labels} == data.labels
    assert [r["name"] for r in rules] == ["Stripe payouts", "Foreign payments less charges"]
    assert "bank_lines.csv" in capsys.readouterr().out
