"""The web UI: pages fit the role, admins manage clients and people, security headers are set."""

import pytest
from django.db import OperationalError
from django.test import Client as HttpClient

from bpo.accounts.models import Membership, User
from bpo.audit.models import AuditEntry
from bpo.tenancy.models import Client
from bpo.tenancy.scoping import all_clients_unscoped


@pytest.mark.parametrize(
    "role",
    ["admin", "manager", "agent", "qa", "finance", "planner", "client_admin", "client_viewer"],
)
def test_main_pages_render_for_each_role(world, role):
    http = world.login(role)
    for url in ["/", "/clients/", f"/clients/{world.own.pk}/", "/account/"]:
        assert http.get(url).status_code == 200, url


def nav_labels(html: str) -> set[str]:
    return {
        label
        for label in ("People", "Audit log", "Clients", "My company")
        if f"</i> {label}</a>" in html
    }


def test_navigation_fits_the_role(world):
    assert nav_labels(world.login("admin").get("/").content.decode()) == {
        "People",
        "Audit log",
        "Clients",
    }
    assert nav_labels(world.login("agent").get("/").content.decode()) == {"Clients"}
    assert nav_labels(world.login("client_viewer").get("/").content.decode()) == {"My company"}


def test_home_shows_only_the_actors_clients(world):
    agent_home = world.login("agent").get("/").content.decode()
    assert "Own Client GmbH" in agent_home and "Other Client Inc" not in agent_home
    admin_home = world.login("admin").get("/").content.decode()
    assert "Own Client GmbH" in admin_home and "Other Client Inc" in admin_home
    assert "People without a role" in admin_home


def test_client_admin_sees_own_members_but_not_staff_management(world):
    page = world.login("client_admin").get(f"/clients/{world.own.pk}/").content.decode()
    assert "client_viewer@own.test" in page and "Provider staff assigned" not in page
    viewer_page = world.login("client_viewer").get(f"/clients/{world.own.pk}/").content.decode()
    assert "client_viewer@own.test" not in viewer_page


