"""WSGI entry point of the DRF service (gunicorn sync, gthread and gevent workers)."""

from __future__ import annotations

import os

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.wsgi import get_wsgi_application

from drf_app.chunked import ChunkedBodyWSGIMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "drf_app.settings")
# A WSGI worker runs the sync views: their streams are sync generators, which WSGI
# servers write out chunk by chunk (an async generator would be buffered whole).
os.environ.setdefault("DRF_VIEWS", "sync")

# Only /static/ (the Swagger UI assets of /docs) is answered by the static handler;
# every other path goes straight to Django. In front of both, a chunked request body
# (no Content-Length) is read and given its length, which Django and DRF need to see
# it at all (see drf_app/chunked.py).
application = ChunkedBodyWSGIMiddleware(StaticFilesHandler(get_wsgi_application()))
