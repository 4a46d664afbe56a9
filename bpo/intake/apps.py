from typing import Any

from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "bpo.intake"
    label = "intake"
    verbose_name = "Intake: e-mail in and out, web forms, file imports"

    def ready(self) -> None:
        from bpo.work.signals import reply_written

        reply_written.connect(_mail_the_reply, dispatch_uid="intake.mail_the_reply")


def _mail_the_reply(sender: Any, *, item: Any, event: Any, **kwargs: Any) -> None:
    """A reply on an item whose contact has an address goes out by e-mail (the outbox)."""
    from bpo.intake.actions import outbound_queue

    outbound_queue(item=item, body=event.body, event=event)
