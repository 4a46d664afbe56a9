"""The statement and ledger parsers read what the banks and the client's bookkeeping export, as
an agent would check it by eye: the accounts, periods, balances, signs and counterparties, and a
malformed file refused whole with a message that says where it is wrong. No database."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from bpo.finance import parsers
from bpo.finance.parsers import (
    MappingSpec,
    ParsedLine,
    ParsedStatement,
    ParseError,
    iban_of_national,
)
from bpo.finance.parsers.mapped import headers_of
from bpo.finance.parsers.propose import header_series

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated method findAll")
SAMPLES = Path(__file__).parent / "samples"
OWN = "DE89370400440532013000"
SPARKASSE = MappingSpec(
    columns={
        "account": "Auftragskonto",
        "booking_date": "Buchungstag",
        "value_date": "Valutadatum",
        "amount": "Betrag",
        "currency": "Waehrung",
        "reference": "Verwendungszweck",
        "counterparty_name": "Beguenstigter/Zahlungspflichtiger",
        "counterparty_iban": "Kontonummer/IBAN",
        "description": "Buchungstext",
        "balance": "Saldo nach Buchung",
    },
    date_format="%d.%m.%Y",
    decimal_comma=True,
)
LEDGER_CSV = MappingSpec(
    columns={
        "entry_date": "Date",
        "amount": "Amount",
        "currency": "Currency",
        "external_id": "Entry",
        "document_number": "Document",
        "reference": "Reference",
        "counterparty_name": "Partner",
        "counterparty_iban": "IBAN",
        "description": "Text",
    }
)
LEDGER_XLSX = MappingSpec(
    columns={
        "entry_date": "Belegdatum",
        "debit": "Soll",
        "credit": "Haben",
        "currency": "Währung",
        "external_id": "Buchungs-ID",
        "document_number": "Belegnummer",
        "reference": "Verwendungszweck",
        "counterparty_name": "Geschäftspartner",
        "counterparty_iban": "IBAN",
        "description": "Buchungstext",
    }
)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def parse(data: bytes, fmt: str, mapping: MappingSpec | None = None, currency: str = "EUR"):
    return parsers.parse_statements(
        data, format=fmt, filename=f"upload.{fmt}", mapping=mapping, currency=currency
    )


def refused(data: bytes, fmt: str, mapping: MappingSpec | None = None, currency="EUR") -> str:
    with pytest.raises(ParseError) as caught:
        parse(data, fmt, mapping, currency)
    return str(caught.value)


def total(statement: ParsedStatement) -> Decimal:
    return sum((line.amount for line in statement.lines), Decimal(0))


def essentials(lines: tuple[ParsedLine, ...] | list[ParsedLine]) -> list[tuple]:
    return [(x.booking_date, x.amount, x.counterparty_iban, x.reference) for x in lines]


# MT940


def test_mt940_file_holds_two_statements_with_continuous_balances() -> None:
    first, second = parse(sample("statement.mt940"), "mt940")

    assert (first.account, second.account) == (OWN, OWN)
    assert first.reference == "STARTUMSE 00010/001"
    assert second.reference == "STARTUMSE 00011/001"
    assert (first.start_date, first.end_date) == (date(2026, 10, 1), date(2026, 10, 15))
    assert (second.start_date, second.end_date) == (date(2026, 10, 16), date(2026, 10, 31))
    assert first.opening_balance == Decimal("48215.37")
    assert first.closing_balance == second.opening_balance == Decimal("67391.54")
    assert second.closing_balance == Decimal("79299.42")
    assert (len(first.lines), len(second.lines)) == (16, 15)
    assert first.opening_balance + total(first) == first.closing_balance
    assert second.opening_balance + total(second) == second.closing_balance
    assert [line.position for line in second.lines] == list(range(1, 16))
    assert {first.currency, second.currency} == {"EUR"}


def test_mt940_lines_read_the_german_structured_details() -> None:
    first, second = parse(sample("statement.mt940"), "mt940")

    assert first.lines[0] == ParsedLine(
        position=1,
        booking_date=date(2026, 10, 1),
        value_date=date(2026, 10, 1),
        amount=Decimal("12480.00"),
        currency="EUR",
        reference="RE-2026-10431 Lieferung Ersatzteile KW 39",
        counterparty_name="Müller Maschinenbau GmbH",  # ISO-8859-1 in the file
        counterparty_iban="DE12500105170648489890",
        bank_reference="26100100000",
        description="GUTSCHR. UEBERWEISUNG; End-to-end: MM-2026-0931-0044",
    )
    debit = first.lines[2]
    assert (debit.amount, debit.counterparty_name) == (
        Decimal("-189.90"),
        "Telekom Deutschland GmbH",
    )
    assert debit.description == (
        "FOLGELASTSCHRIFT; End-to-end: TDG-2609-4711081512; Mandate: TK-4711-0815; "
        "Creditor ID: DE93ZZZ00000078611"
    )
    fee = first.lines[5]
    assert (fee.booking_date, fee.value_date) == (date(2026, 10, 5), date(2026, 9, 30))
    assert (fee.amount, fee.counterparty_name, fee.counterparty_iban) == (Decimal("-12.50"), "", "")
    assert fee.reference == "Kontofuehrung 09/2026"
    rent = first.lines[1]
    assert rent.counterparty_name == "Immobilien Rheinpark GmbH & Co. KG"  # ?32 and ?33
    last = second.lines[-1]
    assert (last.booking_date, last.amount, last.reference) == (
        date(2026, 10, 30),
        Decimal("2142.00"),
        "RE-2026-10474",
    )
    assert last.counterparty_name == "Schneider & Söhne KG"


def test_mt940_broken_amount_names_its_line() -> None:
    message = refused(sample("statement_bad61.mt940"), "mt940")

    assert message == "line 18 (:61:): the amount '4760,0X' is not a number (written 1234,56)."


MT940_SHORT = (
    ":20:STARTUMSE\r\n"
    ":25:37040044/0532013000\r\n"
    ":28C:00042/001\r\n"
    ":60F:C261030EUR1000,00\r\n"
    ":61:2611021102DR250,00NTRFNONREF//B261102001\r\n"
    ":86:177?00ONLINE-UEBERWEISUNG?20EREF+ZV-1?21SVWZ+INV 88231?31NL44RABO\r\n"
    "0123456789?32Jansen Installatietechnie?33k B.V.\r\n"
    ":61:2611031103CR100,50NTRFNONREF//B261103001\r\n"
    ":86:Gutschrift Kunde 4711\r\n"
    ":62F:C261103EUR850,50\r\n"
    "-\r\n"
)


def test_mt940_short_statement_with_an_account_number_and_free_text_details() -> None:
    (statement,) = parse(MT940_SHORT.encode(), "mt940")

    assert statement.account == "37040044/0532013000"  # as the file names it, no IBAN made up
    assert statement.reference == "STARTUMSE 00042/001"
    assert (statement.start_date, statement.end_date) == (date(2026, 10, 31), date(2026, 11, 3))
    out, into = statement.lines
    assert (out.amount, out.counterparty_iban, out.reference) == (
        Decimal("-250.00"),
        "NL44RABO0123456789",
        "INV 88231",
    )
    assert out.counterparty_name == "Jansen Installatietechniek B.V."
    assert (into.amount, into.reference, into.counterparty_name) == (
        Decimal("100.50"),
        "Gutschrift Kunde 4711",
        "",
    )


def test_mt940_dutch_slash_details() -> None:
    data = (
        ":20:940S261012\n:25:NL91ABNA0417164300\n:28C:285\n:60F:C261011EUR5000,00\n"
        ":61:2610121012D1785,00N078NONREF\n"
        ":86:/TRTP/SEPA OVERBOEKING/IBAN/DE89370400440532013000/BIC/COBADEFFXXX\n"
        "/NAME/Rheinland Feinmechanik GmbH/REMI/INV 88231/EREF/ZV-2026-10-05-001\n"
        ":61:2610121012C320,00N078NONREF\n"
        ":86:/EREF/NOTPROVIDED//CNTP/NL20INGB0001234567/INGBNL2A/De Vries Handel///REMI/USTD//\n"
        "Factuur 2026-1187/\n"
        ":62F:C261012EUR3535,00\n"
    )
    (statement,) = parse(data.encode(), "mt940")

    out, into = statement.lines
    assert statement.account == "NL91ABNA0417164300"
    assert (out.counterparty_name, out.counterparty_iban, out.reference) == (
        "Rheinland Feinmechanik GmbH",
        OWN,
        "INV 88231",
    )
    assert out.description == "SEPA OVERBOEKING; End-to-end: ZV-2026-10-05-001"
    assert (into.counterparty_name, into.counterparty_iban, into.reference) == (
        "De Vries Handel",
        "NL20INGB0001234567",
        "Factuur 2026-1187",
    )


def test_mt940_reversal_of_a_credit_is_money_out() -> None:
    data = MT940_SHORT.replace("CR100,50", "RC100,50").replace("EUR850,50", "EUR649,50")

    (statement,) = parse(data.encode(), "mt940")

    assert statement.lines[1].amount == Decimal("-100.50")


def test_mt940_that_does_not_add_up_is_refused_naming_the_statement() -> None:
    data = sample("statement.mt940").replace(b":62F:C261031EUR79299,42", b":62F:C261031EUR79299,24")

    message = refused(data, "mt940")

    assert message.startswith(
        "line 73 (statement STARTUMSE 00011/001): the opening balance 67391.54"
    )
    assert "closing balance is 79299.24 (difference -0.18)" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ((":62F:C261103EUR850,50\r\n", ""), "line 1 (statement STARTUMSE 00042/001): the statement "
         "has no closing balance (:62F:)."),
        ((":60F:C261030EUR1000,00", ":60F:C261030USD1000,00"), "line 4 (:60F:): the amount is in "
         "USD, but the account is kept in EUR."),
        ((":60F:C261030EUR1000,00", ":60F:X261030EUR1000,00"), "line 4 (:60F:): the balance "
         "starts with 'X', not C or D."),
        ((":61:2611021102DR250", ":61:2613021102DR250"), "line 5 (:61:): the value date '261302' "
         "is not a date written YYMMDD."),
        (("1102DR250,00NTRF", "1102XR250,00NTRF"), "line 5 (:61:): 'XR' is not a debit/credit mark "
         "(C, D, RC or RD) after the dates."),
        (("DR250,00NTRF", "DR250.00NTRF"), "line 5 (:61:): the amount '250.00' is not a number "
         "(written 1234,56)."),
        (("NTRFNONREF//B261102001", ""), "line 5 (:61:): the transaction type code (such as "
         "NTRF or NMSC) after the amount 250,00 is missing."),
        ((":20:STARTUMSE\r\n", ""), "line 1: the tag :25: comes before the :20: that starts a "
         "statement."),
        ((":28C:00042/001", ":28C:ABC"), "line 3 (:28C:): the MT940 reader cannot read this: "),
    ],
)  # fmt: skip
def test_mt940_malformed_tags_name_their_line(change: tuple[str, str], expected: str) -> None:
    message = refused(MT940_SHORT.replace(*change).encode(), "mt940")

    assert message.startswith(expected)


def test_mt940_invalid_counterparty_iban_is_kept_in_the_description() -> None:
    data = MT940_SHORT.replace("NL44RABO\r\n0123456789", "NL44RABO\r\n0123456788")

    (statement,) = parse(data.encode(), "mt940")

    line = statement.lines[0]
    assert line.counterparty_iban == ""
    assert line.description.endswith("Counterparty account: NL44RABO0123456788")
    assert line.warnings == (
        "line 5 (:61:): 'NL44RABO0123456788' is not a valid IBAN; it is kept in the description.",
    )


def test_mt940_counterparty_by_bank_code_and_account_number_becomes_its_iban() -> None:
    """Older German :86: details give the counterparty's bank code (?30) and account number
    (?31) instead of BIC and IBAN: together they make the IBAN that matching by IBAN uses."""
    data = MT940_SHORT.replace("?31NL44RABO\r\n0123456789", "?3037040044?31053\r\n2013000")

    (statement,) = parse(data.encode(), "mt940")

    line = statement.lines[0]
    assert line.counterparty_iban == "DE89370400440532013000"
    assert line.warnings == ()


@pytest.mark.parametrize(
    ("country", "text", "iban"),
    [
        ("DE", "37040044/0532013000", "DE89370400440532013000"),
        ("DE", "37040044 / 532013000", "DE89370400440532013000"),  # spaces, no leading zero
        ("AT", "19043/00234573201", "AT611904300234573201"),
        ("DE", "3704/x", ""),  # not bank code/number
        ("DE", "37040044", ""),
        ("DE", "370400441/0532013000", ""),  # a nine-digit German bank code does not exist
        ("de", "37040044/0532013000", ""),
        ("", "37040044/0532013000", ""),
    ],
)
def test_iban_of_national_account(country: str, text: str, iban: str) -> None:
    assert iban_of_national(country, text) == iban


def test_mt940_without_any_statement_is_refused() -> None:
    assert refused(b"hello\nworld\n", "mt940") == (
        "The file holds no MT940 statement: no line starts with :20:."
    )


# OFX


def test_ofx_statement() -> None:
    (statement,) = parse(sample("statement.ofx"), "ofx")

    assert statement.account == OWN
    assert statement.reference == ""
    assert (statement.start_date, statement.end_date) == (date(2026, 10, 1), date(2026, 10, 31))
    assert statement.closing_balance == Decimal("79299.42")  # LEDGERBAL
    assert statement.opening_balance == Decimal("48215.37")  # derived: OFX states none
    assert len(statement.lines) == 31
    first, rent = statement.lines[:2]
    assert first == ParsedLine(
        position=1,
        booking_date=date(2026, 10, 1),
        value_date=date(2026, 10, 1),
        amount=Decimal("12480.00"),
        currency="EUR",
        reference="RE-2026-10431 Lieferung Ersatzteile KW 39",
        counterparty_name="Müller Maschinenbau GmbH",  # Windows-1252 in the file
        counterparty_iban="DE12500105170648489890",  # from BANKACCTTO
        bank_reference="26100100000",  # FITID
        description="CREDIT",
    )
    assert rent.counterparty_name == "Immobilien Rheinpark GmbH & Co."  # NAME is 32 characters
    assert rent.amount == Decimal("-3250.00")
    fee = statement.lines[5]
    assert (fee.booking_date, fee.value_date, fee.amount) == (
        date(2026, 10, 5),
        date(2026, 9, 30),
        Decimal("-12.50"),
    )
    assert statement.lines[-1].reference == "RE-2026-10474"


def ofx(transactions: str, *, currency: str = "EUR", balance: str = "100.00") -> bytes:
    return (
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
        "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
        f"<OFX>\n<BANKMSGSRSV1>\n<STMTTRNRS>\n<STMTRS>\n<CURDEF>{currency}\n<BANKACCTFROM>\n"
        f"<BANKID>37040044\n<ACCTID>{OWN}\n<ACCTTYPE>CHECKING\n</BANKACCTFROM>\n<BANKTRANLIST>\n"
        f"<DTSTART>20261101\n<DTEND>20261130\n{transactions}</BANKTRANLIST>\n"
        f"<LEDGERBAL>\n<BALAMT>{balance}\n<DTASOF>20261130\n</LEDGERBAL>\n</STMTRS>\n"
        "</STMTTRNRS>\n</BANKMSGSRSV1>\n</OFX>\n"
    ).encode("cp1252")


def trn(amount: str, fitid: str, posted: str = "20261102") -> str:
    return (
        f"<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>{posted}\n<TRNAMT>{amount}\n<FITID>{fitid}\n"
        "<NAME>Büro Kaiser GmbH\n<MEMO>Rechnung 88-2026-1187\n</STMTTRN>\n"
    )


def test_ofx_booking_at_midnight_stays_on_its_day() -> None:
    (statement,) = parse(ofx(trn("-20.00", "A1", "20261102000000[+2:CEST]")), "ofx")

    assert statement.lines[0].booking_date == date(2026, 11, 2)  # ofxparse says 1 November, UTC
    assert statement.lines[0].counterparty_name == "Büro Kaiser GmbH"
    assert statement.opening_balance == Decimal("120.00")


def test_ofx_truncated_is_refused() -> None:
    message = refused(sample("statement_truncated.ofx"), "ofx")

    assert message == (
        "line 260: the file ends before </OFX>: it was cut off (an interrupted download?); "
        "download it again."
    )


def test_ofx_bad_amount_names_the_transaction_line() -> None:
    data = ofx(trn("-20.00", "A1") + trn("12,3X", "A2") + trn("-5.00", "A3"))

    message = refused(data, "ofx")

    assert message == (
        "line 32 (<STMTTRN>): the transaction cannot be read: Invalid Transaction Amount: '12,3X'."
    )


def test_ofx_in_another_currency_is_refused() -> None:
    message = refused(ofx(trn("-20.00", "A1"), currency="USD"), "ofx")

    assert (
        message
        == "line 14 (<STMTRS>) <CURDEF>: the amount is in USD, but the account is kept in EUR."
    )


def test_ofx_without_ofx_element_is_refused() -> None:
    assert refused(b"OFXHEADER:100\nnothing here\n", "ofx") == (
        "The file has no <OFX> element: it is not an OFX statement."
    )


# CAMT.053


def test_camt053_statement() -> None:
    (statement,) = parse(sample("statement_camt053.xml"), "camt053")

    assert statement.account == OWN
    assert statement.reference == "2026-10-0532013000-10"
    assert (statement.start_date, statement.end_date) == (date(2026, 10, 1), date(2026, 10, 31))
    assert (statement.opening_balance, statement.closing_balance) == (
        Decimal("48215.37"),
        Decimal("79299.42"),
    )
    assert len(statement.lines) == 31
    assert statement.lines[0] == ParsedLine(
        position=1,
        booking_date=date(2026, 10, 1),
        value_date=date(2026, 10, 1),
        amount=Decimal("12480.00"),
        currency="EUR",
        reference="RE-2026-10431 Lieferung Ersatzteile KW 39",
        counterparty_name="Müller Maschinenbau GmbH",  # the debtor of a credit
        counterparty_iban="DE12500105170648489890",
        bank_reference="26100100000",
        description="GUTSCHR. UEBERWEISUNG; End-to-end: MM-2026-0931-0044; "
        "Transaction code: NTRF+166+9310",
    )
    debit = statement.lines[2]
    assert (debit.amount, debit.counterparty_name, debit.counterparty_iban) == (
        Decimal("-189.90"),
        "Telekom Deutschland GmbH",  # the creditor of a debit
        "DE50380700590123456700",
    )
    assert "Mandate: TK-4711-0815" in debit.description


def test_camt053_without_amount_names_the_entry_line() -> None:
    assert refused(sample("statement_camt053_no_amt.xml"), "camt053") == (
        "line 85 (<Ntry> 3): the amount (<Amt>) is missing."
    )


def test_camt053_entity_bomb_is_refused_by_defusedxml() -> None:
    message = refused(sample("entity_bomb.xml"), "camt053")

    assert message.startswith("line 2: the file declares a DTD or XML entities.")


CAMT_V02 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
<BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-03T06:00:00</CreDtTm></GrpHdr>
<Stmt>
  <Id>STMT-2026-11-02</Id>
  <CreDtTm>2026-11-03T06:00:00</CreDtTm>
  <Acct><Id><IBAN>DE89 3704 0044 0532 0130 00</IBAN></Id><Ccy>EUR</Ccy></Acct>
  <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">150.00</Amt>
    <CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2026-11-02</Dt></Dt></Bal>
  <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1020.00</Amt>
    <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-02</Dt></Dt></Bal>
  <Ntry><Amt Ccy="EUR">1170.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-11-02</Dt></BookgDt><ValDt><Dt>2026-11-02</Dt></ValDt>
    <AcctSvcrRef>BATCH-77</AcctSvcrRef>
    <NtryDtls>
      <TxDtls><Refs><EndToEndId>E1</EndToEndId></Refs>
        <RltdPties><Dbtr><Nm>Bäckerei Weißgerber e.K.</Nm></Dbtr>
          <DbtrAcct><Id><IBAN>DE26370400440211223300</IBAN></Id></DbtrAcct></RltdPties>
        <RmtInf><Ustrd>RE-2026-10480</Ustrd></RmtInf></TxDtls>
      <TxDtls><Refs><EndToEndId>E2</EndToEndId></Refs>
        <RltdPties><Dbtr><Nm>Schneider &amp; Söhne KG</Nm></Dbtr>
          <DbtrAcct><Id><IBAN>DE65700202700015028345</IBAN></Id></DbtrAcct></RltdPties>
        <RmtInf><Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf>
      </TxDtls>
    </NtryDtls>
    <AddtlNtryInf>SAMMLER-GUTSCHRIFT</AddtlNtryInf></Ntry>
  <Ntry><Amt Ccy="EUR">99.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>PDNG</Sts>
    <BookgDt><Dt>2026-11-03</Dt></BookgDt></Ntry>
</Stmt></BkToCstmrStmt></Document>
"""


