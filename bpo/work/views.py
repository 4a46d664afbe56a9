"""Web UI: the agent workspace.

*My work* lists the agent's open items and gives them the next one (Get next). An item's page
shows its header and timeline and lets whoever handles work reply, note, move it through its life
cycle and change its priority and details. Client users read their company's items without the
internal entries and add messages to them. Managers keep each service's canned responses, which
agents insert into replies with the placeholders filled in.

Agents set their presence on *My work*; the item page keeps a work session open while it is
shown (a heartbeat every 30 s) and says who else has the item open; it shows the item's SLA
clocks. Managers watch queues and agents on *Queues & agents*, set an agent's presence, move
items to another queue or agent, and read their notifications.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from bpo.accounts.forms import add_validation_errors
from bpo.accounts.models import User
from bpo.accounts.roles import Permission
from bpo.contracts.models import Priority, Service
from bpo.finance.views import item_panel as finance_panel
from bpo.tenancy.context import Actor, request_actor
from bpo.work import actions, queries
from bpo.work.actions import FINAL_STATES
from bpo.work.forms import (
    BreachExplanationForm,
    CannedResponseForm,
    ItemDetailsForm,
    PresenceForm,
    PriorityForm,
    StateForm,
    TextEntryForm,
    TransferForm,
    add_item_errors,
    message_form,
    note_form,
    reply_form,
)
from bpo.work.models import (
    OPEN_STATES,
    BreachCause,
    CannedResponse,
    Event,
    Notification,
    Queue,
    WorkItem,
)
from bpo.work.presentation import (
    PRESENCE_STYLES,
    clock_rows,
    custom_field_rows,
    due,
    format_age,
    format_ago,
    next_state_actions,
    priority_label,
    state_label,
    timeline_entries,
)
from bpo.workforce import actions as workforce_actions
from bpo.workforce import queries as workforce_queries
from bpo.workforce.models import AgentProfile, Presence

# My work shows at most this many open items (an agent's capacity is far below it).
MY_WORK_LIMIT = 100
RECENT_LIMIT = 10

SHORTCUTS = {
    "g": "Get next: take the best item waiting for you",
    "r": "Write a reply",
    "m": "Write a message",
    "n": "Write an internal note",
    "s": "Resolve the item",
    "e": "Edit the item's details",
    "?": "Show the keyboard shortcuts",
}


def _shortcuts(*keys: str) -> list[tuple[str, str]]:
    return [(key, SHORTCUTS[key]) for key in (*keys, "?")]


def _item_or_404(request: HttpRequest, item_id: int) -> WorkItem:
    try:
        return queries.item_for_page(actor=request_actor(request), item_id=item_id)
    except WorkItem.DoesNotExist as exc:
        raise Http404 from exc


def _item_url(item: WorkItem, anchor: str = "") -> str:
    return reverse("work:item", kwargs={"item_id": item.pk}) + (f"#{anchor}" if anchor else "")


# --- My work -------------------------------------------------------------------------------------


@login_required
def my_work(request: HttpRequest) -> HttpResponse:
    """The agent's open items, the Get next button, and what they finished last."""
    actor = request_actor(request)
    actor.require(Permission.HANDLE_WORK)
    now = timezone.now()
    rows = queries.my_open_items(actor=actor, limit=MY_WORK_LIMIT)
    presence = _profile_of(workforce_queries.agent_me(actor=actor)).presence
    return render(
        request,
        "work/my_work.html",
        {
            "open_items": [
                {
                    "item": item,
                    "age": format_age(now - item.created_at),
                    "assigned_age": (
                        format_ago(now - item.assigned_at) if item.assigned_at else ""  # type: ignore[attr-defined]
                    ),
                    "due": due(item.due_at, now),
                }
                for item in rows[:MY_WORK_LIMIT]
            ],
            "more": len(rows) > MY_WORK_LIMIT,
            "limit": MY_WORK_LIMIT,
            "recent": queries.my_recent_items(actor=actor, limit=RECENT_LIMIT),
            "load": queries.workload(actor=actor),
            "shortcuts": _shortcuts("g"),
            "presence": presence,
            "presence_label": Presence(presence).label,
            "presence_style": PRESENCE_STYLES[presence],
            "presences": Presence.choices,
            "notifications": list(queries.notifications_mine(actor=actor, unread=True)[:20]),
        },
    )


