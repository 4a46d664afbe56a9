"""Writes the statement and ledger samples of the parser tests from one month of bookings.

Run it from the repository root (``.venv/bin/python bpo/finance/tests/samples/make_samples.py``)
after changing the bookings below; the files it writes are committed, and the tests assert the
values they hold, so a change here shows up there. The client is Rheinland Feinmechanik GmbH,
Cologne, with its operating account DE89370400440532013000 at Commerzbank, in EUR, October 2026.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

HERE = Path(__file__).parent
OWN_IBAN = "DE89370400440532013000"
OWN_BIC = "COBADEFFXXX"
OPENING = Decimal("48215.37")  # closing balance of 30 September 2026


@dataclass(frozen=True)
class Booking:
    """One booking on the account, as each format writes it."""

    day: int  # booking day in October 2026
    value_day: int  # 0: 30 September
    amount: Decimal  # money in positive
    name: str
    iban: str
    bic: str
    purpose: str  # remittance information
    posting: str  # the bank's booking text
    gvc: str  # German business transaction code of MT940 :86:
    e2e: str = "NOTPROVIDED"
    mandate: str = ""
    creditor_id: str = ""

    @property
    def booked(self) -> date:
        """The booking date."""
        return date(2026, 10, self.day)

    @property
    def valued(self) -> date:
        """The value date."""
        return date(2026, 9, 30) + timedelta(days=self.value_day)


def d(text: str) -> Decimal:
    """A decimal from its text."""
    return Decimal(text)


BOOKINGS = [
    Booking(1, 1, d("12480.00"), "Müller Maschinenbau GmbH", "DE12500105170648489890",
            "INGDDEFFXXX", "RE-2026-10431 Lieferung Ersatzteile KW 39", "GUTSCHR. UEBERWEISUNG",
            "166", "MM-2026-0931-0044"),
    Booking(1, 1, d("-3250.00"), "Immobilien Rheinpark GmbH & Co. KG", "DE75370501981901234567",
            "COLSDE33XXX", "Miete Oktober 2026 Lager Koeln-Porz", "DAUERAUFTRAG", "152",
            "DA-2026-10-01-003"),
    Booking(2, 2, d("-189.90"), "Telekom Deutschland GmbH", "DE50380700590123456700",
            "DEUTDEDK380", "Rechnung 09/2026 Kundennr. 4711081512", "FOLGELASTSCHRIFT", "105",
            "TDG-2609-4711081512", "TK-4711-0815", "DE93ZZZ00000078611"),
    Booking(2, 2, d("4760.00"), "Van der Meer Logistiek B.V.", "NL91ABNA0417164300",
            "ABNANL2A", "RE-2026-10435", "GUTSCHR. UEBERWEISUNG", "166", "VDM20261002-118"),
    Booking(5, 5, d("-1785.00"), "Jansen Installatietechniek B.V.", "NL44RABO0123456789",
            "RABONL2U", "INV 88231", "ONLINE-UEBERWEISUNG", "177", "ZV-2026-10-05-001"),
    Booking(5, 0, d("-12.50"), "", "", "", "Kontofuehrung 09/2026", "ENTGELTABSCHLUSS", "805"),
    Booking(6, 6, d("2380.00"), "Schneider & Söhne KG", "DE65700202700015028345", "HYVEDEMMXXX",
            "RE-2026-10398", "GUTSCHR. UEBERWEISUNG", "166"),
    Booking(6, 6, d("1190.00"), "Schneider & Söhne KG", "DE65700202700015028345", "HYVEDEMMXXX",
            "RE-2026-10402 Teilzahlung", "GUTSCHR. UEBERWEISUNG", "166"),
    Booking(7, 7, d("-8432.17"), "Finanzamt Köln-Mitte", "DE70370000000038001500", "MARKDEF1370",
            "StNr 214/5734/0815 UStVA 09.2026", "ONLINE-UEBERWEISUNG", "177",
            "ZV-2026-10-07-001"),
    Booking(8, 8, d("6545.00"), "De Vries Handelsonderneming", "NL20INGB0001234567", "INGBNL2A",
            "Factuur RE-2026-10412", "GUTSCHR. UEBERWEISUNG", "166", "DVH-0000311"),
    Booking(9, 9, d("-2145.60"), "AOK Rheinland/Hamburg", "DE71300501100012345678",
            "DUSSDEDDXXX", "Beitrag 10/2026 BNR 12345678", "FOLGELASTSCHRIFT", "105",
            "AOK-2610-12345678", "AOK-BNR-12345678", "DE52ZZZ00000026112"),
    Booking(12, 12, d("980.00"), "Bäckerei Weißgerber e.K.", "DE26370400440211223300",
            "COBADEFFXXX", "RE-2026-10420", "GUTSCHR. UEBERWEISUNG", "166"),
    Booking(12, 12, d("-459.00"), "Allianz Versicherungs-AG", "DE62500400000591234500",
            "COBADEFFXXX", "Vers.-Nr. AS-7731-0923 Betriebshaftpflicht", "FOLGELASTSCHRIFT",
            "105", "AZ-7731-0923-1026", "AS-7731-0923", "DE43ZZZ00000012345"),
    Booking(13, 13, d("15000.00"), "Müller Maschinenbau GmbH", "DE12500105170648489890",
            "INGDDEFFXXX", "RE-2026-10444 Anzahlung", "GUTSCHR. UEBERWEISUNG", "166",
            "MM-2026-1013-0051"),
    Booking(14, 14, d("-7820.40"), "Stahlhandel Krefeld GmbH", "DE21370100500098765432",
            "PBNKDEFFXXX", "Rechnung 2026-4471 Kd-Nr. 30912", "ONLINE-UEBERWEISUNG", "177",
            "ZV-2026-10-14-002"),
    Booking(15, 15, d("-64.26"), "RheinEnergie AG", "DE89370502990000123456", "COKSDE33XXX",
            "Abschlag Strom 10/2026 VK 700123456", "FOLGELASTSCHRIFT", "105",
            "RE-AB-2610-700123456", "VK700123456", "DE11ZZZ00000044556"),
    Booking(16, 16, d("3570.00"), "Van der Meer Logistiek B.V.", "NL91ABNA0417164300",
            "ABNANL2A", "RE-2026-10451", "GUTSCHR. UEBERWEISUNG", "166", "VDM20261016-131"),
    Booking(19, 19, d("-1249.50"), "Jansen Installatietechniek B.V.", "NL44RABO0123456789",
            "RABONL2U", "INV 88302", "ONLINE-UEBERWEISUNG", "177", "ZV-2026-10-19-001"),
    Booking(19, 19, d("2975.00"), "Schneider & Söhne KG", "DE65700202700015028345",
            "HYVEDEMMXXX", "RE-2026-10455", "GUTSCHR. UEBERWEISUNG", "166"),
    Booking(20, 20, d("-310.00"), "Bundeskasse Kiel", "DE61300209001020304050", "CMCIDEDDXXX",
            "Kfz-Steuer K-FM 2026 Kassenzeichen 5402.1234.5678", "ONLINE-UEBERWEISUNG", "177",
            "ZV-2026-10-20-001"),
    Booking(21, 21, d("11305.00"), "Müller Maschinenbau GmbH", "DE12500105170648489890",
            "INGDDEFFXXX", "RE-2026-10460", "GUTSCHR. UEBERWEISUNG", "166", "MM-2026-1021-0058"),
    Booking(22, 22, d("-2499.00"), "Büro Kaiser GmbH", "DE37600501010004455667", "SOLADEST600",
            "Rechnung 88-2026-1187", "ONLINE-UEBERWEISUNG", "177", "ZV-2026-10-22-001"),
    Booking(23, 23, d("595.00"), "Bäckerei Weißgerber e.K.", "DE26370400440211223300",
            "COBADEFFXXX", "RE-2026-10463", "GUTSCHR. UEBERWEISUNG", "166"),
    Booking(26, 26, d("-1800.00"), "Immobilien Rheinpark GmbH & Co. KG", "DE75370501981901234567",
            "COLSDE33XXX", "Nebenkosten Q3/2026 Lager Koeln-Porz", "ONLINE-UEBERWEISUNG", "177",
            "ZV-2026-10-26-001"),
    Booking(27, 27, d("8092.00"), "De Vries Handelsonderneming", "NL20INGB0001234567",
            "INGBNL2A", "Factuur RE-2026-10470 RE-2026-10471", "GUTSCHR. UEBERWEISUNG", "166",
            "DVH-0000327"),
    Booking(28, 28, d("-349.00"), "DATEV eG", "DE78700202700660012345", "HYVEDEMMXXX",
            "Lizenzen 10/2026 Berater 12345 Mandant 678", "FOLGELASTSCHRIFT", "105",
            "DATEV-2610-12345678", "M-12345-678", "DE21ZZZ00000011122"),
    Booking(29, 29, d("-3412.86"), "Anna Schmidt", "DE31660200200004443332", "SOLADEST663",
            "Lohn/Gehalt 10/2026 PersNr 1043", "LOHN GEHALT", "153", "LG-2026-10-1043"),
    Booking(29, 29, d("-2987.41"), "Jürgen Weiß", "DE31200411110312345600", "COBADEHDXXX",
            "Lohn/Gehalt 10/2026 PersNr 1057", "LOHN GEHALT", "153", "LG-2026-10-1057"),
    Booking(29, 29, d("-4120.55"), "Techniker Krankenkasse", "DE37600501010004455667",
            "SOLADEST600", "Beitragsnachweis 10/2026 BNR 87654321", "FOLGELASTSCHRIFT", "105",
            "TK-2610-87654321", "TK-BNR-87654321", "DE66ZZZ00000033344"),
    Booking(30, 30, d("-42.80"), "", "", "", "Entgelte Zahlungsverkehr 10/2026",
            "ENTGELTABSCHLUSS", "805"),
    Booking(30, 30, d("2142.00"), "Schneider & Söhne KG", "DE65700202700015028345",
            "HYVEDEMMXXX", "RE-2026-10474", "GUTSCHR. UEBERWEISUNG", "166"),
]  # fmt: skip

SPLIT_DAY = 15  # the MT940 file holds two statements: 1–15 and 16–31 October


def de(amount: Decimal) -> str:
    """An amount written the German way, 1.234,56."""
    text = f"{amount:,.2f}"
    return text.replace(",", "X").replace(".", ",").replace("X", ".")


def bank_ref(b: Booking, index: int) -> str:
    """The bank's own reference of a booking."""
    return f"2610{b.day:02d}{index:05d}"


