"""Personal API tokens: ``obpo_<key id>_<secret>``; only a SHA-256 digest is stored.

The secret has 256 bits of entropy, so a fast digest is as safe as a slow password hash here,
and lets every API request be authenticated without a costly Argon2 computation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.utils import timezone

from bpo.accounts.models import ApiToken, User


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate() -> tuple[str, str, str]:
    """A new token: (the full token shown once, its key id, the digest to store)."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"{ApiToken.PREFIX}_{key_id}_{secret}", key_id, digest(secret)


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of checking a presented token: its user, or why it was refused."""

    user: User | None
    token: ApiToken | None
    reason: str = ""


def check(raw: str) -> TokenCheck:
    """Find the active user behind a presented token, or say why it is refused."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != ApiToken.PREFIX or not parts[1] or not parts[2]:
        return TokenCheck(None, None, "The API token is malformed (expected obpo_<id>_<secret>).")
    token = ApiToken.objects.select_related("user").filter(key_id=parts[1]).first()
    if token is None or not hmac.compare_digest(token.digest, digest(parts[2])):
        return TokenCheck(None, None, "The API token is unknown.")
    if token.revoked_at is not None:
        return TokenCheck(None, token, "The API token has been revoked.")
    if token.expires_at is not None and token.expires_at <= timezone.now():
        return TokenCheck(None, token, "The API token has expired.")
    if not token.user.is_active:
        return TokenCheck(None, token, "The API token's user is deactivated.")
    return TokenCheck(token.user, token)
