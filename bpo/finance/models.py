"""The finance and accounting back office of a client: bank accounts and their statements, the
client's ledger (cash book) entries, the matches that reconcile one with the other, the rules
that propose them, and the recurring close and filing obligations with their evidence.

Amounts are signed Decimals in the account's currency, seen from the client's side: money in is
positive, money out negative, on the bank statement and in the ledger alike. Every file is kept
as uploaded (``SourceFile``) before it is parsed, so a failed import can be read again and
nothing is half-imported: a file's statements or entries are written in one transaction or not
at all.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from bpo.tenancy.models import ClientOwnedModel

CURRENCY = RegexValidator(r"^[A-Z]{3}$", "An ISO 4217 currency code, e.g. EUR.")


def money_field(**kwargs: object) -> models.DecimalField:
    """An amount: up to 14 digits before the point and 4 after (enough for every currency)."""
    return models.DecimalField(max_digits=18, decimal_places=4, **kwargs)  # type: ignore[arg-type]


class BankAccount(ClientOwnedModel):
    """A client's bank account whose statements the provider reconciles with the ledger."""

    service = models.ForeignKey(
        "contracts.Service",
        on_delete=models.PROTECT,
        related_name="bank_accounts",
        help_text="The reconciliation service whose queue takes this account's open items.",
    )
    name = models.CharField(max_length=120, help_text="e.g. 'Operating account'.")
    iban = models.CharField(
        max_length=34, blank=True, help_text="Stored compact, validated (schwifty)."
    )
    account_number = models.CharField(
        max_length=40, blank=True, help_text="For an account without an IBAN."
    )
    bic = models.CharField(max_length=11, blank=True)
    bank_name = models.CharField(max_length=120, blank=True)
    currency = models.CharField(max_length=3, validators=[CURRENCY])
    statement_mapping = models.ForeignKey(
        "ColumnMapping",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="How this bank's CSV statements are read.",
    )
    ledger_mapping = models.ForeignKey(
        "ColumnMapping",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="How the client's cash book export for this account is read.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "name"]
        constraints = [
            models.UniqueConstraint(fields=["client", "name"], name="bank_account_unique_name"),
            models.UniqueConstraint(
                fields=["client", "iban"],
                condition=~Q(iban=""),
                name="bank_account_unique_iban",
            ),
            models.CheckConstraint(
                condition=~Q(iban="") | ~Q(account_number=""),
                name="bank_account_identified",
                violation_error_message="An account needs an IBAN or an account number.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def identifier(self) -> str:
        """How statements name the account: its IBAN, else its number."""
        return self.iban or self.account_number


class MappingKind(models.TextChoices):
    BANK = "bank", "Bank statement (CSV)"
    LEDGER = "ledger", "Ledger / cash book (CSV or XLSX)"


class ColumnMapping(ClientOwnedModel):
    """A saved way to read one kind of export: which header holds which field, and how dates
    and amounts are written (see bpo.finance.parsers.mapped for the fields)."""

    kind = models.CharField(max_length=8, choices=MappingKind.choices)
    name = models.CharField(max_length=120, help_text="e.g. 'Sparkasse CSV-CAMT' or 'DATEV'.")
    columns = models.JSONField(
        default=dict, help_text="Field → header, e.g. {'date': 'Buchungstag', 'amount': 'Betrag'}."
    )
    date_format = models.CharField(
        max_length=20, blank=True, help_text="strftime pattern, e.g. %d.%m.%Y; empty: ISO dates."
    )
    decimal_comma = models.BooleanField(
        default=False, help_text="Amounts are written 1.234,56 rather than 1,234.56."
    )
    encoding = models.CharField(max_length=20, blank=True, help_text="Empty: detect.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["client", "kind", "name"], name="mapping_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class FileKind(models.TextChoices):
    STATEMENT = "statement", "Bank statement"
    LEDGER = "ledger", "Ledger entries"


class StatementFormat(models.TextChoices):
    CSV = "csv", "CSV (mapped)"
    XLSX = "xlsx", "XLSX (mapped)"
    OFX = "ofx", "OFX"
    MT940 = "mt940", "MT940"
    CAMT053 = "camt053", "CAMT.053"


class FileStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    IMPORTED = "imported", "Imported"
    FAILED = "failed", "Failed"


class SourceFile(ClientOwnedModel):
    """A statement or ledger file exactly as uploaded, stored before it is parsed."""

    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="files")
    kind = models.CharField(max_length=10, choices=FileKind.choices)
    format = models.CharField(max_length=8, choices=StatementFormat.choices)
    filename = models.CharField(max_length=255)
    stored_name = models.CharField(max_length=100, unique=True)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=FileStatus.choices, default="received")
    error = models.TextField(blank=True, help_text="Why it could not be imported, with the line.")
    warnings = models.JSONField(default=list, blank=True)
    rows = models.PositiveIntegerField(default=0, help_text="Lines or entries imported.")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "-uploaded_at", "-id"]
        indexes = [models.Index(fields=["client", "account", "sha256"], name="source_file_hash")]

    def __str__(self) -> str:
        return self.filename


class Statement(ClientOwnedModel):
    """One bank statement of an account: a period, its balances and its lines."""

    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="statements")
    file = models.ForeignKey(SourceFile, on_delete=models.PROTECT, related_name="statements")
    reference = models.CharField(max_length=80, blank=True, help_text="The bank's statement id.")
    start_date = models.DateField()
    end_date = models.DateField()
    currency = models.CharField(max_length=3, validators=[CURRENCY])
    opening_balance = money_field()
    closing_balance = money_field()
    previous = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    balance_gap = money_field(
        null=True,
        blank=True,
        help_text="Opening balance minus the previous statement's closing balance (0: continuous).",
    )
    missing_days = models.JSONField(
        default=list, blank=True, help_text="Business days between statements with no statement."
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "account", "-end_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")), name="statement_period"
            )
        ]
        indexes = [models.Index(fields=["client", "account", "end_date"], name="statement_end")]

    def __str__(self) -> str:
        return f"{self.account} {self.start_date}–{self.end_date}"


