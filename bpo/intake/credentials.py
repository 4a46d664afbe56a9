"""Credentials kept encrypted at rest (an IMAP mailbox's password): Fernet (AES-128-CBC with
HMAC-SHA256) under a key derived from OPENBPO_ENCRYPTION_KEY, or from DJANGO_SECRET_KEY when
that is not set. Changing the key makes stored credentials unreadable: they must be entered
again (the mailbox then reports the failure in its last poll error)."""

from __future__ import annotations

import base64
import os

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with the current key."""


def _fernet() -> Fernet:
    material = (os.environ.get("OPENBPO_ENCRYPTION_KEY") or settings.SECRET_KEY).encode()
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"openbpo stored credentials"
    ).derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plain: str) -> str:
    """The text encrypted for storage ('' stays '')."""
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def decrypt(stored: str) -> str:
    """The stored text decrypted; SecretUnreadable if the key changed or it was tampered with."""
    if not stored:
        return ""
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "The stored password cannot be read with this installation's key: enter it again."
        ) from exc
