"""Guessing a column mapping from a file's headers (in English, German and Dutch, as banks,
Excel and bookkeeping programs write them) and, given some rows, its date format and decimal
mark: a first proposal for the mapping form, which a person then checks."""

from __future__ import annotations

import re
import unicodedata

from bpo.finance.parsers.mapped import (
    JOIN,
    JOINABLE,
    SPLIT_AMOUNT,
    MappingSpec,
    fields_of,
    text_date,
)

# The header names each field is known by, normalised (see _norm), one field a line:
# "field: names the whole header must be | words a header may contain | words that rule it out".
# A header is matched to the first field whose whole names it is, then to the first whose words
# it contains, top to bottom, so the more specific fields come first.
_COMMON_RULES = """
amount: betrag betrageur umsatz umsatzeur amount amounteur bedrag bedrageur transactionamount
    buchungsbetrag summe wert | betrag amount bedrag umsatz | ursprung original oorspr auslagen
    saldo balance gebuehr umsatzart basis
debit_credit: sollhaben sh habensoll afbij bijaf dc cd debitcredit creditdebit drcr crdr
    shkennzeichen sollhabenkennzeichen debitcreditindicator cdtdbtind kennzeichen
    | sollhaben afbij debitcredit creditdebit |
currency: waehrung currency ccy cur curr munt waehrungscode currencycode | waehrung currency munt
    | ursprung original oorspr
counterparty_name: beguenstigterzahlungspflichtiger zahlungspflichtigerbeguenstigter
    auftraggeberempfaenger empfaengerauftraggeber auftraggeberbeguenstigter zahlungsempfaenger
    zahlungspflichtiger empfaenger auftraggeber beguenstigter namezahlungsbeteiligter
    zahlungsbeteiligter name naam naamomschrijving naamtegenpartij tegenpartij counterparty
    counterpartyname payee payer payeepayer payerpayee beneficiary geschaeftspartner partner
    businesspartner kundelieferant debitorkreditor kreditordebitor gegenpartei customersupplier
    | zahlungsbeteiligter beguenstigter auftraggeber empfaenger tegenpartij counterparty payee
    partner | auftragskonto iban bic konto rekening account
"""
_BANK_FIRST = """
account: auftragskonto ibanauftragskonto kontonummerauftragskonto ownaccount accountiban ibanbban
    rekening rekeningnummer eigenrekening account accountnumber | auftragskonto ownaccount
    | bezeichnung bankname bic name
booking_date: buchungstag buchungsdatum buchung datum date bookingdate booking transactiondate
    postingdate entrydate boekdatum boekingsdatum transactiedatum posted posteddate
    | buchungstag buchungsdatum bookingdate postingdate transactiondate boekdatum datum date
    | valuta value wert rente faellig due
value_date: valuta valutadatum wertstellung wertstellungsdatum wertstellungstag valuedate
    rentedatum valutadate | valuta wertstellung valuedate rentedatum |
"""
_BANK_OTHERS = """
counterparty_iban: kontonummeriban iban ibanzahlungsbeteiligter gegenkonto gegenkontoiban
    tegenrekening tegenrekeningibanbban counterpartyiban counterpartyaccount payeeiban
    payeraccount payeeaccount ibanempfaenger empfaengeriban ibanauftraggeber auftraggeberiban
    ibanbeguenstigter | tegenrekening gegenkonto iban | auftragskonto ownaccount eigen
debit: soll sollbetrag solleur belastung ausgang debit debiteur debitamount withdrawal
    withdrawals moneyout paidout af afbedrag | soll debit belastung withdrawal
    | haben credit kennzeichen indicator
credit: haben habenbetrag habeneur gutschrift eingang credit crediteur creditamount deposit
    deposits moneyin paidin bij bijbedrag | haben credit gutschrift deposit
    | soll debit kennzeichen indicator
balance: saldo saldonachbuchung kontostand balance runningbalance saldonamutatie saldonatrn
    saldoeur balanceeur neuersaldo | saldo balance kontostand |
reference: verwendungszweck zweck purpose reference referenz paymentreference
    remittanceinformation remittanceinfo remittance mededelingen omschrijving omschrijving1
    vorgangverwendungszweck memo buchungsdetails | verwendungszweck purpose remittance mededeling
    omschrijving | naam name
bank_reference: bankreferenz bankreference transaktionsid transactionid transactiereferentie
    referenzderbank buchungsreferenz fitid bankref | bankreferenz bankreference
    transactiereferentie transaktionsid transactionid |
description: buchungstext umsatzart vorgang description beschreibung transactiontype type art
    mutatiesoort buchungsart text details | buchungstext umsatzart description beschreibung
    mutatiesoort |
"""
_LEDGER_FIRST = """
external_id: buchungsid buchungsnummer buchungsnr entry entryid entryno entrynumber id ledgerid
    journalid journalentry lfdnr laufendenummer transactionid boekingsnummer boekingsid
    | buchungsid entryid buchungsnummer journalid |
entry_date: belegdatum buchungsdatum buchungstag datum date entrydate postingdate documentdate
    boekdatum transactiondate boekingsdatum | belegdatum buchungsdatum datum date
    | valuta value wert rente faellig due
document_number: belegnummer belegnr beleg belegfeld1 document documentno documentnumber docno
    voucher vouchernumber invoice invoiceno invoicenumber rechnungsnummer rechnungsnr boekstuk
    boekstuknummer factuurnummer | belegn document invoice rechnung voucher factuur boekstuk
    | datum date
"""
_LEDGER_OTHERS = """
counterparty_iban: kontonummeriban iban ibangeschaeftspartner partneriban counterpartyiban
    ibanempfaenger empfaengeriban ibanauftraggeber auftraggeberiban | iban | eigen
debit: soll sollbetrag solleur debit debiteur einnahme einnahmen eingang zugang moneyin receipts
    ontvangsten | soll debit einnahme | haben credit kennzeichen indicator
credit: haben habenbetrag habeneur credit crediteur ausgabe ausgaben ausgang abgang moneyout
    payments uitgaven | haben credit ausgabe | soll debit kennzeichen indicator
reference: verwendungszweck reference referenz zahlungsreferenz paymentreference purpose zweck
    | verwendungszweck reference referenz purpose |
description: buchungstext text description beschreibung bezeichnung memo omschrijving narrative
    details | buchungstext description beschreibung text |
"""
_Rule = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def _rules(*texts: str) -> dict[str, _Rule]:
    """The rules of the tables above, later tables' fields after the earlier ones'."""
    rules: dict[str, _Rule] = {}
    for text in texts:
        for entry in re.split(r"\n(?=\w+:)", text.strip()):
            name, _, rest = entry.partition(":")
            exact, contains, avoid = ([*rest.split("|"), "", ""])[:3]
            rules[name.strip()] = (
                tuple(exact.split()),
                tuple(contains.split()),
                tuple(avoid.split()),
            )
    return rules


