"""Factories for clients."""

import factory

from bpo.tenancy.models import Client


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    name = factory.Sequence(lambda n: f"Client {n} Ltd")
    slug = factory.Sequence(lambda n: f"client-{n}")
    legal_name = factory.LazyAttribute(lambda o: f"{o.name} (legal)")
    country = "DE"
    time_zone = "Europe/Berlin"
