"""Fixtures of the billing tests: an SMTP peer on loopback that keeps what it is sent."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from bpo.intake.tests.conftest import free_port
from bpo.intake.tests.test_email_out import Collector


@pytest.fixture
def peer(settings):
    port = free_port()
    collector = Collector()
    server = Controller(collector, hostname="127.0.0.1", port=port)
    server.start()
    settings.OPENBPO_SMTP_URL = f"smtp://127.0.0.1:{port}"
    settings.OPENBPO_MAIL_DOMAIN = "openbpo.test"
    yield collector
    server.stop()
