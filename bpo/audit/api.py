"""API: the access log, what the provider's people viewed or changed of a client's data."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from bpo.audit import queries
from bpo.audit.schemas import AccessEntryPage, AccessLogParams
from bpo.errors import FieldError, documented_errors
from bpo.paging import page_of
from bpo.tenancy.context import request_actor

access_log_router = Router(tags=["access log"])


@access_log_router.get(
    "",
    response={200: AccessEntryPage, **documented_errors(403)},
    summary="Who at the provider viewed or changed a client's data (oldest first)",
    description=(
        "For the client's admins (and provider admins). Entries of people who hold a provider "
        "role, in id order: to follow the log, ask again with `after` set to the id of the last "
        "entry you have. Another client's id, or one that does not exist, is a 403. Each call "
        "is itself recorded in the audit log."
    ),
)
def list_access_log(request: HttpRequest, params: Query[AccessLogParams]) -> dict[str, Any]:
    """One page of a client's access log."""
    if params.since and params.until and params.until <= params.since:
        raise FieldError("query.until", "The end of the period lies before its start.")
    rows = queries.provider_access_entries(
        actor=request_actor(request),
        client_id=params.client,
        kind=params.kind,
        person_id=params.person_id,
        since=params.since,
        until=params.until,
    )
    return page_of(rows, params)
