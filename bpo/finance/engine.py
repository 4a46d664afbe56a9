"""The reconciliation engine: which statement lines and ledger entries settle each other, how
sure that is, and why. Pure: plain data in, proposals out; no database (bpo.finance.reconcile
loads and writes).

Amounts are integers in ten-thousandths of the currency unit (``SCALE``: the four decimal places
the models store, so nothing is rounded), signed as in the models (money in positive). Dates are
``datetime.date``; windows are calendar days.

**Evidence.** A line and an entry whose amounts are equal and whose dates lie within the
policy's window are a candidate pair; a service's rule may widen the window or allow a
difference of amount for the pairs it holds for. Each pair is scored from what speaks for and
against it, and every point of it is kept as a reason a person can read:

- the amount: equal, or within a rule's tolerance (then the rule's confidence is the pair's);
- the reference: an identifier of the entry (its document number, or a token of its reference
  with three digits or more) written in the line's remittance text, whole ("reference
  RE-2026-10431 in document number") or as the document number's trailing number ("number
  10431 of document RE-2026-10431 in reference"; a bare number only within
  ``CANDIDATE_DAYS``, as serial numbers recur every year); a line that names, whole, another
  document of the same amount or counterparty counts against the pair (a document of some
  other party and amount is a typo, not a rival);
- the counterparty's IBAN, valid by schwifty on both sides: the same, or different (against);
- the counterparty's name, compared with rapidfuzz after normalising (case, umlauts, accents,
  legal forms): the best ``fuzz.ratio`` of the words as written, sorted (``token_sort_ratio``)
  and with the legal forms kept, so that one typo costs little in one of them
  (``token_set_ratio`` would call "Müller" and "Müller Logistik" the same);
- the days between the dates;
- the service's rules that hold (every condition a rule sets: window, tolerance, reference
  pattern whose first group appears in the entry's document number or reference, counterparty
  IBAN, counterparty name at the rule's threshold): the best one's confidence is a floor (a
  rule holds whatever else the evidence says: the service vouches for it), and the rule is
  named among the reasons (and as the match's rule) when it made a difference: it allowed the
  difference of amount or the wider window, or its confidence is above what the evidence
  alone says.

Amount, date and name alone never reach the default threshold of 90: an automatic match needs
an identifier besides, the reference or the IBAN (or a rule).

**Decisions.** Highest evidence first, a pair is accepted when its confidence reaches the
policy's threshold and nothing else fits as well: no other open entry of the line, nor other
open line of the entry, scores within ``MARGIN`` of it (nor, for amounts a tolerance
allowed, does another open line name the same document: the difference may be its part of a
split payment). Accepting removes the line and the
entry from everyone's rivals, so the pass runs again until it accepts nothing more (a
fixpoint: a second run over what is left accepts nothing, so running the engine twice changes
nothing). The remaining lines are then matched to several entries (1:n: one transfer paying
several invoices) and the remaining entries to several lines (n:1: an invoice paid in parts):
the candidates are open items within the window that share a signal with the target (the same
IBAN, a similar name, an identifier in the reference), at most ``MAX_GROUP_CANDIDATES`` of
them, and every set of 2 to ``max_group_size`` of them whose amounts add up exactly is found
by meet in the middle (sums of the subsets of half the size, then look-ups), never by a greedy
first fit. Two sets that fit equally well make both ambiguous. Whatever is left becomes a
proposal for an agent, best first, each line and entry in at most one: ambiguous ones with
their confidence divided among the equals and kept below the threshold, with the reason
"another entry fits as well".
"""

from __future__ import annotations

import gc
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from itertools import combinations

from rapidfuzz import fuzz, process
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

SCALE = 10_000  # amounts are integers of 1/10,000 of the currency unit

# Evidence, in points of a raw score (confidence is the raw score cut to 0..100).
AMOUNT_EQUAL = 45.0
AMOUNT_TOLERATED = 15.0  # within a rule's tolerance (the rule's confidence then decides)
GROUP_SUM = 45.0  # amounts of a group add up exactly
GROUP_EXTRA_MEMBER = 2.0  # less for each member beyond two, unless references name them all
REF_DOCUMENT = 50.0
REF_NUMBER = 35.0
REF_OTHER = -15.0  # the reference names another document of this amount or counterparty
IBAN_SAME = 35.0
IBAN_OTHER = -20.0
NAME_SAME = 20.0  # name ratio at least NAME_SAME_RATIO
NAME_LIKE = 12.0  # at NAME_LIKE_RATIO, rising to NAME_SAME
NAME_UNLIKE = -25.0  # below NAME_UNLIKE_RATIO
NAME_SAME_RATIO = 95.0
NAME_LIKE_RATIO = 85.0
NAME_UNLIKE_RATIO = 60.0
DAY_PENALTY = 2.0  # per day apart beyond the first

MARGIN = 10.0  # a rival within this many points fits as well
MIN_PROPOSAL = 30.0  # weaker pairs are not proposed to an agent
MAX_GROUP_CANDIDATES = 24  # open items a subset-sum search considers for one target
MAX_SOLUTIONS = 8  # sets of one target that add up, at most (more: all ambiguous anyway)
CANDIDATE_DAYS = 60  # a bare number in a reference, and candidates(): this many days apart at most

MIN_NUMBER_DIGITS = 5  # a document's trailing number, to be found alone in a reference
MIN_IDENTIFIER = 5  # characters of an identifier (letters and digits, compact)
MIN_IDENTIFIER_DIGITS = 3

ONE_TO_ONE, ONE_TO_MANY, MANY_TO_ONE = "1:1", "1:n", "n:1"


@dataclass(frozen=True, slots=True)
class Line:
    """A statement line: its amount (1/10,000 units, signed), booking date and remittance."""

    id: int
    date: date
    amount_minor: int
    reference: str = ""
    name: str = ""
    iban: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    """A ledger entry: its amount (1/10,000 units, signed), date and what identifies it."""

    id: int
    date: date
    amount_minor: int
    document_number: str = ""
    reference: str = ""
    name: str = ""
    iban: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    """A service's matching rule; every condition set must hold, empty ones are not checked."""

    id: int
    name: str
    window_days: int | None = None  # None: the policy's
    tolerance_minor: int = 0
    reference_pattern: str = ""
    counterparty_iban: str = ""
    counterparty_name: str = ""
    name_threshold: int = 85
    confidence: float = 95.0


