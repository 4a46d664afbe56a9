"""How work items and their timelines read on a page: labels, ages, before → after lines.

Pure functions over what the queries loaded; no database access.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bpo.contracts.models import Metric, Priority
from bpo.work.models import TRANSITIONS, BreachExplanation, Event, EventKind, SlaClock, State

DETAIL_LABELS = {
    "title": "Title",
    "description": "Description",
    "tags": "Tags",
    "external_ref": "External reference",
}
EMPTY = "—"
# The reason work_item_next gives its assignments.
GET_NEXT_REASON = "get next"


def format_age(age: timedelta) -> str:
    """How long ago, briefly: 'just now', '12 min', '5 h', '3 d'."""
    minutes = int(age.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} d"


def format_ago(age: timedelta) -> str:
    """'just now', '12 min ago', '5 h ago'."""
    text = format_age(age)
    return text if text == "just now" else f"{text} ago"


def display_value(value: Any) -> str:
    """A stored value as a person reads it."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {display_value(v)}" for k, v in value.items())
    return str(value)


def state_label(value: Any) -> str:
    return str(State(value).label) if value in State.values else str(value)


def priority_label(value: Any) -> str:
    return str(Priority(value).label) if value in Priority.values else str(value)


def custom_field_rows(
    schema: list[dict[str, Any]], values: dict[str, Any]
) -> list[tuple[str, str]]:
    """(label, value) for each custom field of the item's terms, in the schema's order."""
    return [(f.get("label") or f["name"], display_value(values.get(f["name"]))) for f in schema]


@dataclass(frozen=True)
class Change:
    """One changed detail: what it is called, what it was, what it is."""

    label: str
    before: str
    after: str


@dataclass(frozen=True)
class TimelineEntry:
    """An event as the timeline shows it."""

    event: Event
    heading: str
    icon: str
    style: str  # message_in, message_out, internal or change: how the entry is drawn
    body: str = ""
    changes: list[Change] = field(default_factory=list)


def _changes(data: dict[str, Any], labels: dict[str, str]) -> list[Change]:
    changes: list[Change] = []
    for name, change in (data.get("changes") or {}).items():
        before, after = change.get("before"), change.get("after")
        if name == "custom_fields" and isinstance(before, dict) and isinstance(after, dict):
            for key in sorted(set(before) | set(after)):
                if before.get(key) != after.get(key):
                    changes.append(
                        Change(
                            labels.get(key, key),
                            display_value(before.get(key)),
                            display_value(after.get(key)),
                        )
                    )
            continue
        changes.append(
            Change(DETAIL_LABELS.get(name, name), display_value(before), display_value(after))
        )
    return changes


def timeline_entries(
    events: Iterable[Event], schema: list[dict[str, Any]] | None = None
) -> list[TimelineEntry]:
    """The events (with their actors loaded) as timeline entries; custom fields are named by
    the labels of ``schema``, the item's terms."""
    labels = {f["name"]: f.get("label") or f["name"] for f in schema or []}
    entries = []
    for event in events:
        data = event.data or {}
        # No user: the system, or a contact who wrote by a channel (an e-mail, a web form).
        who = event.actor.full_name if event.actor else str(data.get("sender") or "OpenBPO")
        kind = event.kind
        if kind == EventKind.MESSAGE_IN:
            entry = TimelineEntry(
                event, f"Message from {who}", "envelope", "message_in", event.body
            )
        elif kind == EventKind.MESSAGE_OUT:
            entry = TimelineEntry(event, f"Reply by {who}", "reply", "message_out", event.body)
        elif kind == EventKind.NOTE:
            entry = TimelineEntry(event, f"Internal note by {who}", "lock", "internal", event.body)
        elif kind == EventKind.CREATED:
            version = f", contract version {data['version']}" if "version" in data else ""
            entry = TimelineEntry(
                event,
                f"Created by {who} (priority {priority_label(data.get('priority'))}{version})",
                "plus-circle",
                "change",
                event.body,
            )
        elif kind == EventKind.STATE:
            reason = event.body or data.get("reason", "")
            entry = TimelineEntry(
                event,
                f"{state_label(data.get('before'))} → {state_label(data.get('after'))} · {who}",
                "arrow-right-circle",
                "change",
                reason,
            )
        elif kind == EventKind.PRIORITY:
            entry = TimelineEntry(
                event,
                f"{who} changed the priority: {priority_label(data.get('before'))} → "
                f"{priority_label(data.get('after'))}",
                "flag",
                "change",
            )
        elif kind == EventKind.FIELDS:
            entry = TimelineEntry(
                event, f"{who} changed the details", "pencil", "change", "", _changes(data, labels)
            )
        elif kind == EventKind.ASSIGNED and event.body == GET_NEXT_REASON:
            entry = TimelineEntry(event, f"{who} took it with Get next", "person-check", "change")
        elif kind == EventKind.ASSIGNED:
            entry = TimelineEntry(
                event,
                f"{who} assigned it to {data.get('agent', '?')}",
                "person-check",
                "internal",
                event.body,
            )
        else:
            entry = TimelineEntry(
                event, event.get_kind_display(), "exclamation-triangle", "change", event.body
            )
        entries.append(entry)
    return entries