def test_camt053_version_02_batch_and_pending_entries() -> None:
    (statement,) = parse(CAMT_V02.encode(), "camt053")

    assert statement.account == OWN
    assert (statement.opening_balance, statement.closing_balance) == (
        Decimal("-150.00"),
        Decimal("1020.00"),
    )
    assert (statement.start_date, statement.end_date) == (date(2026, 11, 2), date(2026, 11, 2))
    (batch,) = statement.lines  # the pending entry is not booked, so not a line
    assert batch.amount == Decimal("1170.00")
    assert batch.reference == "RE-2026-10480 | RF18539007547034"
    assert (batch.counterparty_name, batch.counterparty_iban) == ("", "")  # two payers
    assert batch.bank_reference == "BATCH-77"
    assert batch.description == "SAMMLER-GUTSCHRIFT; Batch of 2 payments"


def _with_transaction_amounts(first: str, second: str, *, second_mark: str = "") -> bytes:
    """The version 02 batch with each transaction's amount given (``AmtDtls/TxAmt``)."""
    mark = f"<CdtDbtInd>{second_mark}</CdtDbtInd>" if second_mark else ""
    return (
        CAMT_V02.replace(
            "<TxDtls><Refs><EndToEndId>E1</EndToEndId></Refs>",
            "<TxDtls><Refs><EndToEndId>E1</EndToEndId><AcctSvcrRef>TX-1</AcctSvcrRef></Refs>"
            f'<AmtDtls><TxAmt><Amt Ccy="EUR">{first}</Amt></TxAmt></AmtDtls>',
        )
        .replace(
            "<TxDtls><Refs><EndToEndId>E2</EndToEndId></Refs>",
            f'<TxDtls><Refs><EndToEndId>E2</EndToEndId></Refs><Amt Ccy="EUR">{second}</Amt>{mark}',
        )
        .encode()
    )


