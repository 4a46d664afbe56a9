"""Operator commands about people."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bpo.accounts.models import Membership, User
from bpo.audit.models import AuditEntry
from bpo.intake.models import ImportJob, InboundEmail
from bpo.portal.models import ServiceReport
from bpo.tenancy.scoping import all_clients_unscoped


def test_create_admin_from_the_environment(db, monkeypatch, capsys):
    monkeypatch.setenv("OPENBPO_ADMIN_PASSWORD", "a-strong-first-password")
    call_command("create_admin", "--email", "Boss@Provider.test", "--name", "Boss")
    user = User.objects.get(email="boss@provider.test")
    assert user.check_password("a-strong-first-password")
    assert Membership.objects.get(user=user).role == "admin"
    assert AuditEntry.objects.get(action="admin.bootstrapped").actor_email == "boss@provider.test"


def test_create_admin_refuses_a_weak_password_and_creates_nothing(db, monkeypatch):
    monkeypatch.setenv("OPENBPO_ADMIN_PASSWORD", "short")
    with pytest.raises(CommandError, match=r"Nothing was created.*too short"):
        call_command("create_admin", "--email", "boss@provider.test", "--name", "Boss")
    assert not User.objects.exists()


def test_create_admin_without_terminal_or_password_says_how(db, monkeypatch):
    monkeypatch.delenv("OPENBPO_ADMIN_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(CommandError, match="OPENBPO_ADMIN_PASSWORD"):
        call_command("create_admin", "--email", "boss@provider.test", "--name", "Boss")


def test_demo_seed_is_idempotent(db, capsys):
    call_command("seed_demo")
    counts = (User.objects.count(), Membership.objects.count(), AuditEntry.objects.count())
    call_command("seed_demo")
    assert (User.objects.count(), Membership.objects.count()) == counts[:2]
    assert AuditEntry.objects.count() == counts[2]
    assert User.objects.count() == 11
    out = capsys.readouterr().out
    assert "admin@northwind.example" in out
    assert "[6/9] intake: care@northwind.example, a public form, 2 e-mails, an import of 24" in out
    assert "[7/9] history:" in out and "1 monthly report(s) made" not in out
    with all_clients_unscoped("test"):
        assert ImportJob.objects.get().items_created == 24
        # Nine weeks of history, and each service's report of last month.
        assert ServiceReport.objects.filter(generated_by__isnull=True).count() >= 1
        nw = ServiceReport.objects.get(service__key="nw-customer-service")
        assert nw.figures["volumes"]["created"] > 0 and nw.figures["breaches"]["count"] > 0
        assert sorted(InboundEmail.objects.values_list("status", flat=True)) == [
            "ignored",
            "processed",
        ]
