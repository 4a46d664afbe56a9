"""Logging in and out: passwords, throttling, session revocation, CSRF."""

import pytest
from django.test import Client as HttpClient

from bpo.accounts import actions
from bpo.accounts.models import User
from bpo.accounts.roles import Role
from bpo.audit.models import AuditEntry
from bpo.tenancy.context import acting_as


def login(http: HttpClient, email: str, password: str, **extra):
    return http.post("/login/", {"email": email, "password": password}, **extra)


def test_login_page_logs_in_and_audits(world, password):
    http = HttpClient()
    assert http.get("/login/").status_code == 200
    response = login(http, "AGENT@own.test", password)
    assert response.status_code == 302 and response["Location"] == "/"
    assert http.get("/").status_code == 200
    entry = AuditEntry.objects.filter(action="auth.login").latest("id")
    assert entry.actor_email == "agent@own.test" and entry.ip == "127.0.0.1" and entry.request_id


def test_wrong_password_is_refused_with_a_message_and_audited(world):
    http = HttpClient()
    response = login(http, "agent@own.test", "not-the-password")
    assert response.status_code == 400
    assert "e-mail address or the password is wrong" in response.content.decode()
    assert AuditEntry.objects.filter(
        action="auth.login_failed", object_id="agent@own.test"
    ).exists()
    assert http.get("/").status_code == 302  # still logged out


def test_unknown_email_gets_the_same_message(world):
    response = login(HttpClient(), "nobody@nowhere.test", "whatever-password")
    assert response.status_code == 400
    assert "e-mail address or the password is wrong" in response.content.decode()


def test_repeated_failures_are_throttled_even_with_the_right_password(world, password, settings):
    settings.LOGIN_THROTTLE = {"per_email": 3, "per_ip": 100, "window_seconds": 900}
    http = HttpClient()
    for _ in range(3):
        login(http, "agent@own.test", "wrong-password")
    response = login(http, "agent@own.test", password)
    assert response.status_code == 400
    assert "Too many failed attempts" in response.content.decode()
    assert AuditEntry.objects.filter(action="auth.login_throttled").exists()
    # Another person from another address is not affected.
    other = login(HttpClient(REMOTE_ADDR="10.0.0.9"), "manager@own.test", password)
    assert other.status_code == 302


def test_throttling_by_ip_across_addresses(world, password, settings):
    settings.LOGIN_THROTTLE = {"per_email": 100, "per_ip": 4, "window_seconds": 900}
    http = HttpClient(REMOTE_ADDR="10.1.2.3")
    for n in range(4):
        login(http, f"guess{n}@own.test", "wrong-password")
    assert "Too many failed attempts" in login(http, "agent@own.test", password).content.decode()


def test_inactive_user_cannot_log_in(world, password):
    user = world.people["agent"]
    user.is_active = False
    user.save()
    assert login(HttpClient(), user.email, password).status_code == 400


def test_passwords_are_hashed_with_argon2(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = User.objects.create_user("hash@own.test", "a-long-enough-password", full_name="H")
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password("a-long-enough-password")


def test_role_change_ends_the_persons_sessions(world):
    person = world.people["client_viewer"]
    session = world.login("client_viewer")
    assert session.get("/").status_code == 200
    with acting_as(world.actor("admin")) as admin:
        actions.membership_create(
            actor=admin, user=person, role=Role.CLIENT_ADMIN, client=world.own
        )
    assert session.get("/").status_code == 302  # back to the login page


def test_password_change_ends_other_sessions_but_keeps_this_one(world, password):
    here, elsewhere = HttpClient(), HttpClient()
    login(here, "agent@own.test", password)
    login(elsewhere, "agent@own.test", password)
    response = here.post(
        "/account/",
        {
            "old_password": password,
            "new_password": "a-brand-new-secret-9",
            "new_password_again": "a-brand-new-secret-9",
        },
    )
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302


def test_password_change_with_wrong_current_password_changes_nothing(world, password):
    http = world.login("agent")
    response = http.post(
        "/account/",
        {
            "old_password": "wrong",
            "new_password": "x-new-secret-99",
            "new_password_again": "x-new-secret-99",
        },
    )
    assert "current password is wrong" in response.content.decode()
    world.people["agent"].refresh_from_db()
    assert world.people["agent"].check_password(password)


def test_login_form_needs_the_csrf_token(world, password):
    http = HttpClient(enforce_csrf_checks=True)
    assert login(http, "agent@own.test", password).status_code == 403


def test_logout_is_post_only(world):
    http = world.login("agent")
    assert http.get("/logout/").status_code == 405
    assert http.post("/logout/").status_code == 302
    assert http.get("/").status_code == 302


@pytest.mark.parametrize(
    "next_url,expected", [("/clients/", "/clients/"), ("https://evil.example/", "/")]
)
def test_login_redirects_only_to_local_pages(world, password, next_url, expected):
    response = HttpClient().post(
        "/login/", {"email": "agent@own.test", "password": password, "next": next_url}
    )
    assert response["Location"] == expected
