"""Seed the demo data (idempotent) and print the demo logins."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from bpo.audit.context import request_context
from bpo.demo.seed import logins_table, seed


class Command(BaseCommand):
    help = "Create the demo provider, clients and people (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        with request_context(request_id="seed-demo"):
            seed(progress=lambda line: self.stdout.write(line))
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(logins_table())
