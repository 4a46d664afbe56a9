"""Web UI: contracts, their versions, services and SLA policies.

Everyone in scope reads what was agreed; client users never see drafts under negotiation.
Provider admins and managers record contracts and shape a draft version (terms, services, SLA
policies) until they activate it; an active version is never rewritten.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from bpo.accounts.forms import add_validation_errors
from bpo.accounts.roles import Permission
from bpo.billing import queries as billing_queries
from bpo.calendars import queries as calendar_queries
from bpo.calendars.forms import ClientFilterForm
from bpo.calendars.models import BusinessCalendar
from bpo.contracts import actions, queries
from bpo.contracts.forms import (
    PAUSE_STATE_LABELS,
    ContractEndForm,
    ContractForm,
    ServiceForm,
    ServiceTermsForm,
    SlaPolicyForm,
    VersionTermsForm,
    add_policy_errors,
)
from bpo.contracts.models import (
    Contract,
    ContractVersion,
    Metric,
    Priority,
    ServiceTerms,
    SlaPolicy,
    VersionStatus,
)
from bpo.tenancy import queries as client_queries
from bpo.tenancy.context import Actor, request_actor
from bpo.web.formatting import format_percent

# --- Lookups -------------------------------------------------------------------------------------


def _contract_or_404(request: HttpRequest, contract_id: int) -> Contract:
    try:
        return queries.contract_get(actor=request_actor(request), contract_id=contract_id)
    except Contract.DoesNotExist as exc:
        raise Http404 from exc


def _version_or_404(request: HttpRequest, version_id: int) -> ContractVersion:
    try:
        return queries.version_get(actor=request_actor(request), version_id=version_id)
    except ContractVersion.DoesNotExist as exc:
        raise Http404 from exc


def _terms_or_404(request: HttpRequest, terms_id: int) -> ServiceTerms:
    try:
        return queries.terms_get(actor=request_actor(request), terms_id=terms_id)
    except ServiceTerms.DoesNotExist as exc:
        raise Http404 from exc


def _policy_or_404(request: HttpRequest, policy_id: int) -> SlaPolicy:
    try:
        return queries.policy_get(actor=request_actor(request), policy_id=policy_id)
    except SlaPolicy.DoesNotExist as exc:
        raise Http404 from exc


def _editable_version(request: HttpRequest, version_id: int) -> ContractVersion:
    """A version the actor may change: visible (else 404), theirs to manage (else 403)."""
    version = _version_or_404(request, version_id)
    request_actor(request).require(Permission.MANAGE_CONTRACTS, client_id=version.client_id)
    return version


def _agreed(request: HttpRequest, version: ContractVersion) -> HttpResponse | None:
    """Send the actor back to a version that is no longer a draft, saying why."""
    if version.is_editable:
        return None
    messages.info(
        request,
        f"Version {version.number} is {version.get_status_display().lower()}: what was agreed "
        "is not rewritten. Start a new version of the contract to change it.",
    )
    return redirect("contracts:version", version_id=version.pk)


def _calendar_choices(actor: Actor, client_id: int) -> list[tuple[int, str]]:
    return [
        (c.pk, str(c)) for c in calendar_queries.calendars_visible(actor=actor, client_id=client_id)
    ]


def _policy_choices(version: ContractVersion) -> list[tuple[int, str]]:
    return [(p.pk, p.name) for p in version.policies.all()]


# --- Contracts -----------------------------------------------------------------------------------


@login_required
def contract_list(request: HttpRequest) -> HttpResponse:
    """Contracts of the clients in scope, optionally of one client."""
    actor = request_actor(request)
    clients = [(c.pk, c.name) for c in client_queries.clients_visible(actor=actor)]
    filter_form = ClientFilterForm(request.GET or None, clients=clients)
    client_id = filter_form.client_id()
    contracts = queries.contracts_visible(actor=actor, client_id=client_id)
    return render(
        request,
        "contracts/list.html",
        {
            "rows": [
                {"contract": contract, "latest": next(iter(contract.versions.all()), None)}
                for contract in contracts
            ],
            "filter_form": filter_form if len(clients) > 1 else None,
            "client_id": client_id,
            "can_create": actor.can(Permission.MANAGE_CONTRACTS),
        },
    )


@login_required
def contract_create(request: HttpRequest) -> HttpResponse:
    """Record a new contract with a client; its first version starts as a draft."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_CONTRACTS)
    clients = [
        (c.pk, c.name)
        for c in client_queries.clients_visible(actor=actor)
        if actor.can(Permission.MANAGE_CONTRACTS, client_id=c.pk)
    ]
    preset = next((pk for pk, _ in clients if str(pk) == request.GET.get("client")), None)
    if preset is None and len(clients) == 1:
        preset = clients[0][0]
    form = ContractForm(
        request.POST or None,
        clients=clients,
        initial={
            "client": preset,
            "start_date": timezone.localdate(),
            "currency": "EUR",
        },
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            client = client_queries.client_get(actor=actor, client_id=data.pop("client"))
            contract = actions.contract_create(actor=actor, client=client, **data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(
                request,
                f"Contract {contract.reference} is recorded. Version 1 is a draft: add its "
                "SLA policies and services, then activate it.",
            )
            draft = queries.contract_get(actor=actor, contract_id=contract.pk).versions.all()[0]
            return redirect("contracts:version", version_id=draft.pk)
    return render(
        request, "contracts/contract_form.html", {"form": form}, status=400 if form.errors else 200
    )


@login_required
def contract_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    """A contract and the versions the actor may see, newest first."""
    actor = request_actor(request)
    contract = _contract_or_404(request, contract_id)
    versions = list(contract.versions.all())
    return render(
        request,
        "contracts/contract_detail.html",
        {
            "contract": contract,
            "versions": versions,
            "draft": next((v for v in versions if v.status == VersionStatus.DRAFT), None),
            "active": next((v for v in versions if v.status == VersionStatus.ACTIVE), None),
            "can_manage": actor.can(Permission.MANAGE_CONTRACTS, client_id=contract.client_id),
        },
    )


@login_required
@require_POST
def version_draft(request: HttpRequest, contract_id: int) -> HttpResponse:
    """Start a new version of a contract, copied from its latest one."""
    actor = request_actor(request)
    contract = _contract_or_404(request, contract_id)
    try:
        draft = actions.contract_version_draft(actor=actor, contract=contract)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("contracts:detail", contract_id=contract.pk)
    messages.success(
        request,
        f"Version {draft.number} is a draft copied from the version before: change it, then "
        "activate it.",
    )
    return redirect("contracts:version", version_id=draft.pk)


@login_required
def contract_end(request: HttpRequest, contract_id: int) -> HttpResponse:
    """End the contract's active version on a date."""
    actor = request_actor(request)
    contract = _contract_or_404(request, contract_id)
    actor.require(Permission.MANAGE_CONTRACTS, client_id=contract.client_id)
    versions = list(contract.versions.all())
    active = next((v for v in versions if v.status == VersionStatus.ACTIVE), None)
    form = ContractEndForm(
        request.POST or None,
        initial={"end_date": active.end_date if active and active.end_date else None},
    )
    if request.method == "POST" and form.is_valid():
        try:
            ended = actions.contract_end(
                actor=actor, contract=contract, end_date=form.cleaned_data["end_date"]
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"Version {ended.number} ends on {ended.end_date:%Y-%m-%d}.")
            return redirect("contracts:detail", contract_id=contract.pk)
    return render(
        request,
        "contracts/contract_end.html",
        {"form": form, "contract": contract, "active": active},
        status=400 if form.errors else 200,
    )


# --- Versions ------------------------------------------------------------------------------------


@login_required
def version_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    """One version: its terms, services and SLA policies; for a draft, what can be changed."""
    actor = request_actor(request)
    version = _version_or_404(request, version_id)
    can_manage = actor.can(Permission.MANAGE_CONTRACTS, client_id=version.client_id)
    terms = list(version.terms.all())
    sees_prices = actor.can(Permission.VIEW_BILLING, client_id=version.client_id)
    return render(
        request,
        "contracts/version_detail.html",
        {
            "version": version,
            "contract": version.contract,
            "terms": terms,
            "rate_cards": _rate_cards(actor, version, terms) if sees_prices else None,
            "can_price": version.is_editable
            and actor.can(Permission.MANAGE_BILLING, client_id=version.client_id),
            "sees_billing_terms": sees_prices or can_manage,
            "policies": [
                {"policy": policy, **policy_table(policy)} for policy in version.policies.all()
            ],
            "can_manage": can_manage,
            "editable": can_manage and version.is_editable,
        },
    )


@login_required
def version_edit(request: HttpRequest, version_id: int) -> HttpResponse:
    """Change the terms of a draft version."""
    actor = request_actor(request)
    version = _editable_version(request, version_id)
    if agreed := _agreed(request, version):
        return agreed
    form = VersionTermsForm(request.POST or None, initial=VersionTermsForm.initial_from(version))
    if request.method == "POST" and form.is_valid():
        try:
            actions.contract_version_update(actor=actor, version=version, **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("contracts:version", version_id=version.pk)
    return _render_version_form(request, version, form, title=f"Terms of version {version.number}")


@login_required
@require_POST
def version_activate(request: HttpRequest, version_id: int) -> HttpResponse:
    """Make a draft the contract's terms."""
    actor = request_actor(request)
    version = _editable_version(request, version_id)
    try:
        actions.contract_version_activate(actor=actor, version=version)
    except ValidationError as exc:
        messages.error(request, "Not activated: " + " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"Version {version.number} is now the contract's terms; the version before it, if "
            "any, is superseded.",
        )
    return redirect("contracts:version", version_id=version.pk)


def _rate_cards(
    actor: Actor, version: ContractVersion, terms: list[ServiceTerms]
) -> list[dict[str, Any]]:
    """Each service of the version with its rate card (None: not priced yet)."""
    cards = {
        card.service_id: card
        for card in billing_queries.rate_cards_of(actor=actor, version=version)
    }
    rows: list[dict[str, Any]] = [
        {"service": t.service, "card": cards.pop(t.service_id, None)} for t in terms
    ]
    return rows + [{"service": card.service, "card": card} for card in cards.values()]


def _render_version_form(
    request: HttpRequest,
    version: ContractVersion,
    form: Any,
    *,
    title: str,
    template: str = "contracts/version_form.html",
) -> HttpResponse:
    return render(
        request,
        template,
        {"form": form, "version": version, "contract": version.contract, "title": title},
        status=400 if form.errors else 200,
    )


# --- Services ------------------------------------------------------------------------------------


@login_required
def service_add(request: HttpRequest, version_id: int) -> HttpResponse:
    """Add a service to a draft version."""
    actor = request_actor(request)
    version = _editable_version(request, version_id)
    if agreed := _agreed(request, version):
        return agreed
    form = ServiceForm(
        request.POST or None,
        calendars=_calendar_choices(actor, version.client_id),
        policies=_policy_choices(version),
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            calendar = calendar_queries.calendar_get(actor=actor, calendar_id=data["calendar_id"])
            del data["calendar_id"]
            terms = actions.service_add(actor=actor, version=version, calendar=calendar, **data)
        except BusinessCalendar.DoesNotExist:
            form.add_error("calendar_id", "Choose a calendar of this client.")
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"{terms.service.name} is added to the version.")
            return redirect("contracts:version", version_id=version.pk)
    return _render_version_form(
        request, version, form, title="New service", template="contracts/service_form.html"
    )


@login_required
def terms_edit(request: HttpRequest, terms_id: int) -> HttpResponse:
    """Change what a draft version says about a service."""
    actor = request_actor(request)
    terms = _terms_or_404(request, terms_id)
    version = _editable_version(request, terms.version_id)
    if agreed := _agreed(request, version):
        return agreed
    form = ServiceTermsForm(
        request.POST or None,
        initial=ServiceTermsForm.initial_from(terms),
        calendars=_calendar_choices(actor, version.client_id),
        policies=_policy_choices(version),
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.service_terms_update(actor=actor, terms=terms, **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("contracts:version", version_id=version.pk)
    return _render_version_form(
        request,
        version,
        form,
        title=terms.service.name,
        template="contracts/service_form.html",
    )


# --- SLA policies --------------------------------------------------------------------------------


@login_required
def policy_add(request: HttpRequest, version_id: int) -> HttpResponse:
    """Add an SLA policy with its targets to a draft version."""
    actor = request_actor(request)
    version = _editable_version(request, version_id)
    if agreed := _agreed(request, version):
        return agreed
    return _policy_form(request, actor, version, None)


@login_required
def policy_edit(request: HttpRequest, policy_id: int) -> HttpResponse:
    """Change an SLA policy of a draft version; its targets are replaced by the grid's."""
    actor = request_actor(request)
    found = _policy_or_404(request, policy_id)
    version = _editable_version(request, found.version_id)
    if agreed := _agreed(request, version):
        return agreed
    # The version's policies come with their targets prefetched.
    policy = next(p for p in version.policies.all() if p.pk == found.pk)
    return _policy_form(request, actor, version, policy)


def _policy_form(
    request: HttpRequest, actor: Actor, version: ContractVersion, policy: SlaPolicy | None
) -> HttpResponse:
    form = SlaPolicyForm(
        request.POST or None,
        initial=SlaPolicyForm.initial_from(policy) if policy else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = actions.sla_policy_save(
                actor=actor, version=version, policy=policy, **form.policy_fields()
            )
        except ValidationError as exc:
            add_policy_errors(form, exc)
        else:
            messages.success(request, f"The SLA policy {saved.name} is saved.")
            return redirect("contracts:version", version_id=version.pk)
    return _render_version_form(
        request,
        version,
        form,
        title=f"SLA policy {policy.name}" if policy else "New SLA policy",
        template="contracts/policy_form.html",
    )


# --- Presentation --------------------------------------------------------------------------------

TABLE_METRICS = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE, Metric.RESOLUTION, Metric.DEADLINE)
ACTION_LABELS = {"notify_managers": "notify managers", "raise_priority": "raise the priority"}


def policy_table(policy: SlaPolicy) -> dict[str, Any]:
    """A policy for reading: its targets as priority × metric, its pauses and escalations."""
    cells: dict[tuple[str, str], str] = {}
    for target in policy.targets.all():
        text = target.describe()
        if target.service_level_percent is not None:
            text += f", {format_percent(target.service_level_percent)} of items"
        if target.credit_share_percent is not None:
            text += f"; critical: {format_percent(target.credit_share_percent)} of the credit pool"
        cells[(target.priority, target.metric)] = text
    return {
        "metrics": [metric.label for metric in TABLE_METRICS],
        "rows": [
            {
                "priority": priority.label,
                "cells": [
                    cells.get((priority.value, metric.value), "") for metric in TABLE_METRICS
                ],
            }
            for priority in Priority
            if any((priority.value, metric.value) in cells for metric in TABLE_METRICS)
        ],
        "pauses": [PAUSE_STATE_LABELS.get(s, s) for s in policy.pause_states or []],
        "on_warning": describe_actions(policy.on_warning),
        "on_breach": describe_actions(policy.on_breach),
    }


def describe_actions(actions_: Any) -> str:
    """'notify managers, move to the queue “Escalations”' (or 'nothing')."""
    words = []
    for action in actions_ or []:
        if action.get("type") == "move_to_queue":
            words.append(f"move to the queue “{action.get('queue', '')}”")
        else:
            words.append(ACTION_LABELS.get(action.get("type"), str(action.get("type"))))
    return ", ".join(words) or "nothing"
