"""Template filters that format numbers and money for the reader's locale (see
:mod:`bpo.web.formatting`; ReaderLocaleMiddleware sets the locale from Accept-Language)."""

from __future__ import annotations

from decimal import Decimal

from django import template

from bpo.web.formatting import format_money, format_number, format_percent, format_unit_price

register = template.Library()


@register.filter
def money(amount: Decimal | int | None, currency: str) -> str:
    """``{{ line.amount|money:invoice.currency }}`` → '1.234,50 €' for a German reader."""
    if amount is None or amount == "":
        return "—"
    return format_money(Decimal(amount), currency)


@register.filter
def unit_price(amount: Decimal | int | None, currency: str) -> str:
    """``{{ line.unit_price|unit_price:invoice.currency }}`` → '0,045 €' (finer decimals kept)."""
    if amount is None or amount == "":
        return "—"
    return format_unit_price(Decimal(amount).normalize(), currency)


@register.filter
def number(value: Decimal | int | None) -> str:
    """``{{ line.quantity|number }}`` → '1.234,5' for a German reader (no trailing zeros)."""
    if value is None or value == "":
        return "—"
    value = Decimal(value)
    # normalize() drops trailing zeros; quantize back to whole units when it went to exponent
    # form (Decimal("1E+1")), which babel would print as it is.
    normal = value.normalize()
    if normal == normal.to_integral_value():
        normal = normal.quantize(Decimal(1))
    return format_number(normal)


@register.filter
def percent(value: Decimal | float | None) -> str:
    """``{{ version.tax_rate_percent|percent }}`` → '19%' (empty: '—')."""
    if value is None or value == "":
        return "—"
    return format_percent(value)
