"""The isolation matrix: every route × every role × (own client, other client, missing object).

Routes are read from the URL conf and from the OpenAPI schema; a route without an entry in
MATRIX fails the suite, so nothing new ships without its isolation expectations. Each case checks
the status code and that nothing of the other client (its name, legal name, people) leaks into a
response to someone who may not see it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.urls import URLPattern, URLResolver, get_resolver

from bpo.accounts.models import ApiToken, Assignment, Membership, User
from bpo.accounts.roles import Role
from bpo.api import api
from bpo.tenancy.scoping import all_clients_unscoped

ROLES = [role.value for role in Role]
ANON = "anonymous"
TARGETS = ("own", "other", "missing")
MISSING_ID = 987654321
# What must never appear in a response to a non-admin of the "own" client.
OTHER_MARKERS = ("Other Client Inc", "OTHERSECRET", "@other.test")


@dataclass(frozen=True)
class Route:
    """How to call one route, and who may."""

    method: str
    path: Callable[[Any, User, str], str]  # (world, acting user, target) -> URL
    allowed: frozenset[str]  # roles that may do it (on an object they can see)
    ok: int = 200
    targets: tuple[str, ...] = ("own",)  # which targets make sense for this route
    # Provider admins see every client, so another client's object is visible to them; a
    # personal object (an API token) stays invisible even to them.
    admin_sees_other: bool = True
    permission_first: bool = False  # 403 before any lookup (so other/missing give 403 too)
    body: Callable[[Any, User, str], dict[str, Any]] | None = None
    anonymous: int | None = None  # status for anonymous visitors (default: login / 401)
    missing: int = 404  # status for a missing object when allowed


EVERYONE = frozenset(ROLES)
ADMIN = frozenset({"admin"})
MEMBER_VIEWERS = frozenset({"admin", "client_admin"})


def fixed(url: str) -> Callable[[Any, User, str], str]:
    return lambda world, user, target: url


def client_url(template: str) -> Callable[[Any, User, str], str]:
    def build(world, user, target):
        ident = {"own": world.own.pk, "other": world.other.pk, "missing": MISSING_ID}[target]
        return template.format(id=ident)

    return build


def person_url(template: str, role: str = "client_viewer") -> Callable[[Any, User, str], str]:
    def build(world, user, target):
        ident = {
            "own": world.people[role].pk,
            "other": world.other_people[role].pk,
            "missing": MISSING_ID,
        }[target]
        return template.format(id=ident)

    return build


def membership_url(template: str) -> Callable[[Any, User, str], str]:
    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        person = (world.people if target == "own" else world.other_people)["client_viewer"]
        return template.format(id=Membership.objects.get(user=person).pk)

    return build


def assignment_url(template: str) -> Callable[[Any, User, str], str]:
    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        person = (world.people if target == "own" else world.other_people)["agent"]
        with all_clients_unscoped("test setup"):
            return template.format(id=Assignment.objects.get(user=person).pk)

    return build


def token_url(template: str) -> Callable[[Any, User, str], str]:
    def build(world, user, target):
        if target == "missing":
            return template.format(id=MISSING_ID)
        owner = (user or world.people["agent"]) if target == "own" else world.other_people["agent"]
        token = ApiToken.objects.create(
            user=owner, name="t", key_id=f"k{owner.pk}", digest="0" * 64
        )
        return template.format(id=token.pk)

    return build


def body_client(world, user, target) -> dict[str, Any]:
    return {
        "client_id": {"own": world.own.pk, "other": world.other.pk, "missing": MISSING_ID}[target]
    }


MATRIX: dict[str, Route] = {
    # --- web pages -------------------------------------------------------------------------
    "web:home": Route("GET", fixed("/"), EVERYONE),
    "web:healthz": Route("GET", fixed("/healthz"), EVERYONE, anonymous=200),
    "accounts:login": Route("GET", fixed("/login/"), EVERYONE, ok=302, anonymous=200),
    "accounts:logout": Route("POST", fixed("/logout/"), EVERYONE, ok=302, anonymous=302),
    "accounts:account": Route("GET", fixed("/account/"), EVERYONE),
    "accounts:preferences": Route(
        "POST",
        fixed("/account/preferences/"),
        EVERYONE,
        ok=302,
        body=lambda w, u, t: {"time_zone": "Asia/Tokyo"},
    ),
    "accounts:token_create": Route(
        "POST", fixed("/account/tokens/"), EVERYONE, ok=302, body=lambda w, u, t: {"name": "matrix"}
    ),
    "accounts:token_revoke": Route(
        "POST",
        token_url("/account/tokens/{id}/revoke/"),
        EVERYONE,
        ok=302,
        targets=TARGETS,
        admin_sees_other=False,
    ),
    "accounts:people": Route("GET", fixed("/people/"), ADMIN),
    "accounts:person_create": Route("GET", fixed("/people/new/"), ADMIN),
    "accounts:person": Route(
        "GET", person_url("/people/{id}/"), ADMIN, targets=TARGETS, permission_first=True
    ),
    "accounts:membership_add": Route(
        "POST",
        person_url("/people/{id}/roles/"),
        ADMIN,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {
            "role": "client_admin",
            "client": (w.own if t == "own" else w.other).pk,
        },
    ),
    "accounts:membership_remove": Route(
        "POST",
        membership_url("/roles/{id}/remove/"),
        ADMIN,
        ok=302,
        targets=TARGETS,
        permission_first=True,
    ),
    "accounts:assignment_add": Route(
        "POST",
        person_url("/people/{id}/assignments/", role="agent"),
        ADMIN,
        ok=302,
        targets=TARGETS,
        permission_first=True,
        body=lambda w, u, t: {"client": (w.other if t == "own" else w.own).pk},
    ),
    "accounts:assignment_remove": Route(
        "POST",
        assignment_url("/assignments/{id}/remove/"),
        ADMIN,
        ok=302,
        targets=TARGETS,
        permission_first=True,
    ),
    "tenancy:list": Route("GET", fixed("/clients/"), EVERYONE),
    "tenancy:create": Route("GET", fixed("/clients/new/"), ADMIN),
    "tenancy:detail": Route("GET", client_url("/clients/{id}/"), EVERYONE, targets=TARGETS),
    "tenancy:edit": Route("GET", client_url("/clients/{id}/edit/"), ADMIN, targets=TARGETS),
    "audit:list": Route("GET", fixed("/audit/"), ADMIN),
    "audit:export": Route("GET", fixed("/audit/export.csv"), ADMIN),
    # --- JSON API ----------------------------------------------------------------------------
    "GET /api/v1/me": Route("GET", fixed("/api/v1/me"), EVERYONE),
    "GET /api/v1/clients": Route("GET", fixed("/api/v1/clients"), EVERYONE),
    "POST /api/v1/clients": Route(
        "POST",
        fixed("/api/v1/clients"),
        ADMIN,
        ok=201,
        body=lambda w, u, t: {"name": "Brand New", "slug": "brand-new"},
    ),
    "GET /api/v1/clients/{client_id}": Route(
        "GET", client_url("/api/v1/clients/{id}"), EVERYONE, targets=TARGETS
    ),
    "PATCH /api/v1/clients/{client_id}": Route(
        "PATCH",
        client_url("/api/v1/clients/{id}"),
        ADMIN,
        targets=TARGETS,
        body=lambda w, u, t: {"legal_name": "Renamed"},
    ),
    "GET /api/v1/memberships": Route("GET", fixed("/api/v1/memberships"), MEMBER_VIEWERS),
    "POST /api/v1/memberships": Route(
        "POST",
        fixed("/api/v1/memberships"),
        ADMIN,
        ok=201,
        targets=TARGETS,
        permission_first=True,
        missing=422,
        body=lambda w, u, t: {
            "user_id": (w.other_people if t == "other" else w.people)["client_viewer"].pk,
            "role": "client_admin",
            **body_client(w, u, t),
        },
    ),
    "DELETE /api/v1/memberships/{membership_id}": Route(
        "DELETE",
        membership_url("/api/v1/memberships/{id}"),
        ADMIN,
        ok=204,
        targets=TARGETS,
        permission_first=True,
    ),
    "GET /api/v1/assignments": Route("GET", fixed("/api/v1/assignments"), ADMIN),
    "POST /api/v1/assignments": Route(
        "POST",
        fixed("/api/v1/assignments"),
        ADMIN,
        ok=201,
        targets=TARGETS,
        permission_first=True,
        missing=422,
        body=lambda w, u, t: (
            {"user_id": w.people["manager"].pk, **body_client(w, u, t)}
            if t != "own"
            else {"user_id": w.other_people["agent"].pk, **body_client(w, u, t)}
        ),
    ),
    "DELETE /api/v1/assignments/{assignment_id}": Route(
        "DELETE",
        assignment_url("/api/v1/assignments/{id}"),
        ADMIN,
        ok=204,
        targets=TARGETS,
        permission_first=True,
    ),
}

# Routes that are not the product's own pages: the API's own docs and schema (public metadata).
NOT_IN_MATRIX = {"api:openapi-json", "api:openapi-view"}


def _web_route_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns, namespace: str = "") -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if str(pattern.pattern).startswith("api/"):
                    continue
                ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, ns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(f"{namespace}{pattern.name}")

    walk(get_resolver().url_patterns)
    return names


def _api_route_names() -> set[str]:
    schema = api.get_openapi_schema()
    return {
        f"{method.upper()} {path.rstrip('/') if path != '/api/v1/' else path}"
        for path, operations in schema["paths"].items()
        for method in operations
    }


def test_every_route_has_an_isolation_entry():
    routes = _web_route_names() | _api_route_names()
    missing = sorted(routes - set(MATRIX) - NOT_IN_MATRIX)
    stale = sorted(set(MATRIX) - routes)
    assert not missing, f"Routes without an isolation-matrix entry: {missing}"
    assert not stale, f"Matrix entries for routes that no longer exist: {stale}"


def expected_status(route: Route, role: str, target: str, is_api: bool) -> int:
    if role == ANON:
        if route.anonymous is not None:
            return route.anonymous
        return 401 if is_api else 302
    allowed = role in route.allowed
    if target == "missing":
        return 403 if route.permission_first and not allowed else route.missing
    visible = target == "own" or (role == "admin" and route.admin_sees_other)
    if route.permission_first:
        if not allowed:
            return 403
        return route.ok if visible else 404
    if not visible:
        return 404
    return route.ok if allowed else 403


CASES = [
    pytest.param(name, role, target, id=f"{name}|{role}|{target}")
    for name, route in MATRIX.items()
    for role in [*ROLES, ANON]
    for target in route.targets
]


@pytest.mark.parametrize(("name", "role", "target"), CASES)
def test_isolation(world, name, role, target):
    route = MATRIX[name]
    is_api = name.startswith(("GET ", "POST ", "PATCH ", "PUT ", "DELETE "))
    http = HttpClient()
    user = world.people[role] if role != ANON else None
    if user is not None:
        http.force_login(user)
    url = route.path(world, user, target)
    body = route.body(world, user, target) if route.body else None
    if is_api:
        response = http.generic(
            route.method,
            url,
            data="" if body is None else json.dumps(body),
            content_type="application/json",
        )
    elif route.method == "GET":
        response = http.get(url)
    else:
        response = http.post(url, data=body or {})
    expected = expected_status(route, role, target, is_api)
    assert response.status_code == expected, (
        f"{route.method} {url} as {role} ({target}): {response.status_code}, expected {expected}: "
        f"{response.content[:300]!r}"
    )
    if role != "admin":
        text = response.content.decode(errors="replace")
        for marker in OTHER_MARKERS:
            assert marker not in text, f"{marker!r} leaked to {role} at {route.method} {url}"
    if is_api and response.status_code >= 400:
        error = response.json()["error"]
        assert error["status"] == response.status_code and error["message"]
