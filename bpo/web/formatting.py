"""Small presentation helpers shared by the apps' pages."""

from __future__ import annotations

from decimal import Decimal


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
