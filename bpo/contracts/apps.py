from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "bpo.contracts"
    label = "contracts"
    verbose_name = "Contracts, services and SLA policies"
