"""Routes of the completions app to its async adrf views (ASGI)."""

from __future__ import annotations

from django.urls import path

from drf_app.completions import async_views as views

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("health", views.HealthView.as_view(), name="health"),
    path("hello", views.HelloView.as_view(), name="hello"),
    path("complete", views.CompleteView.as_view(), name="complete"),
    path("complete/stream", views.CompleteStreamView.as_view(), name="complete-stream"),
]
