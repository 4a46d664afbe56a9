from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "bpo.finance"
    label = "finance"
    verbose_name = "Finance: statements, reconciliation, close and filing calendar"

    def ready(self) -> None:
        from bpo.finance import receivers  # noqa: F401  (filings need evidence to resolve)
