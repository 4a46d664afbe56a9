"""API: contracts and their versions, services and SLA policies."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from bpo.apitypes import DbId, changes
from bpo.calendars import queries as calendar_queries
from bpo.calendars.models import BusinessCalendar
from bpo.contracts import actions, queries
from bpo.contracts.models import Contract, ContractVersion, ServiceTerms, SlaPolicy
from bpo.contracts.schemas import (
    ContractEnd,
    ContractIn,
    ContractListParams,
    ContractOut,
    ContractPage,
    PolicyIn,
    PolicyOut,
    PolicyPatch,
    ServiceIn,
    TermsOut,
    TermsPatch,
    VersionOut,
    VersionSummary,
    VersionTermsPatch,
)
from bpo.errors import FieldError, documented_errors
from bpo.paging import page_of
from bpo.tenancy.api import client_in_body
from bpo.tenancy.context import Actor, request_actor

router = Router(tags=["contracts"])


def _version(actor: Actor, version_id: int) -> ContractVersion:
    return queries.version_get(actor=actor, version_id=version_id)


def _calendar(actor: Actor, calendar_id: int, client_id: int) -> BusinessCalendar:
    try:
        calendar = calendar_queries.calendar_get(actor=actor, calendar_id=calendar_id)
    except BusinessCalendar.DoesNotExist:
        calendar = None
    if calendar is None or calendar.client_id != client_id:
        raise FieldError("body.calendar_id", f"This client has no calendar with id {calendar_id}.")
    return calendar


@router.get(
    "/contracts", response={200: ContractPage, **documented_errors()}, summary="List contracts"
)
def list_contracts(request: HttpRequest, params: Query[ContractListParams]) -> dict[str, Any]:
    rows = queries.contracts_visible(actor=request_actor(request), client_id=params.client_id)
    return page_of(rows, params)


@router.post(
    "/contracts",
    response={201: ContractOut, **documented_errors(403)},
    summary="Record a contract; its first version is a draft",
)
def create_contract(request: HttpRequest, payload: ContractIn) -> Status[Contract]:
    actor = request_actor(request)
    data = payload.dict()
    client_id = data.pop("client_id")
    client = client_in_body(actor, client_id)
    contract = actions.contract_create(actor=actor, client=client, **data)
    return Status(201, queries.contract_get(actor=actor, contract_id=contract.pk))


@router.get(
    "/contracts/{contract_id}",
    response={200: ContractOut, **documented_errors(404)},
    summary="One contract with its versions",
)
def get_contract(request: HttpRequest, contract_id: DbId) -> Contract:
    return queries.contract_get(actor=request_actor(request), contract_id=contract_id)


@router.post(
    "/contracts/{contract_id}/versions",
    response={201: VersionSummary, **documented_errors(403, 404)},
    summary="Start a new draft version, copied from the latest one",
)
def draft_version(request: HttpRequest, contract_id: DbId) -> Status[ContractVersion]:
    actor = request_actor(request)
    contract = queries.contract_get(actor=actor, contract_id=contract_id)
    return Status(201, actions.contract_version_draft(actor=actor, contract=contract))


@router.post(
    "/contracts/{contract_id}/end",
    response={200: VersionSummary, **documented_errors(403, 404)},
    summary="End the contract's active version on a date",
)
def end_contract(request: HttpRequest, contract_id: DbId, payload: ContractEnd) -> Any:
    actor = request_actor(request)
    contract = queries.contract_get(actor=actor, contract_id=contract_id)
    return actions.contract_end(actor=actor, contract=contract, end_date=payload.end_date)


@router.get(
    "/contract-versions/{version_id}",
    response={200: VersionOut, **documented_errors(404)},
    summary="One version: terms, services and SLA policies",
)
def get_version(request: HttpRequest, version_id: DbId) -> ContractVersion:
    return _version(request_actor(request), version_id)


@router.patch(
    "/contract-versions/{version_id}",
    response={200: VersionOut, **documented_errors(403, 404)},
    summary="Change a draft version's terms (finance may change its billing terms)",
)
def update_version(request: HttpRequest, version_id: DbId, payload: VersionTermsPatch) -> Any:
    actor = request_actor(request)
    version = _version(actor, version_id)
    nullable = ("end_date", "credit_at_risk_percent", "earn_back_months")
    actions.contract_version_update(
        actor=actor, version=version, **changes(payload, nullable=nullable)
    )
    return _version(actor, version_id)


@router.post(
    "/contract-versions/{version_id}/activate",
    response={200: VersionOut, **documented_errors(403, 404)},
    summary="Make a draft the contract's terms (supersedes the version before)",
)
def activate_version(request: HttpRequest, version_id: DbId) -> Any:
    actor = request_actor(request)
    actions.contract_version_activate(actor=actor, version=_version(actor, version_id))
    return _version(actor, version_id)


@router.post(
    "/contract-versions/{version_id}/services",
    response={201: TermsOut, **documented_errors(403, 404)},
    summary="Add a service to a draft version",
)
def add_service(request: HttpRequest, version_id: DbId, payload: ServiceIn) -> Status[ServiceTerms]:
    actor = request_actor(request)
    version = _version(actor, version_id)
    data = payload.dict()
    calendar = _calendar(actor, data.pop("calendar_id"), version.client_id)
    terms = actions.service_add(actor=actor, version=version, calendar=calendar, **data)
    return Status(201, terms)


@router.patch(
    "/service-terms/{terms_id}",
    response={200: TermsOut, **documented_errors(403, 404)},
    summary="Change what a draft version says about a service",
)
def update_terms(request: HttpRequest, terms_id: DbId, payload: TermsPatch) -> ServiceTerms:
    actor = request_actor(request)
    terms = queries.terms_get(actor=actor, terms_id=terms_id)
    values = changes(payload, nullable=("sla_policy_id",))
    if "calendar_id" in values:
        values["calendar_id"] = _calendar(actor, values["calendar_id"], terms.client_id).pk
    return actions.service_terms_update(actor=actor, terms=terms, **values)


@router.post(
    "/contract-versions/{version_id}/sla-policies",
    response={201: PolicyOut, **documented_errors(403, 404)},
    summary="Add an SLA policy with its targets to a draft version",
)
def add_policy(request: HttpRequest, version_id: DbId, payload: PolicyIn) -> Status[SlaPolicy]:
    actor = request_actor(request)
    data = payload.dict()
    targets = data.pop("targets")
    policy = actions.sla_policy_save(
        actor=actor, version=_version(actor, version_id), targets=targets, **data
    )
    return Status(201, policy)


@router.patch(
    "/sla-policies/{policy_id}",
    response={200: PolicyOut, **documented_errors(403, 404)},
    summary="Change an SLA policy of a draft version (targets are replaced)",
)
def update_policy(request: HttpRequest, policy_id: DbId, payload: PolicyPatch) -> SlaPolicy:
    actor = request_actor(request)
    policy = queries.policy_get(actor=actor, policy_id=policy_id)
    data = changes(payload)
    targets = data.pop("targets", None)
    return actions.sla_policy_save(
        actor=actor, version=policy.version, policy=policy, targets=targets, **data
    )
