from typing import Any

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "bpo.portal"
    label = "portal"
    verbose_name = "Portal: the client's dashboards, reports and surveys"

    def ready(self) -> None:
        from bpo.work.signals import item_resolved

        item_resolved.connect(_offer_survey, dispatch_uid="portal.offer_survey")


def _offer_survey(sender: Any, *, item: Any, **kwargs: Any) -> None:
    """A resolved item's contact is asked how it went (once per item)."""
    from bpo.portal.actions import survey_offer

    survey_offer(item=item)