def balances() -> list[Decimal]:
    """The running balance after each booking."""
    out, balance = [], OPENING
    for b in BOOKINGS:
        balance += b.amount
        out.append(balance)
    return out


def write_sparkasse_csv() -> None:
    """Sparkasse CSV-CAMT export with a balance column: ';', cp1252, newest booking first."""
    header = [
        "Auftragskonto", "Buchungstag", "Valutadatum", "Buchungstext", "Verwendungszweck",
        "Glaeubiger ID", "Mandatsreferenz", "Kundenreferenz (End-to-End)", "Sammlerreferenz",
        "Lastschrift Ursprungsbetrag", "Auslagenersatz Ruecklastschrift",
        "Beguenstigter/Zahlungspflichtiger", "Kontonummer/IBAN", "BIC (SWIFT-Code)", "Betrag",
        "Waehrung", "Saldo nach Buchung", "Info",
    ]  # fmt: skip
    rows = [header]
    for b, balance in zip(BOOKINGS, balances(), strict=True):
        rows.append([
            OWN_IBAN, f"{b.booked:%d.%m.%Y}", f"{b.valued:%d.%m.%Y}", b.posting, b.purpose,
            b.creditor_id, b.mandate, b.e2e, "", "", "", b.name, b.iban, b.bic, de(b.amount),
            "EUR", de(balance), "Umsatz gebucht",
        ])  # fmt: skip
    rows[1:] = reversed(rows[1:])
    text = "".join(";".join(f'"{cell}"' for cell in row) + "\r\n" for row in rows)
    (HERE / "bank_sparkasse.csv").write_bytes(text.encode("cp1252"))
    # The same export with a date mistyped on row 7 (the sixth booking listed).
    lines = text.split("\r\n")
    lines[6] = lines[6].replace('"28.10.2026"', '"28.13.2026"', 1)
    (HERE / "bank_bad_date.csv").write_bytes("\r\n".join(lines).encode("cp1252"))


