"""API: the current user, memberships (roles) and staff assignments."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from bpo.accounts import actions, queries
from bpo.accounts.models import Assignment, Membership, User
from bpo.accounts.schemas import (
    AssignmentCreate,
    AssignmentOut,
    AssignmentPage,
    ClientPageParams,
    MembershipCreate,
    MembershipOut,
    MembershipPage,
    MeOut,
)
from bpo.apitypes import DbId
from bpo.errors import FieldError, documented_errors
from bpo.paging import page_of
from bpo.tenancy import queries as client_queries
from bpo.tenancy.api import client_in_body
from bpo.tenancy.context import Actor, request_actor

router = Router()


@router.get(
    "/me",
    response={200: MeOut, **documented_errors()},
    tags=["me"],
    summary="Who you are, your roles and clients",
)
def me(request: HttpRequest) -> dict[str, Any]:
    actor = request_actor(request)
    roles: list[dict[str, Any]] = [
        {"role": r, "client_id": None} for r in sorted(actor.provider_roles)
    ]
    for client_id, client_roles in sorted(actor.client_roles.items()):
        roles += [{"role": r, "client_id": client_id} for r in sorted(client_roles)]
    return {
        "id": actor.user.pk,
        "email": actor.user.email,
        "full_name": actor.user.full_name,
        "side": "provider" if actor.is_provider else "client",
        "roles": roles,
        "clients": list(client_queries.clients_visible(actor=actor).only("id", "name", "slug")),
    }


@router.get(
    "/memberships",
    response={200: MembershipPage, **documented_errors(403)},
    tags=["memberships"],
    summary="Who holds which role (provider admins; client admins for their client)",
)
def list_memberships(request: HttpRequest, params: Query[ClientPageParams]) -> dict[str, Any]:
    rows = queries.memberships_visible(actor=request_actor(request), client_id=params.client_id)
    return page_of(rows, params)


@router.post(
    "/memberships",
    response={201: MembershipOut, **documented_errors(403)},
    tags=["memberships"],
    summary="Give a person a role (provider admins)",
)
def create_membership(request: HttpRequest, payload: MembershipCreate) -> Status[Membership]:
    actor = request_actor(request)
    user = _user(actor, payload.user_id)
    client = client_in_body(actor, payload.client_id) if payload.client_id is not None else None
    return Status(
        201, actions.membership_create(actor=actor, user=user, role=payload.role, client=client)
    )


@router.delete(
    "/memberships/{membership_id}",
    response={204: None, **documented_errors(403, 404)},
    tags=["memberships"],
    summary="Take a role away (provider admins)",
)
def delete_membership(request: HttpRequest, membership_id: DbId) -> Status[None]:
    actor = request_actor(request)
    membership = queries.membership_get(actor=actor, membership_id=membership_id)
    actions.membership_delete(actor=actor, membership=membership)
    return Status(204, None)


@router.get(
    "/assignments",
    response={200: AssignmentPage, **documented_errors(403)},
    tags=["assignments"],
    summary="Which provider staff work for which client (provider admins)",
)
def list_assignments(request: HttpRequest, params: Query[ClientPageParams]) -> dict[str, Any]:
    rows = queries.assignments_visible(actor=request_actor(request), client_id=params.client_id)
    return page_of(rows, params)


@router.post(
    "/assignments",
    response={201: AssignmentOut, **documented_errors(403)},
    tags=["assignments"],
    summary="Assign a staff member to a client (provider admins)",
)
def create_assignment(request: HttpRequest, payload: AssignmentCreate) -> Status[Assignment]:
    actor = request_actor(request)
    user = _user(actor, payload.user_id)
    client = client_in_body(actor, payload.client_id)
    return Status(201, actions.assignment_create(actor=actor, user=user, client=client))


@router.delete(
    "/assignments/{assignment_id}",
    response={204: None, **documented_errors(403, 404)},
    tags=["assignments"],
    summary="Withdraw a staff member from a client (provider admins)",
)
def delete_assignment(request: HttpRequest, assignment_id: DbId) -> Status[None]:
    actor = request_actor(request)
    assignment = queries.assignment_get(actor=actor, assignment_id=assignment_id)
    actions.assignment_delete(actor=actor, assignment=assignment)
    return Status(204, None)


def _user(actor: Actor, user_id: int) -> User:
    try:
        return queries.user_get(actor=actor, user_id=user_id)
    except User.DoesNotExist as exc:
        raise FieldError("body.user_id", f"There is no person with id {user_id}.") from exc
