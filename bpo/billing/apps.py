from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "bpo.billing"
    label = "billing"
    verbose_name = "Billing: usage, invoices and service-level credits"