def swift_86(b: Booking, index: int) -> list[str]:
    """The structured German :86: of a booking, wrapped into lines of at most 65 characters."""
    parts = [f"{b.gvc}?00{b.posting}?10{9310 + index % 7}"]
    purpose = ""
    if b.e2e != "NOTPROVIDED" or b.gvc in ("166", "177", "105", "152", "153"):
        purpose += f"EREF+{b.e2e}"
    if b.mandate:
        purpose += f"MREF+{b.mandate}CRED+{b.creditor_id}"
    purpose += f"SVWZ+{b.purpose}" if b.gvc != "805" else b.purpose
    chunks = [purpose[i : i + 27] for i in range(0, len(purpose), 27)]
    parts += [f"?{20 + n}{chunk}" for n, chunk in enumerate(chunks)]
    if b.iban:
        name = b.name
        parts += [f"?30{b.bic}", f"?31{b.iban}", f"?32{name[:27]}"]
        if len(name) > 27:
            parts.append(f"?33{name[27:54]}")
    parts.append("?34000" if b.gvc != "805" else "?34997")
    text = "".join(parts)
    return [text[i : i + 65] for i in range(0, len(text), 65)]


def write_mt940() -> None:
    """Two MT940 statements (1–15 and 16–31 October 2026), balances continuous, ISO-8859-1."""
    first = [b for b in BOOKINGS if b.day <= SPLIT_DAY]
    second = [b for b in BOOKINGS if b.day > SPLIT_DAY]
    out = []
    balance = OPENING
    opening_day = date(2026, 9, 30)
    for number, group, closing_day in (
        (10, first, date(2026, 10, SPLIT_DAY)),
        (11, second, date(2026, 10, 31)),
    ):
        closing = balance + sum((b.amount for b in group), Decimal(0))
        out += [
            ":20:STARTUMSE",
            f":25:{OWN_IBAN}",
            f":28C:{number:05d}/001",
            f":60F:C{opening_day:%y%m%d}EUR{str(balance).replace('.', ',')}",
        ]
        for b in group:
            index = BOOKINGS.index(b)
            mark = "C" if b.amount > 0 else "D"
            amount = str(abs(b.amount)).replace(".", ",")
            kind = {"805": "NCHG", "105": "NDDT"}.get(b.gvc, "NTRF")
            customer = b.e2e[:16] if b.e2e != "NOTPROVIDED" else "NONREF"
            out.append(
                f":61:{b.valued:%y%m%d}{b.booked:%m%d}{mark}R{amount}{kind}{customer}"
                f"//{bank_ref(b, index)}"
            )
            out += [f":86:{line}" if n == 0 else line for n, line in enumerate(swift_86(b, index))]
        out += [f":62F:C{closing_day:%y%m%d}EUR{str(closing).replace('.', ',')}", "-"]
        balance, opening_day = closing, closing_day
    text = "\r\n".join(out) + "\r\n"
    (HERE / "statement.mt940").write_bytes(text.encode("iso-8859-1"))
    # The same file with the amount of its fourth line mistyped.
    broken = text.replace(":61:2610021002CR4760,00NTRF", ":61:2610021002CR4760,0XNTRF", 1)
    assert broken != text
    (HERE / "statement_bad61.mt940").write_bytes(broken.encode("iso-8859-1"))


