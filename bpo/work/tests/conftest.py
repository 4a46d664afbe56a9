"""Fixtures of the work tests."""

import pytest

from bpo.work.tests.test_items_api import agreed_service


@pytest.fixture
def service(world):
    """The own client's agreed support service (custom fields: order, reason)."""
    return agreed_service(world, world.own)
