from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "bpo.demo"
    label = "demo"
    verbose_name = "Demo data"
