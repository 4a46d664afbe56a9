from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "bpo.accounts"
    label = "accounts"
    verbose_name = "People, roles and API tokens"
