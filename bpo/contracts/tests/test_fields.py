"""Custom fields: schema validation and validation of values against a schema."""

import pytest
from django.core.exceptions import ValidationError

from bpo.contracts.fields import validate_schema, validate_values

SCHEMA = validate_schema(
    [
        {"name": "order_number", "label": "Order number", "type": "text", "required": True},
        {"name": "amount", "type": "number"},
        {"name": "due", "type": "date"},
        {"name": "vip", "type": "boolean"},
        {"name": "reason", "type": "choice", "choices": ["inquiry", "complaint"]},
    ]
)


def test_values_are_cleaned():
    assert validate_values(
        SCHEMA,
        {
            "order_number": "A-1",
            "amount": "12.50",
            "due": "2026-12-01",
            "vip": True,
            "reason": "complaint",
        },
    ) == {
        "order_number": "A-1",
        "amount": "12.50",
        "due": "2026-12-01",
        "vip": True,
        "reason": "complaint",
    }


def test_every_bad_value_is_named():
    with pytest.raises(ValidationError) as caught:
        validate_values(
            SCHEMA,
            {
                "amount": "twelve",
                "due": "31/12/2026",
                "vip": "yes",
                "reason": "praise",
                "colour": "red",
            },
        )
    errors = caught.value.message_dict
    assert set(errors) == {"order_number", "amount", "due", "vip", "reason", "colour"}
    assert "required" in errors["order_number"][0]
    assert "not one of inquiry, complaint" in errors["reason"][0]


@pytest.mark.parametrize(
    "schema,message",
    [
        ("fields", "Expected a list"),
        ([{"name": "a", "type": "text"}, {"name": "a", "type": "text"}], "defined twice"),
        ([{"name": "x", "type": "choice", "choices": []}], "needs a list"),
        ([{"name": "x", "type": "text", "choices": ["a"]}], "only choice fields"),
        ([{"name": "x", "type": "text", "colour": "red"}], "unknown keys colour"),
    ],
)
def test_schema_errors(schema, message):
    with pytest.raises(ValidationError, match=message):
        validate_schema(schema)