@dataclass(frozen=True)
class StateAction:
    """A button that moves an item to one of its allowed next states."""

    state: str
    label: str
    style: str  # Bootstrap button class
    icon: str
    shortcut: str = ""


_PENDING = (State.PENDING_CONTACT, State.PENDING_CLIENT)


def next_state_actions(state: str) -> tuple[list[StateAction], list[StateAction]]:
    """Buttons for the states the item may move to next (TRANSITIONS): the main ones, and the
    pending states, which ask whom the item waits on."""
    allowed = TRANSITIONS.get(state, frozenset())
    main: list[StateAction] = []
    if State.RESOLVED in allowed:
        main.append(StateAction(State.RESOLVED, "Resolve", "btn-success", "check2-circle", "s"))
    if State.OPEN in allowed:
        labels: dict[str, str] = {State.NEW: "Mark open", State.RESOLVED: "Reopen"}
        label = labels.get(state, "Back to open")
        main.append(StateAction(State.OPEN, label, "btn-outline-primary", "arrow-counterclockwise"))
    if State.CLOSED in allowed:
        main.append(StateAction(State.CLOSED, "Close", "btn-outline-dark", "archive"))
    if State.CANCELLED in allowed:
        main.append(StateAction(State.CANCELLED, "Cancel item", "btn-outline-danger", "x-circle"))
    pending = [
        StateAction(s, str(State(s).label), "dropdown-item", "hourglass-split")
        for s in _PENDING
        if s in allowed
    ]
    return main, pending


# --- SLA and due times ---------------------------------------------------------------------------

# An item due within this time shows amber ("due soon"); past it, red ("overdue").
DUE_SOON = timedelta(hours=1)


@dataclass(frozen=True)
class Due:
    """How a due time reads next to an item: 'in 42 min' or '3 h overdue', and its tone
    ('danger' when overdue, 'warning' when due within DUE_SOON, '' otherwise)."""

    at: datetime
    text: str
    tone: str


def due(at: datetime | None, now: datetime) -> Due | None:
    """When something is due, relative to now; None when nothing is due."""
    if at is None:
        return None
    if at <= now:
        late = now - at
        text = "due just now" if late < timedelta(minutes=1) else f"{format_age(late)} overdue"
        return Due(at, text, "danger")
    left = at - now
    text = "in less than a minute" if left < timedelta(minutes=1) else f"in {format_age(left)}"
    return Due(at, text, "warning" if left <= DUE_SOON else "")


CLOCK_STATUS_STYLES = {
    "running": "text-bg-primary",
    "paused": "text-bg-secondary",
    "met": "text-bg-success",
    "missed": "text-bg-danger",
    "cancelled": "text-bg-light border",
}


@dataclass(frozen=True)
class ClockRow:
    """One SLA clock as the item page shows it."""

    metric: str
    status: str
    style: str
    due: Due | None
    breached_at: datetime | None
    stopped_at: datetime | None
    clock_id: int = 0
    missed: bool = False  # breached (even if still running) or stopped late: explainable
    explanation: BreachExplanation | None = None


def clock_rows(clocks: Iterable[SlaClock], now: datetime) -> list[ClockRow]:
    """The item's SLA clocks: metric label (with the cycle of next-response clocks), status and
    due time; a stopped or paused clock has no countdown."""
    rows = []
    for clock in clocks:
        label = str(Metric(clock.metric).label) if clock.metric in Metric.values else clock.metric
        if clock.cycle > 1:
            label = f"{label} ({clock.cycle})"
        status = clock.status
        missed = clock.missed
        rows.append(
            ClockRow(
                metric=label,
                status=status,
                style=CLOCK_STATUS_STYLES.get(status, "text-bg-light"),
                due=due(clock.due_at, now) if status == "running" else None,
                breached_at=clock.breached_at,
                stopped_at=clock.stopped_at,
                clock_id=clock.pk,
                missed=missed,
                explanation=getattr(clock, "explanation", None) if missed else None,
            )
        )
    return rows


PRESENCE_STYLES = {
    "available": "text-bg-success",
    "busy": "text-bg-warning",
    "away": "text-bg-secondary",
    "offline": "text-bg-light border",
}
