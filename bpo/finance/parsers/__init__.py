"""Reading bank statements and ledger exports into plain values: pure functions, no database.

Statements come as OFX (``ofx``), MT940 (``swift``), CAMT.053 (``camt``) or a spreadsheet read
through a column mapping (``mapped``, CSV or XLSX); ledgers as a mapped spreadsheet. Amounts
are Decimals seen from the client's side, money in positive and money out negative. Each
reader returns everything or raises ParseError, whose message names where the file is wrong
(``line 12 (:61:): …``, ``row 7, column Amount (C): …``) and what is wrong there.

Counterparty IBANs are validated (schwifty) and kept compact; one that is not a valid IBAN
(a typo, an old account number, a foreign account) does not refuse the file: the line keeps
no IBAN, the text goes into its description, and the line carries a warning saying so.
An account written the older national way, bank code and account number (German MT940
``:25:37040044/532013000``, ``?30``/``?31`` in its ``:86:``), is turned into its IBAN
(``iban_of_national``).
"""

from bpo.finance.parsers.common import (
    ParsedEntry,
    ParsedLine,
    ParsedStatement,
    ParseError,
    iban_of_national,
)
from bpo.finance.parsers.formats import FORMATS, detect_format, parse_statements
from bpo.finance.parsers.mapped import (
    BANK_FIELDS,
    LEDGER_FIELDS,
    REQUIRED_BANK,
    REQUIRED_LEDGER,
    MappingSpec,
    mapping_problems,
    parse_amount,
    parse_ledger,
    read_sample,
)
from bpo.finance.parsers.propose import propose_mapping

__all__ = [
    "BANK_FIELDS",
    "FORMATS",
    "LEDGER_FIELDS",
    "REQUIRED_BANK",
    "REQUIRED_LEDGER",
    "MappingSpec",
    "ParseError",
    "ParsedEntry",
    "ParsedLine",
    "ParsedStatement",
    "detect_format",
    "iban_of_national",
    "mapping_problems",
    "parse_amount",
    "parse_ledger",
    "parse_statements",
    "propose_mapping",
    "read_sample",
]
