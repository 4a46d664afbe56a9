"""Web UI: the clients an actor may see, and their management by provider admins."""

from __future__ import annotations

import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from bpo.accounts import queries as people_queries
from bpo.accounts.forms import add_validation_errors
from bpo.accounts.roles import Permission
from bpo.tenancy import actions, queries
from bpo.tenancy.context import request_actor
from bpo.tenancy.forms import ClientForm
from bpo.tenancy.models import Client


def _client_or_404(request: HttpRequest, client_id: int) -> Client:
    try:
        return queries.client_get(actor=request_actor(request), client_id=client_id)
    except Client.DoesNotExist as exc:
        raise Http404 from exc


@login_required
def client_list(request: HttpRequest) -> HttpResponse:
    """Clients the actor may see."""
    actor = request_actor(request)
    return render(
        request,
        "tenancy/client_list.html",
        {
            "clients": queries.clients_visible(actor=actor),
            "can_manage": actor.can(Permission.MANAGE_CLIENTS),
        },
    )


@login_required
def client_detail(request: HttpRequest, client_id: int) -> HttpResponse:
    """A client's details; members and assigned staff for those allowed to see them."""
    actor = request_actor(request)
    client = _client_or_404(request, client_id)
    can_view_members = actor.can(Permission.VIEW_MEMBERS, client_id=client.pk)
    return render(
        request,
        "tenancy/client_detail.html",
        {
            "client": client,
            "can_manage": actor.can(Permission.MANAGE_CLIENTS, client_id=client.pk),
            "members": (
                people_queries.memberships_visible(actor=actor, client_id=client.pk)
                if can_view_members
                else None
            ),
            "staff": (
                people_queries.assignments_visible(actor=actor, client_id=client.pk)
                if actor.can(Permission.MANAGE_PEOPLE)
                else None
            ),
        },
    )


@login_required
def client_create(request: HttpRequest) -> HttpResponse:
    """Take on a new client."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_CLIENTS)
    form = ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            client = actions.client_create(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"{client.name} is now a client.")
            return redirect("tenancy:detail", client_id=client.pk)
    return render(
        request,
        "tenancy/client_form.html",
        {"form": form, "client": None},
        status=400 if form.errors else 200,
    )


@login_required
def client_edit(request: HttpRequest, client_id: int) -> HttpResponse:
    """Change a client's details."""
    actor = request_actor(request)
    client = _client_or_404(request, client_id)
    actor.require(Permission.MANAGE_CLIENTS, client_id=client.pk)
    # The form validates a copy; only the action changes the real client (and audits it).
    form = ClientForm(request.POST or None, instance=copy.copy(client))
    if request.method == "POST" and form.is_valid():
        try:
            actions.client_update(actor=actor, client=client, **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("tenancy:detail", client_id=client.pk)
    return render(
        request,
        "tenancy/client_form.html",
        {"form": form, "client": client},
        status=400 if form.errors else 200,
    )