# Dates and ids first, then the fields both kinds have, then the rest.
_BANK_RULES = _rules(_BANK_FIRST, _COMMON_RULES, _BANK_OTHERS)
_LEDGER_RULES = _rules(_LEDGER_FIRST, _COMMON_RULES, _LEDGER_OTHERS)
DATE_FORMATS = (
    "", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%Y%m%d", "%Y/%m/%d",
    "%d/%m/%y", "%m/%d/%y", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S",
)  # fmt: skip


def _norm(header: str) -> str:
    """A header as the rules compare it: lower case, umlauts spelled out, letters and digits."""
    text = header.strip().lower()
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, spelled)
    text = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", text)


def propose_mapping(
    headers: list[str], kind: str, samples: list[list[str]] | None = None
) -> MappingSpec:
    """A first guess at the mapping of a file with these headers, from the names banks and
    ledgers commonly give their columns in English, German and Dutch; with ``samples`` (rows
    of cell texts, see ``mapped.read_sample``) also the date format (day before month when both
    read) and the decimal mark."""
    fields_of(kind)  # refuses a kind that is neither
    rules = _BANK_RULES if kind == "bank" else _LEDGER_RULES
    normalised = [_norm(h) for h in headers]
    taken: set[int] = set()
    columns: dict[str, str] = {}

    def assign(name: str, index: int) -> None:
        """Map field ``name`` to the header at ``index``."""
        columns[name] = headers[index].strip()
        taken.add(index)

    for name, (exact, _, _) in rules.items():
        for synonym in exact:
            index = next(
                (i for i, h in enumerate(normalised) if h == synonym and i not in taken), None
            )
            if index is not None:
                assign(name, index)
                break
    for name, (_, contains, avoid) in rules.items():
        if name in columns:
            continue
        for word in contains:
            index = next(
                (
                    i
                    for i, h in enumerate(normalised)
                    if i not in taken and word in h and not any(a in h for a in avoid)
                ),
                None,
            )
            if index is not None:
                assign(name, index)
                break
    if "amount" in columns:
        for name in SPLIT_AMOUNT:
            columns.pop(name, None)
    elif not all(name in columns for name in SPLIT_AMOUNT):
        for name in SPLIT_AMOUNT:
            columns.pop(name, None)
        columns.pop("debit_credit", None)
    if "debit_credit" in columns and "amount" not in columns:
        columns.pop("debit_credit")
    series = header_series(headers)
    for name in JOINABLE:  # Verwendungszweck 1 chosen: all of its numbered columns
        if name in columns and columns[name] in series:
            columns[name] = series[columns[name]]
    ordered = {name: columns[name] for name in fields_of(kind) if name in columns}
    date_format, decimal_comma = "", False
    if samples:
        date_format = _guess_date_format(_sample_values(headers, samples, ordered, "date"))
        decimal_comma = _guess_decimal_comma(_sample_values(headers, samples, ordered, "money"))
    return MappingSpec(columns=ordered, date_format=date_format, decimal_comma=decimal_comma)