class StatementLine(ClientOwnedModel):
    """One booking on a bank statement; ``match`` is set once it is reconciled."""

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField(help_text="Its place in the statement, from 1.")
    booking_date = models.DateField()
    value_date = models.DateField(null=True, blank=True)
    amount = money_field()
    currency = models.CharField(max_length=3, validators=[CURRENCY])
    reference = models.CharField(max_length=500, blank=True, help_text="Remittance information.")
    counterparty_name = models.CharField(max_length=200, blank=True)
    counterparty_iban = models.CharField(max_length=34, blank=True)
    bank_reference = models.CharField(max_length=120, blank=True)
    description = models.TextField(blank=True)
    match = models.ForeignKey(
        "Match", on_delete=models.SET_NULL, null=True, blank=True, related_name="lines"
    )

    class Meta:
        ordering = ["client", "account", "booking_date", "id"]
        indexes = [
            models.Index(fields=["client", "account", "match", "booking_date"], name="line_open"),
        ]

    def __str__(self) -> str:
        return f"{self.booking_date} {self.amount} {self.reference[:40]}"


class LedgerEntry(ClientOwnedModel):
    """One entry of the client's cash book for a bank account; ``match`` once reconciled."""

    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="entries")
    file = models.ForeignKey(SourceFile, on_delete=models.PROTECT, related_name="entries")
    row = models.PositiveIntegerField(help_text="Its row in the imported file.")
    external_id = models.CharField(
        max_length=80,
        blank=True,
        help_text="The ledger's own id of the entry (unique per account).",
    )
    entry_date = models.DateField()
    amount = money_field()
    currency = models.CharField(max_length=3, validators=[CURRENCY])
    document_number = models.CharField(max_length=80, blank=True)
    reference = models.CharField(max_length=500, blank=True)
    counterparty_name = models.CharField(max_length=200, blank=True)
    counterparty_iban = models.CharField(max_length=34, blank=True)
    description = models.TextField(blank=True)
    match = models.ForeignKey(
        "Match", on_delete=models.SET_NULL, null=True, blank=True, related_name="entries"
    )

    class Meta:
        ordering = ["client", "account", "entry_date", "id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(
                fields=["client", "account", "external_id"],
                condition=~Q(external_id=""),
                name="ledger_entry_unique_external_id",
            )
        ]
        indexes = [
            models.Index(fields=["client", "account", "match", "entry_date"], name="entry_open"),
        ]

    def __str__(self) -> str:
        return f"{self.entry_date} {self.amount} {self.document_number}"


