from django.apps import AppConfig


class WorkConfig(AppConfig):
    name = "bpo.work"
    label = "work"
    verbose_name = "Work items, queues and timelines"
