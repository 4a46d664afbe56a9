"""Create a provider admin: the first person of a new installation."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from bpo.accounts.actions import admin_bootstrap
from bpo.audit.context import request_context


class Command(BaseCommand):
    help = (
        "Create a provider admin. The password is asked for at the prompt, or read from "
        "OPENBPO_ADMIN_PASSWORD when there is no terminal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", required=True, help="Full name.")

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("OPENBPO_ADMIN_PASSWORD", "")
        if not password:
            if not sys.stdin.isatty():
                raise CommandError("No terminal to ask for a password: set OPENBPO_ADMIN_PASSWORD.")
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password again: "):
                raise CommandError("The two passwords differ; nothing was created.")
        try:
            with request_context(request_id="create-admin"):
                user = admin_bootstrap(
                    email=options["email"], full_name=options["name"], password=password
                )
        except ValidationError as exc:
            problems = (
                "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
                if hasattr(exc, "error_dict")
                else " ".join(exc.messages)
            )
            raise CommandError(f"Nothing was created: {problems}") from exc
        self.stdout.write(self.style.SUCCESS(f"Provider admin {user.email} created."))
