"""Reads about people, already narrowed to what the actor may see."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from bpo.accounts.models import ApiToken, Assignment, Membership, User
from bpo.accounts.roles import Permission, Role
from bpo.audit.log import record
from bpo.tenancy.context import Actor


def memberships_visible(*, actor: Actor, client_id: int | None = None) -> QuerySet[Membership]:
    """Memberships the actor may list: all for provider admins, their own client's for client
    admins. Listing them is a view of personal data and is recorded in the access log."""
    actor.require(Permission.VIEW_MEMBERS, client_id=client_id)
    memberships = Membership.objects.select_related("user", "client").order_by("id")
    if not actor.can(Permission.MANAGE_PEOPLE):
        managed = [
            cid for cid in actor.client_roles if actor.has_role(Role.CLIENT_ADMIN, client_id=cid)
        ]
        memberships = memberships.filter(client_id__in=managed)
    if client_id is not None:
        memberships = memberships.filter(client_id=client_id)
    record(
        "personal_data.viewed",
        object_type="accounts.membership",
        object_repr="membership list",
        client_id=client_id,
    )
    return memberships


def users_visible(*, actor: Actor, search: str = "") -> QuerySet[User]:
    """People the actor manages (provider admins: everyone)."""
    actor.require(Permission.MANAGE_PEOPLE)
    users = User.objects.prefetch_related("memberships__client").order_by("full_name", "email")
    if search:
        users = users.filter(Q(email__icontains=search) | Q(full_name__icontains=search))
    record("personal_data.viewed", object_type="accounts.user", object_repr="people list")
    return users


def user_get(*, actor: Actor, user_id: int) -> User:
    """One person, for an admin; raises User.DoesNotExist."""
    actor.require(Permission.MANAGE_PEOPLE)
    user = User.objects.get(pk=user_id)
    record("personal_data.viewed", obj=user)
    return user


def memberships_of(*, actor: Actor, user: User) -> QuerySet[Membership]:
    """A person's roles, for an admin managing them."""
    actor.require(Permission.MANAGE_PEOPLE)
    return user.memberships.select_related("client").order_by("client__name", "role")


def membership_get(*, actor: Actor, membership_id: int) -> Membership:
    """One membership the actor may manage; raises Membership.DoesNotExist."""
    actor.require(Permission.MANAGE_PEOPLE)
    return Membership.objects.select_related("user", "client").get(
        Q(client__isnull=True) | Q(client_id__in=actor.client_ids), pk=membership_id
    )


def assignments_visible(
    *, actor: Actor, client_id: int | None = None, user_id: int | None = None
) -> QuerySet[Assignment]:
    """Staff assignments of the clients in scope (provider admins only)."""
    actor.require(Permission.MANAGE_PEOPLE)
    assignments = Assignment.objects.select_related("user", "client").order_by("id")
    if client_id is not None:
        assignments = assignments.filter(client_id=client_id)
    if user_id is not None:
        assignments = assignments.filter(user_id=user_id)
    return assignments


def assignment_get(*, actor: Actor, assignment_id: int) -> Assignment:
    """One assignment in scope; raises Assignment.DoesNotExist."""
    actor.require(Permission.MANAGE_PEOPLE)
    return Assignment.objects.select_related("user", "client").get(pk=assignment_id)


def staff_of_client(*, client_id: int) -> QuerySet[User]:
    """Provider staff assigned to a client in scope (names and e-mails shown on its page)."""
    return (
        User.objects.filter(assignments__in=Assignment.objects.filter(client_id=client_id))
        .prefetch_related("memberships")
        .distinct()
    )


def provider_staff_ids() -> QuerySet[Membership, int]:
    """Ids of everyone who holds a provider role: a subquery for reads that tell the sides apart."""
    return Membership.objects.filter(client__isnull=True).values_list("user_id", flat=True)


def provider_people_with_access(*, client_id: int) -> QuerySet[User]:
    """Provider staff who may open a client's data now: its assigned staff and provider admins."""
    return (
        User.objects.filter(pk__in=provider_staff_ids())
        .filter(
            Q(memberships__role=Role.ADMIN)
            | Q(assignments__in=Assignment.objects.filter(client_id=client_id))
        )
        .distinct()
        .order_by("full_name", "email")
    )


def api_tokens_of(*, actor: Actor) -> QuerySet[ApiToken]:
    """The actor's own API tokens, newest first."""
    return ApiToken.objects.filter(user=actor.user).order_by("-created_at")


def api_token_get(*, actor: Actor, token_id: int) -> ApiToken:
    """One of the actor's own tokens; raises ApiToken.DoesNotExist."""
    return ApiToken.objects.get(user=actor.user, pk=token_id)
