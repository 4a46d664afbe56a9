"""Writes about contracts: versions and their life cycle, services, SLA policies and targets.

Only a draft version can be edited. ``contract_version_draft`` copies the active version (its
service terms, policies and targets) into a new draft; ``contract_version_activate`` makes the
draft the contract's terms and supersedes the version before it, which then never changes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from bpo.accounts.roles import Permission
from bpo.audit.log import record, snapshot
from bpo.billing import actions as billing
from bpo.calendars.models import BusinessCalendar
from bpo.contracts import deadlines, fields
from bpo.contracts.models import (
    PAUSE_STATES,
    SLA_ACTIONS,
    Contract,
    ContractVersion,
    Metric,
    Service,
    ServiceTerms,
    SlaPolicy,
    SlaTarget,
    VersionStatus,
)
from bpo.tenancy.context import Actor
from bpo.tenancy.models import Client
from bpo.tenancy.scoping import ensure_client_in_scope

VERSION_FIELDS = (
    "start_date",
    "end_date",
    "currency",
    "billing_day",
    "retention_days",
    "notes",
    "excluded_tags",
    "exclude_cancelled",
    "fcr_window_days",
    "csat_good_rating",
    "tax_label",
    "tax_rate_percent",
    "rounding",
    "payment_days",
    "credit_at_risk_percent",
    "credit_pool_percent",
    "earn_back_months",
)
# The terms of a version that are finance's to set as well as the contract managers'.
BILLING_TERMS = frozenset(
    {
        "tax_label",
        "tax_rate_percent",
        "rounding",
        "payment_days",
        "credit_at_risk_percent",
        "credit_pool_percent",
        "earn_back_months",
    }
)
TERMS_FIELDS = (
    "scope_included",
    "scope_excluded",
    "deliverables",
    "calendar_id",
    "sla_policy_id",
    "custom_fields",
)
POLICY_FIELDS = ("name", "pause_states", "warning_percent", "on_warning", "on_breach")
TARGET_FIELDS = (
    "priority",
    "metric",
    "clock",
    "duration_minutes",
    "deadline",
    "service_level_percent",
    "credit_share_percent",
)


def _require_draft(version: ContractVersion) -> None:
    if version.status != VersionStatus.DRAFT:
        raise ValidationError(
            f"Version {version.number} is {version.get_status_display().lower()}: what was agreed "
            "is not rewritten. Start a new version of the contract to change it."
        )


# --- Contracts and versions ----------------------------------------------------------------------


def contract_create(
    *, actor: Actor, client: Client, reference: str, title: str, **terms: Any
) -> Contract:
    """Record a new contract with a client; its first version starts as a draft."""
    actor.require(Permission.MANAGE_CONTRACTS, client_id=client.pk)
    ensure_client_in_scope(client.pk)
    contract = Contract(client=client, reference=reference.strip(), title=title.strip())
    contract.full_clean()
    version = ContractVersion(client=client, number=1, **_pick(terms, VERSION_FIELDS))
    version.full_clean(exclude=["contract"])
    with transaction.atomic():
        contract.save()
        version.contract = contract
        version.save()
        record(
            "contract.created",
            obj=contract,
            after={
                "reference": contract.reference,
                "title": contract.title,
                **snapshot(version, VERSION_FIELDS),
            },
        )
    return contract


def contract_version_update(
    *, actor: Actor, version: ContractVersion, **changes: Any
) -> ContractVersion:
    """Change the terms of a draft version (finance may change its billing terms alone)."""
    if not (
        set(changes) <= BILLING_TERMS
        and actor.can(Permission.MANAGE_BILLING, client_id=version.client_id)
    ):
        actor.require(Permission.MANAGE_CONTRACTS, client_id=version.client_id)
    _require_draft(version)
    before = snapshot(version, VERSION_FIELDS)
    for name, value in _pick(changes, VERSION_FIELDS).items():
        setattr(version, name, value)
    version.full_clean()
    with transaction.atomic():
        version.save()
        record(
            "contract_version.updated",
            obj=version,
            before=before,
            after=snapshot(version, VERSION_FIELDS),
        )
    return version


def contract_version_draft(*, actor: Actor, contract: Contract) -> ContractVersion:
    """Start changing an agreed contract: a new draft copied from its latest version."""
    actor.require(Permission.MANAGE_CONTRACTS, client_id=contract.client_id)
    with transaction.atomic():
        versions = list(contract.versions.select_for_update().order_by("number"))
        if any(v.status == VersionStatus.DRAFT for v in versions):
            raise ValidationError("This contract already has a draft version; change that one.")
        source = versions[-1]
        draft = ContractVersion(
            client_id=contract.client_id,
            contract=contract,
            number=source.number + 1,
            **{name: getattr(source, name) for name in VERSION_FIELDS},
        )
        draft.save()
        policy_map: dict[int, SlaPolicy] = {}
        for policy in source.policies.prefetch_related("targets"):
            copy = SlaPolicy.objects.create(
                client_id=policy.client_id,
                version=draft,
                **{name: getattr(policy, name) for name in POLICY_FIELDS},
            )
            policy_map[policy.pk] = copy
            SlaTarget.objects.bulk_create(
                SlaTarget(
                    client_id=t.client_id,
                    policy=copy,
                    priority=t.priority,
                    metric=t.metric,
                    clock=t.clock,
                    duration_minutes=t.duration_minutes,
                    deadline=t.deadline,
                    service_level_percent=t.service_level_percent,
                    credit_share_percent=t.credit_share_percent,
                )
                for t in policy.targets.all()
            )
        billing.rate_cards_copy(source=source, draft=draft)
        for terms in source.terms.all():
            ServiceTerms.objects.create(
                client_id=terms.client_id,
                version=draft,
                service_id=terms.service_id,
                scope_included=terms.scope_included,
                scope_excluded=terms.scope_excluded,
                deliverables=terms.deliverables,
                calendar_id=terms.calendar_id,
                sla_policy=policy_map.get(terms.sla_policy_id) if terms.sla_policy_id else None,
                custom_fields=terms.custom_fields,
            )
        record(
            "contract_version.drafted",
            obj=draft,
            after={"number": draft.number, "copied_from": source.number},
        )
    return draft


def contract_version_activate(*, actor: Actor, version: ContractVersion) -> ContractVersion:
    """Make a draft the contract's terms; the version before it is superseded, never changed."""
    actor.require(Permission.MANAGE_CONTRACTS, client_id=version.client_id)
    _require_draft(version)
    problems = []
    terms = list(version.terms.select_related("service"))
    if not terms:
        problems.append("The version has no service: add at least one before activating.")
    problems += [
        f"Service {t.service.name} has no SLA policy." for t in terms if t.sla_policy_id is None
    ]
    problems += billing.version_billing_problems(version)
    if problems:
        raise ValidationError(problems)
    now = timezone.now()
    with transaction.atomic():
        previous = (
            ContractVersion.objects.select_for_update()
            .filter(contract_id=version.contract_id, status=VersionStatus.ACTIVE)
            .first()
        )
        if previous is not None:
            if version.start_date < previous.start_date:
                raise ValidationError(
                    {
                        "start_date": (
                            f"Version {version.number} would start before version "
                            f"{previous.number} ({previous.start_date}), rewriting what was agreed."
                        )
                    }
                )
            previous.status = VersionStatus.SUPERSEDED
            previous.closed_at = now
            previous.save(update_fields=["status", "closed_at"])
            record(
                "contract_version.superseded", obj=previous, after={"superseded_by": version.number}
            )
        version.status = VersionStatus.ACTIVE
        version.activated_at = now
        version.save(update_fields=["status", "activated_at"])
        record(
            "contract_version.activated",
            obj=version,
            after={"number": version.number, **snapshot(version, VERSION_FIELDS)},
        )
    return version


