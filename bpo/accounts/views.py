"""Web UI: logging in and out, one's own account and API tokens, and managing people."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from bpo.accounts import actions, queries
from bpo.accounts.forms import (
    ApiTokenForm,
    AssignmentForm,
    LoginForm,
    MembershipForm,
    PasswordChangeForm,
    PersonForm,
    PreferencesForm,
    add_validation_errors,
)
from bpo.accounts.models import ApiToken, Assignment, Membership, User
from bpo.accounts.roles import Permission
from bpo.tenancy import queries as client_queries
from bpo.tenancy.context import request_actor

NEW_TOKEN_SESSION_KEY = "new_api_token_secret"


@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    """The login page: e-mail and password."""
    if request.user.is_authenticated:
        return redirect("web:home")
    form = LoginForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST" and form.is_valid():
        result = actions.session_login(
            request=request,
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
        )
        if result.user is not None:
            safe = url_has_allowed_host_and_scheme(
                next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            )
            return redirect(next_url if safe and next_url else "web:home")
        form.add_error(None, result.error)
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/login.html", {"form": form, "next": next_url}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Log out (POST only, so a link on another site cannot log anyone out)."""
    actions.session_logout(request=request)
    messages.info(request, "You are logged out.")
    return redirect("accounts:login")


def _render_account(request: HttpRequest, *, status: int = 200, **forms: object) -> HttpResponse:
    """The account page, with any form given in ``forms`` shown instead of a fresh one."""
    actor = request_actor(request)
    context = {
        "password_form": PasswordChangeForm(),
        "token_form": ApiTokenForm(),
        "preferences_form": PreferencesForm(initial={"time_zone": actor.user.time_zone}),
        "tokens": queries.api_tokens_of(actor=actor),
        "new_secret": request.session.pop(NEW_TOKEN_SESSION_KEY, ""),
        **forms,
    }
    return render(request, "accounts/account.html", context, status=status)


@never_cache
@login_required
def account(request: HttpRequest) -> HttpResponse:
    """One's own account: roles, preferences, password change, API tokens."""
    actor = request_actor(request)
    password_form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and password_form.is_valid():
        try:
            actions.password_change(
                actor=actor,
                request=request,
                old=password_form.cleaned_data["old_password"],
                new=password_form.cleaned_data["new_password"],
            )
        except ValidationError as exc:
            add_validation_errors(password_form, exc)
        else:
            messages.success(request, "Your password is changed; your other sessions have ended.")
            return redirect("accounts:account")
    return _render_account(
        request, password_form=password_form, status=400 if password_form.errors else 200
    )


