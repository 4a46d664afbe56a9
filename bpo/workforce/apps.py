from django.apps import AppConfig


class WorkforceConfig(AppConfig):
    name = "bpo.workforce"
    label = "workforce"
    verbose_name = "Agents, capacity and certification"