def test_admin_creates_a_client_in_the_ui(world):
    http = world.login("admin")
    response = http.post(
        "/clients/new/",
        {
            "name": "Contoso Retail",
            "slug": "contoso",
            "legal_name": "",
            "country": "FR",
            "time_zone": "Europe/Paris",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    with all_clients_unscoped("test"):
        client = Client.objects.get(slug="contoso")
    assert AuditEntry.objects.filter(action="client.created", client_id=client.pk).exists()
    assert "Contoso Retail" in http.get(response["Location"]).content.decode()


def test_a_busy_database_gives_a_503_page_that_says_to_send_again(world, monkeypatch):
    """Past the lock timeout a page answers as the API does (503, Retry-After), telling the
    person its change was rolled back and the form still holds what they typed; other faults
    stay 500."""

    def locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr("bpo.tenancy.actions.client_create", locked)
    http = world.login("admin")
    form = {"name": "Busy", "slug": "busy", "country": "FR", "time_zone": "Europe/Paris"}
    response = http.post("/clients/new/", form)
    assert response.status_code == 503 and response["Retry-After"] == "1"
    page = response.content.decode()
    assert "its change was rolled back" in page and "still in the form" in page
    assert response["X-Request-ID"] in page  # the id to quote, as on every error page
    monkeypatch.setattr(
        "bpo.tenancy.actions.client_create",
        lambda **kwargs: (_ for _ in ()).throw(OperationalError("disk I/O error")),
    )
    http.raise_request_exception = False
    assert http.post("/clients/new/", form).status_code == 500


def test_client_form_errors_are_shown_and_nothing_is_saved(world):
    response = world.login("admin").post(
        "/clients/new/",
        {"name": "Own Client GmbH", "slug": "Bad Slug", "time_zone": "UTC", "country": "xx"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "already exists" in page and "valid “slug”" in page and "ISO 3166" in page
    with all_clients_unscoped("test"):
        assert Client.objects.count() == 2


def test_admin_edits_a_client_and_the_change_is_audited(world):
    http = world.login("admin")
    response = http.post(
        f"/clients/{world.own.pk}/edit/",
        {
            "name": "Own Client GmbH",
            "slug": "own",
            "legal_name": "Own Client Holding GmbH",
            "country": "DE",
            "time_zone": "Europe/Berlin",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="client.updated")
    assert entry.after["legal_name"] == "Own Client Holding GmbH"


def test_admin_adds_a_person_gives_a_role_and_assigns_them(world):
    http = world.login("admin")
    response = http.post(
        "/people/new/",
        {
            "email": "New.Agent@Own.test",
            "full_name": "New Agent",
            "is_active": "on",
            "password": "a-good-long-secret",
        },
    )
    assert response.status_code == 302
    person = User.objects.get(email="new.agent@own.test")
    assert (
        http.post(f"/people/{person.pk}/roles/", {"role": "agent", "client": ""}).status_code == 302
    )
    assert (
        http.post(f"/people/{person.pk}/assignments/", {"client": world.own.pk}).status_code == 302
    )
    page = http.get(f"/people/{person.pk}/").content.decode()
    assert "Own Client GmbH" in page and "Agent" in page
    newcomer = HttpClient()
    newcomer.post("/login/", {"email": "new.agent@own.test", "password": "a-good-long-secret"})
    home = newcomer.get("/").content.decode()
    assert "Own Client GmbH" in home and "Other Client Inc" not in home


def test_weak_password_is_refused_with_a_reason(world):
    response = world.login("admin").post(
        "/people/new/", {"email": "weak@own.test", "full_name": "Weak", "password": "12345"}
    )
    assert response.status_code == 400 and "too short" in response.content.decode()
    assert not User.objects.filter(email="weak@own.test").exists()


def test_role_rules_are_explained_in_the_ui(world):
    http = world.login("admin")
    person = world.people["agent"]
    response = http.post(
        f"/people/{person.pk}/roles/", {"role": "client_viewer", "client": world.own.pk}
    )
    assert response.status_code == 400
    assert "either for the provider or for a client" in response.content.decode()


def test_admin_cannot_remove_own_admin_role(world):
    http = world.login("admin")
    membership = Membership.objects.get(user=world.people["admin"])
    http.post(f"/roles/{membership.pk}/remove/")
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_token_secret_is_shown_once(world):
    http = world.login("agent")
    created = http.post("/account/tokens/", {"name": "CRM sync"}, follow=True)
    assert 'data-testid="new-token"' in created.content.decode()
    assert 'data-testid="new-token"' not in http.get("/account/").content.decode()


def test_security_headers(world):
    response = world.login("agent").get("/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert len(response["X-Request-ID"]) == 32


def test_request_id_is_taken_from_a_well_formed_header_only(world):
    http = world.login("agent")
    assert (
        http.get("/", headers={"X-Request-ID": "trace-12345678"})["X-Request-ID"]
        == "trace-12345678"
    )
    assert http.get("/", headers={"X-Request-ID": "<script>"})["X-Request-ID"] != "<script>"


def test_denied_pages_are_audited(world):
    assert world.login("agent").get("/people/").status_code == 403
    entry = AuditEntry.objects.get(action="permission.denied")
    assert entry.actor_email == "agent@own.test" and entry.object_id == "GET /people/"


def test_viewing_personal_data_is_recorded(world):
    world.login("admin").get(f"/people/{world.people['agent'].pk}/")
    assert AuditEntry.objects.filter(
        action="personal_data.viewed", object_id=str(world.people["agent"].pk)
    ).exists()


def test_anonymous_visitors_are_sent_to_the_login_page(db):
    response = HttpClient().get("/clients/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_api_docs_are_served(db):
    assert HttpClient().get("/api/v1/docs").status_code == 200
    schema = HttpClient().get("/api/v1/openapi.json").json()
    assert "/api/v1/me" in schema["paths"]


def test_dates_are_shown_in_the_persons_time_zone(world):
    http = world.login("admin")
    assert http.post("/account/preferences/", {"time_zone": "Asia/Tokyo"}).status_code == 302
    assert User.objects.get(pk=world.people["admin"].pk).time_zone == "Asia/Tokyo"
    entry = AuditEntry.objects.filter(action="user.preferences_changed").latest("id")
    tokyo = entry.at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    page = http.get("/audit/").content.decode()
    assert "When (Asia/Tokyo)" in page and tokyo.strftime("%Y-%m-%d %H:%M:%S") in page


def test_unknown_time_zone_is_refused(world):
    response = world.login("agent").post("/account/preferences/", {"time_zone": "Mars/Base"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
