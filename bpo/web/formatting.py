"""Small presentation helpers shared by the apps' pages."""

from __future__ import annotations

from contextvars import ContextVar
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, format_decimal


def format_minutes(minutes: int) -> str:
    """240 → '4 h', 90 → '1 h 30 min', 45 → '45 min'."""
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def format_duration(seconds: int | None) -> str:
    """A handle time: 45 → '45 s', 840 → '14 min', None → '—' (nothing to measure)."""
    if seconds is None:
        return "—"
    return format_minutes(seconds // 60) if seconds >= 60 else f"{seconds} s"


def format_percent(value: Decimal | float) -> str:
    """Decimal('95.00') → '95%', 97.5 → '97.5%' (no trailing zeros)."""
    text = f"{Decimal(str(value)).quantize(Decimal('0.01')):f}".rstrip("0").rstrip(".")
    return f"{text}%"


# The reader's locale for numbers, money and dates: set per request from Accept-Language by
# ReaderLocaleMiddleware (the interface's words stay English; only formats follow the reader).
reader_locale: ContextVar[str] = ContextVar("reader_locale", default="en_US")


def browser_locale() -> str:
    """The reader's locale as the browser's Intl API and Chart.js take it ('de_DE' → 'de-DE')."""
    return reader_locale.get().replace("_", "-")


def locale_from_header(header: str) -> str:
    """The best babel locale for an Accept-Language header ('de-DE,de;q=0.9' → 'de_DE')."""
    from django.utils.translation.trans_real import parse_accept_lang_header

    for tag, _quality in parse_accept_lang_header(header or ""):
        if tag == "*":
            continue
        try:
            return str(Locale.parse(tag.replace("-", "_")))
        except (UnknownLocaleError, ValueError):
            continue
    return "en_US"


def locale_of_country(country: str) -> str:
    """A locale for a country, for documents no reader asked for ('DE' → 'de_DE')."""
    try:
        return str(Locale.parse(f"und_{country}")) if country else "en_US"
    except (UnknownLocaleError, ValueError):
        return "en_US"


def format_money(amount: Decimal, currency: str, locale: str | None = None) -> str:
    """An amount in its currency for the reader: '€1,234.50' (en), '1.234,50 €' (de), with
    the currency's own number of decimals (JPY none, BHD three)."""
    return format_currency(amount, currency, locale=locale or reader_locale.get())


def format_unit_price(amount: Decimal, currency: str, locale: str | None = None) -> str:
    """A price per unit for the reader: like :func:`format_money`, but its finer decimals are
    kept ('€0.045' per minute), since a unit price is not an amount to pay."""
    return format_currency(
        amount, currency, locale=locale or reader_locale.get(), decimal_quantization=False
    )


def format_number(value: Decimal | int, locale: str | None = None) -> str:
    """A quantity for the reader, with the decimals it has ('1,234.5' in en, '1.234,5' in de)."""
    return format_decimal(value, locale=locale or reader_locale.get(), decimal_quantization=False)