def write_camt053() -> None:
    """One CAMT.053.001.08 statement of October 2026 as a German bank delivers it (UTF-8)."""
    closing = balances()[-1]
    entries = []
    for index, b in enumerate(BOOKINGS):
        credit = b.amount > 0
        party = ""
        if b.iban:
            role, account = ("Dbtr", "DbtrAcct") if credit else ("Cdtr", "CdtrAcct")
            agent = "DbtrAgt" if credit else "CdtrAgt"
            party = f"""
            <RltdPties>
              <{role}><Pty><Nm>{xml_escape(b.name)}</Nm></Pty></{role}>
              <{account}><Id><IBAN>{b.iban}</IBAN></Id></{account}>
            </RltdPties>
            <RltdAgts><{agent}><FinInstnId><BICFI>{b.bic}</BICFI></FinInstnId></{agent}></RltdAgts>"""
        refs = f"<EndToEndId>{b.e2e}</EndToEndId>"
        if b.mandate:
            refs += f"<MndtId>{b.mandate}</MndtId>"
        entries.append(f"""
      <Ntry>
        <NtryRef>{index + 1}</NtryRef>
        <Amt Ccy="EUR">{abs(b.amount)}</Amt>
        <CdtDbtInd>{"CRDT" if credit else "DBIT"}</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>{b.booked}</Dt></BookgDt>
        <ValDt><Dt>{b.valued}</Dt></ValDt>
        <AcctSvcrRef>{bank_ref(b, index)}</AcctSvcrRef>
        <BkTxCd><Prtry><Cd>NTRF+{b.gvc}+9310</Cd><Issr>DK</Issr></Prtry></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs>{refs}</Refs>
            <Amt Ccy="EUR">{abs(b.amount)}</Amt>
            <CdtDbtInd>{"CRDT" if credit else "DBIT"}</CdtDbtInd>{party}
            <RmtInf><Ustrd>{xml_escape(b.purpose)}</Ustrd></RmtInf>
          </TxDtls>
        </NtryDtls>
        <AddtlNtryInf>{b.posting}</AddtlNtryInf>
      </Ntry>""")
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <BkToCstmrStmt>
    <GrpHdr>
      <MsgId>CAMT053-20261101-0532013000</MsgId>
      <CreDtTm>2026-11-01T05:12:44.000+01:00</CreDtTm>
    </GrpHdr>
    <Stmt>
      <Id>2026-10-0532013000-10</Id>
      <ElctrncSeqNb>10</ElctrncSeqNb>
      <CreDtTm>2026-11-01T05:12:44.000+01:00</CreDtTm>
      <FrToDt>
        <FrDtTm>2026-10-01T00:00:00.000+02:00</FrDtTm>
        <ToDtTm>2026-10-31T23:59:59.000+01:00</ToDtTm>
      </FrToDt>
      <Acct>
        <Id><IBAN>{OWN_IBAN}</IBAN></Id>
        <Ccy>EUR</Ccy>
        <Ownr><Nm>Rheinland Feinmechanik GmbH</Nm></Ownr>
        <Svcr><FinInstnId><BICFI>{OWN_BIC}</BICFI></FinInstnId></Svcr>
      </Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">{OPENING}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2026-09-30</Dt></Dt>
      </Bal>
      <Bal>
        <Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">{closing}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2026-10-31</Dt></Dt>
      </Bal>
      <TxsSummry>
        <TtlNtries><NbOfNtries>{len(BOOKINGS)}</NbOfNtries></TtlNtries>
      </TxsSummry>{"".join(entries)}
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""
    (HERE / "statement_camt053.xml").write_text(text, encoding="utf-8")
    # The same statement with the amount of its third entry left out.
    start = text.index("<NtryRef>3</NtryRef>")
    amount = text.index("<Amt ", start)
    broken = text[:amount] + text[text.index("\n", amount) + 1 :]
    (HERE / "statement_camt053_no_amt.xml").write_text(broken, encoding="utf-8")


