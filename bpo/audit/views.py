"""Web UI: the audit log for provider admins, an on-demand check of its hash chain, and the
access log: what the provider's people viewed or changed of a client's data, for its admins."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from bpo.accounts.models import User
from bpo.accounts.roles import Permission
from bpo.audit.forms import AccessLogFilterForm
from bpo.audit.log import verify_chain
from bpo.audit.queries import (
    AccessLogPage,
    access_log_clients,
    access_log_csv_rows,
    access_log_page,
    access_log_people,
    audit_csv_rows,
    audit_entries,
)
from bpo.tenancy import queries as client_queries
from bpo.tenancy.context import request_actor
from bpo.tenancy.models import Client
from bpo.web.params import int_or_none

PAGE_SIZE = 100


def _filters(request: HttpRequest) -> dict[str, Any]:
    return {
        "action": request.GET.get("action", "").strip(),
        "client_id": int_or_none(request.GET.get("client")),
        "actor_email": request.GET.get("actor", "").strip(),
    }


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    """Newest entries first, filterable by action prefix, client and actor; 100 per page."""
    actor = request_actor(request)
    filters = _filters(request)
    entries = list(
        audit_entries(actor=actor, before_id=int_or_none(request.GET.get("before")), **filters)[
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


ACCESS_PAGE_SIZE = 50


def _access_client_id(request: HttpRequest, clients: list[Client]) -> int:
    """The client the access log is asked for, else the first the actor may read it of.

    Another client's id is passed on as asked: the query refuses it (403) like a missing one.
    """
    asked = int_or_none(request.GET.get("client"))
    if asked is not None:
        return asked
    if not clients:
        raise Http404("There is no client whose access log you may read.")
    return clients[0].pk


def _person_choices(
    people: list[User], page: AccessLogPage, person_id: int | None
) -> list[tuple[int, str]]:
    """The person filter's options: who may open the data now, and the person filtered on even
    if they no longer may (their name from the rows shown)."""
    choices = [(p.pk, f"{p.full_name} ({p.email})") for p in people]
    if person_id is not None and all(pk != person_id for pk, _ in choices):
        row = next((r for r in page.rows if r.person_id == person_id), None)
        choices.append((person_id, (row.person_name or row.person_email) if row else "This person"))
    return choices


@login_required
def access_log(request: HttpRequest) -> HttpResponse:
    """Who at the provider viewed or changed the client's data, newest first, 50 per page."""
    actor = request_actor(request)
    clients = access_log_clients(actor=actor)
    client_id = _access_client_id(request, clients)
    form = AccessLogFilterForm(request.GET)
    filters = form.filters()
    page = access_log_page(
        actor=actor,
        client_id=client_id,
        limit=ACCESS_PAGE_SIZE,
        before_id=int_or_none(request.GET.get("before")),
        **filters,
    )
    people = access_log_people(actor=actor, client_id=client_id)
    query = request.GET.copy()
    query.pop("before", None)
    query["client"] = str(client_id)
    return render(
        request,
        "audit/access_log.html",
        {
            "clients": clients,
            "client": next((c for c in clients if c.pk == client_id), None),
            "form": form,
            "page": page,
            "person_choices": _person_choices(people, page, filters["person_id"]),
            "query": query.urlencode(),
        },
    )


@login_required
def access_log_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered access log as CSV (UTC timestamps, ISO 8601), streamed row by row."""
    actor = request_actor(request)
    client_id = _access_client_id(request, access_log_clients(actor=actor))
    rows = access_log_csv_rows(
        actor=actor, client_id=client_id, **AccessLogFilterForm(request.GET).filters()
    )
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="openbpo-access-log.csv"'
    return response
