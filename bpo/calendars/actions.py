"""Writes about business calendars."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from bpo.accounts.roles import Permission
from bpo.audit.log import record, snapshot
from bpo.calendars.models import BusinessCalendar
from bpo.tenancy.context import Actor
from bpo.tenancy.models import Client
from bpo.tenancy.scoping import ensure_client_in_scope

CALENDAR_FIELDS = (
    "name",
    "time_zone",
    "weekly",
    "holiday_country",
    "holiday_subdivision",
    "holidays",
    "exceptions",
)


def calendar_create(*, actor: Actor, client: Client, **fields: Any) -> BusinessCalendar:
    """Define a business calendar for a client's services."""
    actor.require(Permission.MANAGE_CONTRACTS, client_id=client.pk)
    ensure_client_in_scope(client.pk)
    calendar = BusinessCalendar(client=client, **_known(fields))
    calendar.full_clean()
    with transaction.atomic():
        calendar.save()
        record("calendar.created", obj=calendar, after=snapshot(calendar, CALENDAR_FIELDS))
    return calendar


def calendar_update(
    *, actor: Actor, calendar: BusinessCalendar, **changes: Any
) -> BusinessCalendar:
    """Change a calendar; running clocks use the new hours from now on (they are not versioned)."""
    actor.require(Permission.MANAGE_CONTRACTS, client_id=calendar.client_id)
    before = snapshot(calendar, CALENDAR_FIELDS)
    for name, value in _known(changes).items():
        setattr(calendar, name, value)
    calendar.full_clean()
    with transaction.atomic():
        calendar.save()
        record(
            "calendar.updated",
            obj=calendar,
            before=before,
            after=snapshot(calendar, CALENDAR_FIELDS),
        )
    calendar.__dict__.pop("clock", None)
    return calendar


def _known(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(CALENDAR_FIELDS)
    if unknown:
        raise TypeError(f"unknown calendar fields: {sorted(unknown)}")
    return fields
