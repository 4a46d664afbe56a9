"""Web UI: intake for the provider's managers — the services' mailboxes, and the mail that came
in, with the failed messages to download and retry; file imports (managers and client admins);
the public request forms and contacts' status pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from bpo.accounts.forms import add_validation_errors
from bpo.accounts.roles import Permission
from bpo.audit.middleware import client_ip
from bpo.intake import actions, imports, queries
from bpo.intake.forms import (
    ContactReplyForm,
    ImportUploadForm,
    MailboxForm,
    PublicRequestForm,
    WebFormForm,
)
from bpo.intake.models import (
    ImportJob,
    ImportStatus,
    InboundEmail,
    InboundStatus,
    Mailbox,
    WebForm,
)
from bpo.intake.tabular import column_letter
from bpo.tenancy.context import Actor, request_actor
from bpo.tenancy.scoping import client_scope
from bpo.work import queries as work_queries
from bpo.work.actions import FINAL_STATES, agreed_terms
from bpo.work.forms import add_item_errors
from bpo.work.presentation import state_label, timeline_entries

RECENT = 50


@login_required
def intake(request: HttpRequest) -> HttpResponse:
    """Mailboxes (with a form to add one) and the latest inbound mail, failed first."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_INTAKE)
    services = _service_choices(actor, Permission.MANAGE_INTAKE)
    form = MailboxForm(request.POST or None, services=services)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            service = work_queries.service_get(actor=actor, service_id=data.pop("service"))
            mailbox = actions.mailbox_save(actor=actor, service=service, **data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"Mail to {mailbox.address} now reaches {service.name}.")
            return redirect("intake:home")
    status = request.GET.get("status", "")
    if status not in InboundStatus.values:
        status = ""
    inbound = queries.inbound_visible(actor=actor, status=status or None)
    return render(
        request,
        "intake/intake.html",
        {
            "mailboxes": queries.mailboxes_visible(actor=actor).select_related("service__client"),
            "inbound": inbound.select_related("item")[:RECENT],
            "failed": queries.inbound_visible(actor=actor, status=InboundStatus.FAILED).count(),
            "status": status,
            "statuses": InboundStatus.choices,
            "form": form,
            "web_forms": queries.web_forms_visible(actor=actor),
            "web_form_form": WebFormForm(prefix="wf", services=services),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def mailbox_toggle(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    """Switch a mailbox off (mail to it is refused) or on again."""
    actor = request_actor(request)
    try:
        mailbox = queries.mailbox_get(actor=actor, mailbox_id=mailbox_id)
    except Mailbox.DoesNotExist as exc:
        raise Http404 from exc
    actions.mailbox_save(
        actor=actor,
        service=mailbox.service,
        mailbox=mailbox,
        address=mailbox.address,
        display_name=mailbox.display_name,
        active=not mailbox.active,
        acknowledge=mailbox.acknowledge,
        imap_host=mailbox.imap_host,
        imap_port=mailbox.imap_port,
        imap_security=mailbox.imap_security,
        imap_folder=mailbox.imap_folder,
        imap_username=mailbox.imap_username,
    )
    state = "on" if mailbox.active else "off"
    messages.success(request, f"{mailbox.address} is switched {state}.")
    return redirect("intake:home")


@login_required
@require_POST
def inbound_retry(request: HttpRequest, message_id: int) -> HttpResponse:
    """Process a failed message again and say how it went."""
    actor = request_actor(request)
    try:
        message = queries.inbound_get(actor=actor, message_id=message_id)
    except InboundEmail.DoesNotExist as exc:
        raise Http404 from exc
    try:
        done = actions.inbound_email_retry(actor=actor, message=message)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if done.status == InboundStatus.FAILED:
            messages.error(request, f"Message #{done.pk} failed again: {done.error}")
        else:
            messages.success(request, f"Message #{done.pk} is {done.get_status_display().lower()}.")
    return redirect("intake:home")


@login_required
@require_POST
def web_form_create(request: HttpRequest) -> HttpResponse:
    """Publish a service's public request form."""
    actor = request_actor(request)
    form = WebFormForm(
        request.POST, prefix="wf", services=_service_choices(actor, Permission.MANAGE_INTAKE)
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            service = work_queries.service_get(actor=actor, service_id=data.pop("service"))
            made = actions.web_form_save(actor=actor, service=service, **data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"The form {made.title!r} is published.")
    else:
        messages.error(request, "The form was not published: give it a service and a title.")
    return redirect("intake:home")


@login_required
@require_POST
def web_form_toggle(request: HttpRequest, form_id: int) -> HttpResponse:
    """Take a public form offline (its address then answers 404), or back online."""
    actor = request_actor(request)
    try:
        form = queries.web_form_get(actor=actor, form_id=form_id)
    except WebForm.DoesNotExist as exc:
        raise Http404 from exc
    actions.web_form_save(
        actor=actor,
        service=form.service,
        form=form,
        title=form.title,
        intro=form.intro,
        active=not form.active,
    )
    messages.success(request, f"{form.title!r} is {'offline' if form.active else 'online'}.")
    return redirect("intake:home")


def _service_choices(actor: Actor, permission: Permission) -> list[tuple[int, str]]:
    services = queries.services_for(actor=actor, permission=permission)
    return [(s.pk, f"{s.client.name} · {s.name}") for s in services]


# --- Public pages: no login; the form's address or the contact's token decides ----------------


def _public(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = "no-referrer"  # the token must not travel to other sites
    response["X-Robots-Tag"] = "noindex"
    response["Cache-Control"] = "private, no-store"
    return response


def public_form(request: HttpRequest, key: str) -> HttpResponse:
    """A service's public request form; a sent request leads to its private status page."""
    web_form = queries.public_form(key)
    if web_form is None:
        raise Http404("There is no form at this address.")
    with client_scope([web_form.client_id]):
        schema = agreed_terms(web_form.service).custom_fields or []
        form = PublicRequestForm(request.POST or None, schema=schema)
        status = 200
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                item, token = actions.web_form_submit(
                    form=web_form,
                    ip=client_ip(request),
                    name=data["name"],
                    email=data["email"],
                    subject=data["subject"],
                    message=data["message"],
                    custom_fields=form.custom_fields(),
                    honeypot=data["website"],
                    link_url=lambda t: request.build_absolute_uri(
                        reverse("intake:track", args=[t])
                    ),
                )
            except actions.RateLimited as exc:
                form.add_error(None, str(exc))
                status = 429
            except ValidationError as exc:
                add_item_errors(form, exc)  # type: ignore[arg-type]
                status = 400
            else:
                if item is None:  # the honeypot: the same thanks, nothing taken in
                    return _public(render(request, "intake/public_thanks.html", {"form": web_form}))
                return redirect("intake:track", token=token)
        elif request.method == "POST":
            status = 400
        return _public(
            render(
                request,
                "intake/public_form.html",
                {"web_form": web_form, "form": form},
                status=status,
            )
        )


def track(request: HttpRequest, token: str) -> HttpResponse:
    """The contact's private page of one request: its state, its public timeline, and a box
    to answer."""
    link = queries.contact_link(token)
    if link is None:
        raise Http404("This link is not valid.")
    with client_scope([link.client_id]):
        item = link.item
        form = ContactReplyForm(request.POST or None)
        status = 200
        closed = item.state in FINAL_STATES
        if request.method == "POST" and not closed and form.is_valid():
            try:
                actions.contact_reply(
                    link=link, ip=client_ip(request), body=form.cleaned_data["body"]
                )
            except actions.RateLimited as exc:
                form.add_error(None, str(exc))
                status = 429
            except ValidationError as exc:
                form.add_error(None, " ".join(exc.messages))
                status = 400
            else:
                messages.success(request, "Thank you: your answer is with the team.")
                return redirect("intake:track", token=token)
        elif request.method == "POST":
            status = 400
        schema = item.terms.custom_fields or []
        entries = timeline_entries(work_queries.public_timeline(item), schema)
        return _public(
            render(
                request,
                "intake/track.html",
                {
                    "item": item,
                    "state_label": state_label(item.state),
                    "entries": entries,
                    "form": form,
                    "closed": closed,
                    "web_form": link.form,
                },
                status=status,
            )
        )


# --- File imports -----------------------------------------------------------------------------


@login_required
def imports_page(request: HttpRequest) -> HttpResponse:
    """The imports of the clients in scope, and a form to upload a file."""
    actor = request_actor(request)
    actor.require(Permission.IMPORT_WORK)
    services = _service_choices(actor, Permission.IMPORT_WORK)
    form = ImportUploadForm(request.POST or None, request.FILES or None, services=services)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data["file"]
        try:
            service = work_queries.service_get(actor=actor, service_id=data["service"])
            job = imports.import_upload(
                actor=actor,
                service=service,
                upload=upload,
                file_name=upload.name,
                encoding=data["encoding"],
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            return redirect("intake:import", import_id=job.pk)
    return render(
        request,
        "intake/imports.html",
        {
            "imports": queries.imports_visible(actor=actor)[:RECENT],
            "form": form,
            "show_intake_tabs": actor.can(Permission.MANAGE_INTAKE),
        },
        status=400 if form.errors else 200,
    )


def _import(actor: Actor, import_id: int) -> ImportJob:
    try:
        return queries.import_get(actor=actor, import_id=import_id)
    except ImportJob.DoesNotExist as exc:
        raise Http404 from exc


@login_required
def import_page(request: HttpRequest, import_id: int) -> HttpResponse:
    """One import: its columns with a few sample values and the field each fills, the errors
    of the check with row and column, and its progress once started. Posting the columns'
    targets saves the mapping and checks every row again."""
    actor = request_actor(request)
    job = _import(actor, import_id)
    if request.method == "POST":
        mapping = [request.POST.get(f"column-{i}", "") for i in range(len(job.headers))]
        try:
            job = imports.import_map(actor=actor, job=job, mapping=mapping)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if job.status == ImportStatus.READY:
                messages.success(
                    request, f"Every row is valid: {job.rows_total:,} rows to take in."
                )
        return redirect("intake:import", import_id=job.pk)
    terms = agreed_terms(job.service)
    samples = queries.import_preview(actor=actor, job=job)
    columns = [
        {
            "index": index,
            "header": header,
            "letter": column_letter(index),
            "target": job.mapping[index] if index < len(job.mapping) else "",
            "samples": samples[index],
        }
        for index, header in enumerate(job.headers)
    ]
    return render(
        request,
        "intake/import.html",
        {
            "job": job,
            "columns": columns,
            "targets": imports.targets(terms),
            "editable": job.status in imports.MAPPABLE,
            "problems": [e for e in job.errors if e["row"] is None],
            "row_errors": [e for e in job.errors if e["row"] is not None],
            **_progress_context(job),
        },
    )


def _progress_context(job: ImportJob) -> dict[str, object]:
    return {"job": job, "poll_seconds": 1 if job.status == ImportStatus.RUNNING else 0}


@login_required
def import_progress(request: HttpRequest, import_id: int) -> HttpResponse:
    """The progress bar of an import (the page asks for it again every second while it runs)."""
    job = _import(request_actor(request), import_id)
    return render(request, "intake/_import_progress.html", {**_progress_context(job), "oob": True})


@login_required
@require_POST
def import_start(request: HttpRequest, import_id: int) -> HttpResponse:
    """Start a checked import; the worker takes its rows in batch by batch."""
    actor = request_actor(request)
    job = _import(actor, import_id)
    try:
        imports.import_start(actor=actor, job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("intake:import", import_id=job.pk)


@login_required
@require_POST
def import_resume(request: HttpRequest, import_id: int) -> HttpResponse:
    """Go on with an import that stopped, after its last written batch."""
    actor = request_actor(request)
    job = _import(actor, import_id)
    try:
        imports.import_resume(actor=actor, job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("intake:import", import_id=job.pk)