def test_camt053_batch_with_transaction_amounts_becomes_a_line_per_payment() -> None:
    """A collective credit of two customer payments: each line matches its own invoice."""
    (statement,) = parse(_with_transaction_amounts("700.00", "470.00"), "camt053")

    first, second = statement.lines
    assert [line.position for line in statement.lines] == [1, 2]
    assert (first.amount, first.reference, first.counterparty_iban) == (
        Decimal("700.00"),
        "RE-2026-10480",
        "DE26370400440211223300",
    )
    assert (second.amount, second.reference, second.counterparty_name) == (
        Decimal("470.00"),
        "RF18539007547034",
        "Schneider & Söhne KG",
    )
    assert (first.bank_reference, second.bank_reference) == ("TX-1", "BATCH-77/2")
    assert first.booking_date == second.booking_date == date(2026, 11, 2)
    assert first.description == (
        "SAMMLER-GUTSCHRIFT; Payment 1 of 2 of batch BATCH-77; End-to-end: E1"
    )
    assert total(statement) == Decimal("1170.00")


def test_camt053_batch_part_marked_as_debit_is_money_out() -> None:
    """A transaction of the batch may carry its own debit mark (a payment returned in it)."""
    (statement,) = parse(
        _with_transaction_amounts("1300.00", "130.00", second_mark="DBIT"), "camt053"
    )

    assert [line.amount for line in statement.lines] == [Decimal("1300.00"), Decimal("-130.00")]