def write_ofx() -> None:
    """An OFX 1.02 (SGML) export of October 2026, Windows-1252, counterparty IBAN as BANKACCTTO."""
    closing = balances()[-1]
    trns = []
    for index, b in enumerate(BOOKINGS):
        kind = {"805": "FEE", "105": "DIRECTDEBIT", "166": "CREDIT"}.get(b.gvc, "DEBIT")
        name = xml_escape(b.name[:32]) if b.name else xml_escape(b.posting)
        to = ""
        if b.iban:
            to = f"\r\n<BANKACCTTO><BANKID>{b.bic}<ACCTID>{b.iban}<ACCTTYPE>CHECKING</BANKACCTTO>"
        trns.append(
            f"<STMTTRN>\r\n<TRNTYPE>{kind}\r\n<DTPOSTED>{b.booked:%Y%m%d}120000.000[+1:CET]"
            f"\r\n<DTUSER>{b.booked:%Y%m%d}\r\n<DTAVAIL>{b.valued:%Y%m%d}\r\n"
            f"<TRNAMT>{b.amount}\r\n<FITID>{bank_ref(b, index)}\r\n<NAME>{name}{to}\r\n"
            f"<MEMO>{xml_escape(b.purpose)}\r\n</STMTTRN>"
        )
    body = "\r\n".join(trns)
    text = (
        "OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nSECURITY:NONE\r\nENCODING:USASCII\r\n"
        "CHARSET:1252\r\nCOMPRESSION:NONE\r\nOLDFILEUID:NONE\r\nNEWFILEUID:NONE\r\n\r\n"
        "<OFX>\r\n<SIGNONMSGSRSV1>\r\n<SONRS>\r\n<STATUS>\r\n<CODE>0\r\n<SEVERITY>INFO\r\n"
        "</STATUS>\r\n<DTSERVER>20261101051244.000[+1:CET]\r\n<LANGUAGE>DEU\r\n</SONRS>\r\n"
        "</SIGNONMSGSRSV1>\r\n<BANKMSGSRSV1>\r\n<STMTTRNRS>\r\n<TRNUID>20261101-0001\r\n"
        "<STATUS>\r\n<CODE>0\r\n<SEVERITY>INFO\r\n</STATUS>\r\n<STMTRS>\r\n<CURDEF>EUR\r\n"
        f"<BANKACCTFROM>\r\n<BANKID>37040044\r\n<ACCTID>{OWN_IBAN}\r\n<ACCTTYPE>CHECKING\r\n"
        "</BANKACCTFROM>\r\n<BANKTRANLIST>\r\n<DTSTART>20261001\r\n<DTEND>20261031\r\n"
        f"{body}\r\n</BANKTRANLIST>\r\n<LEDGERBAL>\r\n<BALAMT>{closing}\r\n"
        "<DTASOF>20261031235959.000[+1:CET]\r\n</LEDGERBAL>\r\n</STMTRS>\r\n</STMTTRNRS>\r\n"
        "</BANKMSGSRSV1>\r\n</OFX>\r\n"
    )
    (HERE / "statement.ofx").write_bytes(text.encode("cp1252"))
    # The same file cut off in the middle of its twentieth transaction, as an aborted download.
    cut = text.index("<STMTTRN>", text.index("<FITID>26102000019")) + 40
    (HERE / "statement_truncated.ofx").write_bytes(text[:cut].encode("cp1252"))


