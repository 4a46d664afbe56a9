from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    name = "bpo.calendars"
    label = "calendars"
    verbose_name = "Business calendars"