@pytest.mark.parametrize(
    ("first", "second", "mark"),
    [
        ("700.00", "470.01", ""),  # does not add up
        ("700.00", "", ""),  # one amount missing
        ("700.00", "470.00", "BOTH"),  # a mark that is neither credit nor debit
        ("1170.00", "0.00", ""),  # a part of nothing would be a line never to be matched
        ("700.00001", "469.99999", ""),  # parts finer than the books keep
    ],
)
def test_camt053_batch_whose_amounts_do_not_make_the_entry_stays_one_line(
    first: str, second: str, mark: str
) -> None:
    (statement,) = parse(_with_transaction_amounts(first, second, second_mark=mark), "camt053")

    (batch,) = statement.lines
    assert batch.amount == Decimal("1170.00") and "Batch of 2 payments" in batch.description


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("camt.053.001.02", "camt.054.001.02"), "line 2: the file is a camt.054 debit/credit "
         "notification, not a camt.053 end-of-day statement."),
        (('<Amt Ccy="EUR">1170.00', '<Amt Ccy="USD">1170.00'), "line 12 (<Amt>): the amount is "
         "in USD, but the account is kept in EUR."),
        (("1170.00</Amt>", "1.170,00</Amt>"), "line 12 (<Amt>): the amount '1.170,00' is not a "
         "number."),
        (("<Cd>CLBD</Cd>", "<Cd>ITBD</Cd>"), "line 4 (<Stmt> STMT-2026-11-02): the statement has "
         "no closing balance (<Bal> CLBD)."),
        (("1020.00", "1020.01"), "line 4 (<Stmt> STMT-2026-11-02): the opening balance -150.00 "
         "and the 1 lines (total 1170.00) make 1020.00, but the closing balance is 1020.01"),
        (("<BookgDt><Dt>2026-11-02</Dt></BookgDt>", ""), "line 12 (<Ntry> 1): the entry has no "
         "booking date (<BookgDt>)."),
        (('encoding="UTF-8"', 'encoding="U-F-8"'), "line 1: the XML cannot be decoded (unknown "
         "encoding: U-F-8)."),
        (("</Stmt>", "</Stmnt>"), "line 29, column 3: the XML is malformed (mismatched tag)."),
        (("<CdtDbtInd>CRDT</CdtDbtInd><Sts>", "<CdtDbtInd>CR</CdtDbtInd><Sts>"), "line 12 (<Ntry> "
         "1): the credit/debit indicator (<CdtDbtInd>) is 'CR', not CRDT or DBIT."),
    ],
)  # fmt: skip
def test_camt053_malformed_names_the_line(change: tuple[str, str], expected: str) -> None:
    message = refused(CAMT_V02.replace(*change).encode(), "camt053")

    assert message.startswith(expected)