def _profile_of(user: User) -> AgentProfile:
    """The person's agent profile, or the defaults of one (offline) if they have none yet."""
    return getattr(user, "agent_profile", None) or AgentProfile(user=user)


@login_required
@require_POST
def presence_set(request: HttpRequest) -> HttpResponse:
    """The agent says whether they are available, busy, away or offline."""
    actor = request_actor(request)
    actor.require(Permission.HANDLE_WORK)
    form = PresenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose available, busy, away or offline.")
        return redirect("work:mine")
    change = workforce_actions.agent_presence_change(
        actor=actor, presence=form.cleaned_data["presence"]
    )
    messages.success(request, _presence_said("You are", change))
    return redirect("work:mine")


def _presence_said(who: str, change: workforce_actions.PresenceChange) -> str:
    """'You are offline; 2 untouched items went back to their queues.'"""
    text = f"{who} {Presence(change.profile.presence).label.lower()}"
    if change.profile.presence == Presence.OFFLINE:
        count = len(change.released)
        if count:
            text += (
                f"; {count} untouched item{'s' if count != 1 else ''} went back to "
                f"{'their queues' if count != 1 else 'its queue'}"
            )
        else:
            text += "; no untouched items to give back (items worked on stay assigned)"
    return text + "."


@login_required
@require_POST
def get_next(request: HttpRequest) -> HttpResponse:
    """Take the best waiting item; or say plainly why there is none."""
    actor = request_actor(request)
    item = actions.work_item_next(actor=actor)
    if item is not None:
        messages.success(request, f"Item #{item.pk} is yours now.")
        return redirect(_item_url(item))
    load = queries.workload(actor=actor)
    if load.at_capacity:
        messages.warning(
            request,
            f"You are at capacity: you have {load.open_items} open items and take "
            f"{load.capacity} at once. Resolve one, or set one pending, before you take more.",
        )
    elif not load.certified_services:
        messages.info(
            request,
            "No work comes to you yet: you are not certified for any service. Ask a manager "
            "to certify you.",
        )
    else:
        messages.info(
            request,
            "Nothing is waiting for you: every item of the services you are certified for is "
            "taken. Try again in a while.",
        )
    return redirect("work:mine")


# --- An item -------------------------------------------------------------------------------------


@login_required
def item_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    """An item: its header, its timeline, and what the actor may do with it."""
    item = _item_or_404(request, item_id)
    actor = request_actor(request)
    if (
        actor.is_provider
        and item.state in OPEN_STATES
        and actor.can(Permission.HANDLE_WORK, client_id=item.client_id)
    ):
        # The agent works on the item while its page is open (handle time; "who else has it").
        actions.work_session_touch(actor=actor, item=item)
    return _render_item(request, item, canned=request.GET.get("canned", ""))


