"""API: which agents are certified for which services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict

from bpo.accounts.models import User
from bpo.apitypes import DbId, StrictDbId
from bpo.contracts.models import Service
from bpo.errors import FieldError, documented_errors
from bpo.paging import PageParams, page_of
from bpo.tenancy.context import request_actor
from bpo.work import queries as work_queries
from bpo.workforce import actions, queries
from bpo.workforce.models import Certification

router = Router(tags=["agents"])


class CertificationIn(Schema):
    model_config = ConfigDict(extra="forbid")

    user_id: StrictDbId
    service_id: StrictDbId


class CertificationOut(Schema):
    id: int
    user_id: int
    service_id: int
    client_id: int
    certified_at: datetime


class CertificationPage(Schema):
    items: list[CertificationOut]
    next_cursor: int | None


class CertificationParams(PageParams):
    service_id: DbId | None = None


@router.get(
    "",
    response={200: CertificationPage, **documented_errors()},
    summary="Certifications of agents on services",
)
def list_certifications(request: HttpRequest, params: Query[CertificationParams]) -> Any:
    rows = queries.certifications_visible(
        actor=request_actor(request), service_id=params.service_id
    )
    return page_of(rows, params)


@router.post(
    "",
    response={201: CertificationOut, **documented_errors(403)},
    summary="Certify an agent on a service (provider admins and managers)",
)
def certify(request: HttpRequest, payload: CertificationIn) -> Status[Certification]:
    actor = request_actor(request)
    try:
        service = work_queries.service_get(actor=actor, service_id=payload.service_id)
    except Service.DoesNotExist as exc:
        raise FieldError(
            "body.service_id", f"There is no service with id {payload.service_id}."
        ) from exc
    try:
        user = work_queries.staff_get(actor=actor, user_id=payload.user_id)
    except User.DoesNotExist as exc:
        raise FieldError("body.user_id", f"There is no agent with id {payload.user_id}.") from exc
    return Status(201, actions.certification_grant(actor=actor, user=user, service=service))
