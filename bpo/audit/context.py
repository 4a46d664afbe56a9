"""The request id and client IP of the work running now, for the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    """Where the current work came from: a request id to correlate logs, and the peer's IP."""

    request_id: str
    ip: str | None = None


_context: ContextVar[RequestContext | None] = ContextVar("audit_request_context", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def request_context(
    *, request_id: str | None = None, ip: str | None = None
) -> Iterator[RequestContext]:
    """Tag everything audited inside with this request id and IP (jobs and commands use it too)."""
    ctx = RequestContext(request_id=request_id or new_request_id(), ip=ip)
    token = _context.set(ctx)
    try:
        yield ctx
    finally:
        _context.reset(token)


def current_request_context() -> RequestContext | None:
    return _context.get()
