from __future__ import annotations

import os

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"

    def ready(self) -> None:
        # Once per process, before the first request: export from the environment (OTEL_*, SLI_*).
        import sli_instrument as sli

        sli.configure(service_name=os.environ.get("OTEL_SERVICE_NAME", "django-shop"))
