"""Security headers Django 5.2 does not set by itself, the person's time zone, and the page a
busy database answers with."""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Callable

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from bpo.errors import BUSY_RETRY_AFTER, database_busy
from bpo.web.formatting import locale_from_header, reader_locale

logger = logging.getLogger(__name__)

# Everything is served from this origin; no inline scripts. Inline style attributes are allowed
# for Bootstrap utilities such as progress bar widths.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


class SecurityHeadersMiddleware:
    """Add a Content-Security-Policy and a Permissions-Policy to every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


class UserTimeZoneMiddleware:
    """Show dates and times in the logged-in person's time zone (stored values stay UTC)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            timezone.activate(zoneinfo.ZoneInfo(user.time_zone))  # type: ignore[union-attr]
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class ReaderLocaleMiddleware:
    """Format numbers, money and dates for the reader's locale (from Accept-Language); the
    API does the same, so a client's systems read amounts in the locale they ask for."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = reader_locale.set(locale_from_header(request.headers.get("Accept-Language", "")))
        try:
            return self.get_response(request)
        finally:
            reader_locale.reset(token)


class DatabaseBusyMiddleware:
    """A page whose database write waited past the lock timeout answers 503 with Retry-After,
    as the API does (bpo.errors): the transaction that waited was rolled back, so the person is
    told to send it again rather than that the system failed. (A file import has already
    received its file by then: it shows as received on the account's Files tab.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not (isinstance(exception, OperationalError) and database_busy(exception)):
            return None
        logger.warning("Database busy in %s %s: %s", request.method, request.path, exception)
        sent_a_form = request.method == "POST"
        response = render(
            request,
            "web/error.html",
            {
                "status": 503,
                "title": "Busy, try again",
                "message": (
                    "The system was busy with other changes for longer than this request may "
                    "wait, so its change was rolled back. "
                    + (
                        "Go back: what you entered is still in the form; send it again."
                        if sent_a_form
                        else "Reload the page in a moment."
                    )
                ),
            },
            status=503,
        )
        response["Retry-After"] = str(BUSY_RETRY_AFTER)
        return response
