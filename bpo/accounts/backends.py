"""Authenticate by e-mail address (case-insensitive) and password."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from bpo.accounts.models import User


class EmailBackend(ModelBackend):
    """Django's model backend keyed by e-mail; inactive users never authenticate."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = (kwargs.get("email") or username or "").strip()
        if not email or password is None:
            return None
        try:
            user = User.objects.get(email__iexact=email)
        except User.DoesNotExist:
            # Spend the same time as a real check, so response times do not reveal who exists.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
