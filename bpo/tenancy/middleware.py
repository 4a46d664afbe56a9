"""Web and API edge: every request runs as its user's Actor, inside that actor's tenant scope."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from bpo.tenancy.context import acting_as, actor_for
from bpo.tenancy.scoping import client_scope

TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


class TenantScopeMiddleware:
    """Authenticate API tokens and enter the tenant scope for the rest of the request.

    A request with ``Authorization: Bearer …`` under ``/api/`` acts as the token's user (or as
    nobody when the token is refused; ``request.auth_error`` then says why). Other requests act
    as the session's user. Anonymous requests run in an empty scope: no client's data is visible.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.auth_method = "session"  # type: ignore[attr-defined]
        request.auth_error = ""  # type: ignore[attr-defined]
        authorization = request.headers.get("Authorization", "")
        if request.path.startswith("/api/") and authorization:
            self._authenticate_token(request, authorization)
        user = request.user
        if user.is_authenticated:
            actor = actor_for(user)  # type: ignore[arg-type]
            request.actor = actor  # type: ignore[attr-defined]
            with acting_as(actor):
                return self.get_response(request)
        request.actor = None  # type: ignore[attr-defined]
        with client_scope(()):
            return self.get_response(request)

    @staticmethod
    def _authenticate_token(request: HttpRequest, authorization: str) -> None:
        from bpo.accounts import tokens
        from bpo.audit.log import record

        request.auth_method = "token"  # type: ignore[attr-defined]
        request.user = AnonymousUser()
        scheme, _, raw = authorization.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            request.auth_error = "Use 'Authorization: Bearer <API token>'."  # type: ignore[attr-defined]
            return
        result = tokens.check(raw)
        if result.user is None:
            request.auth_error = result.reason  # type: ignore[attr-defined]
            record(
                "auth.token_refused",
                object_type="accounts.apitoken",
                object_id=result.token.pk if result.token else "",
                object_repr=str(result.token) if result.token else "unknown token",
                actor=result.token.user if result.token else None,
                after={"reason": result.reason, "path": request.path},
            )
            return
        request.user = result.user
        token = result.token
        assert token is not None
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
            type(token).objects.filter(pk=token.pk).update(last_used_at=now)
