"""The demo's work: certified agents and a morning's worth of items for both clients."""

from __future__ import annotations

from collections.abc import Callable

from bpo.accounts.models import User
from bpo.contracts.models import Service
from bpo.tenancy.context import Actor, acting_as, actor_for
from bpo.tenancy.models import Client
from bpo.work import actions as work
from bpo.work.models import CannedResponse, Queue, WorkItem
from bpo.workforce.actions import agent_profile_update, certification_grant

CERTIFIED = {
    "agent@meridian.example": ["nw-customer-service"],
    "accountant@meridian.example": ["acme-reconciliation", "acme-close"],
    "manager@meridian.example": ["nw-customer-service", "acme-reconciliation", "acme-close"],
}

# Agents' working languages and skills (levels 1–5).
PROFILES = {
    "agent@meridian.example": (["de", "en"], {"complaints": 2, "returns": 3}),
    "accountant@meridian.example": (["en"], {"bank-reconciliation": 4}),
    "manager@meridian.example": (["de", "en", "fr"], {"complaints": 4, "returns": 4}),
}
# Queues beside each service's default one: (service key, name, routing, required skills).
QUEUES = [
    ("nw-customer-service", "Complaints", "pull", {"complaints": 2}),
    ("acme-reconciliation", "Finance escalations", "pull", {"bank-reconciliation": 3}),
]

# (service key, title, priority, contact, custom fields, what happened so far)
ITEMS = [
    (
        "nw-customer-service",
        "Where is my order NW-100233?",
        "normal",
        "lena.koch@example.net",
        {"order_number": "NW-100233", "reason": "inquiry"},
        "new",
    ),
    (
        "nw-customer-service",
        "Parcel arrived damaged",
        "high",
        "tom.berger@example.net",
        {"order_number": "NW-100198", "reason": "complaint"},
        "replied",
    ),
    (
        "nw-customer-service",
        "Return label does not print",
        "normal",
        "a.yilmaz@example.net",
        {"order_number": "NW-100240", "reason": "return"},
        "resolved",
    ),
    (
        "nw-customer-service",
        "Charged twice for one order",
        "urgent",
        "m.schulz@example.net",
        {"order_number": "NW-100251", "reason": "complaint"},
        "new",
    ),
    (
        "nw-customer-service",
        "How do I descale the coffee machine?",
        "low",
        "p.wagner@example.net",
        {"reason": "after_sales"},
        "pending",
    ),
    (
        "nw-customer-service",
        "Change delivery address",
        "normal",
        "j.fischer@example.net",
        {"order_number": "NW-100262", "reason": "inquiry"},
        "new",
    ),
    ("acme-reconciliation", "Reconcile operating account, 20 Nov", "normal", "", {}, "new"),
    (
        "acme-reconciliation",
        "Unmatched wire of 12,480.00 USD",
        "high",
        "ap@acme.example",
        {},
        "pending_client",
    ),
    ("acme-close", "November close: accruals review", "normal", "", {}, "new"),
]


# Canned responses the agents insert into replies: (service key, title, body).
CANNED = [
    (
        "nw-customer-service",
        "Order on its way",
        "Hello {contact_name},\n\nthank you for your patience. Your order has left our warehouse "
        "and is on its way to you; you will receive the tracking link by e-mail today.\n\n"
        "Your case number is {item_id}.\n\nKind regards,\n{agent_name}\n{client_name} "
        "customer service",
    ),
    (
        "nw-customer-service",
        "Damaged parcel: photos please",
        "Hello {contact_name},\n\nwe are sorry your parcel arrived damaged. Could you send us two "
        "or three photos of the parcel and its contents? We will then send a replacement or "
        "refund you, as you prefer.\n\nKind regards,\n{agent_name}",
    ),
    (
        "nw-customer-service",
        "Refund issued",
        "Hello {contact_name},\n\nwe have issued your refund; it shows on your statement within "
        "five business days.\n\nKind regards,\n{agent_name}",
    ),
]


def seed_work(*, admin: User, clients: dict[str, Client], progress: Callable[[str], None]) -> None:
    """Certify the demo agents and take in the demo items, unless there are items already."""
    with acting_as(actor_for(admin)) as actor:
        services = {s.key: s for s in Service.objects.all()}
        for email, keys in CERTIFIED.items():
            agent = User.objects.get(email=email)
            for key in keys:
                certification_grant(actor=actor, user=agent, service=services[key])
            languages, skills = PROFILES[email]
            agent_profile_update(actor=actor, agent=agent, languages=languages, skills=skills)
        queues = {}
        for key, name, routing, skills in QUEUES:
            queue = Queue.objects.filter(service=services[key], name=name).first()
            queues[key] = queue or work.queue_save(
                actor=actor,
                service=services[key],
                name=name,
                routing=routing,
                required_skills=skills,
            )
        for key, title, body in CANNED:
            if not CannedResponse.objects.filter(service=services[key], title=title).exists():
                work.canned_response_create(
                    actor=actor, service=services[key], title=title, body=body
                )
        if WorkItem.objects.exists():
            progress("[5/9] work items: already there")
            return
        front_office = actor_for(User.objects.get(email="agent@meridian.example"))
        back_office = actor_for(User.objects.get(email="accountant@meridian.example"))
        for key, title, priority, contact, custom, story in ITEMS:
            item = work.work_item_create(
                actor=actor,
                service=services[key],
                title=title,
                priority=priority,
                contact_email=contact,
                custom_fields=custom,
                queue=queues["nw-customer-service"]
                if custom.get("reason") == "complaint"
                else None,
            )
            handler = front_office if key.startswith("nw-") else back_office
            _play(handler, item, story)
        progress(f"[5/9] work items: {len(ITEMS)} taken in for {', '.join(sorted(clients))}")


def _play(handler: Actor, item: WorkItem, story: str) -> None:
    """Move a demo item along as an agent would have this morning."""
    if story == "new":
        return
    with acting_as(handler.narrowed_to(item.client_id)) as agent:
        if story == "pending_client":
            work.work_item_note(
                actor=agent,
                item=item,
                body="No invoice matches; asked AP for the remittance advice.",
            )
            work.work_item_transition(
                actor=agent,
                item=item,
                state="pending_client",
                reason="waiting for the remittance advice",
            )
            return
        work.work_item_reply(
            actor=agent, item=item, body="Thank you for your message; we are on it."
        )
        if story == "pending":
            work.work_item_transition(
                actor=agent, item=item, state="pending_contact", reason="asked for the model number"
            )
        if story == "resolved":
            work.work_item_transition(
                actor=agent, item=item, state="resolved", reason="new label sent"
            )
