"""Reads about contracts, scoped to the actor's clients; drafts only for the provider side."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from bpo.accounts.roles import Permission
from bpo.contracts.models import (
    Contract,
    ContractVersion,
    ServiceTerms,
    SlaPolicy,
    SlaTarget,
    VersionStatus,
)
from bpo.tenancy.context import Actor


def versions_visible(*, actor: Actor) -> QuerySet[ContractVersion]:
    """Versions in scope; client users do not see drafts under negotiation."""
    versions = ContractVersion.objects.select_related("contract", "client")
    if not actor.can(Permission.VIEW_DRAFTS):
        versions = versions.exclude(status=VersionStatus.DRAFT)
    return versions


def contracts_visible(*, actor: Actor, client_id: int | None = None) -> QuerySet[Contract]:
    """Contracts in scope with their visible versions prefetched (newest first)."""
    contracts = Contract.objects.select_related("client").prefetch_related(
        Prefetch("versions", queryset=versions_visible(actor=actor).order_by("-number"))
    )
    if client_id is not None:
        contracts = contracts.filter(client_id=client_id)
    return contracts.order_by("client__name", "reference", "id")


def contract_get(*, actor: Actor, contract_id: int) -> Contract:
    """One contract in scope; raises Contract.DoesNotExist."""
    return contracts_visible(actor=actor).get(pk=contract_id)


def version_get(*, actor: Actor, version_id: int) -> ContractVersion:
    """One version with its services, policies and targets; raises DoesNotExist."""
    return (
        versions_visible(actor=actor)
        .prefetch_related(
            Prefetch(
                "terms",
                queryset=ServiceTerms.objects.select_related(
                    "service", "calendar", "sla_policy"
                ).order_by("service__name"),
            ),
            Prefetch(
                "policies",
                queryset=SlaPolicy.objects.prefetch_related(
                    Prefetch("targets", queryset=SlaTarget.objects.order_by("priority", "metric"))
                ).order_by("name"),
            ),
        )
        .get(pk=version_id)
    )


def terms_get(*, actor: Actor, terms_id: int) -> ServiceTerms:
    """One service's terms in a version the actor may see; raises DoesNotExist."""
    return ServiceTerms.objects.select_related("version", "service").get(
        pk=terms_id, version__in=versions_visible(actor=actor)
    )


def policy_get(*, actor: Actor, policy_id: int) -> SlaPolicy:
    """One SLA policy in a version the actor may see; raises DoesNotExist."""
    return SlaPolicy.objects.select_related("version").get(
        pk=policy_id, version__in=versions_visible(actor=actor)
    )
