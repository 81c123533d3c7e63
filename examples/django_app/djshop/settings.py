"""Settings of the Django shop example (no database: the shop keeps its carts in memory)."""

from __future__ import annotations

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "djshop.urls"
WSGI_APPLICATION = "djshop.wsgi.application"
INSTALLED_APPS = ["shop.apps.ShopConfig"]
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

MIDDLEWARE = [
    # First, so that it measures everything the other middleware and the views do.
    "sli_instrument.django.SLIMiddleware",
    "django.middleware.common.CommonMiddleware",
]

SLI_INSTRUMENT = {
    # The cart views are not decorated: the route map names their journey.
    "routes": {"cart/": "cart", "cart/<int:product_id>/": "cart"},
    "unclaimed": "catch-all",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}