def contract_end(*, actor: Actor, contract: Contract, end_date: date) -> ContractVersion:
    """End the contract's active version on a date (its terms otherwise stay as agreed)."""
    actor.require(Permission.MANAGE_CONTRACTS, client_id=contract.client_id)
    with transaction.atomic():
        version = (
            ContractVersion.objects.select_for_update()
            .filter(contract=contract, status=VersionStatus.ACTIVE)
            .first()
        )
        if version is None:
            raise ValidationError("The contract has no active version to end.")
        if end_date < version.start_date:
            raise ValidationError({"end_date": "The end date lies before the start date."})
        before = {"status": version.status, "end_date": version.end_date}
        version.status = VersionStatus.ENDED
        version.end_date = end_date
        version.closed_at = timezone.now()
        version.save(update_fields=["status", "end_date", "closed_at"])
        record(
            "contract.ended",
            obj=version,
            before=before,
            after={"status": version.status, "end_date": end_date},
        )
    return version


# --- Services ----------------------------------------------------------------------------------


def service_add(
    *,
    actor: Actor,
    version: ContractVersion,
    key: str,
    name: str,
    process_type: str,
    calendar: BusinessCalendar,
    **terms: Any,
) -> ServiceTerms:
    """Add a new outsourced process to a draft version."""
    actor.require(Permission.MANAGE_CONTRACTS, client_id=version.client_id)
    _require_draft(version)
    service = Service(
        client_id=version.client_id,
        contract_id=version.contract_id,
        key=key,
        name=name.strip(),
        process_type=process_type,
    )
    service.full_clean(exclude=["contract"])
    with transaction.atomic():
        service.save()
        record(
            "service.created",
            obj=service,
            after={"key": key, "name": service.name, "process_type": process_type},
        )
        return _terms_save(
            actor,
            ServiceTerms(client_id=version.client_id, version=version, service=service),
            {"calendar_id": calendar.pk, **terms},
            created=True,
        )