def test_camt053_stating_another_number_of_entries_is_refused() -> None:
    data = sample("statement_camt053.xml").replace(
        b"<NbOfNtries>31</NbOfNtries>", b"<NbOfNtries>32</NbOfNtries>"
    )

    assert refused(data, "camt053") == (
        "line 8 (<Stmt> 2026-10-0532013000-10): the statement says it holds 32 entries "
        "(<NbOfNtries>), but 31 are in the file."
    )


def test_other_xml_is_not_a_statement() -> None:
    message = refused(b'<?xml version="1.0"?>\n<Invoice xmlns="urn:x"/>', "camt053")

    assert message == (
        "line 2: the XML document is '{urn:x}Invoice', not an ISO 20022 camt.053 bank statement."
    )


# Spreadsheets: a bank's CSV export


def test_sparkasse_csv_newest_first_is_read_oldest_first_with_its_balances() -> None:
    (statement,) = parse(sample("bank_sparkasse.csv"), "csv", SPARKASSE)

    assert statement.account == OWN
    assert statement.reference == ""
    assert (statement.start_date, statement.end_date) == (date(2026, 10, 1), date(2026, 10, 30))
    assert statement.opening_balance == Decimal("48215.37")  # first balance less its amount
    assert statement.closing_balance == Decimal("79299.42")
    assert len(statement.lines) == 31
    assert statement.lines[0] == ParsedLine(
        position=1,
        booking_date=date(2026, 10, 1),
        value_date=date(2026, 10, 1),
        amount=Decimal("12480.00"),
        currency="EUR",
        reference="RE-2026-10431 Lieferung Ersatzteile KW 39",
        counterparty_name="Müller Maschinenbau GmbH",  # Windows-1252, detected
        counterparty_iban="DE12500105170648489890",
        bank_reference="",
        description="GUTSCHR. UEBERWEISUNG",
    )
    last = statement.lines[-1]
    assert (last.position, last.amount, last.counterparty_name) == (
        31,
        Decimal("2142.00"),
        "Schneider & Söhne KG",
    )


def test_every_format_reads_the_same_bookings() -> None:
    mt940 = [line for s in parse(sample("statement.mt940"), "mt940") for line in s.lines]
    expected = essentials(mt940)

    assert essentials(parse(sample("statement.ofx"), "ofx")[0].lines) == expected
    assert essentials(parse(sample("statement_camt053.xml"), "camt053")[0].lines) == expected
    assert essentials(parse(sample("bank_sparkasse.csv"), "csv", SPARKASSE)[0].lines) == expected


def test_csv_bad_date_on_row_7() -> None:
    assert refused(sample("bank_bad_date.csv"), "csv", SPARKASSE) == (
        "row 7, column Buchungstag (B): '28.13.2026' is not a date written like 31.12.2026 "
        "(%d.%m.%Y)."
    )


def test_csv_in_windows_1252_read_as_utf_8_names_the_line() -> None:
    mapping = replace(SPARKASSE, encoding="utf-8")

    message = refused(sample("bank_sparkasse.csv"), "csv", mapping)

    assert message.startswith("Line 2 is not UTF-8 (also with a byte-order mark): byte 0xf6")


def test_csv_with_a_row_missing_breaks_the_running_balance() -> None:
    rows = sample("bank_sparkasse.csv").split(b"\r\n")
    del rows[10]

    message = refused(b"\r\n".join(rows), "csv", SPARKASSE)

    assert message == (
        "row 10, column Saldo nach Buchung (Q): the balance 81778.04 does not follow from the "
        "balance of row 11 and the amount 595.00 (that makes 84277.04); rows are missing, "
        "doubled or out of order."
    )


def bank_csv(*rows: str, header: str = "Datum;Betrag;Saldo;Name;IBAN") -> bytes:
    return "\n".join([header, *rows]).encode()


SIMPLE = MappingSpec(
    columns={
        "booking_date": "Datum",
        "amount": "Betrag",
        "balance": "Saldo",
        "counterparty_name": "Name",
        "counterparty_iban": "IBAN",
    },
    date_format="%d.%m.%Y",
    decimal_comma=True,
)


def test_csv_oldest_first_with_balances() -> None:
    data = bank_csv("01.11.2026;-10,00;90,00;A;", "02.11.2026;25,50;115,50;B;")

    (statement,) = parse(data, "csv", SIMPLE)

    assert (statement.opening_balance, statement.closing_balance) == (
        Decimal("100.00"),
        Decimal("115.50"),
    )
    assert [line.counterparty_name for line in statement.lines] == ["A", "B"]


def test_csv_without_balances_leaves_them_to_the_importer() -> None:
    mapping = MappingSpec(
        columns={"booking_date": "Datum", "amount": "Betrag"},
        date_format="%d.%m.%Y",
        decimal_comma=True,
    )
    data = bank_csv("03.11.2026;-1,00;;;", "02.11.2026;2,00;;;", "01.11.2026;3,00;;;")

    (statement,) = parse(data, "csv", mapping)

    assert (statement.opening_balance, statement.closing_balance) == (None, None)
    assert [line.amount for line in statement.lines] == [Decimal(3), Decimal(2), Decimal(-1)]
    assert [line.position for line in statement.lines] == [1, 2, 3]


def test_csv_remittance_over_several_columns_is_read_joined() -> None:
    """German exports spread the remittance over Verwendungszweck 1, 2, …: all are read."""
    mapping = MappingSpec(
        columns={
            "booking_date": "Datum",
            "amount": "Betrag",
            "reference": "Verwendungszweck 1 + Verwendungszweck 2 + Verwendungszweck 3",
        },
        date_format="%d.%m.%Y",
        decimal_comma=True,
    )
    data = bank_csv(
        "01.11.2026;-10,00;RE-2026-10480;Kunde 4711;",
        "02.11.2026;25,50;;Miete November;",
        header="Datum;Betrag;Verwendungszweck 1;Verwendungszweck 2;Verwendungszweck 3",
    )

    (statement,) = parse(data, "csv", mapping)

    assert [line.reference for line in statement.lines] == [
        "RE-2026-10480 Kunde 4711",
        "Miete November",
    ]


