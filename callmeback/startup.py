"""What a serving process needs before it starts.

Without `SECRET_KEY` in the environment, settings give the process a throwaway random key,
so commands that need no secret (`makemigrations --check`, `check`) still run on a fresh
checkout; the processes that sign anything lasting (the web server, Celery) refuse to start.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MISSING_SECRET_KEY = "SECRET_KEY must be set (scripts/run and scripts/test generate one for development in var/)."


def require_secret_key() -> None:
    if not settings.SECRET_KEY_FROM_ENVIRONMENT:
        raise ImproperlyConfigured(MISSING_SECRET_KEY)
