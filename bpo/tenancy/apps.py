from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "bpo.tenancy"
    label = "tenancy"
    verbose_name = "Clients and tenant scoping"
