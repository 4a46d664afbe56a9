"""What finance adds to the common work life cycle: a filing resolves only with its evidence."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.dispatch import receiver

from bpo.finance.models import Occurrence, OpenLine
from bpo.work.models import WorkItem
from bpo.work.signals import item_resolving


@receiver(item_resolving, sender=WorkItem)
def filing_needs_evidence(sender: Any, item: WorkItem, **kwargs: Any) -> None:
    """Refuse to resolve a filing whose confirmation document and reference are missing."""
    occurrence = Occurrence.objects.select_related("obligation").filter(item_id=item.pk).first()
    if occurrence is None or not occurrence.obligation.needs_evidence:
        return
    if occurrence.evidence_id is None or not occurrence.evidence_reference:
        raise ValidationError(
            {
                "state": f"{occurrence.obligation.name} is a filing: attach its confirmation "
                "document and enter the confirmation reference before resolving it."
            }
        )


@receiver(item_resolving, sender=WorkItem)
def open_line_needs_its_match(sender: Any, item: WorkItem, **kwargs: Any) -> None:
    """Refuse to resolve the work item of a bank line that is still unreconciled."""
    if OpenLine.objects.filter(item_id=item.pk, line__match__isnull=True).exists():
        raise ValidationError(
            {
                "state": "The bank line is not reconciled yet: match it (its match approved by a "
                "second agent), or cancel the item with the reason."
            }
        )
