"""List who works for or at one client: its users and the provider staff assigned to it."""

from __future__ import annotations

from typing import Any

from bpo.accounts import queries
from bpo.tenancy.commands import TenantCommand
from bpo.tenancy.context import Actor


class Command(TenantCommand):
    help = "List a client's users and assigned provider staff (needs --client and --as)."

    def handle_client(self, client: Any, actor: Actor, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{client.name} ({client.slug})")
        self.stdout.write("Client users:")
        for membership in queries.memberships_visible(actor=actor, client_id=client.pk):
            self.stdout.write(f"  {membership.user.email:40} {membership.role}")
        self.stdout.write("Provider staff assigned:")
        for assignment in queries.assignments_visible(actor=actor, client_id=client.pk):
            self.stdout.write(f"  {assignment.user.email}")
