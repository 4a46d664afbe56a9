"""Writes about people: sessions, users, memberships, assignments and API tokens.

Every action takes ``actor=``, checks permission, runs in one transaction and writes the audit
entry in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from bpo.accounts import tokens
from bpo.accounts.models import ApiToken, Assignment, Membership, User
from bpo.accounts.roles import Permission, Role
from bpo.audit.context import current_request_context
from bpo.audit.log import record, snapshot
from bpo.audit.models import AuditEntry
from bpo.tenancy.context import Actor
from bpo.tenancy.models import Client
from bpo.tenancy.scoping import ensure_client_in_scope

USER_FIELDS = ("email", "full_name", "is_active", "time_zone")


# --- Sessions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login attempt: the user, or a message for the login page."""

    user: User | None
    error: str = ""


def _throttle_wait(email: str, ip: str | None) -> int:
    """Seconds until another attempt is allowed for this e-mail or IP; 0 when allowed now."""
    limits = settings.LOGIN_THROTTLE
    window = timedelta(seconds=limits["window_seconds"])
    since = timezone.now() - window
    failures = AuditEntry.objects.filter(action="auth.login_failed", at__gte=since)
    by_email = failures.filter(object_id=email).order_by("-at").values_list("at", flat=True)
    by_ip = failures.filter(ip=ip).order_by("-at").values_list("at", flat=True) if ip else None
    wait = 0
    for recent, limit in ((by_email, limits["per_email"]), (by_ip, limits["per_ip"])):
        if recent is None:
            continue
        stamps = list(recent[:limit])
        if len(stamps) >= limit:
            oldest = stamps[-1]
            wait = max(wait, int((oldest + window - timezone.now()).total_seconds()) + 1)
    return wait


def session_login(*, request: HttpRequest, email: str, password: str) -> LoginResult:
    """Log a person in by e-mail and password, with throttling of repeated failures."""
    email = email.strip().lower()
    ctx = current_request_context()
    ip = ctx.ip if ctx else None
    wait = _throttle_wait(email, ip)
    if wait:
        record(
            "auth.login_throttled",
            object_type="accounts.user",
            object_id=email,
            after={"retry_after_seconds": wait},
        )
        minutes = max(1, round(wait / 60))
        return LoginResult(
            None, f"Too many failed attempts. Try again in about {minutes} minute(s)."
        )
    user = auth.authenticate(request, email=email, password=password)
    if user is None:
        record("auth.login_failed", object_type="accounts.user", object_id=email)
        return LoginResult(None, "The e-mail address or the password is wrong.")
    auth.login(request, user)
    record("auth.login", obj=user, actor=user)
    return LoginResult(user)  # type: ignore[arg-type]


def session_logout(*, request: HttpRequest) -> None:
    """End the current session."""
    if request.user.is_authenticated:
        record("auth.logout", obj=request.user, actor=request.user)  # type: ignore[arg-type]
    auth.logout(request)


def password_change(*, actor: Actor, request: HttpRequest, old: str, new: str) -> None:
    """Change one's own password; every other session of the user ends."""
    user = actor.user
    if not user.check_password(old):
        raise ValidationError({"old_password": "The current password is wrong."})
    validate_password(new, user)
    with transaction.atomic():
        user.set_password(new)
        user.save(update_fields=["password"])
        record("user.password_changed", obj=user)
    auth.update_session_auth_hash(request, user)


# --- Bootstrap ---------------------------------------------------------------------------------


def admin_bootstrap(*, email: str, full_name: str, password: str, time_zone: str = "UTC") -> User:
    """Create a provider admin without an acting admin: the first person of an installation.

    Run by an operator at the command line (``manage.py create_admin``) or by the demo seeder;
    the new admin is recorded as the actor of their own creation.
    """
    user = User(email=email.strip().lower(), full_name=full_name.strip(), time_zone=time_zone)
    user.full_clean(exclude=["password"])
    validate_password(password, user)
    user.set_password(password)
    with transaction.atomic():
        user.save()
        Membership.objects.create(user=user, role=Role.ADMIN.value)
        record(
            "admin.bootstrapped",
            obj=user,
            actor=user,
            after={**snapshot(user, USER_FIELDS), "role": Role.ADMIN.value},
        )
    return user


def preferences_update(*, actor: Actor, time_zone: str) -> User:
    """Change one's own preferences (the time zone dates are shown in)."""
    user = actor.user
    before = snapshot(user, ["time_zone"])
    user.time_zone = time_zone
    user.full_clean(exclude=["password"])
    with transaction.atomic():
        user.save(update_fields=["time_zone"])
        record(
            "user.preferences_changed", obj=user, before=before, after=snapshot(user, ["time_zone"])
        )
    return user


# --- Users -------------------------------------------------------------------------------------


def user_create(
    *,
    actor: Actor,
    email: str,
    full_name: str,
    password: str,
    is_active: bool = True,
    time_zone: str = "UTC",
) -> User:
    """Create a person who can log in (their roles come from memberships)."""
    actor.require(Permission.MANAGE_PEOPLE)
    user = User(
        email=email.strip().lower(),
        full_name=full_name.strip(),
        is_active=is_active,
        time_zone=time_zone,
    )
    user.full_clean(exclude=["password"])
    validate_password(password, user)
    user.set_password(password)
    with transaction.atomic():
        user.save()
        record("user.created", obj=user, after=snapshot(user, USER_FIELDS))
    return user


