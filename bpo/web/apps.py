from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "bpo.web"
    label = "web"
    verbose_name = "Web UI"
