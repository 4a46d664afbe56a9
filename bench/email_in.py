"""E-mail in: messages per second from SMTP receipt to work item, beside the bare parse of the
same messages in the same run.

The receiver is the production one, ``manage.py smtp_receive``, in its own process on a free
loopback port. Senders (one thread and one SMTP connection each) hand it a mix of real-world
messages — plain, quoted-printable Latin-1, HTML-only, unknown charset, broken boundary, raw
8-bit headers, inline image and PDF, forwarded message, invitation, Outlook winmail.dat — each
with its own Message-ID, to the mailboxes of several clients' services. The receiver answers
250 once the message is stored *and* taken in (a new work item with its timeline, SLA clocks,
attachments, audit entries and an acknowledgement in the outbox), so the time until the last
250 is the time from receipt to work item. The baseline parses the same messages with
``bpo.intake.mail.parse`` in this process, nothing stored.
"""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from email.utils import make_msgid

from django.db import connections

from bench import ROOT, Figure, Options, median, progress
from bench._workload import Shape, client_services, seed_provider
from bench.api import free_port, stop
from bpo.accounts.models import User
from bpo.intake import actions as intake
from bpo.intake import mail
from bpo.intake.models import InboundEmail
from bpo.intake.tests import messages as samples
from bpo.tenancy.context import acting_as, actor_for
from bpo.tenancy.scoping import all_clients_unscoped

HOST = "127.0.0.1"
SHAPE = Shape(clients=4, queues_per_client=2, agents=0, clients_per_agent=0, items=0)
FULL_MESSAGES = 600  # a run
QUICK_MESSAGES = 40
SENDERS = 4
START_SECONDS_LIMIT = 60.0


def corpus() -> list[bytes]:
    """The kinds of message a run rotates through."""
    files = [
        "plain.eml",
        "latin1-qp.eml",
        "html-only.eml",
        "unknown-charset.eml",
        "broken-boundary.eml",
        "8bit-headers.eml",
    ]
    return [samples.corpus(name) for name in files] + [
        samples.simple(),
        samples.with_inline_image_and_pdf(),
        samples.forwarded(),
        samples.calendar_invite(),
        samples.outlook_winmail(),
    ]


def messages_for(count: int, addresses: list[str], run: int) -> list[tuple[str, bytes]]:
    """``count`` (address, raw message) pairs, each message with a Message-ID of its own."""
    kinds = corpus()
    out = []
    for n in range(count):
        message = message_from_bytes(kinds[n % len(kinds)])
        del message["Message-ID"]
        message["Message-ID"] = make_msgid(idstring=f"r{run}n{n}", domain="bench.example")
        raw = message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        out.append((addresses[n % len(addresses)], raw))
    return out


def seed_mailboxes() -> list[str]:
    """A mailbox for every service of the seeded clients."""
    provider = seed_provider(SHAPE)
    admin = User.objects.get(pk=provider.admin_id)
    addresses = []
    with acting_as(actor_for(admin)) as actor:
        for client_id in provider.client_ids:
            for service in client_services(client_id):
                box = intake.mailbox_save(
                    actor=actor,
                    service=service,
                    address=f"{service.key}@client-{client_id}.bench.example",
                )
                addresses.append(box.address)
    return addresses


def start_receiver(port: int, log_path: os.PathLike[str]) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as log:
        server = subprocess.Popen(  # noqa: S603 (a fixed command line)
            [sys.executable, "manage.py", "smtp_receive", "--host", HOST, "--port", str(port)],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_SECONDS_LIMIT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"smtp_receive exited ({server.returncode})")
        try:
            with smtplib.SMTP(HOST, port, timeout=2) as probe:
                probe.noop()
            return server
        except OSError:
            time.sleep(0.1)
    stop(server)
    raise RuntimeError(f"smtp_receive did not answer within {START_SECONDS_LIMIT:.0f} s")


def send_all(port: int, batch: list[tuple[str, bytes]]) -> float:
    """Hand the batch to the receiver over SENDERS connections; seconds until the last 250."""
    errors: list[BaseException] = []
    shares = [batch[n::SENDERS] for n in range(SENDERS)]
    start = threading.Barrier(SENDERS + 1)

    def sender(share: list[tuple[str, bytes]]) -> None:
        try:
            with smtplib.SMTP(HOST, port, timeout=120) as client:
                start.wait()
                for address, raw in share:
                    client.sendmail("sender@customer.example", [address], raw)
        except BaseException as exc:
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=sender, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"sending failed: {errors[0]!r}") from errors[0]
    return time.perf_counter() - began


def parse_all(batch: list[tuple[str, bytes]]) -> float:
    began = time.perf_counter()
    for _, raw in batch:
        mail.parse(raw)
    return time.perf_counter() - began


def taken_in() -> tuple[int, int]:
    """(messages processed into work, messages stored) over all runs."""
    with all_clients_unscoped("the benchmark counts what the receiver took in"):
        stored = InboundEmail.objects.count()
        done = InboundEmail.objects.filter(status="processed", item__isnull=False).count()
    return done, stored


def run(options: Options) -> list[Figure]:
    """Messages through the SMTP receiver beside the bare parse, interleaved runs."""
    count = QUICK_MESSAGES if options.quick else FULL_MESSAGES
    progress(f"seeding {SHAPE.clients} clients with {SHAPE.queues_per_client} services each")
    addresses = seed_mailboxes()
    connections.close_all()
    port = free_port()
    server = start_receiver(port, options.workdir / "smtp_receive.log")
    progress(f"smtp_receive (pid {server.pid}) on {HOST}:{port}, {len(addresses)} mailboxes")
    through: list[float] = []
    parsed: list[float] = []
    sent = 0
    try:
        warm = messages_for(SENDERS * 2, addresses, 0)
        send_all(port, warm)
        sent += len(warm)
        for number in range(1, options.runs + 1):
            batch = messages_for(count, addresses, number)
            order = ["smtp", "parse"] if number % 2 else ["parse", "smtp"]
            for kind in order:
                if kind == "smtp":
                    seconds = send_all(port, batch)
                    sent += len(batch)
                    through.append(len(batch) / seconds)
                else:
                    seconds = parse_all(batch)
                    parsed.append(len(batch) / seconds)
                progress(
                    f"run {number}/{options.runs} {kind}: {len(batch)} messages in "
                    f"{seconds:.2f} s, {len(batch) / seconds:.1f}/s"
                )
    finally:
        stop(server)
    done, stored = taken_in()
    progress(f"{stored} messages stored, {done} taken in as work, {sent} sent")
    if done != sent or stored != sent:
        raise RuntimeError(f"sent {sent} messages but {stored} were stored and {done} taken in")
    scale = (
        f"{count} messages a run ({len(corpus())} kinds, attachments included) to "
        f"{len(addresses)} mailboxes of {SHAPE.clients} clients over {SENDERS} SMTP connections"
    )
    return [
        Figure(
            "smtp_to_item_per_s",
            median(through),
            "messages/s",
            "bare_parse_per_s",
            median(parsed),
            options.runs,
            scale,
        )
    ]