def test_csv_invalid_counterparty_iban_is_a_warning() -> None:
    data = bank_csv("01.11.2026;-10,00;90,00;A;DE89 3704 0044 0532 0130 01")

    (statement,) = parse(data, "csv", SIMPLE)

    line = statement.lines[0]
    assert (line.counterparty_iban, line.description) == (
        "",
        "Counterparty account: DE89370400440532013001",
    )
    assert line.warnings == (
        "row 2, column IBAN (E): 'DE89370400440532013001' is not a valid IBAN; it is kept in the "
        "description.",
    )


def test_csv_debit_and_credit_columns_and_an_indicator() -> None:
    split = MappingSpec(
        columns={"booking_date": "Date", "debit": "Money out", "credit": "Money in"},
        date_format="%d/%m/%Y",
    )
    data = b'Date,Money out,Money in\n01/11/2026,"1,250.00",\n02/11/2026,,99.5\n'
    (statement,) = parse(data, "csv", split)
    assert [line.amount for line in statement.lines] == [Decimal("-1250.00"), Decimal("99.5")]

    marked = MappingSpec(
        columns={"booking_date": "Datum", "amount": "Bedrag (EUR)", "debit_credit": "Af Bij"},
        date_format="%Y%m%d",
        decimal_comma=True,
    )
    data = b'Datum,Bedrag (EUR),Af Bij\n20261101,"12,50",Af\n20261102,"7,00",Bij\n'
    (statement,) = parse(data, "csv", marked)
    assert [line.amount for line in statement.lines] == [Decimal("-12.50"), Decimal("7.00")]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (["01.11.2026;12.50;;A;"], "row 2, column Betrag (B): '12.50' is not an amount written "
         "like 1.234,56 (the mapping says the decimal mark is a comma)."),
        (["01.11.2026;;;A;"], "row 2, column Betrag (B): the amount is missing."),
        (["01.11.2026;10,00 USD;;A;"], "row 2, column Betrag (B): '10,00 USD' is in USD, but the "
         "account is kept in EUR."),
        (["2026-11-01;10,00;;A;"], "row 2, column Datum (A): '2026-11-01' is not a date written "
         "like 31.12.2026 (%d.%m.%Y)."),
        (["01.11.2026;1,00;;A;", "", "02.11.2026;x;;B;"], "row 4, column Betrag (B): 'x' is not an "
         "amount written like 1.234,56."),
    ],
)  # fmt: skip
def test_csv_bad_cells_name_row_and_column(rows: list[str], expected: str) -> None:
    assert refused(bank_csv(*rows), "csv", SIMPLE) == expected


def test_csv_rows_of_two_accounts_are_refused() -> None:
    mapping = MappingSpec(columns={**SIMPLE.columns, "account": "Konto"}, date_format="%d.%m.%Y")
    data = bank_csv(
        f"01.11.2026;1;;A;;{OWN}", "02.11.2026;1;;A;;DE12500105170648489890",
        header="Datum;Betrag;Saldo;Name;IBAN;Konto",
    )  # fmt: skip

    assert refused(data, "csv", mapping) == (
        "row 3, column Konto (F): the account DE12500105170648489890 is not the account "
        f"{OWN} of row 2; a file holds the statement of one account."
    )


def test_csv_currency_column_other_than_the_account() -> None:
    mapping = MappingSpec(
        columns={"booking_date": "Datum", "amount": "Betrag", "currency": "Währung"}
    )
    data = "Datum;Betrag;Währung\n2026-11-01;1.00;EUR\n2026-11-02;2.00;CHF\n".encode()

    assert refused(data, "csv", mapping) == (
        "row 3, column Währung (C): the amount is in CHF, but the account is kept in EUR."
    )


def test_unreadable_csv_files() -> None:
    assert refused(sample("empty.csv"), "csv", SIMPLE) == "The file is empty."
    assert refused(sample("binary.csv"), "csv", SIMPLE) == (
        "line 3: the file holds NUL bytes, so it is not a CSV text file but binary data named "
        "'upload.csv' (or UTF-16 text without its byte-order mark)."
    )
    assert refused(b"Datum;Betrag\n", "csv", SIMPLE).startswith(
        "The column mapping does not fit this file: Balance: the file has no column 'Saldo'"
    )
    assert refused(b"Datum;Betrag\n", "csv", None) == (
        "A CSV or XLSX statement is read with the column mapping of its bank; set one up."
    )


def test_xlsx_statement() -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Buchungstag", "Betrag", "Verwendungszweck"])
    sheet.append([date(2026, 11, 2), -0.1 - 0.2, "Rundung"])
    sheet.append([date(2026, 11, 3), 1500, "RE-2026-10490"])
    buffer = io.BytesIO()
    book.save(buffer)
    mapping = MappingSpec(
        columns={"booking_date": "Buchungstag", "amount": "Betrag", "reference": "Verwendungszweck"}
    )

    (statement,) = parse(buffer.getvalue(), "xlsx", mapping)

    assert [line.amount for line in statement.lines] == [Decimal("-0.30"), Decimal(1500)]


# Ledgers


def test_ledger_csv() -> None:
    entries = parsers.parse_ledger(
        SAMPLES / "ledger.csv", filename="ledger.csv", mapping=LEDGER_CSV, currency="EUR"
    )

    assert len(entries) == 30
    assert entries[0] == parsers.ParsedEntry(
        row=2,
        external_id="BU-2026-004711",
        entry_date=date(2026, 9, 29),
        amount=Decimal("12480.00"),
        currency="EUR",
        document_number="RE-2026-10431",
        reference="RE-2026-10431",
        counterparty_name="Müller Maschinenbau GmbH",
        counterparty_iban="DE12500105170648489890",
        description="Zahlungseingang Ersatzteile",
    )
    assert (entries[-1].row, entries[-1].external_id, entries[-1].amount) == (
        31,
        "BU-2026-004740",
        Decimal("1785.00"),
    )
    assert sum((e.amount for e in entries), Decimal(0)) == Decimal(
        "30727.05"
    )  # one payment still open


def test_ledger_xlsx_debit_is_money_into_the_bank_account() -> None:
    entries = parsers.parse_ledger(
        SAMPLES / "ledger.xlsx", filename="ledger.xlsx", mapping=LEDGER_XLSX, currency="EUR"
    )

    csv_entries = parsers.parse_ledger(
        SAMPLES / "ledger.csv", filename="ledger.csv", mapping=LEDGER_CSV, currency="EUR"
    )
    assert [(e.row, e.external_id, e.entry_date, e.amount) for e in entries] == [
        (e.row, e.external_id, e.entry_date, e.amount) for e in csv_entries
    ]
    assert entries[1].amount == Decimal("-3250.00")  # Haben: money out
    assert entries[0].amount == Decimal("12480.00")  # Soll: money in


