"""The one JSON error shape of the API, and translation of every failure into it.

Every error response is ``{"error": {"status", "code", "message", "request_id", "fields"}}``;
``fields`` lists ``{"path", "message"}`` for validation errors, the path naming where in the
request the problem is (``body.email``, ``query.limit``, ``path.client_id``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import (
    NON_FIELD_ERRORS,
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from bpo.tenancy.scoping import ScopeError
from bpo.uploads import UploadTooLarge

logger = logging.getLogger(__name__)


class FieldProblem(Schema):
    path: str
    message: str


class ErrorDetail(Schema):
    status: int
    code: str
    message: str
    request_id: str
    fields: list[FieldProblem]


class ErrorOut(Schema):
    """The one shape of every API error."""

    error: ErrorDetail


def documented_errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """Response entries for an operation's error statuses (401 and 422 always apply)."""
    return {status: ErrorOut for status in sorted({400, 401, 413, 422, *statuses})}


class FieldError(Exception):
    """A request value that names something which does not exist in the actor's scope."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(message)


def error_body(
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    fields: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    return {
        "error": {
            "status": status,
            "code": code,
            "message": message,
            "request_id": getattr(request, "request_id", ""),
            "fields": fields or [],
        }
    }


def error_response(
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    fields: list[dict[str, str]] | None = None,
) -> JsonResponse:
    return JsonResponse(error_body(request, status, code, message, fields), status=status)


def _ninja_path(loc: list[Any] | tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def validation_fields(exc: DjangoValidationError, prefix: str = "body") -> list[dict[str, str]]:
    if hasattr(exc, "error_dict"):
        fields: list[dict[str, str]] = []
        for name, errors in exc.message_dict.items():
            path = prefix if name == NON_FIELD_ERRORS else f"{prefix}.{name}"
            fields.extend({"path": path, "message": message} for message in errors)
        return fields
    return [{"path": prefix, "message": message} for message in exc.messages]


def api_error_response(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Translate an exception raised while serving an API request into the JSON error shape."""
    from bpo.audit.log import record
    from bpo.tenancy.context import Forbidden

    if isinstance(exc, NinjaValidationError):
        fields = [
            {"path": _ninja_path(err.get("loc", ())), "message": str(err.get("msg", "invalid"))}
            for err in exc.errors
        ]
        return error_response(request, 422, "validation_error", "The request is invalid.", fields)
    if isinstance(exc, DjangoValidationError):
        return error_response(
            request, 422, "validation_error", "The request is invalid.", validation_fields(exc)
        )
    if isinstance(exc, FieldError):
        return error_response(
            request,
            422,
            "validation_error",
            "The request is invalid.",
            [{"path": exc.path, "message": str(exc)}],
        )
    if isinstance(exc, AuthenticationError):
        message = getattr(request, "auth_error", "") or (
            "Authentication required: log in, or send 'Authorization: Bearer <API token>'."
        )
        return error_response(request, 401, "not_authenticated", message)
    if isinstance(exc, PermissionDenied):
        permission = getattr(exc, "permission", "")
        record(
            "permission.denied",
            object_type="api",
            object_id=f"{request.method} {request.path}",
            client_id=getattr(exc, "client_id", None),
            after={"permission": permission},
        )
        message = str(exc) if isinstance(exc, Forbidden) else "You may not do this."
        return error_response(request, 403, "forbidden", message)
    if isinstance(exc, Http404 | ObjectDoesNotExist | ScopeError):
        return error_response(request, 404, "not_found", "Not found.")
    if isinstance(exc, UploadTooLarge):
        return error_response(
            request,
            413,
            "payload_too_large",
            str(exc),
            [{"path": f"body.{exc.field_name}", "message": str(exc)}],
        )
    if isinstance(exc, RequestDataTooBig):
        return error_response(request, 413, "payload_too_large", "The request body is too large.")
    if isinstance(exc, HttpError):
        if isinstance(exc.__cause__, json.JSONDecodeError | UnicodeDecodeError):
            return error_response(
                request,
                400,
                "malformed_json",
                f"The request body is not valid JSON: {exc.__cause__}.",
                [{"path": "body", "message": str(exc.__cause__)}],
            )
        return error_response(request, exc.status_code, _code_for(exc.status_code), str(exc))
    if isinstance(exc, OperationalError) and database_busy(exc):
        logger.warning("Database busy in %s %s: %s", request.method, request.path, exc)
        response = error_response(
            request,
            503,
            "busy",
            "The database was busy with other writes for longer than this request may wait; "
            "its transaction was rolled back. Try again in a moment.",
        )
        response["Retry-After"] = str(BUSY_RETRY_AFTER)
        return response
    logger.exception("Unhandled error in %s %s", request.method, request.path, exc_info=exc)
    return error_response(
        request,
        500,
        "server_error",
        "Something went wrong on our side; quote the request id when you report it.",
    )


BUSY_RETRY_AFTER = 1  # seconds a client waits before resending after a busy database


def database_busy(exc: OperationalError) -> bool:
    """Whether the database refused for want of a lock in time (SQLite's busy timeout, or
    PostgreSQL's lock_not_available), not for a fault: the request may simply be sent again."""
    cause = exc.__cause__
    return "database is locked" in str(exc) or getattr(cause, "sqlstate", "") == "55P03"


def _code_for(status: int) -> str:
    return {
        400: "bad_request",
        401: "not_authenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "payload_too_large",
        429: "throttled",
        503: "busy",
    }.get(status, "error")
