"""On SQLite, several agents pulling at once from separate processes never get the same item and
leave none behind. (The test database of the suite lives in memory, which other processes cannot
share, so this test migrates a database file of its own and pulls from subprocesses.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

AGENTS = 4
ITEMS = 2_000

SEED = """
import django, json, sys
django.setup()
from types import SimpleNamespace
from bpo.accounts.models import Assignment, Membership, User
from bpo.tenancy.context import actor_for
from bpo.tenancy.models import Client
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.models import WorkItem
from bpo.work.tests.slaworld import sla_service
from bpo.workforce.models import AgentProfile, Certification

client = Client.objects.create(name="Pull Test GmbH", slug="pull")
admin = User.objects.create_user(email="admin@pull.test", password="x", full_name="Admin")
Membership.objects.create(user=admin, role="admin", client=None)
world = SimpleNamespace(own=client, actor=lambda role: actor_for(admin))
service = sla_service(world, client)
agents = []
with all_clients_unscoped("concurrency test setup"):
    for n in range(int(sys.argv[1])):
        user = User.objects.create_user(email=f"a{n}@pull.test", password="x", full_name=f"A{n}")
        Membership.objects.create(user=user, role="agent", client=None)
        Assignment.objects.create(user=user, client=client)
        Certification.objects.create(client=client, service=service, user=user)
        AgentProfile.objects.create(user=user, capacity=10_000)
        agents.append(user.pk)
    terms = service.terms.get()
    queue = service.queues.get()
    WorkItem.objects.bulk_create(
        WorkItem(client=client, service=service, terms=terms, queue=queue, title=f"Item {n}")
        for n in range(int(sys.argv[2]))
    )
print(json.dumps(agents))
"""

PULL = """
import django, json, sys
django.setup()
from bpo.accounts.models import User
from bpo.tenancy.context import acting_as, actor_for
from bpo.work import actions

actor = actor_for(User.objects.get(pk=int(sys.argv[1])))
taken = []
with acting_as(actor):
    while (item := actions.work_item_next(actor=actor)) is not None:
        taken.append(item.pk)
print(json.dumps(taken))
"""


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="PostgreSQL has its own 32-thread test")
def test_agents_in_separate_processes_never_get_the_same_item(tmp_path: Path) -> None:
    assert connection.vendor == "sqlite"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bpo.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'pull.sqlite3'}",
        "OPENBPO_VAR_DIR": str(tmp_path),
    }

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args],
            env=env,
            cwd=Path(settings.BASE_DIR),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    run("manage.py", "migrate", "--noinput", "-v0")
    agents = json.loads(run("-c", SEED, str(AGENTS), str(ITEMS)).strip().splitlines()[-1])
    pullers = [
        subprocess.Popen(
            [sys.executable, "-c", PULL, str(agent)],
            env=env,
            cwd=Path(settings.BASE_DIR),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for agent in agents
    ]
    taken: list[int] = []
    for puller in pullers:
        out, err = puller.communicate(timeout=600)
        assert puller.returncode == 0, err[-3000:]
        taken += json.loads(out.strip().splitlines()[-1])
    assert len(taken) == len(set(taken)) == ITEMS
