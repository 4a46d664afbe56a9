"""Business calendars and business-time arithmetic (the pure engine is ``engine``)."""
