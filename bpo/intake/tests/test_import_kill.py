"""An import killed with SIGKILL halfway resumes and ends with exactly the rows of the file, none
twice — on SQLite and on PostgreSQL. The import runs as ``manage.py import_items`` in a process
of its own, which is killed once some batches are written; a second ``--resume --take-over``
finishes it. (The suite's SQLite database lives in memory, which other processes cannot share,
so on SQLite the test migrates a database file of its own.)"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROWS = 30_000

SEED = """
import django, json
django.setup()
from types import SimpleNamespace
from bpo.accounts.models import Membership, User
from bpo.tenancy.context import actor_for
from bpo.tenancy.models import Client
from bpo.work.tests.slaworld import sla_service

client = Client.objects.create(name="Kill Test GmbH", slug="kill")
admin = User.objects.create_user(email="admin@kill.test", password="x", full_name="Admin")
Membership.objects.create(user=admin, role="admin", client=None)
service = sla_service(SimpleNamespace(own=client, actor=lambda role: actor_for(admin)), client)
print(json.dumps({"service": service.pk, "client": client.pk}))
"""

COUNT = """
import django, json, sys
django.setup()
from django.db.models import Count
from bpo.intake.models import ImportJob
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.models import WorkItem

with all_clients_unscoped("test"):
    items = WorkItem.objects.filter(client_id=int(sys.argv[1]))
    refs = items.values_list("external_ref", flat=True)
    job = ImportJob.objects.get()
    print(json.dumps({"refs": list(refs), "status": job.status, "created": job.items_created,
                      "done": job.rows_done}))
"""


def progress_of(vendor: str, db_file: Path) -> tuple[int, str, int] | None:
    """(id, status, rows_done) of the import, read straight from the database."""
    sql = "SELECT id, status, rows_done FROM intake_importjob"
    if vendor == "sqlite":
        with closing(sqlite3.connect(db_file, timeout=30)) as db:
            row = db.execute(sql).fetchone()
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            row = cursor.fetchone()
    return (row[0], row[1], row[2]) if row else None


@pytest.mark.django_db(transaction=True)
def test_an_import_killed_with_sigkill_resumes_to_exactly_the_rows_of_the_file(tmp_path):
    vendor = connection.vendor
    db_file = tmp_path / "kill.sqlite3"
    if vendor == "sqlite":
        url = f"sqlite:///{db_file}"
    else:
        db = connection.settings_dict
        url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bpo.settings",
        "DATABASE_URL": url,
        "OPENBPO_VAR_DIR": str(tmp_path),
    }
    cwd = Path(settings.BASE_DIR)

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    if vendor == "sqlite":
        run("manage.py", "migrate", "--noinput", "-v0")
    seeded = json.loads(run("-c", SEED).strip().splitlines()[-1])
    path = tmp_path / "big.csv"
    lines = ["Reference,Title,Priority,E-mail"] + [
        f"K-{n},Request {n},{'high' if n % 7 == 0 else 'normal'},person{n % 500}@example.org"
        for n in range(ROWS)
    ]
    path.write_text("\n".join(lines) + "\n")
    importer = subprocess.Popen(
        [
            *(sys.executable, "manage.py", "import_items", str(path)),
            *("--service", str(seeded["service"]), "--as", "admin@kill.test"),
        ],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while True:
            assert importer.poll() is None, f"the import ended unkilled: {importer.stderr.read()}"
            seen = progress_of(vendor, db_file)
            if seen and seen[1] == "running" and seen[2] >= 2_000:
                break
            time.sleep(0.01)
    finally:
        importer.send_signal(signal.SIGKILL)
        importer.wait()
    job, status, halfway = progress_of(vendor, db_file) or (0, "", 0)
    assert status == "running" and 0 < halfway < ROWS
    run("manage.py", "import_items", "--resume", str(job), "--as", "admin@kill.test", "--take-over")
    final = json.loads(run("-c", COUNT, str(seeded["client"])).strip().splitlines()[-1])
    assert (final["status"], final["created"], final["done"]) == ("done", ROWS, ROWS)
    assert len(final["refs"]) == ROWS
    assert set(final["refs"]) == {f"K-{n}" for n in range(ROWS)}
