"""The JSON API: tokens, the current user, memberships, assignments and the error shape."""

import json

import pytest
from django.db import OperationalError, connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from bpo.accounts import actions
from bpo.accounts.models import ApiToken, Assignment, Membership
from bpo.accounts.tests.factories import AssignmentFactory, MembershipFactory
from bpo.audit.models import AuditEntry
from bpo.tenancy.context import acting_as
from bpo.tenancy.models import Client
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.tenancy.tests.factories import ClientFactory


def token_for(world, role: str) -> str:
    with acting_as(world.actor(role)) as actor:
        _, raw = actions.api_token_create(actor=actor, name="tests")
    return raw


def api(token: str | None = None) -> HttpClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return HttpClient(headers=headers)


def send(http: HttpClient, method: str, url: str, body=None, raw: str | None = None):
    data = raw if raw is not None else ("" if body is None else json.dumps(body))
    return http.generic(method, url, data=data, content_type="application/json")


def test_tokens_are_stored_as_digests_and_shown_once(world):
    raw = token_for(world, "agent")
    token = ApiToken.objects.get()
    assert raw.startswith(f"obpo_{token.key_id}_")
    assert raw.split("_", 2)[2] not in token.digest and len(token.digest) == 64
    assert AuditEntry.objects.filter(action="api_token.created").exists()


def test_me_with_a_token(world):
    response = api(token_for(world, "client_admin")).get("/api/v1/me")
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "client_admin@own.test" and body["side"] == "client"
    assert body["roles"] == [{"role": "client_admin", "client_id": world.own.pk}]
    assert [c["slug"] for c in body["clients"]] == ["own"]


def test_provider_agent_sees_only_assigned_clients(world):
    body = api(token_for(world, "agent")).get("/api/v1/clients").json()
    assert [c["slug"] for c in body["items"]] == ["own"]


def test_admin_sees_every_client(world):
    body = api(token_for(world, "admin")).get("/api/v1/clients").json()
    assert {c["slug"] for c in body["items"]} == {"own", "other"}


@pytest.mark.parametrize(
    "header,message",
    [
        ("Bearer obpo_nothing_here", "unknown"),
        ("Bearer garbage", "malformed"),
        ("Basic dXNlcjpwYXNz", "Bearer"),
    ],
)
def test_bad_tokens_get_401_with_a_reason(world, header, message):
    response = HttpClient(headers={"Authorization": header}).get("/api/v1/me")
    assert response.status_code == 401
    assert message in response.json()["error"]["message"]


def test_revoked_and_expired_tokens_are_refused(world):
    raw = token_for(world, "agent")
    token = ApiToken.objects.get()
    with acting_as(world.actor("agent")) as actor:
        actions.api_token_revoke(actor=actor, token=token)
    response = api(raw).get("/api/v1/me")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]
    assert AuditEntry.objects.filter(action="auth.token_refused").exists()


def test_token_of_deactivated_user_is_refused(world):
    raw = token_for(world, "agent")
    world.people["agent"].is_active = False
    world.people["agent"].save()
    assert api(raw).get("/api/v1/me").status_code == 401


def test_token_follows_role_changes_at_once(world):
    raw = token_for(world, "manager")
    assert api(raw).get(f"/api/v1/clients/{world.own.pk}").status_code == 200
    with acting_as(world.actor("admin")) as admin:
        actions.assignment_delete(
            actor=admin, assignment=Assignment.objects.get(user=world.people["manager"])
        )
    assert api(raw).get(f"/api/v1/clients/{world.own.pk}").status_code == 404


def test_unauthenticated_api_gets_401_json(db):
    response = HttpClient().get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_session_api_writes_need_csrf(world):
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(world.people["admin"])
    response = send(http, "POST", "/api/v1/clients", {"name": "X", "slug": "x"})
    assert response.status_code == 403
    with all_clients_unscoped("test"):
        assert not Client.objects.filter(slug="x").exists()


