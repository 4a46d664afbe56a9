"""CAMT.053 statements (ISO 20022 BankToCustomerStatement, versions .001.02 to .001.13),
read with defusedxml, which refuses DTDs, entities and external references before they can
expand ("billion laughs") or reach out.

Per statement (``Stmt``): the account is ``Acct/Id/IBAN`` (or ``Othr/Id``), the reference
``Id``, the period ``FrToDt`` (else from the balances' dates and the bookings), the opening
balance ``OPBD`` (or ``PRCD``, the previous day's closing) and the closing balance ``CLBD``.
Each booked entry (``Ntry`` with status BOOK, or none) is one line: ``Amt`` signed by
``CdtDbtInd``, ``BookgDt``/``ValDt``; the counterparty is the debtor of a credit and the
creditor of a debit (``RltdPties``, with their ``Nm`` directly or under ``Pty`` from version 08);
the reference is the unstructured remittance (``Ustrd``) and the creditor references
(``Strd/CdtrRefInf/Ref``) of its transactions; the bank reference ``AcctSvcrRef``.

A batch entry (several ``TxDtls``: a collective credit of customer payments, a salary run)
becomes one line per transaction when each transaction states its amount in the account's
currency (``AmtDtls/TxAmt/Amt``, or ``Amt`` from version 04) and they add up to the entry's:
each payment then matches its own invoice. The lines keep the entry's dates; their bank
reference is the transaction's ``AcctSvcrRef``, else the entry's with ``/1``, ``/2``…; their
description says which part of which batch they are. A batch whose transactions give no
amounts, or amounts that do not add up, stays one line (the bank booked it once), with every
transaction's remittance in its reference and the counterparty only when they share one.
Pending and information-only entries are left out, as the booked balances leave them out.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder
from xml.etree.ElementTree import ParseError as XMLError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from bpo.finance.parsers.common import (
    BANK_REFERENCE_CHARS,
    NAME_CHARS,
    REFERENCE_CHARS,
    STATEMENT_REFERENCE_CHARS,
    Notes,
    ParsedLine,
    ParsedStatement,
    ParseError,
    account_of,
    check_balances,
    check_currency,
    checked_amount,
    one_line,
)

DOCUMENT = re.compile(r"^\{urn:iso:std:iso:20022:tech:xsd:camt\.(\d{3})\.001\.(\d{2})\}Document$")
KINDS = {
    "052": "a camt.052 intraday account report",
    "054": "a camt.054 debit/credit notification",
}
AMOUNT = re.compile(r"^\d{1,18}(\.\d{1,5})?$")


def _day_of(text: str, where: str) -> date | None:
    """The day an ISO date or date-time is written on (as the bank wrote it, not in UTC)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ParseError(f"{where}: {text!r} is not a date written YYYY-MM-DD.") from None


class _LineRecorder:
    """A tree builder that notes the line each element starts on (ElementTree keeps none)."""

    def __init__(self) -> None:
        self.builder = TreeBuilder()
        self.lines: dict[Element, int] = {}
        self.parser: Any = None

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        """An element opens: note its line."""
        element = self.builder.start(tag, attrs)
        self.lines[element] = self.parser.parser.CurrentLineNumber
        return element

    def end(self, tag: str) -> Element:
        """An element closes."""
        return self.builder.end(tag)

    def data(self, data: str) -> None:
        """Text inside an element."""
        self.builder.data(data)

    def close(self) -> Element:
        """The document is read: its root."""
        return self.builder.close()


def read_xml(data: bytes) -> tuple[Element, dict[Element, int]]:
    """The XML document and the line of each element, refusing DTDs and entities."""
    recorder = _LineRecorder()
    parser = DefusedXMLParser(target=recorder, forbid_dtd=True)
    recorder.parser = parser
    try:
        parser.feed(data)
        root = parser.close()
    except XMLError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]
        raise ParseError(
            f"line {line}, column {column + 1}: the XML is malformed ({reason})."
        ) from None
    except (LookupError, UnicodeError) as exc:  # an encoding the declaration names wrongly
        raise ParseError(f"line 1: the XML cannot be decoded ({exc}).") from None
    except DefusedXmlException:
        raise ParseError(
            f"line {parser.parser.CurrentLineNumber}: the file declares a DTD or XML entities. "
            "Bank statements never do, and such files are refused because entities can expand "
            "to exhaust memory (an XML bomb) or read other files."
        ) from None
    return root, recorder.lines


