"""The append-only, hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AuditEntry(models.Model):
    """One audited fact: a write, a login, a denial or a view of personal data.

    Rows are never updated or deleted (the model refuses, and database triggers refuse too).
    Each row stores the hash of the previous row of its chain (one chain per client, and one for
    entries of no client), and its own hash over its content and that previous hash, so
    ``manage.py audit_verify`` finds any row changed or deleted behind the application's back.
    Actor and client are plain ids, not foreign keys, so no cascade can ever rewrite history.
    """

    at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True)
    client_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=254, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["client_id", "at"], name="audit_client_at"),
            # The head of a client's chain: its newest entry.
            models.Index(fields=["client_id", "id"], name="audit_chain_head"),
            models.Index(fields=["action", "object_id", "at"], name="audit_action_object_at"),
            models.Index(fields=["action", "ip", "at"], name="audit_action_ip_at"),
            models.Index(fields=["actor_id", "at"], name="audit_actor_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("Audit entries are append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Audit entries are append-only and cannot be deleted.")

    def content(self) -> dict[str, Any]:
        """The fields covered by the hash, in a form that survives a database round trip."""
        return {
            "at": self.at.isoformat(timespec="microseconds"),
            "actor_id": self.actor_id,
            "actor_email": self.actor_email,
            "client_id": self.client_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "before": self.before,
            "after": self.after,
            "ip": self.ip,
            "request_id": self.request_id,
        }

    def compute_hash(self) -> str:
        payload = json.dumps(
            {"prev": self.prev_hash, **self.content()},
            sort_keys=True,
            separators=(",", ":"),
            cls=DjangoJSONEncoder,
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode()).hexdigest()
