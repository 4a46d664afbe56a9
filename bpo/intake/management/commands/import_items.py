"""``manage.py import_items FILE --service ID --as EMAIL``: import work items from a CSV or XLSX
file in the foreground, with a progress bar on stderr. The person named by ``--as`` is the one
who imports (their permissions and client scope apply; the audit log names them).

The file goes through the same steps as an upload in the web UI or the API (stored, columns
mapped by their names or by ``--map``, every row checked, then taken in batch by batch), so it
is listed on the Imports page like any other. ``--resume ID`` goes on with an import that was
stopped or killed, after its last written batch (``--as`` again: a person who may import for
that client).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from bpo.accounts.models import User
from bpo.contracts.models import Service
from bpo.intake import imports, queries
from bpo.intake.models import ImportJob, ImportStatus
from bpo.intake.tabular import ENCODINGS
from bpo.tenancy.context import Forbidden, acting_as, actor_for
from bpo.work import queries as work_queries
from bpo.work.models import Queue

SHOWN_ERRORS = 20


class Progress:
    """A progress bar on stderr: redrawn in place on a terminal, a line per tenth otherwise."""

    WIDTH = 30

    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.total = total  # 0: unknown
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.last_tenth = -1

    def show(self, done: int, extra: str = "") -> None:
        share = min(done / self.total, 1.0) if self.total else 0.0
        rate = done / max(time.monotonic() - self.started, 1e-6)
        of = f"{done:,}/{self.total:,}" if self.total else f"{done:,}"
        text = f"{self.label} {share:6.1%}  {of} rows  {rate:,.0f} rows/s"
        text += f"  {extra}" if extra else ""
        if self.tty:
            filled = int(share * self.WIDTH)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            sys.stderr.write(f"\r[{bar}] {text}\033[K")
        elif int(share * 10) > self.last_tenth:
            self.last_tenth = int(share * 10)
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def end(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()


class Command(BaseCommand):
    help = "Import work items from a CSV or XLSX file, or resume an import that stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", type=Path, help="The CSV or XLSX file.")
        parser.add_argument("--service", type=int, help="The id of the service the items are for.")
        parser.add_argument(
            "--as", dest="email", help="The e-mail of the person importing (audited as theirs)."
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="HEADER=FIELD",
            help="Map a column (by its header) to a field: title, description, priority, "
            "contact_email, contact_name, external_ref, tags, language, or cf:<custom field>; "
            "an empty FIELD leaves the column out. Repeatable; other columns are mapped by name.",
        )
        parser.add_argument("--encoding", default="", choices=["", *ENCODINGS])
        parser.add_argument("--queue", type=int, help="The queue's id (default: the service's).")
        parser.add_argument(
            "--check-only", action="store_true", help="Check every row and stop; write nothing."
        )
        parser.add_argument("--resume", type=int, metavar="ID", help="Resume this import.")
        parser.add_argument(
            "--take-over",
            action="store_true",
            help="With --resume: take over a running import whose process you know is dead "
            "(otherwise wait until its lease of two minutes runs out).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["email"]:
            raise CommandError("Name the person who imports: --as EMAIL.")
        try:
            found = (
                self._resume(options["resume"], options["email"], options["take_over"])
                if options["resume"]
                else self._new(options)
            )
        except Forbidden as exc:
            raise CommandError(str(exc)) from None
        if found is None:
            return  # only checked
        job = found
        self._report(job)
        if job.status != ImportStatus.DONE:
            raise CommandError(f"Import #{job.pk} is {job.status}: {job.failure}")

    def _new(self, options: dict[str, Any]) -> ImportJob | None:
        path: Path | None = options["file"]
        if path is None or options["service"] is None:
            raise CommandError("Give the FILE and --service ID (or --resume ID).")
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        actor = actor_for(_user(options["email"]))
        with acting_as(actor):
            try:
                service = work_queries.service_get(actor=actor, service_id=options["service"])
            except Service.DoesNotExist:
                raise CommandError(
                    f"There is no service {options['service']} {actor.user} may import into."
                ) from None
            queue = None
            if options["queue"]:  # import_upload checks that it is a queue of the service
                try:
                    queue = work_queries.queue_get(actor=actor, queue_id=options["queue"])
                except Queue.DoesNotExist:
                    raise CommandError(f"There is no queue {options['queue']}.") from None
            checking = Progress("Checking", _lines(path))
            try:
                with path.open("rb") as upload:
                    job = imports.import_upload(
                        actor=actor,
                        service=service,
                        upload=upload,
                        file_name=path.name,
                        encoding=options["encoding"],
                        queue=queue,
                        progress=None if options["map"] else checking.show,
                    )
                checking.end()
                job = self._map(actor, job, options["map"])
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            self.stdout.write(
                f"Import #{job.pk}: {job.rows_total:,} rows, {job.error_count:,} problems"
                + (f", {job.rows_existing:,} already imported" if job.rows_existing else "")
            )
            if job.status != ImportStatus.READY:
                self._errors(job)
                raise CommandError(f"Import #{job.pk} is {job.status}: nothing was written.")
            if options["check_only"]:
                return None
            imports.import_start(actor=actor, job=job, enqueue=False)
            return self._run(job, take_over=False)

    def _map(self, actor: Any, job: ImportJob, pairs: list[str]) -> ImportJob:
        """The proposed mapping, changed by --map, then every row checked with progress."""
        mapping = list(job.mapping)
        known = {header.lower(): i for i, header in enumerate(job.headers)}
        for pair in pairs:
            header, sep, target = pair.partition("=")
            if not sep or header.strip().lower() not in known:
                raise CommandError(
                    f"--map {pair!r}: expected HEADER=FIELD with a header of the file "
                    f"({', '.join(job.headers)})."
                )
            mapping[known[header.strip().lower()]] = target.strip()
        if pairs or job.checked_at is None:
            bar = Progress("Checking", job.rows_total)
            job = imports.import_map(actor=actor, job=job, mapping=mapping, progress=bar.show)
            bar.end()
        return job

    def _resume(self, job_id: int, email: str, take_over: bool) -> ImportJob:
        actor = actor_for(_user(email))
        with acting_as(actor):
            try:
                job = queries.import_get(actor=actor, import_id=job_id)
            except ImportJob.DoesNotExist:
                raise CommandError(f"There is no import {job_id} that {email} can see.") from None
            try:
                if job.status == ImportStatus.FAILED:
                    imports.import_resume(actor=actor, job=job, enqueue=False)
                elif job.status == ImportStatus.RUNNING:
                    imports.import_take_over(actor=actor, job=job)
                else:
                    raise CommandError(f"Import #{job.pk} is {job.status}; nothing to resume.")
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            self.stdout.write(f"Import #{job.pk}: resuming after row {job.rows_done + 1:,}")
            return self._run(job, take_over=take_over)

    def _run(self, job: ImportJob, *, take_over: bool) -> ImportJob:
        bar = Progress("Importing", job.rows_total)
        try:
            done = imports.import_run(
                job_id=job.pk,
                take_over=take_over,
                progress=lambda j: bar.show(j.rows_done, f"{j.items_created:,} created"),
            )
        except imports.ImportBusy as exc:
            raise CommandError(
                f"{exc} If you know that process is dead, add --take-over; otherwise the "
                "worker resumes it once its lease runs out."
            ) from None
        finally:
            bar.end()
        return done

    def _errors(self, job: ImportJob) -> None:
        for error in job.errors[:SHOWN_ERRORS]:
            where = f"Row {error['row']}, {error['column']}: " if error["row"] else ""
            self.stderr.write(f"  {where}{error['message']}")
        if job.error_count > SHOWN_ERRORS:
            self.stderr.write(f"  … and {job.error_count - SHOWN_ERRORS:,} more.")

    def _report(self, job: ImportJob) -> None:
        self.stdout.write(
            f"Import #{job.pk} {job.status}: {job.items_created:,} items created, "
            f"{job.items_skipped:,} skipped (external reference already known), "
            f"{job.rows_done:,} of {job.rows_total:,} rows read."
        )


def _lines(path: Path) -> int:
    """About how many rows a file has, for the check's progress bar (an XLSX file: unknown)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return 0
    with path.open("rb") as data:
        return max(
            sum(chunk.count(b"\n") for chunk in iter(lambda: data.read(1 << 20), b"")) - 1, 0
        )


def _user(email: str) -> User:
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        raise CommandError(f"There is no active user {email}.")
    return user