class _Statement:
    """Finding things in one document's namespace, with the line of each element."""

    def __init__(self, namespace: str, lines: dict[Element, int]) -> None:
        self.ns = {"c": namespace}
        self.lines = lines

    def path(self, path: str) -> str:
        """A path of plain element names in the document's namespace."""
        return "/".join(f"c:{part}" for part in path.split("/"))

    def find(self, element: Element, path: str) -> Element | None:
        """The first element at ``path`` below ``element``."""
        return element.find(self.path(path), self.ns)

    def all(self, element: Element, path: str) -> list[Element]:
        """Every element at ``path`` below ``element``."""
        return element.findall(self.path(path), self.ns)

    def text(self, element: Element | None, *paths: str) -> str:
        """The text at the first of ``paths`` that is there, "" if none."""
        if element is None:
            return ""
        for path in paths:
            found = self.find(element, path)
            if found is not None and (found.text or "").strip():
                return one_line(found.text)
        return ""

    def at(self, element: Element, what: str) -> str:
        """How an error names an element."""
        return f"line {self.lines.get(element, '?')} ({what})"

    def day(self, element: Element | None, path: str, where: str) -> date | None:
        """The date at ``path`` (its ``Dt``, or the day of its ``DtTm``)."""
        return _day_of(self.text(element, f"{path}/Dt", f"{path}/DtTm"), f"{where} <{path}>")

    def signed(self, element: Element, where: str, currency: str) -> Decimal:
        """The ``Amt`` of an entry or balance, negative for a debit, checked for currency."""
        amount = self.find(element, "Amt")
        if amount is None:
            raise ParseError(f"{where}: the amount (<Amt>) is missing.")
        where_amount = self.at(amount, "<Amt>")
        text = (amount.text or "").strip()
        if not AMOUNT.match(text):
            raise ParseError(f"{where_amount}: the amount {text!r} is not a number.")
        check_currency(amount.get("Ccy", ""), currency, where_amount)
        mark = self.text(element, "CdtDbtInd")
        if mark not in ("CRDT", "DBIT"):
            raise ParseError(
                f"{where}: the credit/debit indicator (<CdtDbtInd>) is {mark!r}, not CRDT or DBIT."
            )
        value = Decimal(text)
        return checked_amount(value if mark == "CRDT" else -value, where_amount)


def parse_camt053(data: bytes, *, currency: str) -> list[ParsedStatement]:
    """The statements of a CAMT.053 file, all or none."""
    root, lines = read_xml(data)
    match = DOCUMENT.match(root.tag)
    if match is None:
        raise ParseError(
            f"line {lines.get(root, 1)}: the XML document is {root.tag!r}, not an ISO 20022 "
            "camt.053 bank statement."
        )
    if match[1] != "053":
        kind = KINDS.get(match[1], f"camt.{match[1]}")
        raise ParseError(
            f"line {lines.get(root, 1)}: the file is {kind}, not a camt.053 end-of-day statement."
        )
    doc = _Statement(root.tag[1:].split("}")[0], lines)
    statements = doc.all(root, "BkToCstmrStmt/Stmt")
    if not statements:
        raise ParseError("The camt.053 file holds no statement (<Stmt>).")
    return [_statement(doc, stmt, currency) for stmt in statements]


