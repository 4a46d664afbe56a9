"""A labelled synthetic data set of bank lines and ledger entries, to measure the engine by.

``generate(lines, seed=...)`` makes one operating account's statement lines and the client's
ledger entries for the same period, and the truth: which (line, entry) pairs belong together.
Everything is drawn from ``random.Random(seed)``: the same arguments give the same data set.

**The company.** A manufacturer with many customers (one per 30 lines) and suppliers (one per
150 lines), their names made of surnames, trades and legal forms ("Müller Maschinenbau GmbH",
"Schäfer & Sohn KG", "Dubois Trading SARL"), each with a valid IBAN (mostly German; Austrian,
Dutch, Belgian and French for the foreign ones). 300 lines a business day (``lines_per_day``),
so more lines make a longer period, as a growing business's history does.

**The lines and their entries** (shares of events; an event makes one line, or a few):

- a customer pays an invoice (64 %): the entry is the receipt booked under the invoice number
  (``RE-2026-10431``) and the customer's name from the master data, with its IBAN for 80 % of
  the customers; the line carries the amount and a remittance text written as people write
  them: the number alone, inside a sentence, spaced or slashed (``RE 2026/10431``), in SEPA
  fields (``EREF+RE202610431``), only its trailing number, with a digit typo (1.5 %), or no
  reference at all (8 %; a sixth of the customers are sloppy and leave it out 35 % of the
  time). The bank shows the name in capitals, truncated to 27 characters, with a typo, with
  umlauts written out or the legal form dropped; 2 % pay from another account of theirs and
  2 % through a third party (another name and IBAN). The bank books the payment -2 to +8
  days after the ledger (1.5 % beyond the 5-day window). 12 % of invoices are at standard
  prices (49.00, 119.00, 1,190.00 ...) and 4 % copy the amount of another customer's invoice of
  the same week: same-amount traps;
- a payment to a supplier (18 %): a negative line to its IBAN with the supplier's invoice
  number as reference (95 %), entered under our voucher number with that invoice number as
  the entry's reference;
- one transfer for several invoices of a customer (3.5 %, 2 to 4 invoices: 1:n), the numbers
  listed in the reference (65 %) or a bare "Sammelzahlung";
- an invoice paid in two or three parts (1 %, n:1), on consecutive business days;
- a foreign customer's payment less its bank's charges (2 %: 7.50 to 25.00 short), matched by
  the rule "Foreign payments less charges" (tolerance 30.00);
- a Stripe payout (3 %), matched by the rule "Stripe payouts" on Stripe's IBAN and the payout
  id in the reference;
- the same customer's two invoices of equal amount in one week, both paid (1.5 %) or one paid
  and one still open (1.5 %): the trap of two equally good entries;
- lines with no entry: bank charges (2.5 %) and receipts nobody booked (1.5 %; a fifth of
  them of the same amount as an open entry nearby).

Then entries with no line (not yet cleared: invoices booked but unpaid, dated anywhere in the
period) until there are ``entries_per_line`` (1.2) entries per line.

**Pairs.** The labels are (line id, entry id) links: one per 1:1 match, one per entry of a 1:n
match, one per line of an n:1 match. ``evaluate`` counts the links of the engine's accepted
proposals: precision is correct links / accepted links, recall correct accepted links / true
links.

``python -m bpo.finance.synthetic --lines 2000 --seed 1 --out DIR`` writes the data set as
CSV: ``bank_lines.csv``, ``ledger_entries.csv``, ``labels.csv`` and the service's
``rules.csv``.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import string
import sys
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate
from pathlib import Path

from bpo.finance.engine import SCALE, Entry, Line, Policy, Proposal, Rule

CENT = SCALE // 100
START = date(2026, 1, 5)
LINES_PER_DAY = 300
ENTRIES_PER_LINE = 1.2

EVENTS = {
    "customer": 64.0,
    "supplier": 18.0,
    "combined": 3.5,
    "split": 1.0,
    "charges_deducted": 2.0,
    "stripe": 3.0,
    "twin_paid": 1.5,
    "twin_open": 1.5,
    "bank_fee": 2.5,
    "unknown_receipt": 1.5,
}
# How a customer writes the invoice number RE-2026-10431 into a transfer.
REFERENCE_STYLES = {
    "exact": 40.0,
    "sentence": 18.0,
    "spaced": 10.0,
    "number": 8.0,
    "sepa": 6.0,
    "extra": 8.5,
    "none": 8.0,
    "typo": 1.5,
}
NAME_STYLES = {
    "exact": 55.0,
    "upper": 15.0,
    "truncated": 6.0,
    "typo": 10.0,
    "transliterated": 6.0,
    "no_legal_form": 4.0,
    "third_party": 2.0,
    "other_account": 2.0,
}
# Days the bank books after the ledger (negative: before).
DELAYS = {-2: 2.0, -1: 5.0, 0: 35.0, 1: 25.0, 2: 15.0, 3: 9.0, 4: 5.0, 5: 2.5, 6: 0.7, 8: 0.3}
STANDARD_PRICES = (
    49_00,
    59_50,
    99_00,
    119_00,
    149_00,
    178_50,
    238_00,
    249_00,
    297_50,
    499_00,
    595_00,
    714_00,
    999_00,
    1190_00,
    1428_00,
    2380_00,
)
STANDARD_SHARE = 0.12
SAME_WEEK_SHARE = 0.04
SLOPPY_SHARE = 0.16  # customers who often leave the reference out
SLOPPY_NONE = 0.35
IBAN_IN_LEDGER = 0.8
ACCOUNT_IBAN_BANK = "37040044"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SURNAMES = _words(
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch "
    "Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann "
    "Lange Schmitt Werner Schmitz Krause Meier Lehmann Köhler Herrmann König Walter Mayer Huber "
    "Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Vogel Friedrich Keller Günther Frank "
    "Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Böhm Winter "
    "Kraus Martin Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt "
    "Haas Schreiber Graf Dietrich Ziegler Kuhn Kühn Pohl Engel Horn Busch Bergmann Thomas Voigt "
    "Sauer Arnold Wolff Pfeiffer Smith Johnson Brown Taylor Wilson Evans Thompson Walker Wright "
    "Hughes Bakker Janssen Visser Dubois Laurent Moreau Girard Lefèvre Novak Horváth Rossi"
)
TRADES = _words(
    "Maschinenbau Logistik Elektrotechnik Metallbau Holzbau Landtechnik Kunststofftechnik "
    "Automation Haustechnik Druckerei Verpackung Feinmechanik Stahlhandel Werkzeugbau "
    "Antriebstechnik Sanitär Fördertechnik Lasertechnik Hydraulik Oberflächentechnik "
    "Bauelemente Gießerei Präzisionsteile Industriebedarf Kältetechnik Messtechnik Spedition "
    "Handel Systeme Consulting Engineering Trading Components Solutions Elektronik Baustoffe"
)
SUPPLIER_TRADES = _words(
    "Bürobedarf Energie IT-Service Reinigung Telekommunikation Leasing Transporte Rohstoffe "
    "Stahl Chemie Werkzeuge Ersatzteile Verpackungen Gebäudeservice Personaldienste"
)
LEGAL_FORMS = {
    "GmbH": 40.0,
    "GmbH & Co. KG": 15.0,
    "AG": 8.0,
    "KG": 6.0,
    "e.K.": 5.0,
    "OHG": 3.0,
    "UG (haftungsbeschränkt)": 3.0,
    "Ltd": 4.0,
    "B.V.": 3.0,
    "SARL": 2.0,
    "S.A.": 2.0,
}
FIRST_NAMES = _words(
    "Anna Lukas Marie Paul Sophie Leon Emma Felix Mia Jonas Hannah Elias Lea Noah Laura Max "
    "Julia Tim Sarah Jan Peter Sabine Thomas Andrea Michael Petra Stefan Claudia"
)
FOREIGN = {"AT": 30.0, "NL": 25.0, "BE": 20.0, "FR": 25.0}


def _weekday(day: date) -> date:
    """The day, or the Monday after when it falls on a weekend (banks book on business days)."""
    return day + timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0)


def make_iban(country: str, bban: str) -> str:
    """A valid IBAN of the country for the national account number ``bban`` (ISO 13616)."""
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def _bban(rng: random.Random, country: str) -> str:
    def digits(n: int) -> str:
        return "".join(rng.choice(string.digits) for _ in range(n))

    def letters(n: int) -> str:
        return "".join(rng.choice(string.ascii_uppercase) for _ in range(n))

    if country == "DE":
        return digits(8) + digits(10)
    if country == "AT":
        return digits(5) + digits(11)
    if country == "NL":
        return letters(4) + digits(10)
    if country == "BE":
        base = digits(10)
        check = int(base) % 97 or 97
        return f"{base}{check:02d}"
    if country == "FR":
        return digits(5) + digits(5) + digits(11) + digits(2)
    if country == "IE":
        return letters(4) + digits(6) + digits(8)
    raise ValueError(country)


class _Choice:
    """A weighted choice, its cumulative weights computed once."""

    def __init__(self, weights: dict[str, float]) -> None:
        self.population = list(weights)
        self.cumulative = list(accumulate(weights.values()))

    def __call__(self, rng: random.Random) -> str:
        return rng.choices(self.population, cum_weights=self.cumulative)[0]


EVENT = _Choice(EVENTS)
REFERENCE_STYLE = _Choice(REFERENCE_STYLES)
NAME_STYLE = _Choice(NAME_STYLES)
DELAY = _Choice({str(k): v for k, v in DELAYS.items()})
LEGAL_FORM = _Choice(LEGAL_FORMS)
FOREIGN_COUNTRY = _Choice(FOREIGN)
STRIPE_IBAN = make_iban("IE", "STRP99000012345678")


@dataclass
class Party:
    """A customer or supplier: its name, IBAN, and habits."""

    name: str
    iban: str
    iban_in_ledger: bool
    sloppy: bool
    foreign: bool
    other_iban: str


@dataclass
class DataSet:
    """Lines, entries and the truth about them; the service's rules and policy."""

    lines: list[Line]
    entries: list[Entry]
    labels: frozenset[tuple[int, int]]  # (line id, entry id) that belong together
    line_kinds: dict[int, str]  # line id -> the event that made it
    entry_kinds: dict[int, str]  # entry id -> the event that made it ("uncleared": no line)
    rules: list[Rule]
    policy: Policy
    account_iban: str
    seed: int

    def summary(self) -> dict[str, int]:
        """How many lines of each kind, entries without a line and links."""
        counts = Counter(self.line_kinds.values())
        out = {f"lines_{kind}": n for kind, n in sorted(counts.items())}
        out["lines"] = len(self.lines)
        out["entries"] = len(self.entries)
        out["entries_uncleared"] = sum(1 for k in self.entry_kinds.values() if k == "uncleared")
        out["links"] = len(self.labels)
        return out


