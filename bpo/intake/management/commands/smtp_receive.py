"""``manage.py smtp_receive [--host H] [--port P]``: the built-in SMTP receiver, in the
foreground until interrupted (Ctrl-C or SIGTERM)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from bpo.intake.smtp import controller


class Command(BaseCommand):
    help = "Receive mail for the services' addresses over SMTP and take it in as work."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", type=int, default=2525, help="Port to listen on.")

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        receiver = controller(host, port)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        receiver.start()
        self.stdout.write(f"OpenBPO receives mail on {host}:{port} (Ctrl-C stops it)")
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            receiver.stop()
