"""Background-job edge: a job carries ids only and re-enters its tenant scope before it works.

Jobs are declared with Django's Tasks API (``@task``) around a function wrapped by
:func:`client_job`. The job's arguments must include ``client_id`` and ``actor_id``; the wrapper
checks them, rebuilds the actor from the database (so a role removed since the job was queued
is respected), and runs the function as that actor inside that one client's scope. A job queued
without them fails at once with :class:`JobScopeError` and changes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from bpo.audit.context import request_context
from bpo.tenancy.context import acting_as, actor_for

R = TypeVar("R")


class JobScopeError(Exception):
    """A job was started without the client or actor it must run for, or with foreign ones."""


def client_job(func: Callable[..., R]) -> Callable[..., R]:
    """Run ``func(client_id=…, actor_id=…, **ids)`` as that actor inside that client's scope."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> R:
        from bpo.accounts.models import User

        name = func.__qualname__
        if args:
            raise JobScopeError(f"Job {name} takes keyword arguments (ids) only.")
        client_id, actor_id = kwargs.get("client_id"), kwargs.get("actor_id")
        if client_id is None or actor_id is None:
            raise JobScopeError(f"Job {name} needs client_id and actor_id; got {sorted(kwargs)}.")
        user = User.objects.filter(pk=actor_id, is_active=True).first()
        if user is None:
            raise JobScopeError(f"Job {name}: actor {actor_id} is unknown or deactivated.")
        actor = actor_for(user)
        if int(client_id) not in actor.client_ids:
            raise JobScopeError(f"Job {name}: {user.email} may not act for client {client_id}.")
        with (
            request_context(request_id=f"job-{name}"[:64]),
            acting_as(actor.narrowed_to(int(client_id))),
        ):
            return func(**kwargs)

    return run