def service_terms_update(*, actor: Actor, terms: ServiceTerms, **changes: Any) -> ServiceTerms:
    """Change what a draft version says about a service."""
    actor.require(Permission.MANAGE_CONTRACTS, client_id=terms.client_id)
    _require_draft(terms.version)
    with transaction.atomic():
        return _terms_save(actor, terms, changes, created=False)


def _terms_save(
    actor: Actor, terms: ServiceTerms, changes: dict[str, Any], *, created: bool
) -> ServiceTerms:
    before = None if created else snapshot(terms, TERMS_FIELDS)
    values = _pick(changes, TERMS_FIELDS)
    if "custom_fields" in values:
        values["custom_fields"] = fields.validate_schema(values["custom_fields"])
    for name, value in values.items():
        setattr(terms, name, value)
    errors: dict[str, str] = {}
    if (
        terms.sla_policy_id is not None
        and not SlaPolicy.objects.filter(
            pk=terms.sla_policy_id, version_id=terms.version_id
        ).exists()
    ):
        errors["sla_policy_id"] = "Choose an SLA policy of the same contract version."
    if not BusinessCalendar.objects.filter(
        pk=terms.calendar_id, client_id=terms.client_id
    ).exists():
        errors["calendar_id"] = "Choose a calendar of this client."
    if errors:
        raise ValidationError(errors)
    terms.full_clean(exclude=["calendar", "sla_policy"])
    terms.save()
    record(
        "service_terms.created" if created else "service_terms.updated",
        obj=terms,
        before=before,
        after=snapshot(terms, TERMS_FIELDS),
    )
    return terms


# --- SLA policies ------------------------------------------------------------------------------


def sla_policy_save(
    *,
    actor: Actor,
    version: ContractVersion,
    policy: SlaPolicy | None = None,
    targets: list[dict[str, Any]] | None = None,
    **changes: Any,
) -> SlaPolicy:
    """Create or change an SLA policy of a draft version; ``targets`` replaces all its targets."""
    actor.require(Permission.MANAGE_CONTRACTS, client_id=version.client_id)
    _require_draft(version)
    created = policy is None
    if policy is None:
        policy = SlaPolicy(client_id=version.client_id, version=version)
    elif policy.version_id != version.pk:
        raise ValidationError("The policy belongs to another version.")
    before = None if created else _policy_snapshot(policy)
    values = _pick(changes, POLICY_FIELDS)
    if "pause_states" in values:
        values["pause_states"] = _validate_pause_states(values["pause_states"])
    for key in ("on_warning", "on_breach"):
        if key in values:
            values[key] = _validate_actions(values[key], key)
    for name, value in values.items():
        setattr(policy, name, value)
    policy.full_clean()
    new_targets = _validate_targets(targets, policy) if targets is not None else None
    with transaction.atomic():
        policy.save()
        if new_targets is not None:
            policy.targets.all().delete()
            for target in new_targets:
                target.policy = policy
            SlaTarget.objects.bulk_create(new_targets)
        record(
            "sla_policy.created" if created else "sla_policy.updated",
            obj=policy,
            before=before,
            after=_policy_snapshot(policy),
        )
    return policy