@dataclass(frozen=True)
class Score:
    """How the engine's accepted proposals compare with the labels, counted in links."""

    accepted_links: int
    correct_links: int
    true_links: int
    proposed_links: int = 0
    proposed_correct: int = 0

    @property
    def precision(self) -> float:
        """Correct accepted links / accepted links (1.0 when nothing was accepted)."""
        return self.correct_links / self.accepted_links if self.accepted_links else 1.0

    @property
    def recall(self) -> float:
        """Correct accepted links / true links."""
        return self.correct_links / self.true_links if self.true_links else 1.0


def links_of(proposals: Iterable[Proposal]) -> set[tuple[int, int]]:
    """The (line, entry) links of proposals: every line with every entry of each."""
    return {(li, ei) for p in proposals for li in p.line_ids for ei in p.entry_ids}


def evaluate(proposals: Sequence[Proposal], labels: frozenset[tuple[int, int]]) -> Score:
    """Precision and recall of the accepted proposals, in links."""
    accepted = links_of(p for p in proposals if p.accepted)
    proposed = links_of(p for p in proposals if not p.accepted)
    return score_links(accepted, labels, proposed)


def score_links(
    accepted: set[tuple[int, int]],
    labels: frozenset[tuple[int, int]],
    proposed: set[tuple[int, int]] | None = None,
) -> Score:
    """Precision and recall of accepted links (and how many proposed ones are right)."""
    proposed = proposed or set()
    return Score(
        accepted_links=len(accepted),
        correct_links=len(accepted & labels),
        true_links=len(labels),
        proposed_links=len(proposed),
        proposed_correct=len(proposed & labels),
    )


