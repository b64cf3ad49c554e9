from django.apps import AppConfig
from django.core import checks


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from accounts.checks import operator_refresh_token

        checks.register(operator_refresh_token)