def test_ledger_xlsx_text_in_the_amount_column() -> None:
    with pytest.raises(ParseError) as caught:
        parsers.parse_ledger(
            SAMPLES / "ledger_bad_amount.xlsx",
            filename="ledger.xlsx",
            mapping=LEDGER_XLSX,
            currency="EUR",
        )

    assert str(caught.value) == (
        "row 6, column Haben (E): '1.785,OO' is not an amount written like 1,234.56."
    )


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (["E1,2026-11-02,10.00", "E1,2026-11-03,5.00"], "row 3, column Entry (A): the entry id "
         "'E1' is already on row 2."),
        (["E1,,10.00"], "row 2, column Date (B): the date is missing."),
        (["E1,02.11.2026,10.00"], "row 2, column Date (B): '02.11.2026' is not a date written "
         "like 2026-12-31 (YYYY-MM-DD); if the file writes dates otherwise, set the mapping's "
         "date format."),
        (["E1,2026-11-02,\"10,00\""], "row 2, column Amount (C): '10,00' is not an amount written "
         "like 1,234.56 (is the decimal mark a comma? Say so in the mapping)."),
        ([], "The file holds no entries below its header row."),
    ],
)  # fmt: skip
def test_ledger_bad_rows(tmp_path: Path, rows: list[str], expected: str) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text("\n".join(["Entry,Date,Amount", *rows]) + "\n", encoding="utf-8")
    mapping = MappingSpec(
        columns={"external_id": "Entry", "entry_date": "Date", "amount": "Amount"}
    )

    with pytest.raises(ParseError) as caught:
        parsers.parse_ledger(path, filename="ledger.csv", mapping=mapping, currency="EUR")

    assert str(caught.value) == expected


# Formats and mappings


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("statement.ofx", "ofx"),
        ("statement.mt940", "mt940"),
        ("statement_camt053.xml", "camt053"),
        ("bank_sparkasse.csv", "csv"),
        ("ledger.xlsx", "xlsx"),
        ("entity_bomb.xml", "camt053"),
    ],
)
def test_detect_format_from_the_first_kilobytes(name: str, expected: str) -> None:
    assert parsers.detect_format(sample(name)[:4096], "upload.bin") == expected


def test_detect_format_by_name_when_the_content_does_not_say() -> None:
    assert parsers.detect_format(b"a;b\n1;2\n", "export.CSV") == "csv"
    assert parsers.detect_format(b"a;b\n1;2\n", "umsaetze.sta") == "mt940"
    assert parsers.detect_format(b"<x/>", "statement.xml") == "camt053"
    assert parsers.detect_format(b"a;b\n1;2\n", "export") == "csv"
    assert parsers.detect_format(sample("ledger.xlsx"), "ledger.csv") == "xlsx"  # content first
    with pytest.raises(ParseError, match="empty"):
        parsers.detect_format(b"  \n", "x.csv")
    with pytest.raises(ParseError, match="not a statement OpenBPO reads"):
        parsers.detect_format(b"\x00\x01\x02garbage", "photo.jpg")


def test_propose_mapping_for_the_sparkasse_export() -> None:
    headers, rows = parsers.read_sample(
        sample("bank_sparkasse.csv"), filename="bank_sparkasse.csv", limit=10
    )

    proposed = parsers.propose_mapping(headers, "bank", rows)

    assert proposed == SPARKASSE
    assert parsers.mapping_problems(proposed, "bank", headers) == []


@pytest.mark.parametrize(
    ("headers", "kind", "expected"),
    [
        ("Bezeichnung Auftragskonto;IBAN Auftragskonto;BIC Auftragskonto;Buchungstag;Valutadatum;"
         "Name Zahlungsbeteiligter;IBAN Zahlungsbeteiligter;Buchungstext;Verwendungszweck;Betrag;"
         "Waehrung;Saldo nach Buchung;Glaeubiger ID;Mandatsreferenz", "bank",
         {"booking_date": "Buchungstag", "value_date": "Valutadatum", "amount": "Betrag",
          "currency": "Waehrung", "reference": "Verwendungszweck",
          "counterparty_name": "Name Zahlungsbeteiligter",
          "counterparty_iban": "IBAN Zahlungsbeteiligter", "description": "Buchungstext",
          "balance": "Saldo nach Buchung", "account": "IBAN Auftragskonto"}),
        ("Datum;Naam / Omschrijving;Rekening;Tegenrekening;Code;Af Bij;Bedrag (EUR);Mutatiesoort;"
         "Mededelingen;Saldo na mutatie", "bank",
         {"booking_date": "Datum", "amount": "Bedrag (EUR)", "debit_credit": "Af Bij",
          "reference": "Mededelingen", "counterparty_name": "Naam / Omschrijving",
          "counterparty_iban": "Tegenrekening", "description": "Mutatiesoort",
          "balance": "Saldo na mutatie", "account": "Rekening"}),
        ("Buchungstag;Wertstellung;Soll;Haben;Umsatzart;Buchungsdetails;Auftraggeber", "bank",
         {"booking_date": "Buchungstag", "value_date": "Wertstellung", "debit": "Soll",
          "credit": "Haben", "reference": "Buchungsdetails", "counterparty_name": "Auftraggeber",
          "description": "Umsatzart"}),
        ("Umsatz (ohne Soll/Haben-Kz);Soll/Haben-Kennzeichen;WKZ Umsatz;Konto;"
         "Gegenkonto (ohne BU-Schlüssel);Belegdatum;Belegfeld 1;Buchungstext", "ledger",
         {"entry_date": "Belegdatum", "amount": "Umsatz (ohne Soll/Haben-Kz)",
          "debit_credit": "Soll/Haben-Kennzeichen", "document_number": "Belegfeld 1",
          "description": "Buchungstext"}),
        ("Datum;Beleg;Text;Einnahmen;Ausgaben;Bestand", "ledger",
         {"entry_date": "Datum", "debit": "Einnahmen", "credit": "Ausgaben",
          "document_number": "Beleg", "description": "Text"}),
    ],
)  # fmt: skip
def test_propose_mapping_for_common_exports(headers: str, kind: str, expected: dict) -> None:
    assert parsers.propose_mapping(headers.split(";"), kind).columns == expected


def test_propose_mapping_joins_a_numbered_remittance_series() -> None:
    headers = [
        "Buchungstag", "Betrag", "Verwendungszweck 1", "Verwendungszweck 2",
        "Verwendungszweck 3", "Saldo 2026",
    ]  # fmt: skip

    proposal = parsers.propose_mapping(headers, "bank")

    assert proposal.columns["reference"] == (
        "Verwendungszweck 1 + Verwendungszweck 2 + Verwendungszweck 3"
    )
    assert header_series(["VWZ", "VWZ2", "VWZ3", "Konto 7", "Saldo 2026"]) == {
        "VWZ": "VWZ + VWZ2 + VWZ3"
    }
    assert header_series(["Text 1", "Text 3"]) == {}  # no run: 2 is missing


