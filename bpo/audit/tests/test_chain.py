"""The audit log is append-only and its hash chain exposes tampering."""

import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from bpo.audit.log import GENESIS, record, verify_chain
from bpo.audit.models import AuditEntry


@pytest.fixture
def entries(db):
    return [
        record("test.event", object_type="thing", object_id=str(n), after={"n": n})
        for n in range(5)
    ]


def raw_sql(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def without_triggers(statement: str, params=()) -> None:
    """Tamper as a database superuser would: around the append-only triggers."""
    if connection.vendor == "postgresql":
        raw_sql("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_no_update")
        raw_sql(statement, params)
        raw_sql("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_no_update")
    else:
        raw_sql("DROP TRIGGER audit_entry_no_update")
        raw_sql(statement, params)


def test_entries_chain_from_genesis(entries):
    assert entries[0].prev_hash == GENESIS
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.hash
    assert verify_chain().ok and verify_chain().checked == 5


def test_the_application_cannot_change_or_delete_entries(entries):
    entry = AuditEntry.objects.get(pk=entries[0].pk)
    entry.action = "rewritten"
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()


def test_the_database_refuses_updates(entries):
    with pytest.raises(DatabaseError), transaction.atomic():
        raw_sql("UPDATE audit_auditentry SET action = 'x' WHERE id = %s", [entries[1].pk])
    assert AuditEntry.objects.get(pk=entries[1].pk).action == "test.event"


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_refuses_deletes(entries):
    with pytest.raises(DatabaseError), transaction.atomic():
        raw_sql("DELETE FROM audit_auditentry WHERE id = %s", [entries[1].pk])


def test_verifier_names_a_changed_entry(entries):
    without_triggers(
        "UPDATE audit_auditentry SET after = %s WHERE id = %s", ['{"n": 99}', entries[2].pk]
    )
    report = verify_chain()
    assert not report.ok and report.broken_id == entries[2].pk and report.checked == 2
    assert "changed after it was written" in report.reason
    with pytest.raises(CommandError, match=f"BROKEN at entry #{entries[2].pk}"):
        call_command("audit_verify")


def test_verifier_names_the_entry_after_a_deleted_one(entries):
    without_triggers("DELETE FROM audit_auditentry WHERE id = %s", [entries[1].pk])
    report = verify_chain()
    assert report.broken_id == entries[2].pk
    assert "deleted" in report.reason


def test_verifier_catches_a_rehashed_entry(entries):
    """Changing a row and recomputing its own hash still breaks the link to the next row."""
    forged = AuditEntry.objects.get(pk=entries[3].pk)
    forged.after = {"n": "forged"}
    without_triggers(
        "UPDATE audit_auditentry SET after = %s, hash = %s WHERE id = %s",
        ['{"n": "forged"}', forged.compute_hash(), forged.pk],
    )
    assert verify_chain().broken_id == entries[4].pk


def test_intact_chain_passes_the_command(entries, capsys):
    call_command("audit_verify")
    assert "intact: 5 entries" in capsys.readouterr().out


def test_audit_log_page_verifies_the_chain(world):
    http = world.login("admin")
    response = http.post("/audit/")
    assert response.status_code == 200 and 'data-testid="chain-ok"' in response.content.decode()
    assert world.login("manager").get("/audit/").status_code == 403


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="in-memory SQLite test databases do not share writes across threads; "
    "file databases serialise writers with IMMEDIATE transactions",
)
def test_concurrent_writers_never_fork_the_chain():
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def write(n: int) -> None:
        try:
            for i in range(10):
                record("test.concurrent", object_id=f"{n}-{i}", client_id=n % 3 or None)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(write, range(6)))
    links = list(AuditEntry.objects.values_list("client_id", "prev_hash"))
    assert len(links) == 60 and len(set(links)) == 60  # no chain forks
    assert verify_chain().ok


def test_audit_log_exports_as_csv_with_filters(world):
    import csv

    world.login("agent").get("/people/")  # a denial to find
    response = world.login("admin").get("/audit/export.csv?action=permission.")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(b"".join(response.streaming_content).decode().splitlines()))
    assert [r["action"] for r in rows] == ["permission.denied"]
    assert rows[0]["actor_email"] == "agent@own.test" and len(rows[0]["hash"]) == 64
    assert AuditEntry.objects.filter(action="audit.exported").exists()


def test_each_client_has_its_own_chain(db):
    a1 = record("test.a", object_id="a1", client_id=1)
    provider = record("test.provider", object_id="p1")
    b1 = record("test.b", object_id="b1", client_id=2)
    a2 = record("test.a", object_id="a2", client_id=1)
    b2 = record("test.b", object_id="b2", client_id=2)
    assert (a1.prev_hash, b1.prev_hash, provider.prev_hash) == (GENESIS, GENESIS, GENESIS)
    assert a2.prev_hash == a1.hash and b2.prev_hash == b1.hash
    assert verify_chain().ok and verify_chain().checked == 5


def test_a_deleted_entry_is_found_among_other_clients_entries(db):
    a1 = record("test.a", object_id="a1", client_id=1)
    a2 = record("test.a", object_id="a2", client_id=1)
    record("test.b", object_id="b1", client_id=2)
    a3 = record("test.a", object_id="a3", client_id=1)
    without_triggers("DELETE FROM audit_auditentry WHERE id = %s", [a2.pk])
    report = verify_chain()
    assert report.broken_id == a3.pk
    assert f"does not follow entry #{a1.pk}" in report.reason


def test_a_log_written_as_one_chain_still_verifies(db):
    """Logs written before the chains were split per client link every entry to the one
    before it, whatever its client."""
    previous = GENESIS
    for n, client_id in enumerate([1, 2, None, 1, 2]):
        entry = AuditEntry(
            at=timezone.now(),
            client_id=client_id,
            action="test.legacy",
            object_id=str(n),
            prev_hash=previous,
        )
        entry.hash = entry.compute_hash()
        entry.save()
        previous = entry.hash
    newer = record("test.a", object_id="after the upgrade", client_id=1)
    assert verify_chain().ok and verify_chain().checked == 6
    assert newer.prev_hash == AuditEntry.objects.filter(client_id=1).order_by("-id")[1].hash
