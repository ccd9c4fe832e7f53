"""URLconf of the DRF service: the contract's endpoints, the OpenAPI document and its UI."""

from __future__ import annotations

from django.conf import settings
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.renderers import OpenApiJsonRenderer2
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

# Sync views serve WSGI workers, adrf's async views serve ASGI servers (see settings).
_COMPLETIONS_URLCONF = {
    "sync": "drf_app.completions.urls",
    "async": "drf_app.completions.async_urls",
}


def service_urlpatterns(views: str) -> list[URLPattern | URLResolver]:
    """Return the service's routes with the "sync" or the "async" view set."""
    return [
        path("", include(_COMPLETIONS_URLCONF[views])),
        # Plain application/json: the contract asks for a JSON document at this path.
        path(
            "openapi.json",
            SpectacularJSONAPIView.as_view(renderer_classes=[OpenApiJsonRenderer2]),
            name="schema",
        ),
        path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    ]


urlpatterns = service_urlpatterns(settings.DRF_VIEWS)
if settings.METRICS:
    # Imported only here: with METRICS off, prometheus_client is never loaded.
    from drf_app.metrics.middleware import metrics_view

    urlpatterns.append(path("metrics", metrics_view, name="metrics"))

# Django's own error pages are HTML; the contract wants JSON with a "detail" key.
handler400 = "drf_app.completions.exceptions.bad_request"
handler403 = "drf_app.completions.exceptions.permission_denied"
handler404 = "drf_app.completions.exceptions.not_found"
handler500 = "drf_app.completions.exceptions.server_error"
