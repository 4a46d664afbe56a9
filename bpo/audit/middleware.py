"""Give every request an id (honouring a well-formed X-Request-ID) and note the client IP."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from bpo.audit.context import request_context

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def client_ip(request: HttpRequest) -> str | None:
    """The peer address; X-Forwarded-For only when a trusted proxy count is configured."""
    hops = getattr(settings, "TRUSTED_PROXY_HOPS", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        chain = [part.strip() for part in forwarded.split(",") if part.strip()]
        if len(chain) >= hops:
            return chain[-hops]
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Wrap the request in an audit request context and echo the id in X-Request-ID."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        with request_context(
            request_id=incoming if _REQUEST_ID.match(incoming) else None, ip=client_ip(request)
        ) as ctx:
            request.request_id = ctx.request_id  # type: ignore[attr-defined]
            response = self.get_response(request)
        response["X-Request-ID"] = ctx.request_id
        return response
