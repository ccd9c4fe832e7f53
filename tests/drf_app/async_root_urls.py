"""The service's root URLconf with the async view set, for in-process tests of ASGI mode."""

from __future__ import annotations

from drf_app.urls import handler400, handler403, handler404, handler500, service_urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]

urlpatterns = service_urlpatterns("async")
