"""Web forms of the agent workspace: replies, notes, messages, an item's details, canned responses.

The forms only parse what people type; the rules (what a title needs, which custom fields a
service has, which values they take) are the actions', whose messages
:func:`add_item_errors` puts back next to the field they concern.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from bpo.accounts.forms import add_validation_errors
from bpo.contracts.forms import DateInput
from bpo.contracts.models import Priority
from bpo.work.models import BreachCause
from bpo.work.placeholders import PLACEHOLDERS
from bpo.workforce.models import Presence

CUSTOM_FIELD_PREFIX = "cf_"


class TextEntryForm(forms.Form):
    """One text box: a reply, an internal note or a message from the client's side."""

    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Write something."},
        max_length=100_000,
    )

    def __init__(self, *args: Any, label: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].label = label


def reply_form(data: Any = None, **kwargs: Any) -> TextEntryForm:
    return TextEntryForm(data, prefix="reply", label="Reply to the contact", **kwargs)


def note_form(data: Any = None) -> TextEntryForm:
    return TextEntryForm(data, prefix="note", label="Internal note (never shown to the client)")


def message_form(data: Any = None) -> TextEntryForm:
    return TextEntryForm(data, prefix="message", label="Your message")


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=Priority.choices)


class BreachExplanationForm(forms.Form):
    """Why a clock missed its target, as the client's monthly report will say it."""

    cause = forms.ChoiceField(choices=BreachCause.choices)
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For the client: what happened and what was done about it.",
    )


class StateForm(forms.Form):
    state = forms.CharField(max_length=20)


class PresenceForm(forms.Form):
    presence = forms.ChoiceField(choices=Presence.choices)


class TransferForm(forms.Form):
    """A manager moves an item to another queue of its service and/or another certified agent.
    The choices are the queues and agents the page loaded; the action checks the rest."""

    queue = forms.TypedChoiceField(label="Queue", coerce=int, required=False, empty_value=None)
    agent = forms.TypedChoiceField(label="Agent", coerce=int, required=False, empty_value=None)
    reason = forms.CharField(
        label="Reason (on the item's internal timeline)",
        max_length=500,
        error_messages={"required": "Say why the item moves."},
    )

    def __init__(
        self, data: Any = None, *, queues: list[tuple[int, str]], agents: list[tuple[int, str]]
    ) -> None:
        super().__init__(data, prefix="transfer")
        queue_field, agent_field = self.fields["queue"], self.fields["agent"]
        assert isinstance(queue_field, forms.ChoiceField)
        assert isinstance(agent_field, forms.ChoiceField)
        queue_field.choices = [("", "Keep the queue"), *queues]
        agent_field.choices = [("", "Nobody: it waits in the queue"), *agents]


class CustomFieldsForm(forms.Form):
    """A form with one field per custom field of a service's terms (``schema``), after its own."""

    def __init__(self, *args: Any, schema: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema = schema
        for spec in schema:
            self.fields[CUSTOM_FIELD_PREFIX + spec["name"]] = custom_field(spec)

    def custom_fields(self) -> dict[str, Any]:
        """The custom fields given (empty ones left out), as a new item takes them."""
        return custom_values(self.schema, self.cleaned_data, keep_empty=False)


class ItemDetailsForm(CustomFieldsForm):
    """An item's details, with one field per custom field of the terms it started under."""

    title = forms.CharField(max_length=300, required=False)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}))
    tags = forms.CharField(
        required=False, max_length=2000, help_text="Separated by commas, e.g. vip, carrier."
    )
    external_ref = forms.CharField(
        max_length=120,
        required=False,
        label="External reference",
        help_text="The client's own reference for this item (unique per client); may be empty.",
    )

    @staticmethod
    def initial_from(item: Any) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "title": item.title,
            "description": item.description,
            "tags": ", ".join(item.tags or []),
            "external_ref": item.external_ref,
        }
        for name, value in (item.custom_fields or {}).items():
            initial[CUSTOM_FIELD_PREFIX + name] = (
                ("true" if value else "false") if isinstance(value, bool) else value
            )
        return initial

    def changes(self) -> dict[str, Any]:
        """The cleaned data as work_item_update takes it (empty custom fields are cleared)."""
        data = self.cleaned_data
        custom = custom_values(self.schema, data)
        return {
            "title": data["title"],
            "description": data["description"],
            "tags": [t for t in data["tags"].split(",") if t.strip()],
            "external_ref": data["external_ref"],
            "custom_fields": custom,
        }


def custom_values(
    schema: list[dict[str, Any]], data: dict[str, Any], *, keep_empty: bool = True
) -> dict[str, Any]:
    """The custom-field values of a form's cleaned data, as the actions take them (an empty
    field None, or left out with ``keep_empty=False``)."""
    custom: dict[str, Any] = {}
    for spec in schema:
        value = data.get(CUSTOM_FIELD_PREFIX + spec["name"])
        if value in (None, ""):
            if keep_empty:
                custom[spec["name"]] = None
        elif spec["type"] == "boolean":
            custom[spec["name"]] = value == "true"
        else:
            custom[spec["name"]] = value
    return custom


def custom_field(spec: dict[str, Any]) -> forms.Field:
    """A form field for one custom field; its values are checked by the action."""
    label = spec.get("label") or spec["name"]
    help_text = "Required." if spec.get("required") else ""
    kind = spec["type"]
    if kind == "choice":
        return forms.ChoiceField(
            choices=[("", "—"), *[(c, c) for c in spec["choices"]]],
            required=False,
            label=label,
            help_text=help_text,
        )
    if kind == "boolean":
        return forms.ChoiceField(
            choices=[("", "—"), ("true", "Yes"), ("false", "No")],
            required=False,
            label=label,
            help_text=help_text,
        )
    widget: forms.Widget = forms.TextInput()
    if kind == "date":
        widget = DateInput()
    elif kind == "number":
        widget = forms.NumberInput(attrs={"step": "any"})
    return forms.CharField(
        required=False, max_length=2000, label=label, help_text=help_text, widget=widget
    )


def add_item_errors(form: ItemDetailsForm, exc: ValidationError) -> None:
    """Put an action's messages on the details form; ``custom_fields.x`` goes to field x."""
    if not hasattr(exc, "error_dict"):
        add_validation_errors(form, exc)
        return
    for key, messages in exc.message_dict.items():
        name = key.removeprefix("custom_fields.")
        if key.startswith("custom_fields.") and CUSTOM_FIELD_PREFIX + name in form.fields:
            form.add_error(CUSTOM_FIELD_PREFIX + name, messages)
        else:
            form.add_error(key if key in form.fields else None, messages)


PLACEHOLDER_HELP = (
    "Filled in when an agent inserts it: "
    + "; ".join(f"{{{name}}} {meaning}" for name, meaning in PLACEHOLDERS.items())
    + ". Other text in braces stays as written."
)


class CannedResponseForm(forms.Form):
    """A canned response's title (what agents pick it by) and body."""

    title = forms.CharField(max_length=120, help_text="Agents pick the response by its title.")
    body = forms.CharField(
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=PLACEHOLDER_HELP,
    )
