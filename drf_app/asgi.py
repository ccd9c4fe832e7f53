"""ASGI entry point of the DRF service (uvicorn, gunicorn with uvicorn workers)."""

from __future__ import annotations

import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

from drf_app.chunked import ChunkedBodyASGIMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "drf_app.settings")
# An ASGI server runs adrf's async views: their streams are async generators, which
# Django's ASGI handler sends chunk by chunk (a sync one would be consumed whole first).
os.environ.setdefault("DRF_VIEWS", "async")

# Only /static/ (the Swagger UI assets of /docs) is answered by the static handler;
# every other path goes straight to Django. In front of both, a chunked request body
# (no content-length) is gathered and given its length, which Django and DRF need to
# see it at all (see drf_app/chunked.py).
application = ChunkedBodyASGIMiddleware(ASGIStaticFilesHandler(get_asgi_application()))