def user_update(
    *,
    actor: Actor,
    user: User,
    email: str | None = None,
    full_name: str | None = None,
    is_active: bool | None = None,
    password: str | None = None,
    time_zone: str | None = None,
) -> User:
    """Change a person's details; deactivating or setting a password ends their sessions."""
    actor.require(Permission.MANAGE_PEOPLE)
    before = snapshot(user, USER_FIELDS)
    if email is not None:
        user.email = email.strip().lower()
    if full_name is not None:
        user.full_name = full_name.strip()
    if time_zone is not None:
        user.time_zone = time_zone
    if is_active is not None:
        if not is_active and user.pk == actor.user.pk:
            raise ValidationError({"is_active": "You cannot deactivate yourself."})
        user.is_active = is_active
    user.full_clean(exclude=["password"])
    if password:
        validate_password(password, user)
        user.set_password(password)
    if is_active is False:
        user.rotate_security_stamp()
    with transaction.atomic():
        user.save()
        after = snapshot(user, USER_FIELDS)
        if password:
            after["password"] = "changed"
        record("user.updated", obj=user, before=before, after=after)
    return user


# --- Memberships and assignments ----------------------------------------------------------------


def membership_create(
    *, actor: Actor, user: User, role: Role | str, client: Client | None = None
) -> Membership:
    """Give a person a role, at the provider (no client) or at one client; ends their sessions."""
    actor.require(Permission.MANAGE_PEOPLE)
    role = _parse_role(role)
    if client is not None:
        ensure_client_in_scope(client.pk)
    if role.is_provider_role and client is not None:
        raise ValidationError({"client": f"'{role}' is a provider role: leave the client empty."})
    if not role.is_provider_role and client is None:
        raise ValidationError({"client": f"'{role}' is a client role: choose the client."})
    sides = set(user.memberships.values_list("client", flat=True))
    if sides and ((None in sides) != role.is_provider_role):
        raise ValidationError(
            {"role": "A person works either for the provider or for a client, not both."}
        )
    if not role.is_provider_role and sides and sides != {client.pk if client else None}:
        raise ValidationError({"client": "A client user belongs to exactly one client."})
    membership = Membership(user=user, role=role.value, client=client)
    with transaction.atomic():
        try:
            with transaction.atomic():
                membership.save()
        except IntegrityError as exc:
            raise ValidationError({"role": f"{user.email} already holds this role."}) from exc
        user.rotate_security_stamp()
        user.save(update_fields=["security_stamp"])
        record(
            "membership.created",
            obj=membership,
            client_id=membership.client_id,
            after={"user": user.email, "role": role.value, "client_id": membership.client_id},
        )
    return membership


def membership_delete(*, actor: Actor, membership: Membership) -> None:
    """Take a role away; ends the person's sessions."""
    actor.require(Permission.MANAGE_PEOPLE)
    if membership.client_id is not None:
        ensure_client_in_scope(membership.client_id)
    user = membership.user
    if user.pk == actor.user.pk and membership.role == Role.ADMIN and membership.client_id is None:
        raise ValidationError({"role": "You cannot remove your own admin role."})
    before = {"user": user.email, "role": membership.role, "client_id": membership.client_id}
    with transaction.atomic():
        record("membership.deleted", obj=membership, client_id=membership.client_id, before=before)
        membership.delete()
        user.rotate_security_stamp()
        user.save(update_fields=["security_stamp"])


def assignment_create(*, actor: Actor, user: User, client: Client) -> Assignment:
    """Assign a provider staff member to work for a client."""
    actor.require(Permission.MANAGE_PEOPLE)
    ensure_client_in_scope(client.pk)
    if not user.memberships.filter(client__isnull=True).exists():
        raise ValidationError({"user": f"{user.email} holds no provider role; give one first."})
    assignment = Assignment(user=user, client=client)
    with transaction.atomic():
        try:
            with transaction.atomic():
                assignment.save()
        except IntegrityError as exc:
            raise ValidationError(
                {"user": f"{user.email} is already assigned to {client.name}."}
            ) from exc
        record("assignment.created", obj=assignment, after={"user": user.email})
    return assignment


def assignment_delete(*, actor: Actor, assignment: Assignment) -> None:
    """Withdraw a staff member from a client."""
    actor.require(Permission.MANAGE_PEOPLE)
    ensure_client_in_scope(assignment.client_id)
    with transaction.atomic():
        record("assignment.deleted", obj=assignment, before={"user": assignment.user.email})
        assignment.delete()


def _parse_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        choices = ", ".join(r.value for r in Role)
        raise ValidationError({"role": f"Unknown role {role!r}; one of: {choices}."}) from exc


# --- API tokens ----------------------------------------------------------------------------------


def api_token_create(
    *, actor: Actor, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a personal API token; returns it with the full secret, which is never shown again."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the token a name that says what uses it."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must lie in the future."})
    raw, key_id, digest = tokens.generate()
    token = ApiToken(
        user=actor.user, name=name[:100], key_id=key_id, digest=digest, expires_at=expires_at
    )
    with transaction.atomic():
        token.save()
        record("api_token.created", obj=token, after={"name": token.name, "key_id": key_id})
    return token, raw


def api_token_revoke(*, actor: Actor, token: ApiToken) -> ApiToken:
    """Revoke one of one's own tokens (admins may revoke anyone's)."""
    if token.user_id != actor.user.pk:
        actor.require(Permission.MANAGE_PEOPLE)
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            record("api_token.revoked", obj=token, after={"revoked_at": token.revoked_at})
    return token
