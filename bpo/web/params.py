"""Reading a list page's query string: a number in it (a cursor, an id), and the query its
paging links keep (its filters)."""

from __future__ import annotations

from django.http import HttpRequest


def int_or_none(value: str | None) -> int | None:
    """A database id from the query string (a cursor, a client); None when it is missing or
    not one (never an overflow)."""
    try:
        number = int(value) if value else None
    except ValueError:
        return None
    return number if number is not None and 1 <= number < 2**63 else None


def query_without(request: HttpRequest, *names: str) -> str:
    """The request's query string without the parameters ``names`` (a page's cursor), for the
    links that keep the rest of it."""
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()
