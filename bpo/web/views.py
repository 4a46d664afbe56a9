"""Home page and error pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bpo.accounts.roles import Permission
from bpo.audit.log import record
from bpo.tenancy import queries as client_queries
from bpo.tenancy.context import request_actor
from bpo.web.queries import admin_summary


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """A home page that fits the actor: their clients, and for admins what needs attention."""
    actor = request_actor(request)
    context = {
        "clients": client_queries.clients_visible(actor=actor, include_inactive=False),
        "summary": admin_summary(actor=actor) if actor.can(Permission.MANAGE_PEOPLE) else None,
    }
    return render(request, "web/home.html", context)


def healthz(request: HttpRequest) -> HttpResponse:
    """A bare liveness probe, also the baseline of the API benchmark (no auth, no database)."""
    return HttpResponse("ok", content_type="text/plain")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403 page; every denial is written to the audit log."""
    record(
        "permission.denied",
        object_type="page",
        object_id=f"{request.method} {request.path}",
        client_id=getattr(exception, "client_id", None),
        after={"permission": getattr(exception, "permission", "")},
    )
    message = str(exception) if exception is not None and str(exception) else ""
    return render(
        request,
        "web/error.html",
        {"status": 403, "title": "Not allowed", "message": message},
        status=403,
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 page; also what another client's object looks like."""
    return render(
        request,
        "web/error.html",
        {
            "status": 404,
            "title": "Not found",
            "message": "There is nothing here, or it is not yours to see.",
        },
        status=404,
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """400 page: a file above the upload limit says which file and what the limit is."""
    from bpo.uploads import UploadTooLarge

    too_large = isinstance(exception, UploadTooLarge)
    return render(
        request,
        "web/error.html",
        {
            "status": 413 if too_large else 400,
            "title": "File too large" if too_large else "Bad request",
            "message": str(exception)
            if too_large
            else "The request could not be read; go back and try again.",
        },
        status=413 if too_large else 400,
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """500 page that names the request id for support."""
    return render(
        request,
        "web/error.html",
        {
            "status": 500,
            "title": "Something went wrong",
            "message": "Quote the request id below when you report this.",
        },
        status=500,
    )
