"""Keyset pagination for API lists: stable under inserts, constant cost at any depth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from ninja import Schema
from pydantic import Field

from bpo.apitypes import DbId

M = TypeVar("M", bound=Model)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[M]):
    """One page of rows in id order, and the cursor of the next page (None on the last)."""

    items: list[M]
    next_cursor: int | None


def keyset_page(queryset: QuerySet[M], *, after: int | None, limit: int) -> Page[M]:
    """Rows with an id greater than ``after``, ``limit`` of them, ordered by id."""
    rows: Any = queryset.order_by("pk")
    if after is not None:
        rows = rows.filter(pk__gt=after)
    items = list(rows[: limit + 1])
    has_more = len(items) > limit
    items = items[:limit]
    return Page(items=items, next_cursor=items[-1].pk if has_more and items else None)


class PageParams(Schema):
    """Query parameters of every list endpoint."""

    after: DbId | None = Field(default=None, description="Cursor: next_cursor of the page before.")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


def page_of(rows: QuerySet[M], params: PageParams) -> dict[str, Any]:
    """One page of ``rows`` as a list endpoint answers it: ``{"items", "next_cursor"}``."""
    page = keyset_page(rows, after=params.after, limit=params.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}