# The client's cash book for the account: what the bookkeeping expects, with its own ids and
# document numbers. It differs from the bank where a real ledger does: bank fees are booked once a
# month, the De Vries payment of two invoices is two entries, one customer payment is still open.
LEDGER = [
    ("BU-2026-004711", "2026-09-29", "RE-2026-10431", "12480.00", "Müller Maschinenbau GmbH",
     "DE12500105170648489890", "RE-2026-10431", "Zahlungseingang Ersatzteile"),
    ("BU-2026-004712", "2026-10-01", "MV-2026-10", "-3250.00", "Immobilien Rheinpark GmbH & Co. KG",
     "DE75370501981901234567", "Miete Oktober 2026", "Miete Lager Porz"),
    ("BU-2026-004713", "2026-10-02", "ER-2026-3391", "-189.90", "Telekom Deutschland GmbH",
     "", "Rechnung 09/2026", "Telefon/Internet"),
    ("BU-2026-004714", "2026-10-02", "RE-2026-10435", "4760.00", "Van der Meer Logistiek B.V.",
     "NL91ABNA0417164300", "RE-2026-10435", "Zahlungseingang"),
    ("BU-2026-004715", "2026-10-05", "ER-2026-3388", "-1785.00", "Jansen Installatietechniek B.V.",
     "NL44RABO0123456789", "INV 88231", "Wartung Druckluftanlage"),
    ("BU-2026-004716", "2026-10-06", "RE-2026-10398", "2380.00", "Schneider & Söhne KG", "",
     "RE-2026-10398", "Zahlungseingang"),
    ("BU-2026-004717", "2026-10-06", "RE-2026-10402", "1190.00", "Schneider & Söhne KG", "",
     "RE-2026-10402", "Teilzahlung"),
    ("BU-2026-004718", "2026-10-07", "UStVA-2026-09", "-8432.17", "Finanzamt Köln-Mitte",
     "DE70370000000038001500", "UStVA 09.2026", "Umsatzsteuer-Vorauszahlung"),
    ("BU-2026-004719", "2026-10-08", "RE-2026-10412", "6545.00", "De Vries Handelsonderneming",
     "NL20INGB0001234567", "RE-2026-10412", "Zahlungseingang"),
    ("BU-2026-004720", "2026-10-09", "SV-2026-10-AOK", "-2145.60", "AOK Rheinland/Hamburg", "",
     "Beitrag 10/2026", "Sozialversicherung"),
    ("BU-2026-004721", "2026-10-12", "RE-2026-10420", "980.00", "Bäckerei Weißgerber e.K.", "",
     "RE-2026-10420", "Zahlungseingang"),
    ("BU-2026-004722", "2026-10-12", "VS-2026-AS7731", "-459.00", "Allianz Versicherungs-AG", "",
     "AS-7731-0923", "Betriebshaftpflicht Q4"),
    ("BU-2026-004723", "2026-10-13", "RE-2026-10444", "15000.00", "Müller Maschinenbau GmbH",
     "DE12500105170648489890", "RE-2026-10444", "Anzahlung"),
    ("BU-2026-004724", "2026-10-14", "ER-2026-3402", "-7820.40", "Stahlhandel Krefeld GmbH",
     "DE21370100500098765432", "Rechnung 2026-4471", "Materialeinkauf"),
    ("BU-2026-004725", "2026-10-15", "ER-2026-3405", "-64.26", "RheinEnergie AG", "",
     "VK 700123456", "Abschlag Strom"),
    ("BU-2026-004726", "2026-10-16", "RE-2026-10451", "3570.00", "Van der Meer Logistiek B.V.",
     "NL91ABNA0417164300", "RE-2026-10451", "Zahlungseingang"),
    ("BU-2026-004727", "2026-10-19", "ER-2026-3410", "-1249.50", "Jansen Installatietechniek B.V.",
     "NL44RABO0123456789", "INV 88302", "Ersatzteile Kompressor"),
    ("BU-2026-004728", "2026-10-19", "RE-2026-10455", "2975.00", "Schneider & Söhne KG", "",
     "RE-2026-10455", "Zahlungseingang"),
    ("BU-2026-004729", "2026-10-20", "KFZ-2026", "-310.00", "Bundeskasse Kiel", "",
     "Kfz-Steuer K-FM", "Kfz-Steuer"),
    ("BU-2026-004730", "2026-10-21", "RE-2026-10460", "11305.00", "Müller Maschinenbau GmbH",
     "DE12500105170648489890", "RE-2026-10460", "Zahlungseingang"),
    ("BU-2026-004731", "2026-10-22", "ER-2026-3415", "-2499.00", "Büro Kaiser GmbH",
     "DE37600501010004455667", "Rechnung 88-2026-1187", "Büromöbel"),
    ("BU-2026-004732", "2026-10-23", "RE-2026-10463", "595.00", "Bäckerei Weißgerber e.K.", "",
     "RE-2026-10463", "Zahlungseingang"),
    ("BU-2026-004733", "2026-10-26", "ER-2026-3419", "-1800.00",
     "Immobilien Rheinpark GmbH & Co. KG", "DE75370501981901234567", "Nebenkosten Q3/2026",
     "Nebenkosten"),
    ("BU-2026-004734", "2026-10-27", "RE-2026-10470", "4046.00", "De Vries Handelsonderneming",
     "NL20INGB0001234567", "RE-2026-10470", "Zahlungseingang"),
    ("BU-2026-004735", "2026-10-27", "RE-2026-10471", "4046.00", "De Vries Handelsonderneming",
     "NL20INGB0001234567", "RE-2026-10471", "Zahlungseingang"),
    ("BU-2026-004736", "2026-10-28", "ER-2026-3424", "-349.00", "DATEV eG", "",
     "Lizenzen 10/2026", "Software"),
    ("BU-2026-004737", "2026-10-29", "LG-2026-10", "-6400.27", "Lohn/Gehalt Oktober 2026", "",
     "Lohn/Gehalt 10/2026", "Nettolöhne laut Lohnjournal"),
    ("BU-2026-004738", "2026-10-29", "SV-2026-10-TK", "-4120.55", "Techniker Krankenkasse", "",
     "Beitragsnachweis 10/2026", "Sozialversicherung"),
    ("BU-2026-004739", "2026-10-30", "BK-2026-10", "-55.30", "Commerzbank AG", "",
     "Bankgebühren 09+10/2026", "Kontoführung und Zahlungsverkehr"),
    ("BU-2026-004740", "2026-10-30", "RE-2026-10477", "1785.00", "Schneider & Söhne KG", "",
     "RE-2026-10477", "Forderung offen"),
]  # fmt: skip


