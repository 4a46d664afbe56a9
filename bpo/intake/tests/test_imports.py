"""File imports: columns mapped by their names, every row checked before anything is written
(errors with row and column), items taken in batch by batch, nothing created twice, and an
import stopped halfway resumed to exactly the rows of the file."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import Workbook

from bpo.audit.models import AuditEntry
from bpo.intake import imports
from bpo.intake.models import ImportJob, ImportStatus
from bpo.intake.tests.conftest import every
from bpo.tenancy.context import Forbidden, acting_as
from bpo.tenancy.scoping import ScopeError, all_clients_unscoped
from bpo.work.models import Contact, Event, SlaClock, WorkItem
from bpo.work.tests.test_items_api import agreed_service, api_as

HEADER = "Reference,Subject,Description,Priority,E-mail,Name,Order,Reason,Tags\r\n"


def csv_file(*lines: str, header: str = HEADER) -> bytes:
    return (header + "".join(line + "\r\n" for line in lines)).encode()


def good_rows(count: int, start: int = 1) -> list[str]:
    return [
        f"R-{n},Parcel {n} missing,Ordered on Monday,{'high' if n % 2 else 'normal'},"
        f"buyer{n % 3}@customer.example,Buyer {n % 3},A-{n},complaint,parcel;late"
        for n in range(start, start + count)
    ]


@pytest.fixture
def service(world):
    return agreed_service(world, world.own)


def upload(world, service, data: bytes, name: str = "batch.csv", role: str = "manager", **kw):
    with acting_as(world.actor(role)) as actor:
        return imports.import_upload(
            actor=actor, service=service, upload=io.BytesIO(data), file_name=name, **kw
        )


def run(world, job: ImportJob, role: str = "manager") -> ImportJob:
    with acting_as(world.actor(role)) as actor:
        imports.import_start(actor=actor, job=job, enqueue=False)
        return imports.import_run(job_id=job.pk)


def items() -> list[WorkItem]:
    return every(WorkItem)


def test_columns_are_mapped_by_their_names_and_every_row_becomes_an_item(world, service):
    job = upload(world, service, csv_file(*good_rows(3)))
    assert job.mapping == [
        "external_ref",
        "title",
        "description",
        "priority",
        "contact_email",
        "contact_name",
        "cf:order",
        "cf:reason",
        "tags",
    ]
    assert (job.status, job.rows_total, job.error_count) == (ImportStatus.READY, 3, 0)
    assert items() == []  # checked, nothing written yet
    done = run(world, job)
    assert (done.status, done.items_created, done.items_skipped, done.rows_done) == (
        ImportStatus.DONE,
        3,
        0,
        3,
    )
    made = items()
    assert [i.external_ref for i in made] == ["R-1", "R-2", "R-3"]
    first = made[0]
    assert (first.title, first.priority, first.channel) == ("Parcel 1 missing", "high", "import")
    assert first.custom_fields == {"order": "A-1", "reason": "complaint"}
    assert first.tags == ["parcel", "late"]
    assert first.queue is not None and made[1].due_at is not None  # normal has a target
    with all_clients_unscoped("test"):
        assert first.contact.email == "buyer1@customer.example"
        assert Contact.objects.count() == 3  # buyer0..2, each once
        assert SlaClock.objects.filter(item__in=made).count() == 1  # only normal has a target
        assert Event.objects.filter(item__in=made, kind="created").count() == 3
        logged = AuditEntry.objects.filter(action="work_item.created_many").get()
        assert logged.object_id == str(job.pk)
        assert sorted(logged.after["items"]) == sorted(i.pk for i in made)
        assert {"import.uploaded", "import.checked", "import.started", "import.finished"} <= set(
            AuditEntry.objects.values_list("action", flat=True)
        )


def test_every_problem_is_named_by_row_and_column_and_nothing_is_written(world, service):
    data = csv_file(
        "R-1,Fine,,normal,a@customer.example,Anna,A-1,return,",
        "R-2,,,normal,b@customer.example,Ben,A-2,return,",  # no title
        "R-3,Urgent,,asap,not-an-address,Cy,A-3,praise,",  # priority, e-mail, reason
        "R-1,Twice,,low,,,A-4,,",  # reference again
        "R-5,No order,,low,,,,,",  # a required custom field empty
    )
    job = upload(world, service, data)
    assert job.status == ImportStatus.INVALID
    found = {(e["row"], e["column"]): e["message"] for e in job.errors}
    assert found[(3, "Subject (B)")] == "A title is required."
    assert "'asap' is not a priority" in found[(4, "Priority (D)")]
    assert "valid email address" in found[(4, "E-mail (E)")]
    assert "praise" in found[(4, "Reason (H)")]
    assert found[(5, "Reference (A)")] == "The external reference 'R-1' is on row 2 too."
    assert "required" in found[(6, "Order (G)")]
    assert job.error_count == 6
    assert items() == []
    with acting_as(world.actor("manager")) as manager, pytest.raises(ValidationError):
        imports.import_start(actor=manager, job=job)


def test_the_mapping_is_chosen_by_hand_and_checked_again(world, service):
    data = csv_file("x,Hello,1", header="Ticket,Headline,Order no\r\n")
    job = upload(world, service, data)
    assert job.mapping == ["", "", ""]
    assert job.status == ImportStatus.UPLOADED  # nothing to check before a title is chosen
    with acting_as(world.actor("manager")) as manager:
        with pytest.raises(ValidationError, match="Expected a list of targets"):
            imports.import_map(actor=manager, job=job, mapping="title")  # type: ignore[arg-type]
        twice = imports.import_map(actor=manager, job=job, mapping=["title", "title", ""])
        problems = [e["message"] for e in twice.errors]
        assert "Title is chosen for more than one column." in problems
        assert "order is required by the service: choose the column that holds it." in problems
        ready = imports.import_map(
            actor=manager, job=job, mapping=["external_ref", "title", "cf:order"]
        )
    assert ready.status == ImportStatus.READY
    run(world, ready)
    (item,) = items()
    assert (item.title, item.external_ref, item.custom_fields) == ("Hello", "x", {"order": "1"})


def test_the_same_file_twice_creates_nothing_twice(world, service):
    run(world, upload(world, service, csv_file(*good_rows(4))))
    again = upload(world, service, csv_file(*good_rows(6)))  # the 4 known rows and 2 new ones
    assert again.rows_existing == 4
    done = run(world, again)
    assert (done.items_created, done.items_skipped) == (2, 4)
    refs = [i.external_ref for i in items()]
    assert sorted(refs) == [f"R-{n}" for n in range(1, 7)] and len(set(refs)) == 6


def test_an_xlsx_file_with_numbers_dates_and_yes_no_words(world):
    service = agreed_service(
        world,
        world.own,
        custom_fields=[
            {"name": "order", "type": "text", "required": True},
            {"name": "amount", "type": "number"},
            {"name": "due", "type": "date"},
            {"name": "vip", "type": "boolean"},
        ],
    )
    book = Workbook()
    book.active.append(["Title", "Order", "Amount", "Due", "VIP", "Ref"])
    book.active.append(["Invoice query", 4711, 1234.5, timezone.datetime(2026, 12, 1), "yes", 7])
    book.active.append(["Second", "A-2", "99.90", "2026-12-02", True, "R-8"])
    book.active.append(["Third", "A-3", "12,5", "", "maybe", "R-9"])
    data = io.BytesIO()
    book.save(data)
    job = upload(world, service, data.getvalue(), name="sheet.xlsx")
    errors = {(e["row"], e["column"]): e["message"] for e in job.errors}
    assert set(errors) == {(4, "Amount (C)"), (4, "VIP (E)")}
    assert "write decimals with a point" in errors[(4, "Amount (C)")]
    assert errors[(4, "VIP (E)")] == "'maybe' is not yes or no."


def test_an_import_stopped_halfway_resumes_after_its_last_batch(world, service, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_ROWS", 3)
    job = upload(world, service, csv_file(*good_rows(10)))
    real = imports.work.work_items_create_many
    calls = {"n": 0}

    def fails_on_the_third_batch(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(imports.work, "work_items_create_many", fails_on_the_third_batch)
    with pytest.raises(RuntimeError):
        run(world, job)
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.items_created) == (ImportStatus.FAILED, 6, 6)
    assert "database went away" in job.failure and "resume it" in job.failure
    assert len(items()) == 6  # the failed batch left nothing behind
    monkeypatch.setattr(imports.work, "work_items_create_many", real)
    with acting_as(world.actor("manager")) as manager:
        imports.import_resume(actor=manager, job=job, enqueue=False)
        done = imports.import_run(job_id=job.pk)
    assert (done.status, done.rows_done, done.items_created) == (ImportStatus.DONE, 10, 10)
    assert sorted(int(i.external_ref[2:]) for i in items()) == list(range(1, 11))


def test_a_running_import_belongs_to_one_process_at_a_time(world, service, monkeypatch):
    job = upload(world, service, csv_file(*good_rows(5)))
    with acting_as(world.actor("manager")) as manager:
        imports.import_start(actor=manager, job=job, enqueue=False)
        ImportJob.objects.filter(pk=job.pk).update(runner="other", heartbeat_at=timezone.now())
        with pytest.raises(imports.ImportBusy):
            imports.import_run(job_id=job.pk)
        assert imports.imports_stalled() == []
        # The other process stops writing: after the lease, the import is stalled...
        stale = timezone.now() - imports.LEASE - timedelta(seconds=1)
        ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=stale)
        assert imports.imports_stalled() == [(job.pk, world.own.pk)]
        # ...and another process takes it over.
        assert imports.import_run(job_id=job.pk).items_created == 5


def test_a_run_that_lost_its_lease_stops_writing(world, service, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_ROWS", 2)
    job = upload(world, service, csv_file(*good_rows(6)))
    taken = []

    def another_process_takes_over(current):
        taken.append(current.rows_done)
        ImportJob.objects.filter(pk=current.pk).update(runner="someone-else")

    with acting_as(world.actor("manager")) as manager:
        imports.import_start(actor=manager, job=job, enqueue=False)
        stopped = imports.import_run(job_id=job.pk, progress=another_process_takes_over)
    assert taken == [2] and stopped.status == ImportStatus.RUNNING
    assert len(items()) == 2


def test_the_worker_runs_a_started_import_and_resumes_a_stalled_one(world, service):
    from bpo.intake.tasks import import_run_job, imports_resume_job

    job = upload(world, service, csv_file(*good_rows(3)))
    with acting_as(world.actor("manager")) as manager:
        imports.import_start(actor=manager, job=job, enqueue=False)
        stale = timezone.now() - imports.LEASE - timedelta(minutes=1)
        ImportJob.objects.filter(pk=job.pk).update(started_at=stale)
    assert imports_resume_job.call() == 1
    result = import_run_job.call(job_id=job.pk, client_id=world.own.pk)
    assert result == {"status": "done", "created": 3, "skipped": 0}


def test_who_may_import_and_where(world, service):
    other = agreed_service(world, world.other, key="oth")
    data = csv_file(*good_rows(1))
    with pytest.raises(Forbidden):
        upload(world, service, data, role="agent")
    with pytest.raises((ScopeError, Forbidden)):
        upload(world, other, data, role="manager")  # not assigned to the other client
    job = upload(world, service, data, role="client_admin")  # the client's own batch
    assert run(world, job, role="client_admin").items_created == 1


# --- API ---------------------------------------------------------------------------------------


def test_the_api_uploads_maps_starts_and_reports(
    world, service, django_capture_on_commit_callbacks
):
    http = api_as(world, "manager")
    data = csv_file("1,Hello,,,,,", header="Ticket,Headline,Body,P,Mail,Who,Order no\r\n")
    sent = http.post(
        "/api/v1/imports",
        {"service_id": str(service.pk), "file": SimpleUploadedFile("b.csv", data)},
    )
    assert sent.status_code == 201, sent.content
    body = sent.json()
    assert body["status"] == "uploaded" and body["headers"][0] == "Ticket"
    assert body["targets"]["cf:order"] == "order (custom field)"
    mapped = http.put(
        f"/api/v1/imports/{body['id']}/mapping",
        json.dumps({"mapping": ["external_ref", "title", "description", "", "", "", ""]}),
        content_type="application/json",
    )
    assert mapped.status_code == 200
    assert mapped.json()["status"] == "invalid"
    assert mapped.json()["errors"][0] == {
        "row": None,
        "column": "—",
        "message": "order is required by the service: choose the column that holds it.",
    }
    mapped = http.put(
        f"/api/v1/imports/{body['id']}/mapping",
        json.dumps({"mapping": ["external_ref", "title", "", "", "", "", "cf:order"]}),
        content_type="application/json",
    )
    assert mapped.json()["errors"] == [
        {"row": 2, "column": "Order no (G)", "message": "order is required."}
    ]
    listed = http.get("/api/v1/imports?status=invalid").json()
    assert [i["id"] for i in listed["items"]] == [body["id"]]


def test_api_bad_uploads_name_the_field(world, service):
    http = api_as(world, "manager")
    cases = [
        ({"encoding": "klingon"}, "body.encoding", "not one of utf-8"),
        ({"file_name": "old.xls"}, "body.file", "old Excel 97"),
        ({"data": b""}, "body.file", "The file is empty."),
        ({"service_id": "987654"}, "body.service_id", "no service with id 987654"),
    ]
    for case, path, message in cases:
        form = {
            "service_id": case.get("service_id", str(service.pk)),
            "file": SimpleUploadedFile(case.get("file_name", "a.csv"), case.get("data", b"T\n1\n")),
        }
        if "encoding" in case:
            form["encoding"] = case["encoding"]
        answer = http.post("/api/v1/imports", form)
        assert answer.status_code == 422, answer.content
        (field,) = answer.json()["error"]["fields"]
        assert field["path"] == path and message in field["message"], field
    assert every(ImportJob) == []


@pytest.mark.django_db(transaction=True)  # the worker closes its database connection
def test_api_start_then_the_worker_takes_the_rows_in(
    world, service, django_capture_on_commit_callbacks
):
    http = api_as(world, "client_admin")
    sent = http.post(
        "/api/v1/imports",
        {
            "service_id": str(service.pk),
            "file": SimpleUploadedFile("b.csv", csv_file(*good_rows(2))),
        },
    )
    job_id = sent.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        started = http.post(f"/api/v1/imports/{job_id}/start")
    assert started.status_code == 202 and started.json()["status"] == "running"
    call_command("db_worker", batch=True, startup_delay=False)
    got = http.get(f"/api/v1/imports/{job_id}").json()
    assert (got["status"], got["items_created"], got["percent"]) == ("done", 2, 100)
    again = http.post(f"/api/v1/imports/{job_id}/start")
    assert again.status_code == 422 and "Only a checked import starts" in again.content.decode()


# --- Web UI ------------------------------------------------------------------------------------


def test_the_web_pages_upload_show_samples_and_errors_then_start(world, service):
    http = world.login("manager")
    page = http.get("/intake/imports/")
    assert page.status_code == 200 and "Upload a file" in page.content.decode()
    data = csv_file(*good_rows(2), "R-9,,,,,,A-9,,")
    sent = http.post(
        "/intake/imports/",
        {"service": service.pk, "file": SimpleUploadedFile("day.csv", data), "encoding": ""},
    )
    assert sent.status_code == 302
    (job,) = every(ImportJob)
    detail = http.get(sent["Location"]).content.decode()
    assert "day.csv" in detail and "Parcel 1 missing" in detail  # sample values
    assert "A title is required." in detail and 'data-testid="import-error"' in detail
    with all_clients_unscoped("test"):
        assert AuditEntry.objects.filter(action="import.previewed").exists()
    # Leave the Subject column out: no title column is a problem of the mapping.
    mapping = {f"column-{i}": t for i, t in enumerate(job.mapping)}
    http.post(f"/intake/imports/{job.pk}/", {**mapping, "column-1": ""})
    job.refresh_from_db()
    assert "Choose the column that holds each item's title." in [e["message"] for e in job.errors]
    bad = http.post(
        "/intake/imports/", {"service": service.pk, "file": SimpleUploadedFile("x.xls", b"x")}
    )
    assert bad.status_code == 400 and "old Excel 97" in bad.content.decode()


def test_the_progress_fragment_polls_while_running(world, service):
    http = world.login("manager")
    job = upload(world, service, csv_file(*good_rows(2)))
    assert http.post(f"/intake/imports/{job.pk}/start/").status_code == 302
    running = http.get(f"/intake/imports/{job.pk}/progress/").content.decode()
    assert 'hx-trigger="every 1s"' in running and 'data-status="running"' in running
    with acting_as(world.actor("manager")):
        imports.import_run(job_id=job.pk)
    done = http.get(f"/intake/imports/{job.pk}/progress/").content.decode()
    assert (
        "hx-trigger" not in done and "100 %" in done and "<strong>2</strong> items created" in done
    )


# --- Command -----------------------------------------------------------------------------------


def test_the_command_imports_with_a_mapping_and_a_progress_bar(world, service, tmp_path, capsys):
    path = tmp_path / "night.csv"
    path.write_bytes(csv_file("7,Hello,A-7", header="Ticket,Headline,Order no\r\n"))
    args = [str(path), "--service", str(service.pk), "--as", "manager@own.test"]
    with pytest.raises(CommandError, match="is invalid: nothing was written"):
        call_command("import_items", *args)
    call_command(
        "import_items",
        *args,
        "--map",
        "Ticket=external_ref",
        "--map",
        "headline=title",
        "--map",
        "Order no=cf:order",
    )
    out, err = capsys.readouterr()
    assert "1 items created, 0 skipped" in out
    assert "Importing 100.0%  1/1 rows" in err
    with pytest.raises(CommandError, match="--map 'Nope=title': expected HEADER=FIELD"):
        call_command("import_items", *args, "--map", "Nope=title")
    with pytest.raises(CommandError, match="There is no active user"):
        call_command("import_items", str(path), "--service", str(service.pk), "--as", "x@y.z")


def test_a_file_above_the_upload_limit_is_named_on_the_page(world, service, settings):
    settings.OPENBPO_MAX_ATTACHMENT_BYTES = 100
    http = world.login("manager")
    page = http.post(
        "/intake/imports/",
        {"service": service.pk, "file": SimpleUploadedFile("huge.csv", csv_file(*good_rows(5)))},
    )
    assert page.status_code == 413
    assert "&#x27;huge.csv&#x27; is larger than the limit of 100 bytes" in page.content.decode()
    assert every(ImportJob) == []


def test_the_command_resumes_a_stopped_import_as_a_person_who_may(world, service, capsys):
    job = upload(world, service, csv_file(*good_rows(3)))
    with all_clients_unscoped("test"):
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED, failure="killed")
    with pytest.raises(CommandError, match="Name the person who imports"):
        call_command("import_items", "--resume", str(job.pk))
    with pytest.raises(CommandError, match="does not allow you to import"):
        call_command("import_items", "--resume", str(job.pk), "--as", "agent@own.test")
    with pytest.raises(CommandError, match=f"There is no import {job.pk} that"):
        call_command("import_items", "--resume", str(job.pk), "--as", "client_admin@other.test")
    call_command("import_items", "--resume", str(job.pk), "--as", "client_admin@own.test")
    assert "3 items created" in capsys.readouterr().out
    with pytest.raises(CommandError, match="is done; nothing to resume"):
        call_command("import_items", "--resume", str(job.pk), "--as", "manager@own.test")


def test_the_menu_leads_managers_through_intake_and_client_admins_straight_to_imports(world):
    manager = world.login("manager").get("/intake/imports/").content.decode()
    menu = manager.split("<main")[0]
    assert 'href="/intake/"' in menu and 'href="/intake/imports/"' not in menu
    assert 'data-testid="intake-tabs"' in manager
    client_admin = world.login("client_admin").get("/").content.decode()
    assert 'href="/intake/imports/"' in client_admin and 'href="/intake/"' not in client_admin
    page = world.login("client_admin").get("/intake/imports/").content.decode()
    assert 'data-testid="intake-tabs"' not in page