class ReconciliationPolicy(ClientOwnedModel):
    """How a reconciliation service matches: the date window, the group size of split and
    combined payments, and the confidence above which a match is accepted without an agent."""

    service = models.OneToOneField(
        "contracts.Service", on_delete=models.PROTECT, related_name="reconciliation_policy"
    )
    date_window_days = models.PositiveSmallIntegerField(
        default=5, validators=[MaxValueValidator(60)]
    )
    max_group_size = models.PositiveSmallIntegerField(
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(6)],
        help_text="Most entries one line may settle (and lines one entry), 1: one to one only.",
    )
    auto_accept_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=90,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Matches at or above this confidence are accepted without an agent.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "reconciliation policies"

    def __str__(self) -> str:
        return f"Reconciliation of {self.service}"


class MatchRule(ClientOwnedModel):
    """A rule of a reconciliation service: which lines and entries belong together and how
    sure that makes a match. Every condition set must hold; empty conditions are not checked."""

    service = models.ForeignKey(
        "contracts.Service", on_delete=models.PROTECT, related_name="match_rules"
    )
    name = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True)
    date_window_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(60)], help_text="Empty: the policy's."
    )
    amount_tolerance = money_field(
        default=0, validators=[MinValueValidator(0)], help_text="Largest difference accepted."
    )
    reference_pattern = models.CharField(
        max_length=200,
        blank=True,
        help_text="A regular expression on the line's reference; its first group (or the whole "
        "match) must appear in the entry's document number or reference.",
    )
    counterparty_iban = models.CharField(max_length=34, blank=True)
    counterparty_name = models.CharField(
        max_length=200, blank=True, help_text="Compared fuzzily with the line's counterparty."
    )
    name_threshold = models.PositiveSmallIntegerField(
        default=85, validators=[MinValueValidator(50), MaxValueValidator(100)]
    )
    confidence_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=95,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="How sure a match by this rule is.",
    )
    learned_from = models.ForeignKey(
        "Match", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "service", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "name"], name="match_rule_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class MatchStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"  # below the threshold: an agent decides
    PENDING = "pending", "Awaiting approval"  # made by hand: a second agent approves
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class MatchShape(models.TextChoices):
    ONE_TO_ONE = "1:1", "One to one"
    ONE_TO_MANY = "1:n", "One line, several entries"
    MANY_TO_ONE = "n:1", "Several lines, one entry"


class Match(ClientOwnedModel):
    """Statement lines and ledger entries that settle each other, with how sure and why.

    Accepted matches own their lines and entries (their ``match`` points here); proposals and
    matches awaiting approval list them in ``proposed_lines``/``proposed_entries`` only.
    """

    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="matches")
    shape = models.CharField(max_length=3, choices=MatchShape.choices)
    status = models.CharField(max_length=10, choices=MatchStatus.choices)
    confidence = models.DecimalField(max_digits=5, decimal_places=2)
    reasons = models.JSONField(default=list, blank=True)
    rule = models.ForeignKey(
        MatchRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="matches"
    )
    automatic = models.BooleanField(default=False)
    proposed_lines = models.ManyToManyField(StatementLine, related_name="proposals")
    proposed_entries = models.ManyToManyField(LedgerEntry, related_name="proposals")
    difference = money_field(default=0, help_text="Lines minus entries.")
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    made_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["client", "account", "-made_at", "-id"]
        verbose_name_plural = "matches"
        indexes = [models.Index(fields=["client", "account", "status"], name="match_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__gte=0, confidence__lte=100), name="match_confidence"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_shape_display()} {self.confidence}%"


class OpenLine(ClientOwnedModel):
    """A statement line the engine could not settle: the work item an agent resolves."""

    line = models.OneToOneField(StatementLine, on_delete=models.PROTECT, related_name="open_item")
    item = models.OneToOneField("work.WorkItem", on_delete=models.PROTECT, related_name="open_line")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Open line {self.line_id} → item {self.item_id}"


class ReconciliationRun(ClientOwnedModel):
    """One pass of the engine over an account's open lines and entries, and what it did."""

    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="runs")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    lines = models.PositiveIntegerField(default=0)
    entries = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    proposed = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0, help_text="Work items made for open lines.")

    class Meta:
        ordering = ["client", "-started_at", "-id"]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.account}"


