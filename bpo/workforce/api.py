"""API: which agents are certified for which services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field, StrictInt, StrictStr

from bpo.accounts.models import User
from bpo.accounts.roles import Permission
from bpo.apitypes import DbId, StrictDbId, changes
from bpo.contracts.models import Service
from bpo.errors import FieldError, documented_errors
from bpo.paging import PageParams, page_of
from bpo.tenancy.context import request_actor
from bpo.work import queries as work_queries
from bpo.workforce import actions, queries
from bpo.workforce.models import AgentProfile, Certification, Presence

router = Router(tags=["agents"])
agents_router = Router(tags=["agents"])


class CertificationIn(Schema):
    model_config = ConfigDict(extra="forbid")

    user_id: StrictDbId
    service_id: StrictDbId


class CertificationOut(Schema):
    id: int
    user_id: int
    service_id: int
    client_id: int
    certified_at: datetime


class CertificationPage(Schema):
    items: list[CertificationOut]
    next_cursor: int | None


class CertificationParams(PageParams):
    service_id: DbId | None = None


@router.get(
    "",
    response={200: CertificationPage, **documented_errors()},
    summary="Certifications of agents on services",
)
def list_certifications(request: HttpRequest, params: Query[CertificationParams]) -> Any:
    rows = queries.certifications_visible(
        actor=request_actor(request), service_id=params.service_id
    )
    return page_of(rows, params)


@router.post(
    "",
    response={201: CertificationOut, **documented_errors(403)},
    summary="Certify an agent on a service (provider admins and managers)",
)
def certify(request: HttpRequest, payload: CertificationIn) -> Status[Certification]:
    actor = request_actor(request)
    try:
        service = work_queries.service_get(actor=actor, service_id=payload.service_id)
    except Service.DoesNotExist as exc:
        raise FieldError(
            "body.service_id", f"There is no service with id {payload.service_id}."
        ) from exc
    try:
        user = work_queries.staff_get(actor=actor, user_id=payload.user_id)
    except User.DoesNotExist as exc:
        raise FieldError("body.user_id", f"There is no agent with id {payload.user_id}.") from exc
    return Status(201, actions.certification_grant(actor=actor, user=user, service=service))


class AgentOut(Schema):
    user_id: int
    email: str
    full_name: str
    presence: Presence
    presence_since: datetime | None
    waiting_since: datetime | None
    capacity: int
    load: int = Field(description="Open items assigned to the agent now.")
    languages: list[str]
    skills: dict[str, int]
    certified_service_ids: list[int]

    @staticmethod
    def _profile(obj: Any) -> AgentProfile:
        profile = getattr(obj, "agent_profile", None)
        return profile if profile is not None else AgentProfile(user=obj)

    @staticmethod
    def resolve_user_id(obj: Any) -> int:
        return int(obj.pk)

    @staticmethod
    def resolve_presence(obj: Any) -> str:
        return AgentOut._profile(obj).presence

    @staticmethod
    def resolve_presence_since(obj: Any) -> datetime | None:
        return AgentOut._profile(obj).presence_since

    @staticmethod
    def resolve_waiting_since(obj: Any) -> datetime | None:
        return AgentOut._profile(obj).waiting_since

    @staticmethod
    def resolve_capacity(obj: Any) -> int:
        return AgentOut._profile(obj).capacity

    @staticmethod
    def resolve_languages(obj: Any) -> list[str]:
        return list(AgentOut._profile(obj).languages or [])

    @staticmethod
    def resolve_skills(obj: Any) -> dict[str, int]:
        return {s.skill: s.level for s in obj.skills.all()}

    @staticmethod
    def resolve_certified_service_ids(obj: Any) -> list[int]:
        return [c.service_id for c in obj.certifications.all()]


class AgentPage(Schema):
    items: list[AgentOut]
    next_cursor: int | None


class PresenceIn(Schema):
    model_config = ConfigDict(extra="forbid")

    presence: Presence


class AgentPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    presence: Presence | None = None
    capacity: StrictInt | None = Field(default=None, ge=1, le=100)
    languages: list[StrictStr] | None = Field(default=None, max_length=20)
    skills: dict[str, StrictInt] | None = Field(
        default=None, max_length=50, description="Replaces the agent's skills: {skill: level 1–5}."
    )


@agents_router.get(
    "",
    response={200: AgentPage, **documented_errors()},
    summary="Agents of your clients: presence, capacity, load, skills, certifications",
)
def list_agents(request: HttpRequest, params: Query[PageParams]) -> Any:
    return page_of(queries.agents_visible(actor=request_actor(request)), params)


@agents_router.put(
    "/me/presence",
    response={200: AgentOut, **documented_errors(403)},
    summary="Say whether you are available, busy, away or offline (offline releases your "
    "untouched items)",
)
def set_my_presence(request: HttpRequest, payload: PresenceIn) -> User:
    actor = request_actor(request)
    actions.agent_presence_set(actor=actor, presence=payload.presence)
    return queries.agent_me(actor=actor)


@agents_router.patch(
    "/{user_id}",
    response={200: AgentOut, **documented_errors(403, 404)},
    summary="Set an agent's presence, capacity, languages or skills (managers)",
)
def update_agent(request: HttpRequest, user_id: DbId, payload: AgentPatch) -> User:
    actor = request_actor(request)
    actor.require(Permission.MANAGE_AGENTS)  # before the lookup: staff may see agents
    agent = queries.agent_get(actor=actor, user_id=user_id)
    data = changes(payload)
    presence = data.pop("presence", None)
    if data:
        actions.agent_profile_update(actor=actor, agent=agent, **data)
    if presence is not None:
        actions.agent_presence_set(actor=actor, presence=presence, agent=agent)
    return queries.agent_get(actor=actor, user_id=user_id)
