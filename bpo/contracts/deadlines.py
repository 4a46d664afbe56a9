"""Deadline targets of back-office work: "by 10:00 on the next business day", "on the 3rd
business day of the month", evaluated on a service's business calendar."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError

from bpo.calendars.engine import BusinessClock

KINDS = {
    "same_business_day": "by a time on the day the work arrives (or the next business day)",
    "next_business_day": "by a time on the next business day",
    "business_day_of_month": "by a time on the n-th business day of the month",
}
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def validate_rule(rule: Any) -> dict[str, Any]:
    """Check a deadline rule and return it normalised; errors name the key at fault."""
    if not isinstance(rule, dict):
        raise ValidationError({"deadline": "Expected an object like {kind, at}."})
    kind, at = rule.get("kind"), rule.get("at")
    problems = []
    if kind not in KINDS:
        problems.append(f"kind: {kind!r} is not one of {', '.join(KINDS)}.")
    if not isinstance(at, str) or not _TIME.match(at):
        problems.append(f"at: {at!r} is not a time like 10:00.")
    n = rule.get("n")
    if kind == "business_day_of_month" and (
        not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 23
    ):
        problems.append(f"n: {n!r} must be a whole number from 1 to 23.")
    unknown = set(rule) - {"kind", "at", "n"}
    if unknown:
        problems.append(f"unknown keys {', '.join(sorted(unknown))}.")
    if problems:
        raise ValidationError({"deadline": problems})
    return {"kind": kind, "at": at, **({"n": n} if kind == "business_day_of_month" else {})}


def describe(rule: dict[str, Any]) -> str:
    """The rule in words, as the contract states it."""
    if rule["kind"] == "business_day_of_month":
        return f"by {rule['at']} on business day {rule['n']} of the month"
    if rule["kind"] == "next_business_day":
        return f"by {rule['at']} on the next business day"
    return f"by {rule['at']} on the business day the work arrives"


def deadline_due(
    rule: dict[str, Any], arrived: datetime, clock: BusinessClock, time_zone: str
) -> datetime:
    """When work that arrived at ``arrived`` is due under ``rule`` on a calendar (UTC)."""
    zone = zoneinfo.ZoneInfo(time_zone)
    local = arrived.astimezone(zone)
    hour, minute = (int(part) for part in rule["at"].split(":"))

    def at(day: date) -> datetime:
        return datetime.combine(day, time(hour, minute), zone).astimezone(zoneinfo.ZoneInfo("UTC"))

    def next_business_day(day: date) -> date:
        day += timedelta(days=1)
        while not clock.is_business_day(day):
            day += timedelta(days=1)
        return day

    if rule["kind"] == "next_business_day":
        return at(next_business_day(local.date()))
    if rule["kind"] == "same_business_day":
        today = local.date()
        if clock.is_business_day(today) and at(today) > arrived:
            return at(today)
        return at(next_business_day(today))
    month_start = local.date().replace(day=1)
    for _ in range(24):
        due_day = _nth_business_day(clock, month_start, rule["n"])
        if due_day is not None and at(due_day) > arrived:
            return at(due_day)
        month_start = (month_start + timedelta(days=32)).replace(day=1)
    raise ValidationError({"deadline": "The calendar has no such business day in two years."})


def _nth_business_day(clock: BusinessClock, month_start: date, n: int) -> date | None:
    day, seen = month_start, 0
    while day.month == month_start.month:
        if clock.is_business_day(day):
            seen += 1
            if seen == n:
                return day
        day += timedelta(days=1)
    return None
