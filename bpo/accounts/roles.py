"""Roles and what each may do. Roles are held through memberships (see models.Membership)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A role a person holds, either at the provider or at one client."""

    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"
    QA = "qa"
    FINANCE = "finance"
    PLANNER = "planner"
    CLIENT_ADMIN = "client_admin"
    CLIENT_VIEWER = "client_viewer"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def is_provider_role(self) -> bool:
        return self in PROVIDER_ROLES


ROLE_LABELS = {
    Role.ADMIN: "Provider admin",
    Role.MANAGER: "Manager",
    Role.AGENT: "Agent",
    Role.QA: "Quality analyst",
    Role.FINANCE: "Finance",
    Role.PLANNER: "Workforce planner",
    Role.CLIENT_ADMIN: "Client admin",
    Role.CLIENT_VIEWER: "Client viewer",
}
PROVIDER_ROLES = frozenset(
    {Role.ADMIN, Role.MANAGER, Role.AGENT, Role.QA, Role.FINANCE, Role.PLANNER}
)
CLIENT_ROLES = frozenset({Role.CLIENT_ADMIN, Role.CLIENT_VIEWER})
ROLE_CHOICES = [(role.value, role.label) for role in Role]


class Permission(StrEnum):
    """Something an actor may be allowed to do; granted to roles in GRANTS."""

    MANAGE_CLIENTS = "manage_clients"
    MANAGE_PEOPLE = "manage_people"
    VIEW_MEMBERS = "view_members"
    VIEW_AUDIT = "view_audit"
    MANAGE_CONTRACTS = "manage_contracts"
    VIEW_DRAFTS = "view_drafts"
    HANDLE_WORK = "handle_work"
    REQUEST_WORK = "request_work"
    VIEW_INTERNAL = "view_internal"
    MANAGE_AGENTS = "manage_agents"
    VIEW_AGENTS = "view_agents"
    MANAGE_INTAKE = "manage_intake"
    IMPORT_WORK = "import_work"
    VIEW_DASHBOARDS = "view_dashboards"
    VIEW_ACCESS_LOG = "view_access_log"
    EXPLAIN_BREACHES = "explain_breaches"
    MANAGE_BILLING = "manage_billing"
    VIEW_BILLING = "view_billing"
    MANAGE_FINANCE = "manage_finance"
    IMPORT_FINANCE = "import_finance"
    VIEW_FINANCE = "view_finance"


PERMISSION_DESCRIPTIONS = {
    Permission.MANAGE_CLIENTS: "manage clients",
    Permission.MANAGE_PEOPLE: "manage people and their roles",
    Permission.VIEW_MEMBERS: "see who holds which role",
    Permission.VIEW_AUDIT: "read the audit log",
    Permission.MANAGE_CONTRACTS: "change contracts, services, calendars and SLA policies",
    Permission.VIEW_DRAFTS: "see contract drafts under negotiation",
    Permission.HANDLE_WORK: "work on items: reply, add notes, change their state",
    Permission.REQUEST_WORK: "submit work to a service",
    Permission.VIEW_INTERNAL: "see internal notes",
    Permission.VIEW_AGENTS: "see the provider's agents: presence, load and handle time",
    Permission.MANAGE_AGENTS: "certify agents, assign their work and keep their canned responses",
    Permission.MANAGE_INTAKE: "set up mailboxes and web forms, and retry failed mail",
    Permission.IMPORT_WORK: "import work items from CSV and Excel files",
    Permission.VIEW_DASHBOARDS: "see the service dashboards and reports of a client",
    Permission.VIEW_ACCESS_LOG: "see who at the provider looked at or changed your company's data",
    Permission.EXPLAIN_BREACHES: "explain why a service level target was missed, for the client",
    Permission.MANAGE_BILLING: "set rate cards and make, approve, issue and correct invoices",
    Permission.VIEW_BILLING: "see rate cards, invoices and the usage behind them",
    Permission.MANAGE_FINANCE: "set up bank accounts, file mappings, matching rules and the "
    "close and filing calendar",
    Permission.IMPORT_FINANCE: "import bank statements and ledger entries",
    Permission.VIEW_FINANCE: "see statements, ledger entries, reconciliation and daily reports",
}

GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.MANAGE_CLIENTS: frozenset({Role.ADMIN}),
    Permission.MANAGE_PEOPLE: frozenset({Role.ADMIN}),
    # Client admins see who holds which role at their own client; provider admins see everyone.
    Permission.VIEW_MEMBERS: frozenset({Role.ADMIN, Role.CLIENT_ADMIN}),
    Permission.VIEW_AUDIT: frozenset({Role.ADMIN}),
    # Contracts are read by everyone who works for or at the client; what was agreed is no
    # secret on either side. Drafts under negotiation stay on the provider side.
    Permission.MANAGE_CONTRACTS: frozenset({Role.ADMIN, Role.MANAGER}),
    Permission.VIEW_DRAFTS: PROVIDER_ROLES,
    Permission.HANDLE_WORK: frozenset({Role.ADMIN, Role.MANAGER, Role.AGENT, Role.QA}),
    Permission.REQUEST_WORK: frozenset(
        {Role.ADMIN, Role.MANAGER, Role.AGENT, Role.QA, Role.CLIENT_ADMIN, Role.CLIENT_VIEWER}
    ),
    # Internal notes are the provider's; the client sees the public timeline.
    Permission.VIEW_INTERNAL: PROVIDER_ROLES,
    Permission.MANAGE_AGENTS: frozenset({Role.ADMIN, Role.MANAGER}),
    # Who works how long on what is the provider's to manage (the client sees service levels).
    Permission.VIEW_AGENTS: PROVIDER_ROLES,
    # Mailboxes hold credentials and failed mail holds anyone's words: the provider's managers.
    Permission.MANAGE_INTAKE: frozenset({Role.ADMIN, Role.MANAGER}),
    # A file of work is a batch of requests: the provider's managers, or the client's admin
    # sending the day's batch.
    Permission.IMPORT_WORK: frozenset({Role.ADMIN, Role.MANAGER, Role.CLIENT_ADMIN}),
    # The client's window: both sides read it; agents work items, not the service's standing.
    Permission.VIEW_DASHBOARDS: frozenset(
        {
            Role.ADMIN,
            Role.MANAGER,
            Role.QA,
            Role.FINANCE,
            Role.PLANNER,
            Role.CLIENT_ADMIN,
            Role.CLIENT_VIEWER,
        }
    ),
    # Access transparency: the client's admin reads the provider's side of their audit trail.
    Permission.VIEW_ACCESS_LOG: frozenset({Role.ADMIN, Role.CLIENT_ADMIN}),
    # What the client reads in its service report about a missed target: the provider's managers.
    Permission.EXPLAIN_BREACHES: frozenset({Role.ADMIN, Role.MANAGER}),
    # Prices and invoices are finance's; the client's admin receives the invoices (and reads
    # the rate cards they are priced by). Agents and client viewers see no money.
    Permission.MANAGE_BILLING: frozenset({Role.ADMIN, Role.FINANCE}),
    Permission.VIEW_BILLING: frozenset({Role.ADMIN, Role.FINANCE, Role.CLIENT_ADMIN}),
    # The finance back office: the provider's managers set it up for a client; agents and the
    # client's admin bring the files in (the client through the portal or API); everyone who
    # works on or for the client reads its reconciliation and daily reports.
    Permission.MANAGE_FINANCE: frozenset({Role.ADMIN, Role.MANAGER}),
    Permission.IMPORT_FINANCE: frozenset({Role.ADMIN, Role.MANAGER, Role.AGENT, Role.CLIENT_ADMIN}),
    Permission.VIEW_FINANCE: frozenset(
        {
            Role.ADMIN,
            Role.MANAGER,
            Role.AGENT,
            Role.QA,
            Role.FINANCE,
            Role.CLIENT_ADMIN,
            Role.CLIENT_VIEWER,
        }
    ),
}
