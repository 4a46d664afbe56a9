"""People: users, their memberships (roles), assignments of provider staff to clients, tokens."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from bpo.accounts.roles import CLIENT_ROLES, PROVIDER_ROLES, ROLE_CHOICES
from bpo.tenancy.models import ClientOwnedModel, validate_time_zone


class UserManager(BaseUserManager["User"]):
    """Creates users keyed by a normalised (lower-case) e-mail address."""

    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(AbstractBaseUser):
    """A person who logs in: provider staff or a client's user, told apart by memberships."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    # Changed whenever a role changes: part of the session hash, so such a change logs the
    # user out everywhere (a password change does the same through the password hash).
    security_stamp = models.CharField(max_length=32, default="", editable=False)
    date_joined = models.DateTimeField(default=timezone.now)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Dates and times are shown to this person in this zone.",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    def get_session_auth_hash(self) -> str:
        """Sessions stay valid only while both the password and the roles are unchanged."""
        from django.utils.crypto import salted_hmac

        key_salt = "bpo.accounts.User.get_session_auth_hash"
        return salted_hmac(
            key_salt, f"{self.password}:{self.security_stamp}", algorithm="sha256"
        ).hexdigest()

    def rotate_security_stamp(self) -> None:
        """Invalidate every session of this user (call inside the action that changes roles)."""
        self.security_stamp = secrets.token_hex(16)


class Membership(models.Model):
    """A role held by a user: at the provider (client empty) or at one client.

    This is the authorisation graph that the tenancy machinery reads to compute a scope, so it is
    not itself tenant-scoped; accounts.queries narrows every read of it to what the actor may see.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    client = models.ForeignKey(
        "tenancy.Client",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
        help_text="Empty for a provider role; the client for a client role.",
    )
    role = models.CharField(max_length=20, choices=ROLE_CHOICES)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__full_name", "role"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(client__isnull=True, role__in=sorted(PROVIDER_ROLES))
                    | Q(client__isnull=False, role__in=sorted(CLIENT_ROLES))
                ),
                name="membership_role_matches_side",
                violation_error_message=(
                    "Provider roles are held without a client; client roles need a client."
                ),
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=Q(client__isnull=True),
                name="membership_unique_provider_role",
            ),
            models.UniqueConstraint(
                fields=["user", "client", "role"], name="membership_unique_client_role"
            ),
        ]

    def __str__(self) -> str:
        where = self.client.name if self.client is not None else "provider"
        return f"{self.user.email}: {self.role} @ {where}"


class Assignment(ClientOwnedModel):
    """A provider staff member assigned to work for a client (they see only assigned clients)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client__name", "user__full_name"]
        constraints = [models.UniqueConstraint(fields=["client", "user"], name="assignment_unique")]

    def __str__(self) -> str:
        return f"{self.user.email} → client {self.client_id}"


class ApiToken(models.Model):
    """A personal API token: shown once, stored as a SHA-256 digest, revocable.

    The token acts with its owner's current rights, so a role change applies to it at once.
    """

    PREFIX = "obpo"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.PREFIX}_{self.key_id}_…)"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
