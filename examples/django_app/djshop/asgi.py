"""ASGI entry point: ``uvicorn djshop.asgi:application`` (from examples/django_app)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djshop.settings")
application = get_asgi_application()
