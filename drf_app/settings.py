"""Django settings of the DRF service, read once from the environment at start-up.

The upstream settings (LLM_*) are gathered into one typed, frozen object, `LLM`;
everything else is ordinary Django configuration for a stateless JSON API: no
database, no sessions, no authentication, no admin.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from drf_app.metrics import metrics_enabled

# Which view set the URLconf routes to: "sync" views for WSGI workers, "async"
# (adrf) views for ASGI servers. wsgi.py and asgi.py default it; the CLI sets it.
VIEW_SETS = ("sync", "async")
SYNC_CLIENTS = ("urllib3", "httpx", "openai")
ASYNC_CLIENTS = ("aiohttp", "openai", "openai-aiohttp")


def _env_int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        value = default if raw is None else float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if not value > 0:
        raise ImproperlyConfigured(f"{name} must be positive, got {value}")
    return value


def _env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r}: choose one of {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class LLMSettings:
    """Where and how the service calls the upstream model."""

    base_url: str
    # repr=False: the key never appears in a log line or an error report.
    api_key: str = field(repr=False)
    model: str
    timeout_s: float
    max_connections: int
    client: str


def _llm_settings(views: str) -> LLMSettings:
    # The defaults follow the lead's upstream-client figures (drf_app/README.md):
    # urllib3 for the WSGI views, aiohttp for the ASGI ones.
    default_client, clients = (
        ("aiohttp", ASYNC_CLIENTS) if views == "async" else ("urllib3", SYNC_CLIENTS)
    )
    return LLMSettings(
        base_url=os.environ.get("LLM_BASE_URL", "http://127.0.0.1:8900/v1"),
        api_key=os.environ.get("LLM_API_KEY", "sk-mock-local"),
        model=os.environ.get("LLM_MODEL", "mock-gpt"),
        timeout_s=_env_float("LLM_TIMEOUT_S", 30.0),
        # Upstream connections per process: no hidden cap below 10,000 in flight.
        max_connections=_env_int("LLM_MAX_CONNECTIONS", 10000, minimum=1),
        client=_env_choice("LLM_CLIENT", default_client, clients),
    )


def _metrics() -> bool:
    try:
        return metrics_enabled(os.environ)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None


DRF_VIEWS = _env_choice("DRF_VIEWS", "sync", VIEW_SETS)
LLM = _llm_settings(DRF_VIEWS)
# Prometheus series and GET /metrics (docs/metrics.md); METRICS=1 turns them on.
METRICS = _metrics()

SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "django-insecure-local-only-key-do-not-deploy-drf-app"
)
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
# One access line per request (docs/contract.md); off by default, because writing it
# costs CPU that a measurement would charge to the framework.
REQUEST_LOG = os.environ.get("REQUEST_LOG", "") == "1"
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if host.strip()
]

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_app.completions",
]

# Only what a JSON API without sessions needs: request IDs, security headers, and
# CommonMiddleware because it is what validates the Host header against ALLOWED_HOSTS.
# Under ASGI each of the last two costs a thread hop per request (Django runs their hooks
# via sync_to_async).
MIDDLEWARE = [
    # First, so that every response carries the request's ID (docs/contract.md). It
    # works in both of Django's modes: under ASGI it costs no thread hop.
    "drf_app.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
if METRICS:
    # First, so that a request's time includes every other middleware's.
    MIDDLEWARE.insert(0, "drf_app.metrics.middleware.MetricsMiddleware")
# The contract's paths have no trailing slash; never redirect to one.
APPEND_SLASH = False

ROOT_URLCONF = "drf_app.urls"
WSGI_APPLICATION = "drf_app.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

# Stateless service: nothing is stored.
DATABASES: dict[str, dict[str, Any]] = {}

# The contract's limit (64 KiB); larger bodies raise RequestDataTooBig -> 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = 65536

USE_I18N = False
USE_TZ = True
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"

# Swagger UI assets of drf-spectacular-sidecar, served by the static handlers that
# wsgi.py and asgi.py put in front of Django, so /docs works offline.
STATIC_URL = "static/"

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["drf_app.completions.parsers.LimitedJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "drf_app.completions.negotiation.JSONOnlyNegotiation",
    # The contract has no authentication: skip DRF's per-request auth machinery.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "drf_app.completions.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "DRF LLM relay",
    "DESCRIPTION": "Django REST Framework implementation of the benchmark suite's service "
    "contract: a thin relay in front of an OpenAI-compatible chat completions API.",
    "VERSION": "1.0.0",
    # 3.1 for JSON Schema 2020-12, which can say that an event's data is JSON of a shape
    # (contentMediaType, contentSchema): see completions/schema.py.
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}


def _is_uncaught(record: Any) -> bool:
    # Django logs every 4xx/5xx response on django.request; only the ones carrying an
    # exception (uncaught errors) belong in the error log. Upstream 502/503/504 do not.
    return record.exc_info is not None


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "uncaught": {"()": "django.utils.log.CallbackFilter", "callback": _is_uncaught},
        "request_id": {"()": "drf_app.request_id.RequestIdFilter"},
    },
    "formatters": {
        "request_id": {"format": "%(levelname)s %(name)s: request_id=%(request_id)s %(message)s"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "filters": ["uncaught", "request_id"],
            "formatter": "request_id",
        },
        "service": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "filters": ["request_id"],
            "formatter": "request_id",
        },
        "null": {"class": "logging.NullHandler"},
    },
    "loggers": {
        "django": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
        # The service's own records: the access lines of REQUEST_LOG=1 (drf_app.access).
        "drf_app": {"handlers": ["service"], "level": "INFO", "propagate": False},
        # A request for a host outside ALLOWED_HOSTS already gets its JSON 400;
        # silenced as Django's logging docs suggest, rather than a traceback each.
        "django.security.DisallowedHost": {"handlers": ["null"], "propagate": False},
    },
}
