"""Tenant scoping: client-owned data is unreachable outside a scope and across clients."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bpo.accounts.models import Assignment
from bpo.tenancy.context import actor_for
from bpo.tenancy.jobs import JobScopeError, client_job
from bpo.tenancy.models import Client
from bpo.tenancy.scoping import (
    ScopeError,
    active_client_ids,
    all_clients_unscoped,
    client_scope,
    ensure_client_in_scope,
)


def test_client_owned_queries_refuse_without_a_scope(world):
    for query in (
        lambda: list(Assignment.objects.all()),
        lambda: Assignment.objects.count(),
        lambda: Client.objects.get(pk=world.own.pk),
        lambda: Assignment.objects.filter(client=world.own).exists(),
    ):
        with pytest.raises(ScopeError, match="client scope needs to be active"):
            query()


def test_scope_shows_exactly_its_clients(world):
    with client_scope([world.own.pk]):
        assert list(Client.objects.values_list("slug", flat=True)) == ["own"]
        assert {a.client_id for a in Assignment.objects.all()} == {world.own.pk}
        with pytest.raises(Client.DoesNotExist):
            Client.objects.get(pk=world.other.pk)


def test_empty_scope_sees_nothing(world):
    with client_scope([]):
        assert Client.objects.count() == 0


def test_scope_rejects_none_so_nothing_widens_it_by_accident():
    with pytest.raises(TypeError), client_scope(None):  # type: ignore[arg-type]
        pass


def test_ids_from_requests_are_checked_against_the_scope(world):
    with client_scope([world.own.pk]):
        assert ensure_client_in_scope(str(world.own.pk)) == world.own.pk
        for foreign in (world.other.pk, None, "abc", 0):
            with pytest.raises(ScopeError):
                ensure_client_in_scope(foreign)
    with pytest.raises(ScopeError):
        active_client_ids()


def test_unscoped_reads_need_a_reason(world):
    with pytest.raises(ValueError), all_clients_unscoped(" "):
        pass
    with all_clients_unscoped("test of the named path"):
        assert Client.objects.count() == 2


def test_actor_scopes_follow_roles(world):
    assert actor_for(world.people["admin"]).client_ids == {world.own.pk, world.other.pk}
    assert actor_for(world.people["agent"]).client_ids == {world.own.pk}
    assert actor_for(world.people["client_viewer"]).client_ids == {world.own.pk}
    assert actor_for(world.other_people["agent"]).client_ids == {world.other.pk}


def test_inactive_client_drops_out_of_staff_scope(world):
    with all_clients_unscoped("test"):
        Client.objects.filter(pk=world.own.pk).update(is_active=False)
    assert actor_for(world.people["agent"]).client_ids == frozenset()


@client_job
def count_visible_clients(*, client_id: int, actor_id: int) -> list[str]:
    return list(Client.objects.values_list("slug", flat=True))


def test_jobs_reenter_exactly_their_clients_scope(world):
    assert count_visible_clients(client_id=world.own.pk, actor_id=world.people["admin"].pk) == [
        "own"
    ]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({}, "needs client_id and actor_id"),
        ({"client_id": 1}, "needs client_id and actor_id"),
        ({"client_id": "other", "actor_id": "agent"}, "may not act for client"),
        ({"client_id": "own", "actor_id": 987654}, "unknown or deactivated"),
    ],
)
def test_jobs_without_a_valid_scope_fail_clearly(world, kwargs, message):
    ids = {"own": world.own.pk, "other": world.other.pk, "agent": world.people["agent"].pk}
    resolved = {k: ids.get(v, v) for k, v in kwargs.items()}
    with pytest.raises(JobScopeError, match=message):
        count_visible_clients(**resolved)


def test_commands_need_a_client_and_an_actor(world, capsys):
    with pytest.raises(CommandError, match="--client"):
        call_command("client_people", "--as", "admin@own.test")
    with pytest.raises(CommandError, match="no client has this key"):
        call_command("client_people", "--client", "nope", "--as", "admin@own.test")
    with pytest.raises(CommandError, match="may not act for client 'other'"):
        call_command("client_people", "--client", "other", "--as", "agent@own.test")
    call_command("client_people", "--client", "own", "--as", "admin@own.test")
    out = capsys.readouterr().out
    assert "client_viewer@own.test" in out and "@other.test" not in out
