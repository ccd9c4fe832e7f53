"""Django app configuration of the completions app."""

from __future__ import annotations

from django.apps import AppConfig


class CompletionsConfig(AppConfig):
    """The one app of the DRF service."""

    name = "drf_app.completions"
    label = "completions"
    verbose_name = "LLM completions relay"