def _render_item(
    request: HttpRequest,
    item: WorkItem,
    *,
    status: int = 200,
    canned: str = "",
    **forms: Any,
) -> HttpResponse:
    """The item page, with any form given in ``forms`` (bound, with its errors) shown instead
    of a fresh one, so nothing typed is lost. ``canned``: the id of a canned response to put in
    the reply box (how the picker works without JavaScript)."""
    actor = request_actor(request)
    can_handle = actor.can(Permission.HANDLE_WORK, client_id=item.client_id)
    schema = item.terms.custom_fields or []
    canned_responses = queries.canned_responses_for(actor=actor, item=item)
    if "reply_form" not in forms:
        chosen = next((c for c in canned_responses if str(c.id) == canned), None)
        forms["reply_form"] = reply_form(initial={"body": chosen.text} if chosen else None)
    final = item.state in FINAL_STATES
    main_actions, pending_actions = next_state_actions(item.state)
    can_message = (
        not actor.is_provider
        and not final
        and actor.can(Permission.REQUEST_WORK, client_id=item.client_id)
    )
    now = timezone.now()
    can_transfer = not final and actor.can(Permission.MANAGE_AGENTS, client_id=item.client_id)
    if can_transfer and "transfer_form" not in forms:
        forms["transfer_form"] = _transfer_form(actor, item)[0]
    if can_handle:
        keys = ["r"] if not final or forms["reply_form"].errors else []
        keys += ["n", *(["s"] if _can_resolve(main_actions) else [])]
        shortcuts = _shortcuts(*keys, *([] if final else ["e"]), "g")
    else:
        shortcuts = _shortcuts("m") if can_message else []
    context = {
        "item": item,
        "opened": format_ago(now - item.created_at),
        "clocks": clock_rows(queries.clocks_of(actor=actor, item=item), now),
        "deliveries": queries.deliveries_of(actor=actor, item=item),
        "others": (queries.others_working_on(actor=actor, item=item) if actor.is_provider else []),
        "heartbeat": actor.is_provider and can_handle,
        "heartbeat_seconds": settings.OPENBPO_HEARTBEAT_SECONDS,
        "can_transfer": can_transfer,
        "state_label": state_label(item.state),
        "priority_label": priority_label(item.priority),
        "custom_fields": custom_field_rows(schema, item.custom_fields or {}),
        "entries": timeline_entries(queries.timeline(actor=actor, item=item), schema),
        "can_handle": can_handle,
        "can_see_internal": actor.can(Permission.VIEW_INTERNAL, client_id=item.client_id),
        "can_message": can_message,
        "final": final,
        "main_actions": main_actions if can_handle else [],
        "pending_actions": pending_actions if can_handle else [],
        "canned_responses": canned_responses,
        "note_form": note_form(),
        "message_form": message_form(),
        "priority_form": PriorityForm(initial={"priority": item.priority}),
        "can_explain": actor.can(Permission.EXPLAIN_BREACHES, client_id=item.client_id),
        "breach_causes": BreachCause.choices,
        "priorities": Priority.choices,
        "shortcuts": shortcuts,
        "finance_panel": finance_panel(actor, item),
        **forms,
    }
    return render(request, "work/item.html", context, status=status)


def _can_resolve(main_actions: list[Any]) -> bool:
    return any(action.shortcut == "s" for action in main_actions)


def _post_text(
    request: HttpRequest,
    item_id: int,
    *,
    form_name: str,
    make_form: Callable[[Any], TextEntryForm],
    act: Callable[..., Event],
    done: str,
) -> HttpResponse:
    """Post a reply, a note or a message; on a refusal show the page again with the text kept
    and the reason next to the box."""
    actor = request_actor(request)
    item = _item_or_404(request, item_id)
    form = make_form(request.POST)
    if form.is_valid():
        try:
            act(actor=actor, item=item, body=form.cleaned_data["body"])
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect(_item_url(item, "timeline"))
    forms: dict[str, Any] = {form_name: form}
    return _render_item(request, item, status=400, **forms)


@login_required
@require_POST
def item_reply(request: HttpRequest, item_id: int) -> HttpResponse:
    """Reply to the contact."""
    return _post_text(
        request,
        item_id,
        form_name="reply_form",
        make_form=reply_form,
        act=actions.work_item_reply,
        done="Your reply is on the timeline.",
    )


@login_required
@require_POST
def item_note(request: HttpRequest, item_id: int) -> HttpResponse:
    """Add an internal note."""
    return _post_text(
        request,
        item_id,
        form_name="note_form",
        make_form=note_form,
        act=actions.work_item_note,
        done="Your internal note is on the timeline.",
    )


@login_required
@require_POST
def item_message(request: HttpRequest, item_id: int) -> HttpResponse:
    """A client user adds a message to their company's item."""
    return _post_text(
        request,
        item_id,
        form_name="message_form",
        make_form=message_form,
        act=actions.work_item_message_in,
        done="Your message is on the timeline; the agent working on it sees it.",
    )