def _balances(doc: _Statement, stmt: Element, where: str, currency: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for balance in doc.all(stmt, "Bal"):
        code = doc.text(balance, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry")
        if code in ("OPBD", "PRCD", "CLBD") and code not in found:
            at = doc.at(balance, f"<Bal> {code}")
            found[code] = (doc.signed(balance, at, currency), doc.day(balance, "Dt", at), at)
    if "OPBD" not in found and "PRCD" not in found:
        raise ParseError(f"{where}: the statement has no opening balance (<Bal> OPBD or PRCD).")
    if "CLBD" not in found:
        raise ParseError(f"{where}: the statement has no closing balance (<Bal> CLBD).")
    return found


def _statement(doc: _Statement, stmt: Element, currency: str) -> ParsedStatement:
    reference = doc.text(stmt, "Id")
    where = doc.at(stmt, f"<Stmt> {reference}" if reference else "<Stmt>")
    account_currency = doc.text(stmt, "Acct/Ccy")
    if account_currency:
        check_currency(account_currency, currency, f"{where} <Acct><Ccy>")
    balances = _balances(doc, stmt, where, currency)
    entries = doc.all(stmt, "Ntry")
    stated = doc.text(stmt, "TxsSummry/TtlNtries/NbOfNtries")
    if stated.isdigit() and int(stated) != len(entries):
        raise ParseError(
            f"{where}: the statement says it holds {stated} entries (<NbOfNtries>), but "
            f"{len(entries)} are in the file."
        )
    lines: list[ParsedLine] = []
    for number, entry in enumerate(entries, 1):
        status = doc.text(entry, "Sts/Cd", "Sts")
        if status and status != "BOOK":
            continue
        lines.extend(_entry_lines(doc, entry, number, len(lines) + 1, currency))
    opening_code = "OPBD" if "OPBD" in balances else "PRCD"
    opening, opened, _ = balances[opening_code]
    closing, closed, _ = balances["CLBD"]
    check_balances(where, opening, tuple(lines), closing)
    start = _day_of(doc.text(stmt, "FrToDt/FrDtTm"), f"{where} <FrDtTm>")
    end = _day_of(doc.text(stmt, "FrToDt/ToDtTm"), f"{where} <ToDtTm>")
    if start is None and opened is not None:
        # OPBD is dated the statement's first day, PRCD the previous day's close.
        start = opened + timedelta(days=1) if opening_code == "PRCD" else opened
    end = end or closed
    days = [line.booking_date for line in lines]
    known_start = [d for d in (start, *days) if d is not None]
    known_end = [d for d in (end, *days) if d is not None]
    if not known_start or not known_end:
        raise ParseError(
            f"{where}: the statement has no dates: no period, balance dates or entries."
        )
    start, end = min(known_start), max(known_end)
    account = doc.text(stmt, "Acct/Id/IBAN", "Acct/Id/Othr/Id")
    return ParsedStatement(
        account=account_of(account),
        reference=reference[:STATEMENT_REFERENCE_CHARS],
        start_date=min(start, end),
        end_date=end,
        currency=currency,
        opening_balance=opening,
        closing_balance=closing,
        lines=tuple(lines),
    )


def _party(doc: _Statement, tx: Element, role: str) -> tuple[str, str]:
    """The name and account of the debtor or creditor of a transaction."""
    name = doc.text(tx, f"RltdPties/{role}/Nm", f"RltdPties/{role}/Pty/Nm")
    account = doc.text(tx, f"RltdPties/{role}Acct/Id/IBAN", f"RltdPties/{role}Acct/Id/Othr/Id")
    return name, account


def _entry_lines(
    doc: _Statement, entry: Element, number: int, position: int, currency: str
) -> list[ParsedLine]:
    """One booked ``Ntry`` as statement lines: one, or one per transaction of a batch whose
    transactions state amounts that add up to the entry's."""
    where = doc.at(entry, f"<Ntry> {number}")
    amount = doc.signed(entry, where, currency)
    booked = doc.day(entry, "BookgDt", where)
    if booked is None:
        raise ParseError(f"{where}: the entry has no booking date (<BookgDt>).")
    valued = doc.day(entry, "ValDt", where)
    transactions = doc.all(entry, "NtryDtls/TxDtls")
    parts = _batch_amounts(doc, transactions, amount, currency)
    if parts is None:
        return [
            _line(
                doc,
                entry,
                transactions,
                amount,
                dates=(booked, valued),
                position=position,
                where=where,
                currency=currency,
            )
        ]
    entry_reference = doc.text(entry, "AcctSvcrRef") or doc.text(entry, "NtryRef")
    return [
        _line(
            doc,
            entry,
            [tx],
            part,
            dates=(booked, valued),
            position=position + index,
            where=doc.at(tx, f"<Ntry> {number} <TxDtls> {index + 1}"),
            currency=currency,
            batch=(index + 1, len(parts), entry_reference),
        )
        for index, (tx, part) in enumerate(zip(transactions, parts, strict=True))
    ]


def _batch_amounts(
    doc: _Statement, transactions: list[Element], total: Decimal, currency: str
) -> list[Decimal] | None:
    """The signed amount of each transaction of a batch, when every one states it in the
    account's currency and they add up to the entry's ``total``; None otherwise."""
    if len(transactions) < 2:
        return None
    amounts = []
    for tx in transactions:
        amount = doc.find(tx, "AmtDtls/TxAmt/Amt")
        if amount is None:
            amount = doc.find(tx, "Amt")
        text = (amount.text or "").strip() if amount is not None else ""
        if amount is None or not AMOUNT.match(text) or amount.get("Ccy", "") != currency:
            return None
        mark = doc.text(tx, "CdtDbtInd") or ("CRDT" if total >= 0 else "DBIT")
        if mark not in ("CRDT", "DBIT"):
            return None
        try:  # a part the books cannot hold (zero, beyond four decimals) keeps the batch whole
            part = checked_amount(Decimal(text) if mark == "CRDT" else -Decimal(text), "")
        except ParseError:
            return None
        if not part:
            return None
        amounts.append(part)
    return amounts if sum(amounts) == total else None


def _line(
    doc: _Statement,
    entry: Element,
    transactions: list[Element],
    amount: Decimal,
    *,
    dates: tuple[date, date | None],
    position: int,
    where: str,
    currency: str,
    batch: tuple[int, int, str] | None = None,
) -> ParsedLine:
    """A statement line of an entry (``transactions`` all of its own) or of one transaction of
    a batch entry split (``batch``: which part, of how many, of which entry)."""
    amount = checked_amount(amount, where)
    role = "Dbtr" if amount >= 0 else "Cdtr"
    parties = {_party(doc, tx, role) for tx in transactions}
    name, account = next(iter(parties)) if len(parties) == 1 else ("", "")
    remittances = []
    for tx in transactions:
        parts = [one_line(u.text) for u in doc.all(tx, "RmtInf/Ustrd") if (u.text or "").strip()]
        parts += [
            one_line(r.text)
            for r in doc.all(tx, "RmtInf/Strd/CdtrRefInf/Ref")
            if (r.text or "").strip()
        ]
        remittances.append(" ".join(parts) or doc.text(tx, "AddtlTxInf"))
    reference = " | ".join(r for r in remittances if r)
    first = transactions[0] if len(transactions) == 1 else None
    eref = doc.text(first, "Refs/EndToEndId")
    ultimate = doc.text(
        first,
        f"RltdPties/Ultmt{role}/Nm",
        f"RltdPties/Ultmt{role}/Pty/Nm",
    )
    creditor_id = doc.text(
        first, "RltdPties/Cdtr/Id/PrvtId/Othr/Id", "RltdPties/Cdtr/Pty/Id/PrvtId/Othr/Id"
    )
    notes = Notes()
    code = doc.text(entry, "BkTxCd/Prtry/Cd") or "/".join(
        p for p in (doc.text(entry, "BkTxCd/Domn/Cd"), doc.text(entry, "BkTxCd/Domn/Fmly/Cd"),
                    doc.text(entry, "BkTxCd/Domn/Fmly/SubFmlyCd")) if p
    )  # fmt: skip
    if batch is None:
        bank_reference = (
            doc.text(entry, "AcctSvcrRef")
            or doc.text(first, "Refs/AcctSvcrRef")
            or doc.text(entry, "NtryRef")
        )
    else:
        part, _, batch_reference = batch
        bank_reference = doc.text(first, "Refs/AcctSvcrRef") or (
            f"{batch_reference}/{part}" if batch_reference else ""
        )
    return ParsedLine(
        position=position,
        booking_date=dates[0],
        value_date=dates[1],
        amount=amount,
        currency=currency,
        reference=notes.clipped(reference, REFERENCE_CHARS, "reference", where),
        counterparty_name=notes.clipped(name, NAME_CHARS, "counterparty", where),
        counterparty_iban=notes.counterparty_iban(account, where),
        bank_reference=notes.clipped(bank_reference, BANK_REFERENCE_CHARS, "bank reference", where),
        description=notes.text(
            doc.text(entry, "AddtlNtryInf"),
            "Reversal" if doc.text(entry, "RvslInd").lower() == "true" else "",
            f"Batch of {len(transactions)} payments" if len(transactions) > 1 else "",
            _part_of(batch),
            f"End-to-end: {eref}" if eref and eref != "NOTPROVIDED" else "",
            f"Mandate: {doc.text(first, 'Refs/MndtId')}" if doc.text(first, "Refs/MndtId") else "",
            f"Creditor ID: {creditor_id}" if creditor_id else "",
            f"Ultimate party: {ultimate}" if ultimate else "",
            f"Transaction code: {code}" if code else "",
        ),
        warnings=tuple(notes.warnings),
    )


def _part_of(batch: tuple[int, int, str] | None) -> str:
    """How a line of a split batch says where it comes from."""
    if batch is None:
        return ""
    part, parts, reference = batch
    batch_name = f"batch {reference}" if reference else "a batch"
    return f"Payment {part} of {parts} of {batch_name}"
