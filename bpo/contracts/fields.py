"""Custom fields a service defines for its work items: the schema, and validation of values."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

FIELD_TYPES = ("text", "number", "date", "boolean", "choice")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def validate_schema(schema: Any) -> list[dict[str, Any]]:
    """Check a custom-field schema and return it normalised.

    A schema is a list of ``{"name", "label", "type", "required", "choices"}``; ``type`` is one of
    FIELD_TYPES and ``choices`` (a non-empty list of strings) belongs to ``choice`` fields only.
    Errors name the entry, e.g. ``[1].type: 'colour' is not a field type``.
    """
    if not isinstance(schema, list):
        raise ValidationError({"custom_fields": "Expected a list of field definitions."})
    problems: list[str] = []
    names: set[str] = set()
    cleaned = []
    for n, field in enumerate(schema):
        if not isinstance(field, dict):
            problems.append(f"[{n}]: expected an object with name, label and type.")
            continue
        name, kind = field.get("name"), field.get("type")
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(f"[{n}].name: {name!r} must be lower-case letters, digits and _.")
        elif name in names:
            problems.append(f"[{n}].name: {name!r} is defined twice.")
        else:
            names.add(name)
        if kind not in FIELD_TYPES:
            problems.append(f"[{n}].type: {kind!r} is not one of {', '.join(FIELD_TYPES)}.")
        choices = field.get("choices")
        if kind == "choice" and (
            not isinstance(choices, list)
            or not choices
            or not all(isinstance(c, str) and c for c in choices)
        ):
            problems.append(f"[{n}].choices: a choice field needs a list of non-empty strings.")
        if kind != "choice" and choices:
            problems.append(f"[{n}].choices: only choice fields have choices.")
        unknown = set(field) - {"name", "label", "type", "required", "choices"}
        if unknown:
            problems.append(f"[{n}]: unknown keys {', '.join(sorted(unknown))}.")
        cleaned.append(
            {
                "name": name,
                "label": str(field.get("label") or name),
                "type": kind,
                "required": bool(field.get("required", False)),
                **({"choices": list(choices)} if kind == "choice" and choices else {}),
            }
        )
    if problems:
        raise ValidationError({"custom_fields": problems})
    return cleaned


def validate_values(
    schema: list[dict[str, Any]], values: Any, *, require: bool = True
) -> dict[str, Any]:
    """Check a work item's custom-field values against a service's schema; return them cleaned
    (numbers as Decimal strings, dates ISO). Errors are keyed by field name. ``require=False``
    lets required fields be missing (work from a channel that cannot know the schema, such as
    an e-mail: the agent completes them)."""
    if not isinstance(values, dict):
        raise ValidationError({"custom_fields": "Expected an object of field name → value."})
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    known = {field["name"]: field for field in schema}
    for name in set(values) - set(known):
        errors[name] = "This service has no such field."
    for name, field in known.items():
        value = values.get(name)
        if value in (None, ""):
            if field["required"] and require:
                errors[name] = f"{field['label']} is required."
            continue
        try:
            cleaned[name] = _clean_value(field, value)
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_value(field: dict[str, Any], value: Any) -> Any:
    kind = field["type"]
    if kind == "text":
        if not isinstance(value, str):
            raise ValueError("Expected text.")
        if "\x00" in value:
            raise ValueError("Text cannot contain the NUL character (\\u0000).")
        return value
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError("Expected a number.")
        try:
            return str(Decimal(str(value)))
        except InvalidOperation as exc:
            raise ValueError(f"{value!r} is not a number.") from exc
    if kind == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD).") from exc
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError("Expected true or false.")
        return value
    if value not in field["choices"]:
        raise ValueError(f"{value!r} is not one of {', '.join(field['choices'])}.")
    return value
