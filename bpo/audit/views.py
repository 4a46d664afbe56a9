"""Web UI: the audit log for provider admins, and an on-demand check of its hash chain."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from bpo.accounts.roles import Permission
from bpo.audit.log import verify_chain
from bpo.audit.queries import audit_csv_rows, audit_entries
from bpo.tenancy import queries as client_queries
from bpo.tenancy.context import request_actor

PAGE_SIZE = 100


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _filters(request: HttpRequest) -> dict[str, Any]:
    return {
        "action": request.GET.get("action", "").strip(),
        "client_id": _int_or_none(request.GET.get("client")),
        "actor_email": request.GET.get("actor", "").strip(),
    }


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    """Newest entries first, filterable by action prefix, client and actor; 100 per page."""
    actor = request_actor(request)
    filters = _filters(request)
    entries = list(
        audit_entries(actor=actor, before_id=_int_or_none(request.GET.get("before")), **filters)[
            : PAGE_SIZE + 1
        ]
    )
    has_more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    report = None
    if request.method == "POST":
        actor.require(Permission.VIEW_AUDIT)
        report = verify_chain()
    clients = {c.pk: c.name for c in client_queries.clients_visible(actor=actor)}
    for entry in entries:
        entry.client_name = clients.get(entry.client_id, "") if entry.client_id else ""  # type: ignore[attr-defined]
    return render(
        request,
        "audit/list.html",
        {
            "entries": entries,
            "next_before": entries[-1].pk if has_more else None,
            "filters": filters,
            "clients": clients,
            "report": report,
        },
    )


@login_required
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered log as CSV (UTC timestamps, ISO 8601), streamed row by row."""
    rows = audit_csv_rows(actor=request_actor(request), **_filters(request))
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="openbpo-audit-log.csv"'
    return response
