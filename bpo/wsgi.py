"""WSGI entry point (gunicorn bpo.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bpo.settings")
application = get_wsgi_application()