@dataclass(frozen=True, slots=True)
class Policy:
    """The service's window, largest group and threshold of automatic acceptance."""

    window_days: int = 5
    max_group_size: int = 4
    auto_accept: float = 90.0


@dataclass(frozen=True, slots=True)
class Proposal:
    """Lines and entries that settle each other, how sure (0-100) and why; ``accepted`` when the
    engine accepts it without an agent. ``difference_minor`` is lines minus entries."""

    line_ids: tuple[int, ...]
    entry_ids: tuple[int, ...]
    confidence: float
    reasons: tuple[str, ...]
    rule_id: int | None
    shape: str
    accepted: bool = False
    difference_minor: int = 0

    @property
    def key(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """What it links: (line ids, entry ids), both sorted."""
        return self.line_ids, self.entry_ids


# --- normalising names, IBANs and references ----------------------------------------------

_LEGAL_FORMS = frozenset(
    re.split(
        r"\s+",
        "gmbh mbh ag kg kgaa ohg gbr ug haftungsbeschraenkt ek ev eg se co ltd limited inc llc "
        "llp plc sa sas sarl srl spa bv nv oy ab as aps",
    )
)
_TRANSLITERATE = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe"})
_NAME_WORD = re.compile(r"[a-z0-9]+")
_WORD = re.compile(r"[0-9A-Za-z][0-9A-Za-z\-/._]*")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_DIGIT_RUN = re.compile(r"\d+")
_TRAILING_NUMBER = re.compile(r"(\d+)\D*$")


NameKeys = tuple[str, str, str]


@lru_cache(maxsize=1 << 17)
def name_keys(name: str) -> NameKeys:
    """A counterparty name for comparing, three ways: its words (lower case, umlauts written
    out, accents and legal forms dropped) as written, the same words sorted, and all words as
    written (legal forms kept, for a typo inside one)."""
    text = unicodedata.normalize("NFKD", name.casefold().translate(_TRANSLITERATE))
    text = "".join(c for c in text if not unicodedata.combining(c))
    every = _NAME_WORD.findall(text)
    words = [w for w in every if w not in _LEGAL_FORMS]
    return " ".join(words), " ".join(sorted(words)), " ".join(every)


def similarity(a: NameKeys, b: NameKeys) -> float:
    """How alike two names are, 0-100: the best ``fuzz.ratio`` of their three forms (a typo
    costs little in one of them even where it changes the order of the sorted words)."""
    return max(fuzz.ratio(a[0], b[0]), fuzz.ratio(a[1], b[1]), fuzz.ratio(a[2], b[2]))


def name_similarity(a: str, b: str) -> float:
    """How alike two counterparty names are, 0-100."""
    return similarity(name_keys(a), name_keys(b))


@lru_cache(maxsize=1 << 17)
def iban_key(text: str) -> str:
    """The IBAN in compact form when schwifty finds it valid, else ""."""
    if not text.strip():
        return ""
    try:
        return str(IBAN(text).compact)
    except (SchwiftyException, ValueError):
        return ""


@lru_cache(maxsize=1 << 16)
def iban_display(compact: str) -> str:
    """An IBAN in groups of four, as it is printed."""
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def compact(text: str) -> str:
    """Letters and digits only, upper case: how identifiers are compared."""
    return _NOT_ALNUM.sub("", text.upper())


_ENOUGH_DIGITS = re.compile(r"(?:[^0-9]*[0-9]){" + str(MIN_IDENTIFIER_DIGITS) + "}")


_SEPARATORS = str.maketrans("", "", "-/._")


def _compact_word(word: str) -> str:
    """compact() of a token of _WORD (ASCII letters, digits and separators only)."""
    return word.upper().translate(_SEPARATORS)


def _is_identifier(token: str) -> bool:
    return len(token) >= MIN_IDENTIFIER and _ENOUGH_DIGITS.match(token) is not None


def entry_identifiers(document_number: str, reference: str) -> list[tuple[str, str, str, str]]:
    """What identifies an entry in a remittance text: (compact, as written, where, number): the
    document number whole and its trailing number (``number``: at least 5 digits, else ""),
    then each identifier-like token of the entry's reference."""
    found: list[tuple[str, str, str, str]] = []
    doc = document_number.strip()
    key = compact(doc)
    if key:
        trailing = _TRAILING_NUMBER.search(doc)
        number = trailing.group(1) if trailing else ""
        number = number if len(number) >= MIN_NUMBER_DIGITS else ""
        if _is_identifier(key) or number:
            found.append((key, doc, "document number", number))
    for word in _WORD.findall(reference):
        key = _compact_word(word)
        if _is_identifier(key) and all(key != f[0] for f in found):
            found.append((key, word, "entry reference", ""))
    return found


@lru_cache(maxsize=1 << 14)
def reference_keys(reference: str) -> tuple[frozenset[str], frozenset[str]]:
    """What a remittance text may name: compact words and runs of two or three adjacent words
    (so "RE 2026 10431" names RE202610431), and its runs of at least 5 digits."""
    words = [_compact_word(w) for w in _WORD.findall(reference)]
    keys: set[str] = set()
    for size in (1, 2, 3):
        for start in range(len(words) - size + 1):
            key = "".join(words[start : start + size])
            if _is_identifier(key):
                keys.add(key)
    numbers = {run for run in _DIGIT_RUN.findall(reference) if len(run) >= MIN_NUMBER_DIGITS}
    return frozenset(keys), frozenset(numbers)


def pattern_error(pattern: str) -> str | None:
    """Why a rule's reference pattern is not a usable regular expression, or None."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"not a regular expression: {exc}"
    return None


def money(minor: int) -> str:
    """An amount for a reason, e.g. 1,234.50."""
    value = Decimal(minor).scaleb(-4)
    if value == value.quantize(Decimal("0.01")):
        return f"{value:,.2f}"
    return f"{value.normalize():,f}"


def _days_reason(days: int, plural: str = "date") -> str:
    if days == 0:
        return "same date" if plural == "date" else "same dates"
    if plural == "date":
        return f"date {days} day{'s' if days != 1 else ''} apart"
    return f"dates up to {days} day{'s' if days != 1 else ''} apart"


# --- prepared items ------------------------------------------------------------------------


class _Line:
    __slots__ = ("amount", "day", "hits", "i", "iban", "line", "name", "named", "names_documents")

    def __init__(self, i: int, line: Line) -> None:
        self.i = i
        self.line = line
        self.day = line.date.toordinal()
        self.amount = line.amount_minor
        self.name = name_keys(line.name) if line.name.strip() else None
        self.iban = iban_key(line.iban)
        # entry index -> (kind "document"|"number", as written, where): filled by _Run
        self.hits: dict[int, tuple[str, str, str]] = {}
        # the reference names, whole, a document of this counterparty or of this amount
        # other than the entry paired with (then it speaks against the pair)
        self.names_documents = False
        self.named: list[str] = []


class _Entry:
    __slots__ = ("amount", "day", "entry", "i", "iban", "idents", "name", "text")

    def __init__(self, i: int, entry: Entry) -> None:
        self.i = i
        self.entry = entry
        self.day = entry.date.toordinal()
        self.amount = entry.amount_minor
        self.name = name_keys(entry.name) if entry.name.strip() else None
        self.iban = iban_key(entry.iban)
        self.idents = entry_identifiers(entry.document_number, entry.reference)
        self.text = ""  # where a rule's reference group must appear: set when rules need it


class _Rule:
    __slots__ = (
        "confidence",
        "iban",
        "name",
        "pattern",
        "rule",
        "threshold",
        "tolerance",
        "window",
    )

    def __init__(self, rule: Rule, policy: Policy) -> None:
        self.rule = rule
        self.window = policy.window_days if rule.window_days is None else rule.window_days
        self.tolerance = abs(rule.tolerance_minor)
        error = pattern_error(rule.reference_pattern) if rule.reference_pattern else None
        if error:
            raise ValueError(f"Rule {rule.name!r}: the reference pattern is {error}.")
        self.pattern = re.compile(rule.reference_pattern) if rule.reference_pattern else None
        self.iban = iban_key(rule.counterparty_iban) if rule.counterparty_iban else ""
        if rule.counterparty_iban and not self.iban:
            self.iban = compact(rule.counterparty_iban)  # never equal to a valid one: never holds
        self.name = name_keys(rule.counterparty_name) if rule.counterparty_name.strip() else None
        self.threshold = float(rule.name_threshold)
        self.confidence = float(rule.confidence)

    def line_group(self, line: _Line) -> str | None:
        """None when a condition on the line fails, else the compact reference group ("" when
        the rule has no pattern)."""
        if self.iban and line.iban != self.iban:
            return None
        if self.name and (line.name is None or similarity(line.name, self.name) < self.threshold):
            return None
        if self.pattern is None:
            return ""
        found = self.pattern.search(line.line.reference)
        if found is None:
            return None
        group = compact(found.group(1) if found.groups() and found.group(1) else found.group(0))
        return group or None


class _Pair:
    """A candidate (line, entry) with its evidence."""

    __slots__ = (
        "conf",
        "days",
        "diff",
        "ei",
        "iban",
        "li",
        "name",
        "rank",
        "ref",
        "rule",
        "sort_key",
    )

    def __init__(
        self,
        li: int,
        ei: int,
        rank: float,
        days: int,
        diff: int,
        ref: tuple[str, str, str] | None,
        iban: int,
        name: float,
        rule: _Rule | None,
        line_id: int,
        entry_id: int,
    ) -> None:
        self.li, self.ei, self.rank, self.days, self.diff = li, ei, rank, days, diff
        self.ref, self.iban, self.name, self.rule = ref, iban, name, rule
        self.conf = max(0.0, min(100.0, rank))
        self.sort_key: tuple[object, ...] = (-rank, days, 1, ((line_id,), (entry_id,)))


class _Group:
    """A set of lines and entries whose amounts add up, with its evidence."""

    __slots__ = (
        "conf",
        "days",
        "entries",
        "iban",
        "kind",
        "lines",
        "name",
        "rank",
        "sort_key",
    )

    def __init__(
        self,
        kind: str,
        lines: tuple[int, ...],
        entries: tuple[int, ...],
        rank: float,
        days: int,
        iban: int,
        name: float,
        sort_key: tuple[object, ...],
    ) -> None:
        self.kind, self.lines, self.entries, self.rank, self.days = kind, lines, entries, rank, days
        self.iban, self.name = iban, name
        self.conf = max(0.0, min(100.0, rank))
        self.sort_key = sort_key


_Members = dict[tuple[str, int], list[_Group]]


def _name_points(ratio: float) -> float:
    """NAME_LIKE at NAME_LIKE_RATIO rising to NAME_SAME at NAME_SAME_RATIO; nothing between
    unlike and like; NAME_UNLIKE below."""
    if ratio >= NAME_SAME_RATIO:
        return NAME_SAME
    if ratio >= NAME_LIKE_RATIO:
        share = (ratio - NAME_LIKE_RATIO) / (NAME_SAME_RATIO - NAME_LIKE_RATIO)
        return NAME_LIKE + (NAME_SAME - NAME_LIKE) * share
    if ratio < NAME_UNLIKE_RATIO:
        return NAME_UNLIKE
    return 0.0


# --- subset sums ---------------------------------------------------------------------------


def subset_sums(
    amounts: Sequence[int], target: int, max_size: int, limit: int = MAX_SOLUTIONS
) -> list[tuple[int, ...]]:
    """Every set of 2 to ``max_size`` positions of ``amounts`` whose amounts add up to
    ``target`` exactly (at most ``limit`` of them, smaller sets first), found by meet in the
    middle: the sums of all subsets of up to half the size in a table, each larger half looked
    up against it. Positions within a set ascend."""
    n = len(amounts)
    max_size = min(max_size, n)
    if max_size < 2:
        return []
    half = (max_size + 1) // 2
    tables: list[dict[int, list[tuple[int, ...]]]] = [{}]
    for size in range(1, half + 1):
        table: dict[int, list[tuple[int, ...]]] = defaultdict(list)
        for combo in combinations(range(n), size):
            table[sum(amounts[i] for i in combo)].append(combo)
        tables.append(table)
    found: list[tuple[int, ...]] = []
    for size in range(2, max_size + 1):
        small, large = size // 2, size - size // 2
        lookup = tables[small]
        for total, combos in tables[large].items():
            partners = lookup.get(target - total)
            if not partners:
                continue
            for right in combos:
                for left in partners:
                    if left[-1] < right[0]:
                        found.append(left + right)
                        if len(found) >= limit:
                            return found
    return found


# --- the run -------------------------------------------------------------------------------


class _Run:
    """One reconciliation over a set of lines and entries."""

    def __init__(
        self,
        lines: Sequence[Line],
        entries: Sequence[Entry],
        rules: Sequence[Rule],
        policy: Policy,
        rejected: Collection[tuple[tuple[int, ...], tuple[int, ...]]] = (),
    ) -> None:
        self.policy = policy
        self.window = policy.window_days
        self.threshold = float(policy.auto_accept)
        self.rejected = set(rejected)
        self.lines = [_Line(i, line) for i, line in enumerate(lines)]
        self.entries = [_Entry(i, entry) for i, entry in enumerate(entries)]
        self.rules = sorted(
            (_Rule(rule, policy) for rule in rules), key=lambda r: (-r.confidence, r.rule.id)
        )
        if any(rule.pattern is not None for rule in self.rules):
            for e in self.entries:
                e.text = compact(e.entry.document_number) + "\x00" + compact(e.entry.reference)
        self.line_taken = [False] * len(self.lines)
        self.entry_taken = [False] * len(self.entries)
        self._index_entries()
        self._find_references()
        self.pairs: list[_Pair] = []
        self.line_pairs: list[list[_Pair]] = [[] for _ in self.lines]
        self.entry_pairs: list[list[_Pair]] = [[] for _ in self.entries]
        self.neighbours: dict[int, set[int]] | None = None

    # indexes

    def _index_entries(self) -> None:
        by_amount: dict[int, tuple[list[int], list[int]]] = {}
        self.by_identifier: dict[str, list[int]] = defaultdict(list)
        self.by_number: dict[str, list[int]] = defaultdict(list)
        self.by_iban: dict[str, list[int]] = defaultdict(list)
        for e in sorted(self.entries, key=lambda e: (e.day, e.entry.id)):
            bucket = by_amount.get(e.amount)
            if bucket is None:
                bucket = by_amount[e.amount] = ([], [])
            bucket[0].append(e.day)
            bucket[1].append(e.i)
        self.by_digits: dict[str, list[int]] = defaultdict(list)
        for e in self.entries:
            for key, _, _, number in e.idents:
                self.by_identifier[key].append(e.i)
                if number:
                    self.by_number[number].append(e.i)
            if e.idents and e.idents[0][2] == "document number":
                digits = "".join(_DIGIT_RUN.findall(e.idents[0][0]))
                if len(digits) >= MIN_NUMBER_DIGITS:
                    self.by_digits[digits].append(e.i)
            if e.iban:
                self.by_iban[e.iban].append(e.i)
        self.by_amount = by_amount  # amount -> (days, entry indexes), in date order
        self.amounts = sorted(by_amount)

    def _find_references(self) -> None:
        """Which entries each line's remittance text names (and, for each entry, the lines
        that name it)."""
        self.named_by: dict[int, list[int]] = defaultdict(list)
        for line in self.lines:
            if not line.line.reference:
                continue
            keys, numbers = reference_keys(line.line.reference)
            hits = line.hits
            for key in keys:
                for ei in self.by_identifier.get(key, ()):
                    for ident, written, where, _ in self.entries[ei].idents:
                        if ident == key:
                            hits[ei] = ("document", written, where)
                            break
            for number in numbers:
                # A bare number recurs (the same serial every year): only near the line.
                for ei in self.by_number.get(number, ()):
                    if ei not in hits and abs(self.entries[ei].day - line.day) <= CANDIDATE_DAYS:
                        written = self.entries[ei].idents[0][1]
                        hits[ei] = ("number", written, number)
            for ei, (kind, _, _) in hits.items():
                if kind == "document" or self._plausible(line, self.entries[ei]):
                    self.named_by[ei].append(line.i)
            line.named = sorted(
                {
                    written
                    for ei, (kind, written, _) in hits.items()
                    if kind == "document" and self._plausible(line, self.entries[ei])
                }
            )
            line.names_documents = bool(line.named)

    @staticmethod
    def _plausible(line: _Line, entry: _Entry) -> bool:
        """Whether the line could be paying the entry: the same amount, IBAN or name. (A
        reference naming some other party's document of another amount is a typo, not a
        rival.)"""
        if entry.amount == line.amount:
            return True
        if line.iban and line.iban == entry.iban:
            return True
        if line.name is None or entry.name is None:
            return False
        return similarity(line.name, entry.name) >= NAME_LIKE_RATIO

    # pairs

    def build_pairs(self, *, any_amount: bool = False) -> None:
        """Every candidate (line, entry) pair with its evidence. ``any_amount`` also makes
        pairs of a line and the entries its reference names, whatever their amounts (for an
        agent's options)."""
        widest = max([self.window, *(r.window for r in self.rules)])
        for line in self.lines:
            seen: set[int] = set()
            groups = [(rule, g) for rule in self.rules if (g := rule.line_group(line)) is not None]
            bucket = self.by_amount.get(line.amount)
            if bucket is not None:
                days, indexes = bucket
                lo = bisect_left(days, line.day - widest)
                hi = bisect_right(days, line.day + widest)
                for k in range(lo, hi):
                    seen.add(indexes[k])
                    self._pair(line, self.entries[indexes[k]], groups)
            for rule, group in groups:
                if rule.tolerance == 0 and rule.window <= widest:
                    continue  # its pairs have equal amounts: found above
                for ei in self._rule_candidates(rule, group, line):
                    if ei not in seen:
                        seen.add(ei)
                        self._pair(line, self.entries[ei], groups)
            if any_amount:
                for ei in line.hits:
                    entry = self.entries[ei]
                    if ei not in seen and abs(entry.day - line.day) <= CANDIDATE_DAYS:
                        seen.add(ei)
                        self._pair(line, entry, groups, any_amount=True)
        self.pairs.sort(key=lambda p: p.sort_key)
        for pair in self.pairs:
            self.line_pairs[pair.li].append(pair)
            self.entry_pairs[pair.ei].append(pair)

    def _rule_candidates(self, rule: _Rule, group: str, line: _Line) -> Iterable[int]:
        """Entries a rule with a tolerance (or a wider window) may pair with the line."""
        if group:
            # a group is a document number whole, its trailing number or its digits (as in a
            # pattern like RE-?(\d{4}-?\d{5})); it is checked to appear in the entry after
            found = set(self.by_identifier.get(group, ()))
            found.update(self.by_number.get(group, ()), self.by_digits.get(group, ()))
            return sorted(found)
        if rule.iban:
            return self.by_iban.get(line.iban, ())
        lo = bisect_left(self.amounts, line.amount - rule.tolerance)
        hi = bisect_right(self.amounts, line.amount + rule.tolerance)
        found_ = []
        for amount in self.amounts[lo:hi]:
            days, indexes = self.by_amount[amount]
            a = bisect_left(days, line.day - rule.window)
            b = bisect_right(days, line.day + rule.window)
            found_.extend(indexes[a:b])
        return found_

    def _pair(
        self,
        line: _Line,
        entry: _Entry,
        groups: list[tuple[_Rule, str]],
        *,
        any_amount: bool = False,
    ) -> None:
        if ((line.line.id,), (entry.entry.id,)) in self.rejected:
            return
        days = abs(line.day - entry.day)
        diff = line.amount - entry.amount
        rule = None
        for candidate, group in groups:  # best confidence first
            if (
                days <= candidate.window
                and abs(diff) <= candidate.tolerance
                and (not group or group in entry.text)
            ):
                rule = candidate
                break
        if rule is None and not any_amount and (diff != 0 or days > self.window):
            return
        if diff == 0:
            score = AMOUNT_EQUAL
        elif rule is not None and abs(diff) <= rule.tolerance:
            score = AMOUNT_TOLERATED
        else:
            score = 0.0
        ref = line.hits.get(entry.i)
        if ref is not None:
            score += REF_DOCUMENT if ref[0] == "document" else REF_NUMBER
        elif line.names_documents:
            score += REF_OTHER
        iban = 0
        if line.iban and entry.iban:
            iban = 1 if line.iban == entry.iban else -1
            score += IBAN_SAME if iban == 1 else IBAN_OTHER
        ratio = -1.0
        if line.name is not None and entry.name is not None:
            ratio = similarity(line.name, entry.name)
            score += _name_points(ratio)
        score -= DAY_PENALTY * max(0, days - 1)
        if rule is not None:
            if diff != 0:
                # a difference of amount is the rule's to allow: its confidence is the pair's
                score = rule.confidence
            elif days > self.window or rule.confidence > score:
                score = max(score, rule.confidence)
            else:
                rule = None  # the evidence alone says as much: the rule made no difference
        if score < MIN_PROPOSAL - MARGIN:
            return
        self.pairs.append(
            _Pair(
                line.i,
                entry.i,
                score,
                days,
                diff,
                ref,
                iban,
                ratio,
                rule,
                line.line.id,
                entry.entry.id,
            )
        )

    def pair_rivals(self, pair: _Pair) -> tuple[int, int]:
        """Open entries of the line, and open lines of the entry, that fit within MARGIN."""
        floor = pair.rank - MARGIN
        entries = sum(
            1
            for p in self.line_pairs[pair.li]
            if p is not pair and p.rank >= floor and not self.entry_taken[p.ei]
        )
        lines = sum(
            1
            for p in self.entry_pairs[pair.ei]
            if p is not pair and p.rank >= floor and not self.line_taken[p.li]
        )
        return entries, lines

    def other_payer(self, pair: _Pair) -> bool:
        """For a pair whose amounts differ: whether another open line names the entry too
        (the difference may be that line's part of a split payment, not a charge)."""
        return pair.diff != 0 and any(
            li != pair.li and not self.line_taken[li] for li in self.named_by.get(pair.ei, ())
        )

    def pair_reasons(self, pair: _Pair) -> list[str]:
        line, entry = self.lines[pair.li], self.entries[pair.ei]
        reasons = []
        if pair.rule is not None:
            reasons.append(f"rule '{pair.rule.rule.name}'")
        if pair.diff == 0:
            reasons.append("amount equal")
        else:
            side = "less" if abs(line.amount) < abs(entry.amount) else "more"
            tolerance = (
                f" (tolerance {money(pair.rule.tolerance)})"
                if pair.rule is not None and abs(pair.diff) <= pair.rule.tolerance
                else ""
            )
            reasons.append(f"amount {money(abs(pair.diff))} {side} than the entry's{tolerance}")
        reasons.extend(self._ref_reasons(line, [pair.ref] if pair.ref else []))
        reasons.extend(self._iban_reasons(line.iban, pair.iban, entry.iban))
        if pair.name >= 0:
            reasons.append(self._name_reason(pair.name, entry.entry.name))
        reasons.append(_days_reason(pair.days))
        return reasons

    @staticmethod
    def _ref_reasons(line: _Line, refs: list[tuple[str, str, str]]) -> list[str]:
        if refs:
            out = []
            for kind, written, where in refs:
                if kind == "document":
                    out.append(f"reference {written} in {where}")
                else:
                    out.append(f"number {where} of document {written} in reference")
            return out
        if line.names_documents:
            named = line.named
            more = f" and {len(named) - 3} more" if len(named) > 3 else ""
            return [f"reference names another document ({', '.join(named[:3])}{more})"]
        return []

    @staticmethod
    def _iban_reasons(line_iban: str, state: int, entry_iban: str) -> list[str]:
        if state == 1:
            return [f"counterparty IBAN {iban_display(line_iban)} matches"]
        if state == -1:
            return [f"counterparty IBAN differs ({iban_display(entry_iban)} in the ledger)"]
        return []

    @staticmethod
    def _name_reason(ratio: float, written: str) -> str:
        if ratio >= NAME_UNLIKE_RATIO:
            return f"counterparty name {round(ratio)}% like '{written}'"
        return f"counterparty name unlike '{written}' ({round(ratio)}%)"

    def pair_proposal(
        self,
        pair: _Pair,
        *,
        accepted: bool,
        rivals: tuple[int, int],
        other_payer: bool = False,
    ) -> Proposal:
        reasons = self.pair_reasons(pair)
        confidence = pair.conf
        if any(rivals) or other_payer:
            if rivals[0]:
                reasons.append("another entry fits as well")
            if rivals[1]:
                reasons.append("another line fits as well")
            if other_payer:
                reasons.append("another line names the same document")
            confidence = self._ambiguous(confidence, 1 + max(1 if other_payer else 0, *rivals))
        return Proposal(
            line_ids=(self.lines[pair.li].line.id,),
            entry_ids=(self.entries[pair.ei].entry.id,),
            confidence=round(confidence, 2),
            reasons=tuple(reasons),
            rule_id=pair.rule.rule.id if pair.rule is not None else None,
            shape=ONE_TO_ONE,
            accepted=accepted,
            difference_minor=pair.diff,
        )

    def _ambiguous(self, confidence: float, equals: int) -> float:
        """Shared among the equals, and below the threshold: an agent chooses."""
        return min(confidence / equals, max(0.0, self.threshold - 1.0))

    # passes

    def accept_pairs(self) -> list[Proposal]:
        """Accept, best first, the pairs at or above the threshold that no rival fits as well."""
        accepted = []
        for pair in self.pairs:
            if pair.conf < self.threshold:
                break
            if self.line_taken[pair.li] or self.entry_taken[pair.ei]:
                continue
            if any(self.pair_rivals(pair)) or self.other_payer(pair):
                continue
            self.line_taken[pair.li] = self.entry_taken[pair.ei] = True
            accepted.append(self.pair_proposal(pair, accepted=True, rivals=(0, 0)))
        return accepted

    def _find_neighbours(self) -> dict[int, set[int]]:
        """For each open line, the open entries within the window that share a signal with
        it (the same IBAN, a name at least NAME_LIKE_RATIO alike, an identifier in its
        reference): the candidates of groups. Items only ever leave the open set, so this is
        found once and filtered as they do."""
        window = self.window
        pool = sorted((e.day, e.entry.id, e.i) for e in self.entries if not self.entry_taken[e.i])
        days = [d for d, _, _ in pool]
        indexes = [i for _, _, i in pool]
        no_name = ("", "", "")
        names = [self.entries[i].name or no_name for i in indexes]
        plain = [n[0] for n in names]
        ordered = [n[1] for n in names]
        by_iban: dict[str, list[int]] = defaultdict(list)
        for i in indexes:
            if self.entries[i].iban:
                by_iban[self.entries[i].iban].append(i)
        neighbours: dict[int, set[int]] = {}
        for line in self.lines:
            if self.line_taken[line.i] or line.amount == 0:
                continue
            found = {
                ei
                for ei in line.hits
                if not self.entry_taken[ei] and abs(self.entries[ei].day - line.day) <= window
            }
            if line.iban:
                found.update(
                    ei
                    for ei in by_iban.get(line.iban, ())
                    if abs(self.entries[ei].day - line.day) <= window
                )
            if line.name is not None:
                lo = bisect_left(days, line.day - window)
                hi = bisect_right(days, line.day + window)
                for form, choices in ((0, plain), (1, ordered)):
                    for _, _, k in process.extract(
                        line.name[form],
                        choices[lo:hi],
                        scorer=fuzz.ratio,
                        score_cutoff=NAME_LIKE_RATIO,
                        limit=None,
                    ):
                        found.add(indexes[lo + k])
            if found:
                neighbours[line.i] = found
        return neighbours

    def groups(self) -> list[_Group]:
        """Every best-fitting group of the open items: lines paying several entries, then
        entries paid by several lines, each target's sets found by subset sums."""
        if self.policy.max_group_size < 2:
            return []
        if self.neighbours is None:
            self.neighbours = self._find_neighbours()
        found: list[_Group] = []
        inverse: dict[int, list[int]] = defaultdict(list)
        for li, near in self.neighbours.items():
            if self.line_taken[li]:
                continue
            open_entries = [ei for ei in near if not self.entry_taken[ei]]
            for ei in open_entries:
                inverse[ei].append(li)
            found.extend(self._target_groups(ONE_TO_MANY, li, open_entries))
        for ei, near_lines in inverse.items():
            found.extend(self._target_groups(MANY_TO_ONE, ei, near_lines))
        found.sort(key=lambda g: g.sort_key)
        return found

    def _target_groups(self, kind: str, target: int, near: list[int]) -> list[_Group]:
        """The sets of ``near`` items adding up to the target's amount, scored, best first."""
        members: Sequence[_Line | _Entry]
        if kind == ONE_TO_MANY:
            goal, members = self.lines[target].amount, self.entries
        else:
            goal, members = self.entries[target].amount, self.lines
        if len(near) < 2 or goal == 0:
            return []
        size = abs(goal)
        near = [
            i
            for i in near
            if members[i].amount != 0
            and (members[i].amount > 0) == (goal > 0)
            and abs(members[i].amount) < size
        ]
        if len(near) < 2 or sum(abs(members[i].amount) for i in near) < size:
            return []
        if kind == ONE_TO_MANY:
            line = self.lines[target]
            near.sort(
                key=lambda i: (i not in line.hits, abs(members[i].day - line.day), members[i].i)
            )
        else:
            entry = self.entries[target]
            near.sort(
                key=lambda i: (
                    entry.i not in self.lines[i].hits,
                    abs(members[i].day - entry.day),
                    members[i].i,
                )
            )
        near = near[:MAX_GROUP_CANDIDATES]
        amounts = [abs(members[i].amount) for i in near]
        # The items the references name come first in ``near``: their sets are searched on
        # their own first, so the named set is among the sets found however many others add up.
        named = sum(
            1
            for i in near
            if (
                i in self.lines[target].hits
                if kind == ONE_TO_MANY
                else target in self.lines[i].hits
            )
        )
        sets = subset_sums(amounts[:named], size, self.policy.max_group_size) if named >= 2 else []
        for found in subset_sums(amounts, size, self.policy.max_group_size):
            if found not in sets:
                sets.append(found)
        out = []
        for positions in sets:
            chosen = tuple(near[p] for p in positions)
            if kind == ONE_TO_MANY:
                group = self._score_group(kind, (target,), chosen)
            else:
                group = self._score_group(kind, chosen, (target,))
            if group is not None:
                out.append(group)
        out.sort(key=lambda g: g.sort_key)
        return out

    def _score_group(
        self, kind: str, line_is: tuple[int, ...], entry_is: tuple[int, ...]
    ) -> _Group | None:
        lines = [self.lines[i] for i in line_is]
        entries = [self.entries[i] for i in entry_is]
        key = (
            tuple(sorted(line.line.id for line in lines)),
            tuple(sorted(entry.entry.id for entry in entries)),
        )
        if key in self.rejected:
            return None
        members = len(lines) + len(entries) - 1
        score = GROUP_SUM
        # references: every link named
        refs = []
        named = 0
        for line in lines:
            for entry in entries:
                hit = line.hits.get(entry.i)
                if hit is not None:
                    named += 1
                    refs.append(hit)
        if named < members:
            # without a reference for every link, a larger set adds up by chance more easily
            score -= GROUP_EXTRA_MEMBER * (members - 2)
        if named >= members:
            score += REF_DOCUMENT if all(h[0] == "document" for h in refs) else REF_NUMBER
        elif named:
            score += REF_NUMBER * named / members
        elif any(line.names_documents for line in lines):
            score += REF_OTHER
        ibans = [
            (1 if line.iban == entry.iban else -1)
            for line in lines
            for entry in entries
            if line.iban and entry.iban
        ]
        iban = 0
        if ibans:
            iban = -1 if -1 in ibans else (1 if len(ibans) == members else 0)
            score += IBAN_SAME if iban == 1 else (IBAN_OTHER if iban == -1 else 0)
        ratios = [
            similarity(line.name, entry.name)
            for line in lines
            for entry in entries
            if line.name is not None and entry.name is not None
        ]
        ratio = min(ratios) if ratios else -1.0
        if ratios:
            score += _name_points(ratio)
        days = max(abs(line.day - entry.day) for line in lines for entry in entries)
        score -= DAY_PENALTY * max(0, days - 1)
        if score < MIN_PROPOSAL - MARGIN:
            return None
        return _Group(
            kind,
            tuple(line.i for line in lines),
            tuple(entry.i for entry in entries),
            score,
            days,
            iban,
            ratio,
            (-score, days, members, key),
        )

    def group_rivals(self, group: _Group, all_groups: _Members) -> int:
        """Other sets, open pairs or other targets' sets that fit within MARGIN and share a
        member with this one."""
        floor = group.rank - MARGIN
        rivals = 0
        for li in group.lines:
            for g in all_groups.get(("l", li), ()):
                if g is not group and g.rank >= floor and self._open(g):
                    rivals += 1
            for p in self.line_pairs[li]:
                if p.rank >= floor and not self.entry_taken[p.ei]:
                    rivals += 1
        for ei in group.entries:
            for g in all_groups.get(("e", ei), ()):
                if g is not group and g.rank >= floor and self._open(g):
                    rivals += 1
            for p in self.entry_pairs[ei]:
                if p.rank >= floor and not self.line_taken[p.li]:
                    rivals += 1
        return rivals

    def _open(self, group: _Group) -> bool:
        return not any(self.line_taken[i] for i in group.lines) and not any(
            self.entry_taken[i] for i in group.entries
        )

    @staticmethod
    def by_member(groups: list[_Group]) -> _Members:
        members: _Members = defaultdict(list)
        for g in groups:
            for li in g.lines:
                members[("l", li)].append(g)
            for ei in g.entries:
                members[("e", ei)].append(g)
        return members

    def group_proposal(self, group: _Group, *, accepted: bool, rivals: int) -> Proposal:
        lines = [self.lines[i] for i in group.lines]
        entries = [self.entries[i] for i in group.entries]
        if group.kind == ONE_TO_MANY:
            reasons = [f"amounts of {len(entries)} entries add up to the line's"]
        else:
            reasons = [f"amounts of {len(lines)} lines add up to the entry's"]
        hits = [
            hit
            for line in lines
            for entry in entries
            if (hit := line.hits.get(entry.i)) is not None
        ]
        documents = sorted({written for kind, written, _ in hits if kind == "document"})
        numbers = sorted(
            {f"{where} ({written})" for kind, written, where in hits if kind == "number"}
        )
        if documents:
            reasons.append(f"reference names {', '.join(documents)}")
        if numbers:
            reasons.append(f"reference names number {', '.join(numbers)}")
        if not hits:
            reasons.extend(self._ref_reasons(lines[0], []) if group.kind == ONE_TO_MANY else [])
        if group.iban == 1:
            reasons.append(f"counterparty IBAN {iban_display(lines[0].iban)} on all")
        elif group.iban == -1:
            reasons.append("counterparty IBAN differs")
        if group.name >= 0:
            names = {entry.entry.name for entry in entries}
            if len(names) == 1:
                reasons.append(self._name_reason(group.name, names.pop()))
            else:
                reasons.append(f"counterparty names at least {round(group.name)}% alike")
        reasons.append(_days_reason(group.days, plural="dates"))
        confidence = group.conf
        if rivals:
            reasons.append("another combination fits as well")
            confidence = self._ambiguous(confidence, 1 + rivals)
        return Proposal(
            line_ids=tuple(sorted(line.line.id for line in lines)),
            entry_ids=tuple(sorted(entry.entry.id for entry in entries)),
            confidence=round(confidence, 2),
            reasons=tuple(reasons),
            rule_id=None,
            shape=group.kind,
            accepted=accepted,
            difference_minor=0,
        )

    def accept_groups(self) -> tuple[list[Proposal], list[_Group]]:
        """Accept the groups at or above the threshold that nothing fits as well; returns
        them and every group found (for the proposals, when nothing was accepted)."""
        groups = self.groups()
        members = self.by_member(groups)
        accepted = []
        for group in groups:
            if group.conf < self.threshold:
                break
            if not self._open(group) or self.group_rivals(group, members):
                continue
            for li in group.lines:
                self.line_taken[li] = True
            for ei in group.entries:
                self.entry_taken[ei] = True
            accepted.append(self.group_proposal(group, accepted=True, rivals=0))
        return accepted, groups

    def propose(self, groups: list[_Group]) -> list[Proposal]:
        """The rest, best first, each line and entry once: proposals for an agent."""
        members = self.by_member(groups)
        options: list[tuple[float, tuple[object, ...], Proposal, _Pair | _Group]] = []
        for pair in self.pairs:
            if pair.conf < MIN_PROPOSAL:
                break
            if self.line_taken[pair.li] or self.entry_taken[pair.ei]:
                continue
            rivals = self.pair_rivals(pair)
            proposal = self.pair_proposal(
                pair, accepted=False, rivals=rivals, other_payer=self.other_payer(pair)
            )
            options.append((-proposal.confidence, pair.sort_key, proposal, pair))
        for group in groups:
            if group.conf < MIN_PROPOSAL:
                break
            if not self._open(group):
                continue
            equals = self.group_rivals(group, members)
            proposal = self.group_proposal(group, accepted=False, rivals=equals)
            options.append((-proposal.confidence, group.sort_key, proposal, group))
        options.sort(key=lambda o: (o[0], o[1]))
        line_held = list(self.line_taken)
        entry_held = list(self.entry_taken)
        out = []
        for _, _, proposal, item in options:
            if isinstance(item, _Pair):
                line_is: tuple[int, ...] = (item.li,)
                entry_is: tuple[int, ...] = (item.ei,)
            else:
                line_is, entry_is = item.lines, item.entries
            if any(line_held[i] for i in line_is) or any(entry_held[i] for i in entry_is):
                continue
            for i in line_is:
                line_held[i] = True
            for i in entry_is:
                entry_held[i] = True
            out.append(proposal)
        return out

    def run(self) -> list[Proposal]:
        self.build_pairs()
        out: list[Proposal] = []
        groups: list[_Group] = []
        while True:
            made = self.accept_pairs()
            more, groups = self.accept_groups()
            out.extend(made)
            out.extend(more)
            if not made and not more:
                break
        out.extend(self.propose(groups))
        return out


def reconcile(
    lines: Sequence[Line],
    entries: Sequence[Entry],
    rules: Sequence[Rule] = (),
    policy: Policy | None = None,
    *,
    rejected: Collection[tuple[tuple[int, ...], tuple[int, ...]]] = (),
) -> list[Proposal]:
    """Match lines to entries: accepted matches and proposals for an agent, each line and entry
    in at most one. ``rejected`` holds (line ids, entry ids) that an agent turned down before:
    never proposed again."""
    with _collector_paused():
        return _Run(lines, entries, rules, policy or Policy(), rejected).run()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A run makes hundreds of thousands of small objects and no reference cycles; the cyclic
    garbage collector's passes over them cost 40 % of the run (measured at 100,000 lines)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def candidates(
    line: Line,
    entries: Sequence[Entry],
    rules: Sequence[Rule] = (),
    policy: Policy | None = None,
    limit: int = 5,
) -> list[Proposal]:
    """The best options for one open line, for an agent: entries of equal amount (or within a
    rule's tolerance) in the window, entries its reference names whatever their amount (up to
    ``CANDIDATE_DAYS`` apart), and sets of entries adding up to it; best first, equals marked.
    ``accepted`` says whether the engine would take the option by itself."""
    run = _Run([line], entries, rules, policy or Policy())
    run.build_pairs(any_amount=True)
    # (rank, order, item, settles the line)
    options: list[tuple[float, tuple[object, ...], _Pair | _Group, bool]] = [
        (
            pair.rank,
            pair.sort_key,
            pair,
            pair.diff == 0 or (pair.rule is not None and abs(pair.diff) <= pair.rule.tolerance),
        )
        for pair in run.pairs
    ]
    options.extend((group.rank, group.sort_key, group, True) for group in run.groups())
    out = []
    for rank, _, item, settles in options:
        others = [o for o in options if o[2] is not item and o[3] and settles]
        equals = sum(1 for o in others if abs(o[0] - rank) <= MARGIN)
        better = any(o[0] >= rank - MARGIN for o in others)
        accepted = settles and min(rank, 100.0) >= run.threshold and not better
        if isinstance(item, _Pair):
            out.append(run.pair_proposal(item, accepted=accepted, rivals=(equals, 0)))
        else:
            out.append(run.group_proposal(item, accepted=accepted, rivals=equals))
    order = {id(p): o[1] for p, o in zip(out, options, strict=True)}
    out.sort(key=lambda p: (-p.confidence, order[id(p)]))
    return out[:limit]
