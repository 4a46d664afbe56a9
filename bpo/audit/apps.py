from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "bpo.audit"
    label = "audit"
    verbose_name = "Audit trail"
