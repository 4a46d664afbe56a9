"""API schemas of the portal: monthly service reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field

from bpo.apitypes import DbId, StrictDbId
from bpo.paging import PageParams


class ReportIn(Schema):
    model_config = ConfigDict(extra="forbid")

    service_id: StrictDbId
    month: str = Field(
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="YYYY-MM: a month that has begun in the service's calendar (the current "
        "one gives a preliminary report).",
    )


class ReportOut(Schema):
    id: int
    client_id: int
    service_id: int
    month: date = Field(description="The first day of the month reported on.")
    generated_at: datetime
    generated_by_id: int | None = Field(description="Empty: made by the monthly job.")
    complete: bool = Field(description="The month had ended when the report was made.")


class ReportDetailOut(ReportOut):
    figures: dict[str, Any] = Field(
        description="Everything the report shows: service levels against what was promised, "
        "volumes, indicators, breaches with their causes, days of the month and the trend."
    )


class ReportPage(Schema):
    items: list[ReportOut]
    next_cursor: int | None


class ReportListParams(PageParams):
    service_id: DbId