class ObligationKind(models.TextChoices):
    DAILY_REPORT = "daily_report", "Daily financial report"
    CLOSE_TASK = "close_task", "Month-end close task"
    TAX_RETURN = "tax_return", "Sales tax / VAT return"
    PAYROLL_FILING = "payroll_filing", "Payroll tax filing"
    OTHER = "other", "Other deadline"


# Obligations whose work item needs its evidence (confirmation document and reference) to resolve.
FILINGS = (ObligationKind.TAX_RETURN, ObligationKind.PAYROLL_FILING)


class Roll(models.TextChoices):
    FOLLOWING = "following", "Next business day"
    PRECEDING = "preceding", "Previous business day"
    MODIFIED_FOLLOWING = "modified_following", "Next business day, unless in the next month"


class Obligation(ClientOwnedModel):
    """A recurring deadline of a client (a report, a close task, a return) on a service's
    calendar: a recurrence rule gives its nominal dates, the roll moves each onto a business
    day, and each becomes a work item ``lead_days`` ahead, due at ``due_time`` that day."""

    service = models.ForeignKey(
        "contracts.Service", on_delete=models.PROTECT, related_name="obligations"
    )
    name = models.CharField(max_length=200, help_text="e.g. 'VAT return (UStVA)'.")
    kind = models.CharField(max_length=20, choices=ObligationKind.choices)
    recurrence = models.CharField(
        max_length=300,
        help_text="An RFC 5545 rule, e.g. FREQ=MONTHLY;BYMONTHDAY=10 (see bpo.finance.schedule).",
    )
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    roll = models.CharField(max_length=20, choices=Roll.choices, default=Roll.PRECEDING)
    due_time = models.TimeField(help_text="Local time on the calendar of the service.")
    lead_days = models.PositiveSmallIntegerField(
        default=5, validators=[MaxValueValidator(90)], help_text="Calendar days ahead."
    )
    authority = models.CharField(max_length=120, blank=True, help_text="Where it is filed.")
    instructions = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "service", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "name"], name="obligation_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def needs_evidence(self) -> bool:
        """Filings resolve only with a confirmation document and reference."""
        return self.kind in FILINGS


class Occurrence(ClientOwnedModel):
    """One due date of an obligation and the work item that meets it."""

    obligation = models.ForeignKey(Obligation, on_delete=models.PROTECT, related_name="occurrences")
    nominal_date = models.DateField(help_text="The date the rule gives, before the roll.")
    due_date = models.DateField()
    due_at = models.DateTimeField()
    item = models.OneToOneField(
        "work.WorkItem", on_delete=models.PROTECT, related_name="occurrence"
    )
    evidence_reference = models.CharField(max_length=120, blank=True)
    evidence = models.ForeignKey(
        "work.Attachment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    evidence_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    evidence_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["client", "due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["obligation", "nominal_date"], name="occurrence_unique_date"
            )
        ]

    def __str__(self) -> str:
        return f"{self.obligation} due {self.due_date}"


class DailyReport(ClientOwnedModel):
    """The daily financial report of a reconciliation service for one business day: cash per
    account, reconciled and open totals, ageing of open items, kept as figures, PDF and CSV."""

    service = models.ForeignKey("contracts.Service", on_delete=models.PROTECT, related_name="+")
    day = models.DateField(help_text="The business day the report states (as of its end).")
    figures = models.JSONField()
    pdf_name = models.CharField(max_length=100)
    csv_name = models.CharField(max_length=100)
    occurrence = models.OneToOneField(
        Occurrence, on_delete=models.PROTECT, null=True, blank=True, related_name="report"
    )
    generated_at = models.DateTimeField()
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["client", "service", "-day"]
        constraints = [
            models.UniqueConstraint(fields=["service", "day"], name="daily_report_unique_day")
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.day}"
