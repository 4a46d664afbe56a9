"""Who is acting and on which clients: the Actor, and entering its scope at an edge.

An edge (web middleware, API authentication, a background task, a management command) turns a
user into an :class:`Actor` with :func:`actor_for` and runs the rest of its work inside
:func:`acting_as`. Everything below the edge reads the actor with :func:`current_actor` and sees
only the clients of the actor's scope.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

from bpo.accounts.roles import GRANTS, PERMISSION_DESCRIPTIONS, Permission, Role
from bpo.tenancy.scoping import all_clients_unscoped, client_scope

if TYPE_CHECKING:
    from bpo.accounts.models import User


class Forbidden(PermissionDenied):
    """The actor lacks a permission. The edges answer 403 and write the denial to the audit log."""

    def __init__(self, permission: str, *, client_id: int | None = None, message: str = "") -> None:
        self.permission = permission
        self.client_id = client_id
        what = PERMISSION_DESCRIPTIONS.get(permission, permission)  # type: ignore[call-overload]
        super().__init__(message or f"Your role does not allow you to {what}.")


@dataclass(frozen=True)
class Actor:
    """A user with the roles they hold and the clients they may see, fixed for one request/job."""

    user: User
    provider_roles: frozenset[Role] = frozenset()
    client_roles: Mapping[int, frozenset[Role]] = field(default_factory=dict)
    client_ids: frozenset[int] = frozenset()

    @property
    def is_provider(self) -> bool:
        return bool(self.provider_roles)

    @property
    def roles(self) -> frozenset[Role]:
        every = set(self.provider_roles)
        for roles in self.client_roles.values():
            every |= roles
        return frozenset(every)

    def has_role(self, role: Role, *, client_id: int | None = None) -> bool:
        if role.is_provider_role:
            return role in self.provider_roles
        if client_id is None:
            return any(role in roles for roles in self.client_roles.values())
        return role in self.client_roles.get(client_id, frozenset())

    def can(self, permission: Permission, *, client_id: int | None = None) -> bool:
        """Whether the actor holds a role granting ``permission`` (at ``client_id`` if given).

        Provider roles apply to every client in the actor's scope; client roles to their client.
        """
        granted = GRANTS[permission]
        if self.provider_roles & granted:
            return client_id is None or client_id in self.client_ids
        if client_id is None:
            return any(roles & granted for roles in self.client_roles.values())
        return bool(self.client_roles.get(client_id, frozenset()) & granted)

    def narrowed_to(self, client_id: int) -> Actor:
        """The same person acting for one client only (commands and jobs work per client)."""
        if client_id not in self.client_ids:
            raise Forbidden(
                "client_access",
                client_id=client_id,
                message=f"{self.user.email} may not act for client {client_id}.",
            )
        return Actor(
            user=self.user,
            provider_roles=self.provider_roles,
            client_roles={k: v for k, v in self.client_roles.items() if k == client_id},
            client_ids=frozenset({client_id}),
        )

    def require(self, permission: Permission, *, client_id: int | None = None) -> None:
        """Raise :class:`Forbidden` unless the actor ``can`` do this."""
        if not self.can(permission, client_id=client_id):
            raise Forbidden(permission, client_id=client_id)


def actor_for(user: User) -> Actor:
    """Compute a user's roles and visible clients from memberships and assignments.

    Provider admins see every client (they manage them); other provider staff see the clients
    they are assigned to; client users see the clients where they hold a role.
    """
    from bpo.accounts.models import Assignment, Membership
    from bpo.tenancy.models import Client

    if not user.is_active:
        return Actor(user=user)
    with all_clients_unscoped("computing the actor's own scope"):
        provider_roles: set[Role] = set()
        client_roles: dict[int, set[Role]] = {}
        for client_id, role in Membership.objects.filter(user=user).values_list("client", "role"):
            if client_id is None:
                provider_roles.add(Role(role))
            else:
                client_roles.setdefault(client_id, set()).add(Role(role))
        visible: set[int] = set(client_roles)
        if Role.ADMIN in provider_roles:
            visible |= set(Client.objects.values_list("pk", flat=True))
        elif provider_roles:
            visible |= set(
                Assignment.objects.filter(user=user, client__is_active=True).values_list(
                    "client_id", flat=True
                )
            )
    return Actor(
        user=user,
        provider_roles=frozenset(provider_roles),
        client_roles={cid: frozenset(roles) for cid, roles in client_roles.items()},
        client_ids=frozenset(visible),
    )


_current_actor: ContextVar[Actor | None] = ContextVar("current_actor", default=None)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Run the enclosed work as ``actor``, inside the scope of the clients it may see."""
    token = _current_actor.set(actor)
    try:
        with client_scope(actor.client_ids):
            yield actor
    finally:
        _current_actor.reset(token)


def current_actor() -> Actor | None:
    """The actor of the enclosing :func:`acting_as`, or None (anonymous or system work)."""
    return _current_actor.get()


def request_actor(request: object) -> Actor:
    """The Actor the edge attached to this request; the views and endpoints that call this
    require authentication, so a missing actor is a programming error."""
    actor = getattr(request, "actor", None)
    if actor is None:
        raise Forbidden("authenticated", message="Authentication required.")
    return actor
