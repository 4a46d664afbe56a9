"""Attachments: stored under the client, typed from their bytes, downloaded safely, audited,
and never shown to the client when internal."""

import hashlib
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bpo.audit.models import AuditEntry
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.models import Attachment, Event
from bpo.work.tests.test_items_api import agreed_service, api_as, create, send

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def upload(http, item_id, content=PNG, name="scan.png", content_type="text/plain", **form):
    """POST a multipart upload; the declared content type is deliberately wrong."""
    data = {"file": SimpleUploadedFile(name, content, content_type=content_type), **form}
    return http.post(f"/api/v1/work-items/{item_id}/attachments", data=data)


def stored_files() -> list[Path]:
    root = Path(storages["attachments"].path(""))
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def item_id(world, service):
    return create(api_as(world, "agent"), service).json()["id"]


def test_upload_sniffs_the_type_and_keeps_a_safe_name(world, item_id):
    agent = api_as(world, "agent")
    before = len(stored_files())
    response = upload(agent, item_id, name="../../etc/\u202egnp.exe/scan.png", note="Scanned")
    assert response.status_code == 201, response.content
    attachment = response.json()
    assert attachment["content_type"] == "image/png"  # not the text/plain the upload claimed
    assert attachment["filename"] == "scan.png"
    assert attachment["size"] == len(PNG)
    assert attachment["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert attachment["internal"] is True  # provider staff: internal unless said otherwise
    files = stored_files()
    assert len(files) == before + 1
    assert PNG in [f.read_bytes() for f in files]
    with all_clients_unscoped("test check"):
        stored = Attachment.objects.get(pk=attachment["id"])
        assert stored.stored_name.startswith(f"{world.own.pk}/")  # one directory per client
        event = Event.objects.get(pk=attachment["event_id"])
    assert event.kind == "note" and event.internal and event.body == "Scanned"
    entry = AuditEntry.objects.get(action="work_item.attachment_added")
    assert entry.after["sha256"] == attachment["sha256"] and entry.client_id == world.own.pk


def test_download_is_a_safe_audited_attachment(world, item_id):
    agent = api_as(world, "agent")
    attachment = upload(agent, item_id, content=PDF, name="Rechnung März.pdf").json()
    response = agent.get(f"/api/v1/attachments/{attachment['id']}/content")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''Rechnung%20M%C3%A4rz.pdf" in disposition
    assert "sandbox" in response["Content-Security-Policy"]
    entry = AuditEntry.objects.get(action="attachment.downloaded")
    assert entry.object_id == str(attachment["id"]) and entry.actor_email == "agent@own.test"


def test_unknown_bytes_are_never_served_as_what_the_uploader_said(world, item_id):
    agent = api_as(world, "agent")
    text = upload(
        agent, item_id, content="Grüße\n".encode(), name="a.html", content_type="text/html"
    )
    binary = upload(agent, item_id, content=b"\x00\x01\x02\xff", name="b.txt")
    assert text.json()["content_type"] == "text/plain"
    assert binary.json()["content_type"] == "application/octet-stream"


def test_the_client_never_sees_internal_attachments(world, item_id):
    agent = api_as(world, "agent")
    internal = upload(agent, item_id, note="Customer's ID card, for us only").json()
    bare_internal = upload(agent, item_id, content=PDF, name="internal.pdf").json()
    shared = upload(
        agent, item_id, content=PDF, name="label.pdf", note="Your label", internal="false"
    )
    assert shared.status_code == 201, shared.content
    shared = shared.json()
    assert shared["internal"] is False
    viewer = api_as(world, "client_viewer")
    listed = send(viewer, "GET", f"/api/v1/work-items/{item_id}/attachments").json()["items"]
    assert [a["id"] for a in listed] == [shared["id"]]
    for hidden in (internal, bare_internal):
        assert viewer.get(f"/api/v1/attachments/{hidden['id']}/content").status_code == 404
    assert viewer.get(f"/api/v1/attachments/{shared['id']}/content").status_code == 200
    timeline = send(viewer, "GET", f"/api/v1/work-items/{item_id}").json()["timeline"]
    reply = next(e for e in timeline if e["kind"] == "message_out")
    assert reply["body"] == "Your label"
    assert reply["attachments"] == [
        {
            "id": shared["id"],
            "filename": "label.pdf",
            "size": len(PDF),
            "content_type": "application/pdf",
        }
    ]
    assert "ID card" not in str(timeline)
    # The provider sees all three, on the timeline too.
    everything = send(agent, "GET", f"/api/v1/work-items/{item_id}/attachments").json()["items"]
    assert len(everything) == 3
    staff_timeline = send(agent, "GET", f"/api/v1/work-items/{item_id}").json()["timeline"]
    note = next(e for e in staff_timeline if e["kind"] == "note")
    assert [a["id"] for a in note["attachments"]] == [internal["id"]]


def test_a_client_users_file_is_public_and_their_note_a_message(world, item_id):
    viewer = api_as(world, "client_viewer")
    response = upload(viewer, item_id, content=PDF, name="receipt.pdf", note="Here is the receipt")
    assert response.status_code == 201, response.content
    assert response.json()["internal"] is False
    with all_clients_unscoped("test check"):
        event = Event.objects.get(pk=response.json()["event_id"])
    assert event.kind == "message_in" and not event.internal
    refused = upload(viewer, item_id, content=PDF, name="x.pdf", internal="true")
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["path"] == "body.internal"


def _nothing_written(files_before, events_before):
    assert len(stored_files()) == files_before
    with all_clients_unscoped("test check"):
        assert not Attachment.objects.exists()
        assert Event.objects.count() == events_before
    assert not AuditEntry.objects.filter(action="work_item.attachment_added").exists()


def _counts():
    with all_clients_unscoped("test check"):
        return len(stored_files()), Event.objects.count()


def test_an_oversized_file_is_refused_naming_file_and_limit(world, item_id, settings):
    settings.OPENBPO_MAX_ATTACHMENT_BYTES = 1000
    agent = api_as(world, "agent")
    files_before, events_before = _counts()
    response = upload(agent, item_id, content=b"x" * 1001, name="huge.log", note="big one")
    assert response.status_code == 413
    error = response.json()["error"]
    assert "'huge.log'" in error["message"] and "1,000 bytes" in error["message"]
    assert error["fields"][0]["path"] == "body.file"
    _nothing_written(files_before, events_before)
    assert upload(agent, item_id, content=b"x" * 1000, name="fits.log").status_code == 201


def test_an_empty_file_is_refused(world, item_id):
    agent = api_as(world, "agent")
    files_before, events_before = _counts()
    response = upload(agent, item_id, content=b"", name="empty.pdf", note="see file")
    assert response.status_code == 422
    field = response.json()["error"]["fields"][0]
    assert field["path"] == "body.file" and "'empty.pdf' is empty" in field["message"]
    _nothing_written(files_before, events_before)


def test_a_refused_note_leaves_no_file_behind(world, item_id):
    agent = api_as(world, "agent")
    send(agent, "POST", f"/api/v1/work-items/{item_id}/state", {"state": "cancelled"})
    files_before, events_before = _counts()
    viewer = api_as(world, "client_viewer")
    response = upload(viewer, item_id, content=PDF, name="late.pdf", note="One more thing")
    assert response.status_code == 422 and "open a new one" in response.content.decode()
    _nothing_written(files_before, events_before)


def test_unknown_and_foreign_items_are_not_found(world, service):
    other_service = agreed_service(world, world.other, key="elsewhere")
    foreign = create(api_as(world, "agent", "other_people"), other_service).json()["id"]
    agent = api_as(world, "agent")
    assert upload(agent, 987654321).status_code == 404
    assert upload(agent, foreign).status_code == 404
    assert send(agent, "GET", f"/api/v1/work-items/{foreign}/attachments").status_code == 404
    foreign_file = upload(api_as(world, "agent", "other_people"), foreign).json()["id"]
    assert agent.get(f"/api/v1/attachments/{foreign_file}/content").status_code == 404
    assert agent.get("/api/v1/attachments/987654321/content").status_code == 404


def test_the_timeline_lists_attachments_without_a_query_per_event(world, item_id):
    agent = api_as(world, "agent")
    upload(agent, item_id, note="first")
    with CaptureQueriesContext(connection) as few:
        send(agent, "GET", f"/api/v1/work-items/{item_id}")
    for n in range(6):
        upload(agent, item_id, content=PDF, name=f"{n}.pdf", note=f"note {n}")
        upload(agent, item_id, content=PDF, name=f"{n}b.pdf")
    with CaptureQueriesContext(connection) as many:
        detail = send(agent, "GET", f"/api/v1/work-items/{item_id}").json()
    assert sum(len(e["attachments"]) for e in detail["timeline"]) == 7
    assert len(many) == len(few)
