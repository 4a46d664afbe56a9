"""The one NinjaAPI of OpenBPO, served at /api/v1/; each app adds its router here."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.security import APIKeyCookie, HttpBearer

from bpo.errors import api_error_response
from bpo.tenancy.context import Actor


class BearerToken(HttpBearer):
    """A personal API token: ``Authorization: Bearer obpo_…`` (checked by the tenancy edge)."""

    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        if getattr(request, "auth_method", "") == "token":
            return getattr(request, "actor", None)
        return None


class BrowserSession(APIKeyCookie):
    """The web UI's session cookie; unsafe methods also need the CSRF token, as in the UI."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        if getattr(request, "auth_method", "") == "session":
            return getattr(request, "actor", None)
        return None


class OpenBpoAPI(NinjaAPI):
    """NinjaAPI whose every failure, of any kind, answers in the one error shape of bpo.errors."""

    def on_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse:  # type: ignore[override]
        return api_error_response(request, exc)


api = OpenBpoAPI(
    title="OpenBPO API",
    version="1",
    description=(
        "Operations platform for business process outsourcing. Authenticate with a personal API "
        "token (create one under *Account → API tokens* in the web UI) sent as "
        "`Authorization: Bearer <token>`. Every error has the shape "
        '`{"error": {"status", "code", "message", "request_id", "fields": [{"path", "message"}]}}`.'
    ),
    auth=[BearerToken(), BrowserSession()],
    urls_namespace="api",
)


def _register_routers() -> None:
    from bpo.accounts.api import router as accounts_router
    from bpo.audit.api import access_log_router
    from bpo.billing.api import router as billing_router
    from bpo.calendars.api import router as calendars_router
    from bpo.contracts.api import router as contracts_router
    from bpo.finance.api import router as finance_router
    from bpo.intake.api import imports_router, inbound_router, mailboxes_router
    from bpo.portal.api import reports_router
    from bpo.tenancy.api import router as clients_router
    from bpo.work.api import (
        attachments_router,
        canned_router,
        handle_time_router,
        notifications_router,
        queues_router,
    )
    from bpo.work.api import router as work_router
    from bpo.workforce.api import agents_router
    from bpo.workforce.api import router as workforce_router

    api.add_router("/", accounts_router)
    api.add_router("/clients", clients_router)
    api.add_router("/calendars", calendars_router)
    api.add_router("/", contracts_router)
    api.add_router("/work-items", work_router)
    api.add_router("/queues", queues_router)
    api.add_router("/notifications", notifications_router)
    api.add_router("/handle-time", handle_time_router)
    api.add_router("/agents", agents_router)
    api.add_router("/attachments", attachments_router)
    api.add_router("/certifications", workforce_router)
    api.add_router("/canned-responses", canned_router)
    api.add_router("/mailboxes", mailboxes_router)
    api.add_router("/inbound-emails", inbound_router)
    api.add_router("/imports", imports_router)
    api.add_router("/access-log", access_log_router)
    api.add_router("/service-reports", reports_router)
    api.add_router("/", billing_router)
    api.add_router("/", finance_router)


_register_routers()
