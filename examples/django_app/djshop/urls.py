from __future__ import annotations

from django.urls import path
from shop import views

urlpatterns = [
    path("", views.index),
    path("products/<int:product_id>/", views.product),
    path("search/", views.SearchView.as_view()),
    path("cart/", views.CartView.as_view()),
    path("cart/<int:product_id>/", views.CartView.as_view()),
    path("checkout/", views.checkout),
    path("orders/export/", views.export_orders),
    path("orders/export/live/", views.export_orders_live),
    path("healthz/", views.healthz),
]
