"""URL configuration: the web UI of each app, and the JSON API at /api/v1/."""

from django.urls import include, path

from bpo.api import api

urlpatterns = [
    path("", include("bpo.web.urls")),
    path("", include("bpo.accounts.urls")),
    path("clients/", include("bpo.tenancy.urls")),
    path("audit/", include("bpo.audit.urls")),
    path("contracts/", include("bpo.contracts.urls")),
    path("calendars/", include("bpo.calendars.urls")),
    path("work/", include("bpo.work.urls")),
    path("intake/", include("bpo.intake.urls")),
    path("portal/", include("bpo.portal.urls")),
    path("billing/", include("bpo.billing.urls")),
    path("finance/", include("bpo.finance.urls")),
    path("api/v1/", api.urls),
]

handler400 = "bpo.web.views.bad_request"
handler403 = "bpo.web.views.permission_denied"
handler404 = "bpo.web.views.not_found"
handler500 = "bpo.web.views.server_error"