def test_validation_errors_name_the_field(world):
    http = api(token_for(world, "admin"))
    response = send(http, "POST", "/api/v1/clients", {"name": "", "slug": "Not A Slug!"})
    assert response.status_code == 422
    paths = {f["path"] for f in response.json()["error"]["fields"]}
    assert {"body.payload.name", "body.payload.slug"} <= paths


def test_model_validation_errors_name_the_field(world):
    http = api(token_for(world, "admin"))
    response = send(
        http, "POST", "/api/v1/clients", {"name": "Zed", "slug": "zed", "time_zone": "Mars/Olympus"}
    )
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert fields[0]["path"] == "body.time_zone" and "time zone" in fields[0]["message"]


def test_duplicate_slug_is_a_clear_validation_error(world):
    http = api(token_for(world, "admin"))
    response = send(http, "POST", "/api/v1/clients", {"name": "Copy", "slug": "own"})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "body.slug"


def test_a_busy_database_is_503_with_retry_after_not_a_server_error(world, monkeypatch):
    """SQLite's writers wait for the write lock up to the busy timeout; past it the request's
    transaction is rolled back and the client is told to send it again, not that we failed."""

    def locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr("bpo.tenancy.actions.client_create", locked)
    http = api(token_for(world, "admin"))
    response = send(http, "POST", "/api/v1/clients", {"name": "Busy", "slug": "busy"})
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    error = response.json()["error"]
    assert error["code"] == "busy" and "Try again" in error["message"]
    # any other database fault stays a server error
    monkeypatch.setattr(
        "bpo.tenancy.actions.client_create",
        lambda **kwargs: (_ for _ in ()).throw(OperationalError("disk I/O error")),
    )
    response = send(http, "POST", "/api/v1/clients", {"name": "Broken", "slug": "broken"})
    assert response.status_code == 500


def test_malformed_json_is_400_and_changes_nothing(world):
    http = api(token_for(world, "admin"))
    before = AuditEntry.objects.count()
    response = send(http, "POST", "/api/v1/clients", raw='{"name": "Broken", ')
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "malformed_json" and "line 1" in error["message"]
    assert AuditEntry.objects.filter(action="client.created").count() == 0
    assert AuditEntry.objects.count() == before


def test_wrong_types_are_422(world):
    http = api(token_for(world, "admin"))
    response = send(
        http,
        "POST",
        "/api/v1/memberships",
        {"user_id": "seven", "role": "emperor", "client_id": []},
    )
    assert response.status_code == 422
    paths = {f["path"] for f in response.json()["error"]["fields"]}
    assert {"body.payload.user_id", "body.payload.role", "body.payload.client_id"} <= paths


