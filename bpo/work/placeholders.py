"""Placeholders in canned responses: {contact_name} and friends, filled in when an agent uses one.

A placeholder this module does not know, or one without a value (a contact without a name), is
left as typed, braces and all, so the agent sees what to fill in by hand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PLACEHOLDERS: dict[str, str] = {
    "contact_name": "the contact's name",
    "contact_email": "the contact's e-mail address",
    "agent_name": "the name of the agent who replies",
    "item_id": "the work item's number",
    "item_title": "the work item's title",
    "service_name": "the service's name",
    "client_name": "the client's name",
}

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each ``{name}`` that has a non-empty value in ``values`` replaced by it."""
    return _PLACEHOLDER.sub(lambda m: values.get(m[1]) or m[0], text)
