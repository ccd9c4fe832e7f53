"""WSGI entry point of the DRF service (gunicorn sync, gthread and gevent workers)."""

from __future__ import annotations

import os

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "drf_app.settings")
# A WSGI worker runs the sync views: their streams are sync generators, which WSGI
# servers write out chunk by chunk (an async generator would be buffered whole).
os.environ.setdefault("DRF_VIEWS", "sync")

# Only /static/ (the Swagger UI assets of /docs) is answered by the static handler;
# every other path goes straight to Django.
application = StaticFilesHandler(get_wsgi_application())
