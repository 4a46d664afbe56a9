"""Fixtures of the intake tests: a service mailbox at each of two clients, the built-in SMTP
receiver on a free loopback port, and smtplib to talk to it."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bpo.intake import actions as intake
from bpo.intake.smtp import controller
from bpo.tenancy.context import acting_as
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.tests.slaworld import sla_service


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def receiver(settings):
    settings.OPENBPO_MAX_EMAIL_BYTES = 2 * 1024 * 1024
    port = free_port()
    smtp = controller("127.0.0.1", port)
    smtp.start()
    yield port
    smtp.stop()


@pytest.fixture
def mailboxes(world):
    own = sla_service(world)
    other = sla_service(world, client=world.other, key="oth")
    with acting_as(world.actor("admin")) as admin:
        return (
            intake.mailbox_save(actor=admin, service=own, address="Support@Acme.example"),
            intake.mailbox_save(actor=admin, service=other, address="help@other.example"),
        )


def send(
    port: int, raw: bytes, to: list[str], sender: str = "anna@customer.example"
) -> dict[str, Any]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        return client.sendmail(sender, to, raw)


def every(model: Any) -> list[Any]:
    with all_clients_unscoped("test"):
        return list(model.objects.order_by("id"))


IMAP_PASSWORD = "imap-password-1"
DOVECOT_CONF = """
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{base}/mail/%u
{run_as}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


@dataclass
class Dovecot:
    """A real IMAP server (Dovecot, from Debian's packages) on loopback, for these tests."""

    base: Path
    port: int
    # Every user name logs in with this password (a static password database): a test gets a
    # mailbox of its own by choosing a new name, and any other password is refused.
    password: str = IMAP_PASSWORD

    def client(self, name: str, password: str) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        imap.login(name, password)
        return imap

    def deliver(self, name: str, password: str, raw: bytes, folder: str = "INBOX") -> None:
        imap = self.client(name, password)
        imap.append(folder, None, None, raw)
        imap.logout()

    def count(self, name: str, password: str, folder: str = "INBOX") -> int:
        imap = self.client(name, password)
        _, data = imap.select(folder)
        imap.logout()
        return int(data[0] or 0)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """Dovecot started for the test session (the test command installs it), in a folder its
    own unprivileged processes can read (pytest's temporary folders are private to us)."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(binary).exists():
        pytest.fail("Dovecot is not installed: run the tests with `make test`, which installs it")
    base = Path(tempfile.mkdtemp(prefix="openbpo-dovecot-"))
    base.chmod(0o755)
    for folder in ("run", "state", "mail"):
        (base / folder).mkdir()
    if os.geteuid() == 0:  # Dovecot never stores mail as root: the package's own user
        account = pwd.getpwnam("dovecot")
        uid, gid, run_as = account.pw_uid, account.pw_gid, ""
        os.chown(base / "mail", uid, gid)
    else:
        me = pwd.getpwuid(os.geteuid()).pw_name
        uid, gid = os.geteuid(), os.getegid()
        run_as = f"default_internal_user = {me}\ndefault_login_user = {me}"
    port = free_port()
    conf = base / "dovecot.conf"
    conf.write_text(
        DOVECOT_CONF.format(
            base=base, port=port, uid=uid, gid=gid, run_as=run_as, password=IMAP_PASSWORD
        )
    )
    subprocess.run([binary, "-c", str(conf)], check=True)
    server = Dovecot(base, port)
    deadline = time.monotonic() + 20
    while True:
        try:
            imaplib.IMAP4("127.0.0.1", port, timeout=2).logout()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    yield server
    subprocess.run([binary, "-c", str(conf), "stop"], check=False)
    shutil.rmtree(base, ignore_errors=True)