def write_ledger_csv() -> None:
    """An ERP export of the cash book: ',' delimited, UTF-8, ISO dates, decimal point."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["Entry", "Date", "Document", "Amount", "Currency", "Partner", "IBAN", "Reference",
         "Text"]
    )  # fmt: skip
    for entry_id, day, doc, amount, name, iban, ref, text in LEDGER:
        writer.writerow([entry_id, day, doc, amount, "EUR", name, iban, ref, text])
    (HERE / "ledger.csv").write_text(buffer.getvalue(), encoding="utf-8")


def write_ledger_xlsx() -> None:
    """The same cash book as a German XLSX with Soll (money in) and Haben (money out) columns."""
    from openpyxl import Workbook

    for name, broken in (("ledger.xlsx", False), ("ledger_bad_amount.xlsx", True)):
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "Bankbuch 10-2026"
        sheet.append(
            ["Buchungs-ID", "Belegdatum", "Belegnummer", "Soll", "Haben", "Währung",
             "Geschäftspartner", "IBAN", "Verwendungszweck", "Buchungstext"]
        )  # fmt: skip
        for number, (entry_id, day, doc, amount, partner, iban, ref, text) in enumerate(LEDGER):
            value = Decimal(amount)
            soll = float(value) if value > 0 else None
            haben = float(-value) if value < 0 else None
            if broken and number == 4:
                haben = "1.785,OO"  # type: ignore[assignment]
            sheet.append(
                [entry_id, date.fromisoformat(day), doc, soll, haben, "EUR", partner, iban, ref,
                 text]
            )  # fmt: skip
            sheet.cell(row=sheet.max_row, column=2).number_format = "DD.MM.YYYY"
            for column in (4, 5):
                sheet.cell(row=sheet.max_row, column=column).number_format = "#,##0.00"
        buffer = io.BytesIO()
        book.save(buffer)
        (HERE / name).write_bytes(_fixed_times(buffer.getvalue()))


def _fixed_times(workbook: bytes) -> bytes:
    """The workbook with every time in it set to 2 November 2026, so that writing the samples
    again gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2026-11-02T09:30:00Z", data)
            info = zipfile.ZipInfo(item.filename, date_time=(2026, 11, 2, 9, 30, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)
    return out.getvalue()


def write_malformed() -> None:
    """Files no parser should accept: empty, binary with a .csv name, an XML entity bomb."""
    (HERE / "empty.csv").write_bytes(b"")
    # The first bytes of a PNG image followed by noise, uploaded under a .csv name.
    noise = bytes((n * 137 + 11) % 256 for n in range(600))
    (HERE / "binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + noise)
    lol = "".join(f'  <!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">\n' for n in range(1, 10))
    bomb = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE Document [\n  <!ENTITY lol0 "lol">\n'
        f"{lol}]>\n"
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">\n'
        "  <BkToCstmrStmt><Stmt><Id>&lol9;</Id></Stmt></BkToCstmrStmt>\n</Document>\n"
    )
    (HERE / "entity_bomb.xml").write_text(bomb, encoding="utf-8")


if __name__ == "__main__":
    write_sparkasse_csv()
    write_mt940()
    write_camt053()
    write_ofx()
    write_ledger_csv()
    write_ledger_xlsx()
    write_malformed()
    print("closing balance", balances()[-1], "bookings", len(BOOKINGS))
