"""API schemas of the access log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from bpo.apitypes import DbId, IsoDateTime
from bpo.audit.queries import AccessKind, access_kind, changed_fields
from bpo.paging import PageParams


class AccessLogParams(PageParams):
    client: DbId = Field(description="The client whose access log to read.")
    kind: AccessKind | None = Field(
        default=None, description="Only reads of the data (viewed) or only writes (changed)."
    )
    person_id: DbId | None = Field(default=None, description="Only what this person did.")
    since: IsoDateTime | None = Field(
        default=None, description="At or after this instant (ISO 8601 with an offset, e.g. Z)."
    )
    until: IsoDateTime | None = Field(
        default=None, description="Before this instant (ISO 8601 with an offset)."
    )


class AccessEntryOut(Schema):
    id: int
    at: datetime
    kind: AccessKind
    person_id: int | None = Field(description="The provider person's user id.")
    person_name: str = Field(description="Their current name; empty once they are deleted.")
    person_email: str = Field(description="Their e-mail address when they acted.")
    action: str = Field(description="What was done, e.g. attachment.downloaded.")
    object_type: str
    object_id: str
    object: str = Field(description="The object, as it was named when it was touched.")
    changed_fields: list[str] = Field(description="The names of the fields a write changed.")

    @staticmethod
    def resolve_kind(obj: Any) -> AccessKind:
        return access_kind(obj.action)

    @staticmethod
    def resolve_person_id(obj: Any) -> int | None:
        return obj.actor_id

    @staticmethod
    def resolve_person_name(obj: Any) -> str:
        return getattr(obj, "actor_name", None) or ""

    @staticmethod
    def resolve_person_email(obj: Any) -> str:
        return obj.actor_email

    @staticmethod
    def resolve_object(obj: Any) -> str:
        return obj.object_repr

    @staticmethod
    def resolve_changed_fields(obj: Any) -> list[str]:
        return changed_fields(obj)


class AccessEntryPage(Schema):
    items: list[AccessEntryOut]
    next_cursor: int | None
