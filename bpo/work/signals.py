"""What the work app tells the apps built on it, inside the transaction of the change."""

from django.dispatch import Signal

# A reply to the contact was written (kwargs: item, event). Intake puts it in the outbox when
# the item has a contact to mail; receivers run in the reply's transaction.
reply_written = Signal()

# An item was resolved (kwargs: item). The portal offers the contact a satisfaction survey;
# receivers run in the resolution's transaction.
item_resolved = Signal()

# An item is about to be resolved (kwargs: item). A receiver that finds it may not be yet (a
# filing without its evidence) raises ValidationError naming what is missing; the state stays.
item_resolving = Signal()
