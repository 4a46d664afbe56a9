"""The tenant scope: which clients' data the code running now may touch.

This module is the one place where client isolation is enforced. It builds on django-scopes:
a scope is entered with :func:`client_scope` at the edges of the system only (web middleware, API
authentication, background tasks, management commands), and every client-owned model's manager
refuses to run a query outside it.

Unlike bare django-scopes, a scope here is always an explicit collection of client ids; ``None``
("no filter") is not accepted, so no code path can widen a scope to every client by accident.
The only way to read across all clients is :func:`all_clients_unscoped`, which names the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import models
from django_scopes import ScopeError, scope, scopes_disabled
from django_scopes.state import get_scope

__all__ = [
    "ScopeError",
    "TenantManager",
    "active_client_ids",
    "all_clients_unscoped",
    "client_scope",
    "ensure_client_in_scope",
]

DIMENSION = "client"


@contextmanager
def client_scope(client_ids: Iterable[int]) -> Iterator[frozenset[int]]:
    """Enter a scope in which client-owned data of exactly these clients is visible."""
    ids = frozenset(int(i) for i in client_ids)
    with scope(**{DIMENSION: tuple(sorted(ids))}):
        yield ids


@contextmanager
def all_clients_unscoped(reason: str) -> Iterator[None]:
    """Read across every client: only for the tenancy machinery itself (computing a scope) and
    for maintenance commands that must see everything (migrations of data, the audit verifier).

    ``reason`` is required so every use says why it may cross the tenant boundary.
    """
    if not reason.strip():
        raise ValueError("all_clients_unscoped needs a reason")
    with scopes_disabled():
        yield


def active_client_ids() -> frozenset[int]:
    """The client ids of the active scope; raises ScopeError when no scope is active."""
    current = get_scope()
    if not current.get("_enabled", True):
        raise ScopeError("The tenant scope is disabled here; no client ids are defined.")
    if DIMENSION not in current:
        raise ScopeError("A client scope needs to be active for this operation.")
    return frozenset(current[DIMENSION])


def ensure_client_in_scope(client_id: object) -> int:
    """Check an identifier taken from a request, a file or a job against the active scope.

    Raises ``ScopeError`` when the id is not one of the clients the code may touch now; tenant
    keys are compared for exact equality after conversion to ``int``.
    """
    if client_id is None:
        raise ScopeError("A client is required here.")
    try:
        key = int(client_id)  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise ScopeError(f"{client_id!r} is not a client id.") from exc
    if key not in active_client_ids():
        raise ScopeError(f"Client {key} is outside the active scope.")
    return key


class DisabledQuerySet(models.QuerySet):
    """A queryset that raises on any evaluation: what a scoped manager returns outside a scope."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise ScopeError(
            f"{self.model.__name__} is client-owned data: a client scope needs to be active "
            "for this query (enter one at the edge: middleware, API auth, task or command)."
        )

    __bool__ = __iter__ = __len__ = __getitem__ = _refuse
    all = filter = exclude = get = first = last = count = exists = _refuse
    aggregate = annotate = values = values_list = order_by = iterator = _refuse
    update = delete = get_or_create = update_or_create = select_for_update = _refuse
    in_bulk = earliest = latest = only = defer = select_related = prefetch_related = _refuse


class TenantManager(models.Manager):
    """Default manager of client-owned models: filters to the active scope, refuses without one.

    ``lookup`` is the path from the model to the client's primary key (``"client"`` for models
    with a ``client`` foreign key, ``"pk"`` for ``Client`` itself).
    """

    def __init__(self, lookup: str = DIMENSION) -> None:
        super().__init__()
        self.lookup = lookup

    def deconstruct(self) -> tuple[bool, str | None, str | None, tuple[Any, ...], dict[str, Any]]:
        as_manager, path, qs, _args, _kwargs = super().deconstruct()
        return as_manager, path, qs, (), {"lookup": self.lookup}

    def get_queryset(self) -> models.QuerySet:
        current = get_scope()
        if not current.get("_enabled", True):
            return super().get_queryset()
        if DIMENSION not in current:
            return DisabledQuerySet(self.model, using=self._db)
        return super().get_queryset().filter(**{f"{self.lookup}__in": current[DIMENSION]})