def _policy_snapshot(policy: SlaPolicy) -> dict[str, Any]:
    return {
        **snapshot(policy, POLICY_FIELDS),
        "targets": [
            snapshot(t, TARGET_FIELDS) for t in policy.targets.order_by("priority", "metric")
        ]
        if policy.pk
        else [],
    }


def _validate_pause_states(states: Any) -> list[str]:
    if not isinstance(states, list) or any(s not in PAUSE_STATES for s in states):
        raise ValidationError(
            {
                "pause_states": (
                    f"{states!r}: pause states are chosen from {', '.join(PAUSE_STATES)}."
                )
            }
        )
    return sorted(set(states))


def _validate_actions(actions: Any, field: str) -> list[dict[str, Any]]:
    if not isinstance(actions, list):
        raise ValidationError({field: "Expected a list of actions."})
    cleaned = []
    for n, action in enumerate(actions):
        kind = action.get("type") if isinstance(action, dict) else None
        if kind not in SLA_ACTIONS:
            raise ValidationError(
                {field: f"[{n}]: {kind!r} is not one of {', '.join(SLA_ACTIONS)}."}
            )
        if kind == "move_to_queue":
            queue = action.get("queue")
            if not isinstance(queue, str) or not queue.strip():
                raise ValidationError({field: f"[{n}]: move_to_queue needs the queue's name."})
            cleaned.append({"type": kind, "queue": queue.strip()})
        else:
            cleaned.append({"type": kind})
    return cleaned


def _validate_targets(targets: list[dict[str, Any]], policy: SlaPolicy) -> list[SlaTarget]:
    built: list[SlaTarget] = []
    seen: set[tuple[str, str]] = set()
    for n, spec in enumerate(targets):
        target = SlaTarget(
            client_id=policy.client_id,
            priority=spec.get("priority", ""),
            metric=spec.get("metric", ""),
            clock=spec.get("clock") or "business",
            duration_minutes=spec.get("duration_minutes"),
            deadline=spec.get("deadline"),
            service_level_percent=spec.get("service_level_percent"),
            credit_share_percent=spec.get("credit_share_percent"),
        )
        try:
            if target.metric == Metric.DEADLINE:
                if target.deadline is None:
                    raise ValidationError({"deadline": "A deadline target needs a deadline rule."})
                target.deadline = deadlines.validate_rule(target.deadline)
                if target.duration_minutes is not None:
                    raise ValidationError({"duration_minutes": "A deadline has no duration."})
            else:
                if not target.duration_minutes or target.duration_minutes <= 0:
                    raise ValidationError({"duration_minutes": "A target of zero is no target."})
                if target.deadline is not None:
                    raise ValidationError({"deadline": "Only deadline targets have a rule."})
            target.full_clean(exclude=["policy"], validate_constraints=False)
            level = target.service_level_percent
            if level is not None and not 0 < level <= 100:
                raise ValidationError(
                    {"service_level_percent": f"{level}: a service level is above 0, at most 100."}
                )
            share = target.credit_share_percent
            if share is not None and not 0 < share <= 100:
                raise ValidationError(
                    {"credit_share_percent": f"{share}: a credit share is above 0, at most 100."}
                )
            if share is not None and level is None:
                raise ValidationError(
                    {
                        "credit_share_percent": "Only a target with a promised service level "
                        "can carry a credit."
                    }
                )
        except ValidationError as exc:
            raise ValidationError(
                {f"targets[{n}].{key}": msgs for key, msgs in exc.message_dict.items()}
            ) from exc
        if (target.priority, target.metric) in seen:
            raise ValidationError(
                {f"targets[{n}]": f"{target.priority} {target.metric} is given twice."}
            )
        seen.add((target.priority, target.metric))
        built.append(target)
    return built


def _pick(values: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = set(values) - set(allowed)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    return values
