"""Fixtures shared by every test: a world of two clients with a person in every role."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.test import Client as HttpClient

from bpo.accounts.models import User
from bpo.accounts.roles import CLIENT_ROLES, PROVIDER_ROLES, Role
from bpo.accounts.tests.factories import PASSWORD, AssignmentFactory, MembershipFactory, UserFactory
from bpo.tenancy.context import Actor, acting_as, actor_for
from bpo.tenancy.models import Client
from bpo.tenancy.tests.factories import ClientFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 is deliberately slow; tests that are about hashing put it back themselves."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _attachments_in_test_directory(settings, tmp_path_factory):
    """Uploaded files, raw mail, import and finance files go to the test run's temporary directory,
    never into var/."""
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path_factory.getbasetemp() / "attachments"},
        },
        "mail": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path_factory.getbasetemp() / "mail"},
        },
        "imports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path_factory.getbasetemp() / "imports"},
        },
        "finance": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path_factory.getbasetemp() / "finance"},
        },
    }


@dataclass
class World:
    """Two clients ("own" and "other"); for "own", a person in every role; for "other", its
    own client users and an agent assigned only to it."""

    own: Client
    other: Client
    people: dict[str, User] = field(default_factory=dict)
    other_people: dict[str, User] = field(default_factory=dict)

    def actor(self, role: str) -> Actor:
        return actor_for(self.people[role])

    def login(self, role: str) -> HttpClient:
        http = HttpClient()
        http.force_login(self.people[role])
        return http


def make_person(role: Role, client: Client, *, email: str) -> User:
    user = UserFactory(email=email, full_name=f"{role.label} of {client.slug}")
    if role in PROVIDER_ROLES:
        MembershipFactory(user=user, role=role.value, client=None)
        if role != Role.ADMIN:
            AssignmentFactory(user=user, client=client)
    else:
        MembershipFactory(user=user, role=role.value, client=client)
    return user


@pytest.fixture
def world(db) -> World:
    own = ClientFactory(name="Own Client GmbH", slug="own")
    other = ClientFactory(name="Other Client Inc", slug="other", legal_name="OTHERSECRET Inc")
    w = World(own=own, other=other)
    for role in Role:
        w.people[role.value] = make_person(role, own, email=f"{role.value}@own.test")
    for role in CLIENT_ROLES | {Role.AGENT}:
        w.other_people[role.value] = make_person(role, other, email=f"{role.value}@other.test")
    return w


@pytest.fixture
def as_actor():
    """Run a block as an actor: ``with as_actor(actor): ...`` enters its scope like an edge."""
    return acting_as


@pytest.fixture
def password() -> str:
    return PASSWORD