def test_huge_payload_is_refused(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    http = api(token_for(world, "admin"))
    response = send(
        http, "POST", "/api/v1/clients", {"name": "Big", "slug": "big", "legal_name": "x" * 50_000}
    )
    assert response.status_code in (413, 422)
    with all_clients_unscoped("test"):
        assert not Client.objects.filter(slug="big").exists()


def test_another_clients_id_in_the_body_is_refused(world):
    """A client admin cannot reach another client through a body id; an admin may create
    memberships only for clients that exist."""
    http = api(token_for(world, "admin"))
    response = send(
        http,
        "POST",
        "/api/v1/memberships",
        {"user_id": world.people["client_viewer"].pk, "role": "client_admin", "client_id": 987654},
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == [
        {"path": "body.client_id", "message": "There is no client with id 987654."}
    ]


def test_membership_rules_are_explained(world):
    http = api(token_for(world, "admin"))
    provider_with_client = send(
        http,
        "POST",
        "/api/v1/memberships",
        {"user_id": world.people["agent"].pk, "role": "qa", "client_id": world.own.pk},
    )
    assert provider_with_client.status_code == 422
    assert "provider role" in provider_with_client.json()["error"]["fields"][0]["message"]
    mixing = send(
        http,
        "POST",
        "/api/v1/memberships",
        {"user_id": world.people["agent"].pk, "role": "client_viewer", "client_id": world.own.pk},
    )
    assert "either for the provider or for a client" in mixing.content.decode()
    two_clients = send(
        http,
        "POST",
        "/api/v1/memberships",
        {
            "user_id": world.people["client_viewer"].pk,
            "role": "client_viewer",
            "client_id": world.other.pk,
        },
    )
    assert "exactly one client" in two_clients.content.decode()


def test_membership_create_and_delete_are_audited(world):
    http = api(token_for(world, "admin"))
    created = send(
        http,
        "POST",
        "/api/v1/memberships",
        {
            "user_id": world.people["client_viewer"].pk,
            "role": "client_admin",
            "client_id": world.own.pk,
        },
    )
    assert created.status_code == 201
    membership_id = created.json()["id"]
    assert send(http, "DELETE", f"/api/v1/memberships/{membership_id}").status_code == 204
    assert not Membership.objects.filter(pk=membership_id).exists()
    actions_logged = list(
        AuditEntry.objects.filter(
            object_type="accounts.membership", object_id=str(membership_id)
        ).values_list("action", flat=True)
    )
    assert sorted(actions_logged) == ["membership.created", "membership.deleted"]


def test_client_admin_lists_only_own_memberships(world):
    body = api(token_for(world, "client_admin")).get("/api/v1/memberships").json()
    assert {m["client_id"] for m in body["items"]} == {world.own.pk}
    foreign = api(token_for(world, "client_admin")).get(
        f"/api/v1/memberships?client_id={world.other.pk}"
    )
    assert foreign.status_code == 403


def test_client_update_keeps_before_and_after_in_the_audit_log(world):
    http = api(token_for(world, "admin"))
    response = send(http, "PATCH", f"/api/v1/clients/{world.own.pk}", {"legal_name": "Own AG"})
    assert response.status_code == 200 and response.json()["legal_name"] == "Own AG"
    entry = AuditEntry.objects.filter(action="client.updated").latest("id")
    assert entry.before["legal_name"] != "Own AG" and entry.after["legal_name"] == "Own AG"
    assert entry.client_id == world.own.pk and entry.actor_email == "admin@own.test"


def test_denials_are_audited(world):
    response = send(
        api(token_for(world, "agent")), "POST", "/api/v1/clients", {"name": "Nope", "slug": "nope"}
    )
    assert response.status_code == 403
    entry = AuditEntry.objects.filter(action="permission.denied").latest("id")
    assert entry.actor_email == "agent@own.test" and "POST /api/v1/clients" in entry.object_id


def test_keyset_pagination_walks_every_client_once(world):
    with acting_as(world.actor("admin")):
        for n in range(7):
            ClientFactory(name=f"Paged {n}", slug=f"paged-{n}")
    http = api(token_for(world, "admin"))
    seen, cursor = [], None
    while True:
        url = "/api/v1/clients?limit=3" + (f"&after={cursor}" if cursor else "")
        page = http.get(url).json()
        seen += [c["slug"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 9


def add_clients_with_people(count: int) -> None:
    for n in range(count):
        client = ClientFactory(name=f"More {n}", slug=f"more-{n}")
        MembershipFactory(role="client_viewer", client=client)
        staff = MembershipFactory(role="agent").user
        AssignmentFactory(user=staff, client=client)


@pytest.mark.parametrize(
    "url",
    ["/api/v1/clients?limit=200", "/api/v1/memberships?limit=200", "/api/v1/assignments?limit=200"],
)
def test_list_endpoints_use_a_constant_number_of_queries(world, url):
    http = api(token_for(world, "admin"))
    http.get(url)  # warm up
    with CaptureQueriesContext(connection) as small:
        assert http.get(url).status_code == 200
    add_clients_with_people(10)
    with CaptureQueriesContext(connection) as large:
        response = http.get(url)
    assert response.status_code == 200 and len(response.json()["items"]) > 10
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]