@login_required
@require_POST
def preferences(request: HttpRequest) -> HttpResponse:
    """Save one's own preferences."""
    form = PreferencesForm(request.POST)
    if form.is_valid():
        try:
            actions.preferences_update(actor=request_actor(request), **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Preferences saved.")
            return redirect("accounts:account")
    return _render_account(request, preferences_form=form, status=400)


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    """Create a personal API token; its secret is shown once, on the page redirected to."""
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            _, secret = actions.api_token_create(
                actor=request_actor(request),
                name=form.cleaned_data["name"],
                expires_at=form.cleaned_data["expires_at"],
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            # Kept in the session for exactly one page view, so a reload cannot resubmit.
            request.session[NEW_TOKEN_SESSION_KEY] = secret
            return redirect("accounts:account")
    return _render_account(request, token_form=form, status=400)


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of one's own API tokens."""
    actor = request_actor(request)
    try:
        token = queries.api_token_get(actor=actor, token_id=token_id)
    except ApiToken.DoesNotExist as exc:
        raise Http404 from exc
    actions.api_token_revoke(actor=actor, token=token)
    messages.success(request, f"The token '{token.name}' is revoked.")
    return redirect("accounts:account")


# --- People (provider admins) ---------------------------------------------------------------------


@login_required
def people(request: HttpRequest) -> HttpResponse:
    """Everyone who can log in, with their roles."""
    actor = request_actor(request)
    search = request.GET.get("q", "").strip()
    return render(
        request,
        "accounts/people.html",
        {
            "people": queries.users_visible(actor=actor, search=search),
            "q": search,
        },
    )


@login_required
def person_create(request: HttpRequest) -> HttpResponse:
    """Add a person; roles and assignments are given on their page next."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_PEOPLE)
    form = PersonForm(request.POST or None)
    form.fields["password"].required = True
    form.fields["password"].help_text = "At least 10 characters; tell it to them safely."
    if request.method == "POST" and form.is_valid():
        try:
            user = actions.user_create(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"{user.full_name} is added. Now give them a role.")
            return redirect("accounts:person", user_id=user.pk)
    return render(
        request, "accounts/person_form.html", {"form": form}, status=400 if form.errors else 200
    )


def _person_initial(user: User) -> dict[str, object]:
    return {
        "email": user.email,
        "full_name": user.full_name,
        "is_active": user.is_active,
        "time_zone": user.time_zone,
    }


def _person_or_404(request: HttpRequest, user_id: int) -> User:
    try:
        return queries.user_get(actor=request_actor(request), user_id=user_id)
    except User.DoesNotExist as exc:
        raise Http404 from exc


@login_required
def person(request: HttpRequest, user_id: int) -> HttpResponse:
    """A person's details, roles and client assignments, all editable."""
    actor = request_actor(request)
    user = _person_or_404(request, user_id)
    form = PersonForm(
        request.POST or None,
        initial=_person_initial(user),
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.user_update(actor=actor, user=user, **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("accounts:person", user_id=user.pk)
    return _render_person(request, user, form=form, status=400 if form.errors else 200)


def _render_person(
    request: HttpRequest, user: User, *, status: int = 200, **forms: object
) -> HttpResponse:
    actor = request_actor(request)
    clients = [(c.pk, c.name) for c in client_queries.clients_visible(actor=actor)]
    memberships = list(queries.memberships_of(actor=actor, user=user))
    context = {
        "person": user,
        "memberships": memberships,
        "is_provider_staff": any(m.client_id is None for m in memberships),
        "assignments": queries.assignments_visible(actor=actor, user_id=user.pk),
        "form": forms.get("form") or PersonForm(initial=_person_initial(user)),
        "membership_form": forms.get("membership_form") or MembershipForm(clients=clients),
        "assignment_form": forms.get("assignment_form") or AssignmentForm(clients=clients),
    }
    return render(request, "accounts/person.html", context, status=status)


@login_required
@require_POST
def membership_add(request: HttpRequest, user_id: int) -> HttpResponse:
    """Give the person a role."""
    actor = request_actor(request)
    user = _person_or_404(request, user_id)
    clients = [(c.pk, c.name) for c in client_queries.clients_visible(actor=actor)]
    form = MembershipForm(request.POST, clients=clients)
    if form.is_valid():
        client_id = form.cleaned_data["client"]
        client = client_queries.client_get(actor=actor, client_id=client_id) if client_id else None
        try:
            actions.membership_create(
                actor=actor, user=user, role=form.cleaned_data["role"], client=client
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Role given; their open sessions have ended.")
            return redirect("accounts:person", user_id=user.pk)
    return _render_person(request, user, membership_form=form, status=400)


@login_required
@require_POST
def membership_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    """Take a role away."""
    actor = request_actor(request)
    try:
        membership = queries.membership_get(actor=actor, membership_id=membership_id)
    except Membership.DoesNotExist as exc:
        raise Http404 from exc
    try:
        actions.membership_delete(actor=actor, membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Role taken away; their open sessions have ended.")
    return redirect("accounts:person", user_id=membership.user_id)


@login_required
@require_POST
def assignment_add(request: HttpRequest, user_id: int) -> HttpResponse:
    """Assign the person to a client."""
    actor = request_actor(request)
    user = _person_or_404(request, user_id)
    clients = [(c.pk, c.name) for c in client_queries.clients_visible(actor=actor)]
    form = AssignmentForm(request.POST, clients=clients)
    if form.is_valid():
        client = client_queries.client_get(actor=actor, client_id=form.cleaned_data["client"])
        try:
            actions.assignment_create(actor=actor, user=user, client=client)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"Assigned to {client.name}.")
            return redirect("accounts:person", user_id=user.pk)
    return _render_person(request, user, assignment_form=form, status=400)


@login_required
@require_POST
def assignment_remove(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """Withdraw the person from a client."""
    actor = request_actor(request)
    try:
        assignment = queries.assignment_get(actor=actor, assignment_id=assignment_id)
    except Assignment.DoesNotExist as exc:
        raise Http404 from exc
    actions.assignment_delete(actor=actor, assignment=assignment)
    messages.success(request, "Assignment removed.")
    return redirect("accounts:person", user_id=assignment.user_id)
