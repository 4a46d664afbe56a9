"""Verify the audit log's hash chain; exit 1 naming the first broken entry."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from bpo.audit.log import verify_chain


class Command(BaseCommand):
    help = "Check that no audit entry was changed or deleted behind the application's back."

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit chain BROKEN at entry #{report.broken_id}: {report.reason}. "
                f"{report.checked} entries before it are intact."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} entries."))
