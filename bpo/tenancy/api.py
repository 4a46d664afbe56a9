"""API: clients, as far as the caller may see them."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status

from bpo.apitypes import DbId, changes
from bpo.errors import FieldError, documented_errors
from bpo.paging import PageParams, page_of
from bpo.tenancy import actions, queries
from bpo.tenancy.context import Actor, request_actor
from bpo.tenancy.models import Client
from bpo.tenancy.schemas import ClientCreate, ClientOut, ClientPage, ClientUpdate

router = Router(tags=["clients"])


def client_in_body(actor: Actor, client_id: int, path: str = "body.client_id") -> Client:
    """The client a request body names, if the actor may see it; else a 422 naming the field.

    Another client's id and a missing one get the same answer, so the reply reveals nothing.
    """
    try:
        return queries.client_get(actor=actor, client_id=client_id)
    except Client.DoesNotExist as exc:
        raise FieldError(path, f"There is no client with id {client_id}.") from exc


@router.get(
    "", response={200: ClientPage, **documented_errors()}, summary="List the clients you may see"
)
def list_clients(request: HttpRequest, params: Query[PageParams]) -> dict[str, object]:
    return page_of(queries.clients_visible(actor=request_actor(request)), params)


@router.post(
    "",
    response={201: ClientOut, **documented_errors(403)},
    summary="Create a client (provider admins)",
)
def create_client(request: HttpRequest, payload: ClientCreate) -> Status[Client]:
    return Status(201, actions.client_create(actor=request_actor(request), **payload.dict()))


@router.get(
    "/{client_id}", response={200: ClientOut, **documented_errors(404)}, summary="One client"
)
def get_client(request: HttpRequest, client_id: DbId) -> Client:
    return queries.client_get(actor=request_actor(request), client_id=client_id)


@router.patch(
    "/{client_id}",
    response={200: ClientOut, **documented_errors(403, 404)},
    summary="Change a client (provider admins)",
)
def update_client(request: HttpRequest, client_id: int, payload: ClientUpdate) -> Client:
    client = queries.client_get(actor=request_actor(request), client_id=client_id)
    return actions.client_update(
        actor=request_actor(request),
        client=client,
        **changes(payload),
    )