def test_propose_mapping_guesses_formats_from_samples() -> None:
    headers = ["Date", "Amount"]

    us = parsers.propose_mapping(headers, "ledger", [["10/31/2026", "1,234.50"]])
    de = parsers.propose_mapping(headers, "ledger", [["31.10.26", "-1.234,50"], ["", "7,5"]])
    iso = parsers.propose_mapping(headers, "ledger", [["2026-10-31", "12.00"]])

    assert (us.date_format, us.decimal_comma) == ("%m/%d/%Y", False)
    assert (de.date_format, de.decimal_comma) == ("%d.%m.%y", True)
    assert (iso.date_format, iso.decimal_comma) == ("", False)


def test_mapping_problems() -> None:
    spec = MappingSpec(
        columns={"date": "Datum", "debit": "Soll", "reference": "Zweck"},
        date_format="%d.%m",
        encoding="ebcdic",
    )

    problems = parsers.mapping_problems(spec, "bank", ["Datum", "Soll", "Haben"])

    assert problems == [
        "'date' is not a field of a bank mapping; the fields are booking_date, value_date, "
        "amount, debit, credit, debit_credit, currency, reference, counterparty_name, "
        "counterparty_iban, bank_reference, description, balance, account.",
        "Map a column to Booking date: it is required.",
        "Debit is mapped but Credit is not: map both, or Amount instead.",
        "The date format '%d.%m' does not read back the date it writes: use strftime codes for "
        "day, month and year, such as %d.%m.%Y.",
        "'ebcdic' is not an encoding OpenBPO reads: utf-8, utf-16, cp1252, iso-8859-1, "
        "iso-8859-15, cp1250, mac_roman.",
        "Reference: the file has no column 'Zweck'; its columns are 'Datum', 'Soll', 'Haben'.",
    ]
    joined = MappingSpec(
        columns={
            "booking_date": "Datum",
            "amount": "Soll + Haben",
            "reference": "Zweck 1 + Zweck 2",
        },
    )
    assert parsers.mapping_problems(joined, "bank", ["Datum", "Soll", "Haben", "Zweck 1"]) == [
        "Amount: only a text field (Reference, Counterparty, Description) can join several "
        "columns with '+'; this one reads one column.",
        "Reference: the file has no column 'Zweck 2'; its columns are 'Datum', 'Soll', "
        "'Haben', 'Zweck 1'.",
    ]
    # a header that itself holds " + " is that one column, not two
    plus = MappingSpec(columns={"booking_date": "Datum", "amount": "Soll + Haben"})
    assert parsers.mapping_problems(plus, "bank", ["Datum", "Soll + Haben"]) == []
    assert headers_of("Zweck 1 + Zweck 1 + Zweck 2") == ["Zweck 1", "Zweck 2"]
    assert parsers.mapping_problems(MappingSpec(columns={}), "ledger") == [
        "Map a column to Entry date: it is required.",
        "Map a column to Amount, or one to Debit and one to Credit.",
    ]
    assert parsers.mapping_problems(MappingSpec(columns={}), "cash") == [
        "'cash' is not a kind of mapping: bank or ledger."
    ]
    assert set(parsers.REQUIRED_BANK) <= set(parsers.BANK_FIELDS)
    assert set(parsers.REQUIRED_LEDGER) <= set(parsers.LEDGER_FIELDS)


# Amounts written as text


def written(amount: Decimal, *, decimal_comma: bool, grouped: bool, sign: str) -> str:
    text = f"{abs(amount):,.2f}" if grouped else f"{abs(amount):.2f}"
    if decimal_comma:
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    if amount >= 0:
        return {"lead": f"+{text}", "trail": text, "paren": text}[sign]
    return {"lead": f"-{text}", "trail": f"{text}-", "paren": f"({text})"}[sign]


@given(
    amount=st.decimals(
        min_value=Decimal("-99999999999.99"),
        max_value=Decimal("99999999999.99"),
        places=2,
        allow_nan=False,
        allow_infinity=False,
    ),
    decimal_comma=st.booleans(),
    grouped=st.booleans(),
    sign=st.sampled_from(["lead", "trail", "paren"]),
)
def test_amounts_read_back_as_written(
    amount: Decimal, decimal_comma: bool, grouped: bool, sign: str
) -> None:
    text = written(amount, decimal_comma=decimal_comma, grouped=grouped, sign=sign)

    assert parsers.parse_amount(text, decimal_comma=decimal_comma) == amount


@given(
    amount=st.decimals(min_value=Decimal("1000.01"), max_value=Decimal("999999.99"), places=2),
    decimal_comma=st.booleans(),
)
def test_amounts_with_the_other_decimal_mark_are_refused(
    amount: Decimal, decimal_comma: bool
) -> None:
    text = written(amount, decimal_comma=not decimal_comma, grouped=True, sign="lead")

    with pytest.raises(ValueError, match="is not an amount written like"):
        parsers.parse_amount(text, decimal_comma=decimal_comma)


# Whatever arrives, a parser answers with statements or a ParseError, never another exception.

STATEMENT_SAMPLES = [
    ("statement.mt940", "mt940", None),
    ("statement.ofx", "ofx", None),
    ("statement_camt053.xml", "camt053", None),
    ("bank_sparkasse.csv", "csv", SPARKASSE),
]


@pytest.mark.parametrize(("name", "fmt", "mapping"), STATEMENT_SAMPLES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_files_are_read_or_refused(
    name: str, fmt: str, mapping: MappingSpec | None, data: st.DataObject
) -> None:
    original = sample(name)
    cut = data.draw(st.integers(min_value=0, max_value=len(original)), label="cut")
    where = data.draw(st.integers(min_value=0, max_value=len(original) - 1), label="where")
    byte = data.draw(st.integers(min_value=0, max_value=255), label="byte")
    damaged = (original[:where] + bytes([byte]) + original[where + 1 :])[:cut]

    try:
        statements = parse(damaged, fmt, mapping)
    except ParseError as exc:
        assert str(exc)
    else:
        for statement in statements:
            assert statement.start_date <= statement.end_date
            if statement.opening_balance is not None and statement.closing_balance is not None:
                assert statement.opening_balance + total(statement) == statement.closing_balance


@pytest.mark.parametrize(("name", "fmt", "mapping"), STATEMENT_SAMPLES)
def test_empty_and_binary_files_are_refused_in_every_format(
    name: str, fmt: str, mapping: MappingSpec | None
) -> None:
    assert refused(b"", fmt, mapping) == "The file is empty."
    assert refused(sample("binary.csv"), fmt, mapping)
    assert refused(sample("ledger.xlsx"), fmt, mapping)