# --- the generator -------------------------------------------------------------------------


@dataclass
class _Draft:
    """A line or entry before ids are given (by date order)."""

    day: date
    amount: int  # cents
    reference: str = ""
    name: str = ""
    iban: str = ""
    document_number: str = ""
    kind: str = ""
    order: int = 0


@dataclass
class _Builder:
    rng: random.Random
    lines_per_day: int
    start: date
    customers: list[Party] = field(default_factory=list)
    # domestic and foreign customers apart, with the cumulative weights of each
    pools: dict[bool, tuple[list[Party], list[float]]] = field(default_factory=dict)
    suppliers: list[Party] = field(default_factory=list)
    lines: list[_Draft] = field(default_factory=list)
    entries: list[_Draft] = field(default_factory=list)
    links: list[tuple[int, int]] = field(default_factory=list)  # draft positions
    invoice_serial: Counter[int] = field(default_factory=Counter)
    voucher_serial: Counter[int] = field(default_factory=Counter)
    recent: deque[tuple[date, int, int]] = field(default_factory=lambda: deque(maxlen=400))
    used_names: set[str] = field(default_factory=set)
    everyone: list[float] = field(default_factory=list)
    payout_serial: int = 0

    # parties

    def company_name(self, trades: Sequence[str]) -> str:
        rng = self.rng
        for _ in range(1000):
            surname, trade = rng.choice(SURNAMES), rng.choice(trades)
            form = LEGAL_FORM(rng)
            pattern = rng.random()
            if pattern < 0.55:
                name = f"{surname} {trade} {form}"
            elif pattern < 0.75:
                name = f"{surname} & {rng.choice(SURNAMES)} {form}"
            elif pattern < 0.9:
                name = f"{trade} {surname} {form}"
            else:
                name = f"{surname} & Sohn {trade} {form}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name
        raise RuntimeError("ran out of company names")

    def party(self, trades: Sequence[str], *, foreign_share: float) -> Party:
        rng = self.rng
        foreign = rng.random() < foreign_share
        country = FOREIGN_COUNTRY(rng) if foreign else "DE"
        return Party(
            name=self.company_name(trades),
            iban=make_iban(country, _bban(rng, country)),
            iban_in_ledger=rng.random() < IBAN_IN_LEDGER,
            sloppy=rng.random() < SLOPPY_SHARE,
            foreign=foreign,
            other_iban=make_iban(country, _bban(rng, country)),
        )

    def make_parties(self, lines: int) -> None:
        for _ in range(max(20, lines // 30)):
            self.customers.append(self.party(TRADES, foreign_share=0.06))
        # a few customers buy a lot: weights fall off with rank
        for foreign in (False, True):
            parties = [p for p in self.customers if p.foreign == foreign] or self.customers
            weights = accumulate(1 / (k + 1) ** 0.6 for k in range(len(parties)))
            self.pools[foreign] = (parties, list(weights))
        everyone = accumulate(1 / (k + 1) ** 0.6 for k in range(len(self.customers)))
        self.everyone = list(everyone)
        for _ in range(max(8, lines // 150)):
            self.suppliers.append(self.party(SUPPLIER_TRADES, foreign_share=0.1))

    def customer(self, *, foreign: bool | None = None) -> Party:
        if foreign is None:
            return self.rng.choices(self.customers, cum_weights=self.everyone)[0]
        parties, cumulative = self.pools[foreign]
        return self.rng.choices(parties, cum_weights=cumulative)[0]

    # dates and numbers

    def business_day(self, position: int) -> date:
        weeks, rest = divmod(position, 5)
        monday = self.start - timedelta(days=self.start.weekday())
        return monday + timedelta(weeks=weeks, days=rest)

    def today(self) -> date:
        return self.business_day(len(self.lines) // self.lines_per_day)

    def invoice_number(self, day: date) -> str:
        self.invoice_serial[day.year] += 1
        return f"RE-{day.year}-{10000 + self.invoice_serial[day.year]:05d}"

    def voucher_number(self, day: date) -> str:
        self.voucher_serial[day.year] += 1
        return f"KB-{day.year}-{self.voucher_serial[day.year]:06d}"

    def delay(self) -> int:
        return int(DELAY(self.rng))

    def invoice_amount(self, day: date, party: Party) -> int:
        rng = self.rng
        if rng.random() < STANDARD_SHARE:
            return rng.choice(STANDARD_PRICES)
        if rng.random() < SAME_WEEK_SHARE and self.recent:
            for recent_day, amount, owner in reversed(self.recent):
                if (day - recent_day).days > 7:
                    break
                if owner != id(party) and rng.random() < 0.3:
                    return amount
        cents = round(math.exp(rng.gauss(math.log(850), 1.1)) * 100)
        return max(500, min(cents, 25_000_000))

    # texts

    def remittance(self, party: Party, document: str, style: str | None = None) -> str:
        rng = self.rng
        if style is None:
            style = REFERENCE_STYLE(rng)
            if party.sloppy and rng.random() < SLOPPY_NONE:
                style = "none"
        _, year, serial = document.split("-")
        if style == "exact":
            return document
        if style == "sentence":
            return rng.choice(
                (
                    f"Rechnung {document} vom {rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.",
                    f"Invoice {document}",
                    f"Zahlung zu {document}, Kd-Nr. {rng.randint(10000, 99999)}",
                    f"{document} Danke",
                )
            )
        if style == "spaced":
            return rng.choice(
                (
                    f"RE {year} {serial}",
                    f"re{year}-{serial}",
                    f"RE{year}/{serial}",
                    f"RE {year}{serial}",
                )
            )
        if style == "number":
            return rng.choice((f"Rechnung {serial}", f"Re.Nr. {serial}", f"Inv {serial}"))
        if style == "sepa":
            return f"EREF+RE{year}{serial} SVWZ+Rechnung"
        if style == "extra":
            return f"{party.name[:20]} {document}"
        if style == "typo":
            digits = list(serial)
            k = rng.randrange(len(digits) - 1)
            digits[k], digits[k + 1] = digits[k + 1], digits[k]
            if digits == list(serial):
                digits[-1] = str((int(digits[-1]) + 1) % 10)
            return f"RE-{year}-{''.join(digits)}"
        return rng.choice(("", "", "Zahlung", "Überweisung", "Danke", "Begleichung offener Posten"))

    def bank_name(self, party: Party) -> tuple[str, str]:
        """The counterparty's name and IBAN as the bank shows them."""
        rng = self.rng
        style = NAME_STYLE(rng)
        name, iban = party.name, party.iban
        if rng.random() < 0.01:  # an IBAN the bank garbled: invalid
            iban = iban[:-2] + str((int(iban[-2]) + 1) % 10) + iban[-1]
        if style == "upper":
            name = name.upper()
        elif style == "truncated":
            name = name[:27]
        elif style == "typo" and len(name) > 6:
            k = rng.randrange(1, len(name) - 2)
            edit = rng.random()
            if edit < 0.4:
                name = name[:k] + name[k + 1] + name[k] + name[k + 2 :]
            elif edit < 0.7:
                name = name[:k] + name[k + 1 :]
            else:
                name = name[:k] + rng.choice(string.ascii_lowercase) + name[k + 1 :]
        elif style == "transliterated":
            name = (
                name.replace("ä", "ae")
                .replace("ö", "oe")
                .replace("ü", "ue")
                .replace("ß", "ss")
                .replace("Ä", "Ae")
                .replace("Ö", "Oe")
                .replace("Ü", "Ue")
            )
        elif style == "no_legal_form":
            for form in sorted(LEGAL_FORMS, key=len, reverse=True):
                if name.endswith(" " + form):
                    name = name[: -len(form) - 1]
                    break
        elif style == "third_party":
            other = self.rng.choice(self.customers)
            name, iban = other.name, other.iban
        elif style == "other_account":
            iban = party.other_iban
        return name, iban

    # events

    def add_line(self, draft: _Draft) -> int:
        draft.order = len(self.lines)
        self.lines.append(draft)
        return draft.order

    def add_entry(self, draft: _Draft) -> int:
        draft.order = len(self.entries)
        self.entries.append(draft)
        return draft.order

    def invoice_entry(self, party: Party, day: date, amount: int, kind: str) -> tuple[int, str]:
        document = self.invoice_number(day)
        position = self.add_entry(
            _Draft(
                day=day,
                amount=amount,
                document_number=document,
                reference=f"Zahlung {document}",
                name=party.name,
                iban=party.iban if party.iban_in_ledger else "",
                kind=kind,
            )
        )
        self.recent.append((day, amount, id(party)))
        return position, document

    def customer_payment(self, kind: str, party: Party | None = None, amount: int = 0) -> None:
        today = self.today()
        party = party or self.customer()
        entry_day = today - timedelta(days=self.delay())
        amount = amount or self.invoice_amount(entry_day, party)
        entry, document = self.invoice_entry(party, entry_day, amount, kind)
        name, iban = self.bank_name(party)
        line = self.add_line(
            _Draft(
                day=today,
                amount=amount,
                reference=self.remittance(party, document),
                name=name,
                iban=iban,
                kind=kind,
            )
        )
        self.links.append((line, entry))

    def supplier_payment(self) -> None:
        rng = self.rng
        today = self.today()
        party = rng.choice(self.suppliers)
        entry_day = today - timedelta(days=self.delay())
        cents = -max(1000, min(round(math.exp(rng.gauss(math.log(1200), 1.2)) * 100), 50_000_000))
        invoice = rng.choice(
            (
                f"INV-{rng.randint(10000, 999999)}",
                f"{entry_day.year}-{rng.randint(1000, 99999)}",
                f"F{rng.randint(100000, 999999)}",
                f"R{rng.randint(10000, 9999999)}",
            )
        )
        entry = self.add_entry(
            _Draft(
                day=entry_day,
                amount=cents,
                document_number=self.voucher_number(entry_day),
                reference=invoice,
                name=party.name,
                iban=party.iban,
                kind="supplier",
            )
        )
        roll = rng.random()
        reference = invoice if roll < 0.85 else f"Kd-Nr {rng.randint(1000, 9999)} {invoice}"
        if roll > 0.95:
            reference = "Zahlung"
        line = self.add_line(
            _Draft(
                day=today,
                amount=cents,
                reference=reference,
                name=party.name.upper() if rng.random() < 0.3 else party.name,
                iban=party.iban,
                kind="supplier",
            )
        )
        self.links.append((line, entry))

    def combined_payment(self) -> None:
        rng = self.rng
        today = self.today()
        party = self.customer(foreign=False)
        count = rng.choice((2, 2, 2, 3, 3, 4))
        entries, documents, total = [], [], 0
        for _ in range(count):
            day = today - timedelta(days=rng.choice((0, 1, 1, 2, 3)))
            amount = self.invoice_amount(day, party)
            entry, document = self.invoice_entry(party, day, amount, "combined")
            entries.append(entry)
            documents.append(document)
            total += amount
        if rng.random() < 0.65:
            reference = rng.choice(("", "Rechnungen ", "Sammelzahlung ")) + ", ".join(documents)
        else:
            reference = rng.choice(("Sammelzahlung", "Zahlung offene Posten", ""))
        name, iban = self.bank_name(party)
        line = self.add_line(
            _Draft(
                day=today, amount=total, reference=reference, name=name, iban=iban, kind="combined"
            )
        )
        self.links.extend((line, entry) for entry in entries)

    def split_payment(self) -> None:
        rng = self.rng
        position = len(self.lines) // self.lines_per_day
        party = self.customer(foreign=False)
        entry_day = self.business_day(position) - timedelta(days=rng.choice((0, 0, 1)))
        parts = rng.choice((2, 2, 3))
        amount = self.invoice_amount(entry_day, party)
        amount = max(amount, parts * 5000)
        entry, document = self.invoice_entry(party, entry_day, amount, "split")
        # parts of 15 % to 85 % of the invoice, in whole currency units
        low, high = amount * 15 // 100 // 100, amount * 85 // 100 // 100
        cuts = sorted(100 * c for c in rng.sample(range(low, high + 1), parts - 1))
        pieces = [b - a for a, b in zip([0, *cuts], [*cuts, amount], strict=True)]
        with_reference = rng.random() < 0.75
        for k, piece in enumerate(pieces):
            day = self.business_day(position + rng.choice((0, 1, 2)) if k else position)
            reference = (
                f"{document} Teilzahlung {k + 1}/{parts}"
                if with_reference
                else rng.choice(("Teilzahlung", "Rate", ""))
            )
            name, iban = self.bank_name(party)
            line = self.add_line(
                _Draft(
                    day=day, amount=piece, reference=reference, name=name, iban=iban, kind="split"
                )
            )
            self.links.append((line, entry))

    def charges_deducted(self) -> None:
        rng = self.rng
        today = self.today()
        party = self.customer(foreign=True)
        entry_day = today - timedelta(days=rng.choice((0, 1, 2, 3)))
        amount = max(self.invoice_amount(entry_day, party), 100_00)
        entry, document = self.invoice_entry(party, entry_day, amount, "charges_deducted")
        charge = rng.choice((7_50, 10_00, 12_50, 15_00, 20_00, 25_00))
        line = self.add_line(
            _Draft(
                day=today,
                amount=amount - charge,
                reference=rng.choice(
                    (f"Invoice {document}", document, f"{document} / {party.name[:12]}")
                ),
                name=party.name.upper(),
                iban=party.iban,
                kind="charges_deducted",
            )
        )
        self.links.append((line, entry))

    def stripe_payout(self) -> None:
        rng = self.rng
        today = self.today()
        self.payout_serial += 1
        payout = "po_" + "".join(
            rng.choice(string.ascii_letters + string.digits) for _ in range(14)
        )
        amount = round(math.exp(rng.gauss(math.log(2500), 0.8)) * 100)
        entry_day = today - timedelta(days=rng.choice((1, 1, 2, 2, 3)))
        entry = self.add_entry(
            _Draft(
                day=entry_day,
                amount=amount,
                document_number=f"ST-{entry_day.year}-{self.payout_serial:05d}",
                reference=f"Stripe payout {payout}",
                name="Stripe",
                kind="stripe",
            )
        )
        line = self.add_line(
            _Draft(
                day=today,
                amount=amount,
                reference=f"STRIPE PAYOUT {payout}",
                name="Stripe Payments Europe Ltd",
                iban=STRIPE_IBAN,
                kind="stripe",
            )
        )
        self.links.append((line, entry))

    def twins(self, *, both_paid: bool) -> None:
        """A customer's two invoices of equal amount in one week."""
        rng = self.rng
        today = self.today()
        party = self.customer()
        first_day = today - timedelta(days=self.delay())
        amount = self.invoice_amount(first_day, party)
        kind = "twin_paid" if both_paid else "twin_open"
        first, first_doc = self.invoice_entry(party, first_day, amount, kind)
        second_day = first_day + timedelta(days=rng.choice((0, 1, 2, 3, 4)))
        second, second_doc = self.invoice_entry(party, second_day, amount, kind)
        paid = [(first, first_doc, first_day)]
        if both_paid:
            paid.append((second, second_doc, second_day))
        elif rng.random() < 0.5:
            paid = [(second, second_doc, second_day)]  # the later one paid first
        for entry, document, day in paid:
            name, iban = self.bank_name(party)
            line_day = _weekday(max(today, day + timedelta(days=rng.choice((0, 1, 2)))))
            line = self.add_line(
                _Draft(
                    day=line_day,
                    amount=amount,
                    reference=self.remittance(party, document),
                    name=name,
                    iban=iban,
                    kind=kind,
                )
            )
            self.links.append((line, entry))
        if not both_paid:
            unpaid = second if paid[0][0] == first else first
            self.entries[unpaid].kind = "uncleared"

    def bank_fee(self) -> None:
        rng = self.rng
        today = self.today()
        reference, cents = rng.choice(
            (
                (f"Kontoführungsentgelt {today:%m/%Y}", -rng.choice((4_90, 9_90, 12_50))),
                ("Entgelt SEPA-Überweisungen", -35 * rng.randint(1, 40)),
                ("Entgelt Auslandszahlung", -rng.choice((15_00, 25_00))),
                ("Abschluss Zinsen/Entgelte", -rng.randint(100, 9000)),
            )
        )
        self.add_line(
            _Draft(
                day=today,
                amount=cents,
                reference=reference,
                name=rng.choice(("", "Commerzbank AG")),
                kind="bank_fee",
            )
        )

    def unknown_receipt(self) -> None:
        rng = self.rng
        today = self.today()
        amount = round(math.exp(rng.gauss(math.log(300), 1.2)) * 100)
        if rng.random() < 0.2 and self.recent:
            amount = rng.choice(list(self.recent))[1]  # the amount of some open invoice nearby
        self.add_line(
            _Draft(
                day=today,
                amount=max(amount, 100),
                reference=rng.choice(("Erstattung", "Gutschrift", "Rückzahlung", "", "Spende")),
                name=f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}",
                iban=make_iban("DE", _bban(rng, "DE")),
                kind="unknown_receipt",
            )
        )

    def uncleared(self, first: date, last: date) -> None:
        rng = self.rng
        span = (last - first).days
        day = first + timedelta(days=rng.randint(0, span))
        if rng.random() < 0.8:
            party = self.customer()
            amount = self.invoice_amount(day, party)
            self.invoice_entry(party, day, amount, "uncleared")
        else:
            party = rng.choice(self.suppliers)
            cents = -round(math.exp(rng.gauss(math.log(1200), 1.2)) * 100)
            self.add_entry(
                _Draft(
                    day=day,
                    amount=min(cents, -1000),
                    document_number=self.voucher_number(day),
                    reference=f"INV-{rng.randint(10000, 999999)}",
                    name=party.name,
                    iban=party.iban,
                    kind="uncleared",
                )
            )


def service_rules() -> list[Rule]:
    """The rules the synthetic company's reconciliation service defines."""
    return [
        Rule(
            id=1,
            name="Stripe payouts",
            window_days=3,
            reference_pattern=r"(po_[A-Za-z0-9]{14})",
            counterparty_iban=STRIPE_IBAN,
            confidence=99.0,
        ),
        Rule(
            id=2,
            name="Foreign payments less charges",
            tolerance_minor=30 * SCALE,
            reference_pattern=r"(RE[-\s]?\d{4}[-\s/]?\d{5})",
            confidence=92.0,
        ),
    ]


def generate(
    lines: int = 2000,
    *,
    seed: int = 1,
    start: date = START,
    lines_per_day: int = LINES_PER_DAY,
    entries_per_line: float = ENTRIES_PER_LINE,
) -> DataSet:
    """A labelled data set of exactly ``lines`` statement lines and about ``entries_per_line``
    ledger entries per line (more if the lines' own entries are more)."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    builder = _Builder(rng=rng, lines_per_day=lines_per_day, start=start)
    builder.make_parties(lines)
    actions = {
        "customer": lambda: builder.customer_payment("customer"),
        "supplier": builder.supplier_payment,
        "combined": builder.combined_payment,
        "split": builder.split_payment,
        "charges_deducted": builder.charges_deducted,
        "stripe": builder.stripe_payout,
        "twin_paid": lambda: builder.twins(both_paid=True),
        "twin_open": lambda: builder.twins(both_paid=False),
        "bank_fee": builder.bank_fee,
        "unknown_receipt": builder.unknown_receipt,
    }
    while len(builder.lines) < lines:
        kind = EVENT(rng)
        if len(builder.lines) + 3 > lines and kind in ("split", "twin_paid"):
            kind = "customer"
        actions[kind]()
    first = min(d.day for d in builder.lines)
    last = max(d.day for d in builder.lines)
    while len(builder.entries) < round(lines * entries_per_line):
        builder.uncleared(first, last)
    return _number(builder, seed)


def _number(builder: _Builder, seed: int) -> DataSet:
    """Ids in date order (as a bank and a ledger number them), so ids tell nothing."""
    line_order = sorted(range(len(builder.lines)), key=lambda k: (builder.lines[k].day, k))
    entry_order = sorted(range(len(builder.entries)), key=lambda k: (builder.entries[k].day, k))
    line_id = {k: n + 1 for n, k in enumerate(line_order)}
    entry_id = {k: n + 1 for n, k in enumerate(entry_order)}
    lines = [
        Line(
            id=line_id[k],
            date=builder.lines[k].day,
            amount_minor=builder.lines[k].amount * CENT,
            reference=builder.lines[k].reference,
            name=builder.lines[k].name,
            iban=builder.lines[k].iban,
        )
        for k in line_order
    ]
    entries = [
        Entry(
            id=entry_id[k],
            date=builder.entries[k].day,
            amount_minor=builder.entries[k].amount * CENT,
            document_number=builder.entries[k].document_number,
            reference=builder.entries[k].reference,
            name=builder.entries[k].name,
            iban=builder.entries[k].iban,
        )
        for k in entry_order
    ]
    return DataSet(
        lines=lines,
        entries=entries,
        labels=frozenset((line_id[a], entry_id[b]) for a, b in builder.links),
        line_kinds={line_id[k]: builder.lines[k].kind for k in line_order},
        entry_kinds={entry_id[k]: builder.entries[k].kind for k in entry_order},
        rules=service_rules(),
        policy=Policy(),
        account_iban=make_iban("DE", ACCOUNT_IBAN_BANK + "0532013000"),
        seed=seed,
    )


# --- CSV -----------------------------------------------------------------------------------


def _decimal(minor: int) -> str:
    return str(Decimal(minor).scaleb(-4).quantize(Decimal("0.01")))


def write_csv(data: DataSet, folder: Path) -> list[Path]:
    """The data set as four CSV files in ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple[list[str], list[list[object]]]] = {
        "bank_lines.csv": (
            ["id", "booking_date", "amount", "reference", "counterparty_name", "counterparty_iban"],
            [
                [x.id, x.date.isoformat(), _decimal(x.amount_minor), x.reference, x.name, x.iban]
                for x in data.lines
            ],
        ),
        "ledger_entries.csv": (
            [
                "id",
                "entry_date",
                "amount",
                "document_number",
                "reference",
                "counterparty_name",
                "counterparty_iban",
            ],
            [
                [
                    e.id,
                    e.date.isoformat(),
                    _decimal(e.amount_minor),
                    e.document_number,
                    e.reference,
                    e.name,
                    e.iban,
                ]
                for e in data.entries
            ],
        ),
        "labels.csv": (
            ["line_id", "entry_id", "kind"],
            [[li, ei, data.line_kinds[li]] for li, ei in sorted(data.labels)],
        ),
        "rules.csv": (
            [
                "id",
                "name",
                "window_days",
                "amount_tolerance",
                "reference_pattern",
                "counterparty_iban",
                "counterparty_name",
                "name_threshold",
                "confidence_percent",
            ],
            [
                [
                    r.id,
                    r.name,
                    "" if r.window_days is None else r.window_days,
                    _decimal(r.tolerance_minor),
                    r.reference_pattern,
                    r.counterparty_iban,
                    r.counterparty_name,
                    r.name_threshold,
                    r.confidence,
                ]
                for r in data.rules
            ],
        ),
    }
    paths = []
    for filename, (header, rows) in files.items():
        path = folder / filename
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            writer.writerows(rows)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    """``python -m bpo.finance.synthetic --lines N --seed S --out DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m bpo.finance.synthetic",
        description="Write a labelled synthetic reconciliation data set as CSV files.",
    )
    parser.add_argument("--lines", type=int, default=2000, help="statement lines (default 2000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the files to")
    args = parser.parse_args(argv)
    if args.lines < 1:
        parser.error("--lines must be at least 1")
    data = generate(args.lines, seed=args.seed)
    for path in write_csv(data, args.out):
        print(path)
    for key, value in data.summary().items():
        print(f"{key}: {value}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
