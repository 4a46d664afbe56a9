"""Small presentation helpers shared by the apps' pages."""

from __future__ import annotations


def format_minutes(minutes: int) -> str:
    """240 → '4 h', 90 → '1 h 30 min', 45 → '45 min'."""
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"