@login_required
@require_POST
def item_state(request: HttpRequest, item_id: int) -> HttpResponse:
    """Move the item to one of its allowed next states."""
    actor = request_actor(request)
    item = _item_or_404(request, item_id)
    form = StateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the state the item moves to.")
        return redirect(_item_url(item))
    try:
        changed = actions.work_item_transition(
            actor=actor, item=item, state=form.cleaned_data["state"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Item #{item.pk} is {state_label(changed.state).lower()}.")
    return redirect(_item_url(item))


@login_required
@require_POST
def clock_explain(request: HttpRequest, item_id: int, clock_id: int) -> HttpResponse:
    """Say why one of the item's clocks missed its target (for the client's service report)."""
    actor = request_actor(request)
    item = _item_or_404(request, item_id)
    clock = queries.clock_of(actor=actor, item=item, clock_id=clock_id)
    form = BreachExplanationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a cause; the note is at most 2000 characters.")
        return redirect(_item_url(item))
    try:
        actions.breach_explain(actor=actor, clock=clock, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "The breach is explained; the monthly report will show it.")
    return redirect(_item_url(item))


@login_required
@require_POST
def item_priority(request: HttpRequest, item_id: int) -> HttpResponse:
    """Change the item's priority."""
    actor = request_actor(request)
    item = _item_or_404(request, item_id)
    form = PriorityForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a priority: " + ", ".join(Priority.labels) + ".")
        return redirect(_item_url(item))
    try:
        changed = actions.work_item_update(
            actor=actor, item=item, priority=form.cleaned_data["priority"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The priority is {priority_label(changed.priority).lower()}.")
    return redirect(_item_url(item))


@login_required
def item_edit(request: HttpRequest, item_id: int) -> HttpResponse:
    """Change an item's title, description, tags, external reference and custom fields."""
    actor = request_actor(request)
    item = _item_or_404(request, item_id)
    actor.require(Permission.HANDLE_WORK, client_id=item.client_id)
    if item.state in FINAL_STATES:
        messages.info(
            request,
            f"Item #{item.pk} is {state_label(item.state).lower()}: its details are final.",
        )
        return redirect(_item_url(item))
    form = ItemDetailsForm(
        request.POST or None,
        schema=item.terms.custom_fields or [],
        initial=ItemDetailsForm.initial_from(item),
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.work_item_update(actor=actor, item=copy.copy(item), **form.changes())
        except ValidationError as exc:
            add_item_errors(form, exc)
        else:
            messages.success(request, "Saved; the changes are on the timeline.")
            return redirect(_item_url(item))
    return render(
        request,
        "work/item_edit.html",
        {"item": item, "form": form},
        status=400 if form.errors else 200,
    )


# --- Work sessions --------------------------------------------------------------------------------


@login_required
@require_POST
def item_heartbeat(request: HttpRequest, item_id: int) -> HttpResponse:
    """The item page is still open: extend the work session and answer with the banner of who
    else has the item open (an htmx fragment)."""
    actor = request_actor(request)
    item = _item_or_404(request, item_id)
    if item.state in OPEN_STATES:
        actions.work_session_touch(actor=actor, item=item)
    return render(
        request,
        "work/_open_elsewhere.html",
        {
            "item": item,
            "others": queries.others_working_on(actor=actor, item=item),
            "heartbeat": True,
            "heartbeat_seconds": settings.OPENBPO_HEARTBEAT_SECONDS,
        },
    )


@login_required
@require_POST
def item_session_end(request: HttpRequest, item_id: int) -> HttpResponse:
    """The item page was left (the browser's beacon on pagehide): end the work session."""
    actor = request_actor(request)
    item = _item_or_404(request, item_id)
    actions.work_session_end(actor=actor, item=item)
    return HttpResponse(status=204)


# --- Transfer ------------------------------------------------------------------------------------


def _transfer_form(
    actor: Actor, item: WorkItem, data: Any = None
) -> tuple[TransferForm, dict[int, Queue], dict[int, User]]:
    """The reassign / transfer form, with the queues of the item's service and its certified
    agents it offers (by id)."""
    queues, agents = _transfer_targets(actor, item)
    form = TransferForm(
        data,
        queues=[(q.pk, f"{q.name} · {q.waiting} waiting") for q in queues.values()],  # type: ignore[attr-defined]
        agents=[(a.pk, _agent_choice(a)) for a in agents.values()],
    )
    return form, queues, agents


def _agent_choice(agent: User) -> str:
    profile = _profile_of(agent)
    presence = Presence(profile.presence).label.lower()
    return f"{agent.full_name or agent.email} · {agent.load}/{profile.capacity} · {presence}"  # type: ignore[attr-defined]


def _transfer_targets(actor: Actor, item: WorkItem) -> tuple[dict[int, Queue], dict[int, User]]:
    queues = queries.queues_visible(actor=actor, service_id=item.service_id).order_by("name")
    agents = workforce_queries.agents_visible(actor=actor, certified_for=item.service_id).order_by(
        "full_name", "email"
    )
    return {q.pk: q for q in queues}, {a.pk: a for a in agents}


@login_required
@require_POST
def item_transfer(request: HttpRequest, item_id: int) -> HttpResponse:
    """A manager moves the item to another queue of its service and/or another agent."""
    actor = request_actor(request)
    item = _item_or_404(request, item_id)
    actor.require(Permission.MANAGE_AGENTS, client_id=item.client_id)
    form, queues, agents = _transfer_form(actor, item, request.POST)
    if form.is_valid():
        queue_id, agent_id = form.cleaned_data["queue"], form.cleaned_data["agent"]
        try:
            moved = actions.work_item_transfer(
                actor=actor,
                item=item,
                reason=form.cleaned_data["reason"],
                queue=queues[queue_id] if queue_id else None,
                agent=agents[agent_id] if agent_id else None,
            )
        except ValidationError as exc:
            add_validation_errors(form, _transfer_errors(exc))
        else:
            to = [f"queue {moved.queue.name}" if moved.queue else ""]
            to.append(
                f"agent {agents[agent_id].email}" if agent_id else "nobody (it waits in the queue)"
            )
            messages.success(request, f"Item #{item.pk} moved: {' and '.join(t for t in to if t)}.")
            return redirect(_item_url(item))
    return _render_item(request, item, status=400, transfer_form=form)


def _transfer_errors(exc: ValidationError) -> ValidationError:
    """The action names the API's fields (queue_id, agent_id); the form's are queue, agent."""
    if not hasattr(exc, "error_dict"):
        return exc
    names = {"queue_id": "queue", "agent_id": "agent"}
    return ValidationError(
        {names.get(field, field): errors for field, errors in exc.error_dict.items()}
    )


# --- Queues & agents (managers) ------------------------------------------------------------------


def _board(actor: Actor) -> dict[str, Any]:
    """The queue and agent tables of the manager's view, ready to render."""
    now = timezone.now()
    queues = [
        {
            "queue": queue,
            "oldest": format_age(now - queue.oldest_waiting) if queue.oldest_waiting else "",  # type: ignore[attr-defined]
        }
        for queue in queries.queue_board(actor=actor)
    ]
    agents = []
    for person in workforce_queries.agents_visible(actor=actor).order_by("full_name", "email"):
        profile = _profile_of(person)
        load = person.load  # type: ignore[attr-defined]
        agents.append(
            {
                "person": person,
                "profile": profile,
                "presence_label": Presence(profile.presence).label,
                "presence_style": PRESENCE_STYLES[profile.presence],
                "load": load,
                "percent": min(100, round(100 * load / profile.capacity))
                if profile.capacity
                else 0,
                "skills": list(person.skills.all()),  # type: ignore[attr-defined]
                "services": [c.service.name for c in person.certifications.all()],  # type: ignore[attr-defined]
            }
        )
    return {
        "queues": queues,
        "agents": agents,
        "presences": Presence.choices,
        "refresh_seconds": settings.OPENBPO_BOARD_REFRESH_SECONDS,
    }


@login_required
def manage(request: HttpRequest) -> HttpResponse:
    """Queues & agents: backlog and SLA risk per queue, presence and load per agent, and the
    manager's unread notifications."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_AGENTS)
    return render(
        request,
        "work/manage.html",
        {
            **_board(actor),
            "notifications": list(queries.notifications_mine(actor=actor, unread=True)[:20]),
        },
    )


@login_required
@require_GET
def manage_board(request: HttpRequest) -> HttpResponse:
    """The queue and agent tables alone: what the manager's view refreshes every 20 s."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_AGENTS)
    return render(request, "work/_board.html", _board(actor))


@login_required
@require_POST
def agent_presence(request: HttpRequest, user_id: int) -> HttpResponse:
    """A manager sets an agent's presence (sends them offline at the end of a shift)."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_AGENTS)
    try:
        agent = workforce_queries.agent_get(actor=actor, user_id=user_id)
    except User.DoesNotExist as exc:
        raise Http404 from exc
    form = PresenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose available, busy, away or offline.")
        return redirect("work:manage")
    change = workforce_actions.agent_presence_change(
        actor=actor, presence=form.cleaned_data["presence"], agent=agent
    )
    messages.success(request, _presence_said(f"{agent.email} is", change))
    return redirect("work:manage")


@login_required
@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one of the actor's notifications read and go back where the button was."""
    actor = request_actor(request)
    try:
        notification = queries.notification_get(actor=actor, notification_id=notification_id)
    except Notification.DoesNotExist as exc:
        raise Http404 from exc
    actions.notification_read(actor=actor, notification=notification)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("work:manage" if actor.can(Permission.MANAGE_AGENTS) else "work:mine")
    return redirect(back)


# --- Canned responses ----------------------------------------------------------------------------


def _service_or_404(actor: Actor, service_id: int) -> Service:
    try:
        return queries.service_get(actor=actor, service_id=service_id)
    except Service.DoesNotExist as exc:
        raise Http404 from exc


def _response_or_404(actor: Actor, response_id: int) -> CannedResponse:
    try:
        return queries.canned_response_get(actor=actor, response_id=response_id)
    except CannedResponse.DoesNotExist as exc:
        raise Http404 from exc


@login_required
def responses_index(request: HttpRequest) -> HttpResponse:
    """The services in scope and how many canned responses each has."""
    actor = request_actor(request)
    return render(
        request,
        "work/responses_index.html",
        {
            "services": queries.services_with_responses(actor=actor),
            "can_manage": actor.can(Permission.MANAGE_AGENTS),
        },
    )


@login_required
def service_responses(request: HttpRequest, service_id: int) -> HttpResponse:
    """A service's canned responses; managers add new ones here."""
    actor = request_actor(request)
    service = _service_or_404(actor, service_id)
    responses = list(queries.canned_responses_visible(actor=actor, service_id=service.pk))
    can_manage = actor.can(Permission.MANAGE_AGENTS, client_id=service.client_id)
    form = CannedResponseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = actions.canned_response_create(
                actor=actor, service=service, **form.cleaned_data
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"The canned response {created.title!r} is ready to use.")
            return redirect("work:service_responses", service_id=service.pk)
    return render(
        request,
        "work/service_responses.html",
        {"service": service, "responses": responses, "can_manage": can_manage, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
def response_edit(request: HttpRequest, response_id: int) -> HttpResponse:
    """Change a canned response."""
    actor = request_actor(request)
    response = _response_or_404(actor, response_id)
    actor.require(Permission.MANAGE_AGENTS, client_id=response.client_id)
    form = CannedResponseForm(
        request.POST or None, initial={"title": response.title, "body": response.body}
    )
    if request.method == "POST" and form.is_valid():
        try:
            # A copy: a refused change leaves the page's response as it is saved.
            actions.canned_response_update(
                actor=actor, response=copy.copy(response), **form.cleaned_data
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("work:service_responses", service_id=response.service_id)
    return render(
        request,
        "work/response_edit.html",
        {"response": response, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def response_delete(request: HttpRequest, response_id: int) -> HttpResponse:
    """Remove a canned response."""
    actor = request_actor(request)
    response = _response_or_404(actor, response_id)
    actions.canned_response_delete(actor=actor, response=response)
    messages.success(request, f"The canned response {response.title!r} is removed.")
    return redirect("work:service_responses", service_id=response.service_id)
