"""Navigation that fits the actor's roles, available to every template."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from bpo.accounts.roles import Permission
from bpo.tenancy.models import Provider
from bpo.work import queries as work_queries


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Menu entries the current actor may open; nothing for anonymous visitors."""
    actor = getattr(request, "actor", None)
    if actor is None:
        return {"nav_items": [], "provider": Provider.current()}
    items = [("Home", reverse("web:home"), "house")]
    if actor.can(Permission.HANDLE_WORK):
        items.append(("Work", reverse("work:mine"), "inboxes"))
    if actor.can(Permission.VIEW_DASHBOARDS):
        items.append(("Service levels", reverse("portal:home"), "graph-up"))
    if actor.can(Permission.MANAGE_AGENTS):
        items.append(("Queues & agents", reverse("work:manage"), "kanban"))
    if actor.can(Permission.MANAGE_INTAKE):  # its pages lead to the imports too
        items.append(("Intake", reverse("intake:home"), "envelope-paper"))
    elif actor.can(Permission.IMPORT_WORK):
        items.append(("Imports", reverse("intake:imports"), "file-earmark-spreadsheet"))
    items.append(
        ("Clients" if actor.is_provider else "My company", reverse("tenancy:list"), "buildings")
    )
    if actor.can(Permission.VIEW_BILLING):
        items.append(
            ("Billing" if actor.is_provider else "Invoices", reverse("billing:list"), "receipt")
        )
    if actor.can(Permission.VIEW_FINANCE):
        items.append(("Finance", reverse("finance:overview"), "bank"))
    if actor.client_ids:
        items.append(("Contracts", reverse("contracts:list"), "file-earmark-text"))
        items.append(("Calendars", reverse("calendars:list"), "calendar-week"))
    if actor.can(Permission.MANAGE_PEOPLE):
        items.append(("People", reverse("accounts:people"), "people"))
    if actor.can(Permission.VIEW_AUDIT):
        items.append(("Audit log", reverse("audit:list"), "journal-check"))
    elif actor.can(Permission.VIEW_ACCESS_LOG):
        items.append(("Access log", reverse("audit:access_log"), "eye"))
    items.append(("API", reverse("api:openapi-view"), "braces"))
    path = request.path
    # The entry whose address is the longest start of the path is the page's (/work/manage/
    # belongs to "Queues & agents", not to "Work").
    matches = [url for _, url, _ in items if path == url or (url != "/" and path.startswith(url))]
    active = max(matches, key=len, default=None)
    return {
        "nav_items": [
            {"label": label, "url": url, "icon": icon, "active": url == active}
            for label, url, icon in items
        ],
        "actor": actor,
        "provider": Provider.current(),
        "unread_notifications": (
            work_queries.unread_notification_count(actor=actor) if actor.is_provider else 0
        ),
        "notifications_url": (
            reverse("work:manage") + "#notifications"
            if actor.can(Permission.MANAGE_AGENTS)
            else reverse("work:mine") + "#notifications"
        ),
    }