NUMBERED = re.compile(r"^(?P<stem>.*?\D)\s*0*(?P<number>\d{1,2})$")


def header_series(headers: list[str]) -> dict[str, str]:
    """Headers numbered in a series (``Verwendungszweck 1``, ``Verwendungszweck 2``…; the first
    may go without its number): the series' first header → all of them joined as a mapping names
    them (``Verwendungszweck 1 + Verwendungszweck 2``), for a text spread over several columns."""
    numbered: dict[str, dict[int, str]] = {}
    bare = {_norm(h): h.strip() for h in headers if h.strip()}
    for header in headers:
        match = NUMBERED.match(header.strip())
        if match:
            numbered.setdefault(_norm(match["stem"]), {})[int(match["number"])] = header.strip()
    found = {}
    for stem, members in numbered.items():
        if 1 not in members and stem in bare:
            members = {1: bare[stem], **members}
        run = []
        for number in range(1, len(members) + 1):
            if number not in members:
                break
            run.append(members[number])
        if len(run) > 1:
            found[run[0]] = JOIN.join(run)
    return found


def _sample_values(
    headers: list[str], samples: list[list[str]], columns: dict[str, str], what: str
) -> list[str]:
    names = (
        ("booking_date", "value_date", "entry_date")
        if what == "date"
        else ("amount", "debit", "credit", "balance")
    )
    lowered = [h.strip().lower() for h in headers]
    values = []
    for name in names:
        if name in columns and columns[name].lower() in lowered:
            index = lowered.index(columns[name].lower())
            values += [row[index].strip() for row in samples if index < len(row)]
    return [v for v in values if v]


def _guess_date_format(values: list[str]) -> str:
    for pattern in DATE_FORMATS:
        try:
            for value in values:
                text_date(value, pattern)
        except ValueError:
            continue
        return pattern
    return ""


def _guess_decimal_comma(values: list[str]) -> bool:
    comma = point = 0
    for value in values:
        if re.search(r"\d\.\d{3},\d*$|\d,\d{1,2}$", value):
            comma += 1
        elif re.search(r"\d,\d{3}\.\d*$|\d\.\d{1,2}$", value):
            point += 1
    return comma > point
