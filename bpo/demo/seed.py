"""The demo: the two reference scenarios of DESIGN.md, with a person for every role.

Seeding is idempotent: it looks everything up by its natural key before creating it, so running
it again changes nothing. Everything after the first admin is created through the actions, so
the demo's history is in the audit log like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from bpo.accounts import actions as people
from bpo.accounts.models import Assignment, Membership, User
from bpo.accounts.roles import Role
from bpo.demo.agreements import seed_agreements
from bpo.demo.billing import seed_billing
from bpo.demo.finance import seed_finance
from bpo.demo.history import seed_history
from bpo.demo.intake import seed_intake
from bpo.demo.work import seed_work
from bpo.tenancy import actions as clients
from bpo.tenancy.context import acting_as, actor_for
from bpo.tenancy.models import Client, Provider
from bpo.tenancy.scoping import all_clients_unscoped

DEMO_PASSWORD = "openbpo-demo-2026"


@dataclass(frozen=True)
class DemoPerson:
    email: str
    full_name: str
    role: Role
    client: str | None = None  # slug, for client roles
    assigned_to: tuple[str, ...] = ()  # slugs, for provider staff


PROVIDER = {
    "name": "Meridian Outsourcing",
    "legal_name": "Meridian Outsourcing GmbH",
    "country": "DE",
    "time_zone": "Europe/Berlin",
}

CLIENTS = [
    {
        "slug": "northwind",
        "name": "Northwind Commerce",
        "legal_name": "Northwind Commerce AG",
        "country": "DE",
        "time_zone": "Europe/Berlin",
    },
    {
        "slug": "acme",
        "name": "Acme Precision Manufacturing",
        "legal_name": "Acme Precision Manufacturing Inc.",
        "country": "US",
        "time_zone": "America/Chicago",
    },
]

PEOPLE = [
    DemoPerson("admin@meridian.example", "Ada Admin", Role.ADMIN),
    DemoPerson(
        "manager@meridian.example", "Max Manager", Role.MANAGER, None, ("northwind", "acme")
    ),
    DemoPerson("agent@meridian.example", "Alex Agent", Role.AGENT, None, ("northwind",)),
    DemoPerson("accountant@meridian.example", "Farah Accountant", Role.AGENT, None, ("acme",)),
    DemoPerson("qa@meridian.example", "Quinn Quality", Role.QA, None, ("northwind",)),
    DemoPerson(
        "finance@meridian.example", "Fin Finance", Role.FINANCE, None, ("northwind", "acme")
    ),
    DemoPerson(
        "planner@meridian.example", "Pat Planner", Role.PLANNER, None, ("northwind", "acme")
    ),
    DemoPerson("admin@northwind.example", "Nora Northwind", Role.CLIENT_ADMIN, "northwind"),
    DemoPerson("viewer@northwind.example", "Victor Northwind", Role.CLIENT_VIEWER, "northwind"),
    DemoPerson("admin@acme.example", "Andrea Acme", Role.CLIENT_ADMIN, "acme"),
    DemoPerson("viewer@acme.example", "Vince Acme", Role.CLIENT_VIEWER, "acme"),
]


def seed(progress: Callable[[str], None] = print) -> None:
    """Create (or find) the demo provider, clients, people and agreements; safe to run again."""
    admin_spec = PEOPLE[0]
    with transaction.atomic():
        Provider.objects.update_or_create(pk=1, defaults=PROVIDER)
        admin = User.objects.filter(email=admin_spec.email).first()
        if admin is None:
            admin = people.admin_bootstrap(
                email=admin_spec.email,
                full_name=admin_spec.full_name,
                password=DEMO_PASSWORD,
                time_zone=PROVIDER["time_zone"],
            )
    progress(f"[1/9] provider {PROVIDER['name']} and admin {admin.email}")

    with all_clients_unscoped("the demo seeder looks up clients by slug"):
        existing = {c.slug: c for c in Client.objects.all()}
    for spec in CLIENTS:
        if spec["slug"] not in existing:
            with acting_as(actor_for(admin)) as actor:
                existing[spec["slug"]] = clients.client_create(actor=actor, **spec)
    progress(f"[2/9] clients: {', '.join(spec['name'] for spec in CLIENTS)}")

    for number, person in enumerate(PEOPLE[1:], start=1):
        with acting_as(actor_for(admin)) as actor:
            user = User.objects.filter(email=person.email).first()
            if user is None:
                user = people.user_create(
                    actor=actor,
                    email=person.email,
                    full_name=person.full_name,
                    password=DEMO_PASSWORD,
                    time_zone=existing[person.client].time_zone
                    if person.client
                    else PROVIDER["time_zone"],
                )
            client = existing[person.client] if person.client else None
            if not Membership.objects.filter(user=user, role=person.role, client=client).exists():
                people.membership_create(actor=actor, user=user, role=person.role, client=client)
            for slug in person.assigned_to:
                if not Assignment.objects.filter(user=user, client=existing[slug]).exists():
                    people.assignment_create(actor=actor, user=user, client=existing[slug])
        progress(f"[3/9] people {number}/{len(PEOPLE) - 1}: {person.email}")

    with acting_as(actor_for(admin)) as actor:
        seed_agreements(actor=actor, clients=existing, progress=progress)
    seed_work(admin=admin, clients=existing, progress=progress)
    seed_intake(admin=admin, progress=progress)
    seed_history(admin=admin, progress=progress)
    seed_billing(admin=admin, progress=progress)
    seed_finance(admin=admin, clients=existing, progress=progress)


def logins_table() -> str:
    """The demo logins, as printed after seeding and written in the README."""
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD})"]
    for spec in PEOPLE:
        where = spec.client or (
            "all clients" if spec.role == Role.ADMIN else ", ".join(spec.assigned_to)
        )
        lines.append(f"  {spec.email:32} {spec.role.label:18} {where}")
    return "\n".join(lines)
