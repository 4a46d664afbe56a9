"""Management-command edge: a command that touches client data names its client and actor."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bpo.audit.context import request_context
from bpo.tenancy.context import Actor, acting_as, actor_for


class TenantCommand(BaseCommand, metaclass=ABCMeta):
    """Base class of commands that work on one client's data.

    ``--client`` (slug or id) and ``--as`` (the e-mail of the person running it) are required;
    the command runs as that person, inside a scope of that one client, and fails with a clear
    message before touching anything when either is missing, unknown, or not allowed.
    """

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client", required=True, help="The client's key (slug) or id.")
        parser.add_argument(
            "--as",
            dest="as_email",
            required=True,
            help="E-mail of the person running the command (audited as them).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from bpo.accounts.models import User
        from bpo.tenancy.models import Client
        from bpo.tenancy.scoping import all_clients_unscoped

        with all_clients_unscoped("resolving a command's --client argument"):
            key = str(options["client"]).strip()
            client = Client.objects.filter(slug=key).first()
            if client is None and key.isdigit():
                client = Client.objects.filter(pk=int(key)).first()
        if client is None:
            raise CommandError(f"--client {key!r}: no client has this key or id.")
        user = User.objects.filter(email__iexact=options["as_email"].strip()).first()
        if user is None or not user.is_active:
            raise CommandError(f"--as {options['as_email']!r}: no active person has this e-mail.")
        actor = actor_for(user)
        if client.pk not in actor.client_ids:
            raise CommandError(f"{user.email} may not act for client {client.slug!r}.")
        narrowed = actor.narrowed_to(client.pk)
        with request_context(request_id=None, ip=None), acting_as(narrowed):
            rest = {k: v for k, v in options.items() if k not in {"client", "as_email"}}
            self.handle_client(client, narrowed, *args, **rest)

    @abstractmethod
    def handle_client(self, client: Any, actor: Actor, *args: Any, **options: Any) -> None:
        """Do the command's work for ``client``, as ``actor``, inside that client's scope."""
