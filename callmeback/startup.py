"""What a serving process needs before it starts.

Without `SECRET_KEY` in the environment, settings give the process a throwaway random key,
so commands that need no secret (`makemigrations --check`, `check`) still run on a fresh
checkout; the processes that sign anything lasting (the web server, Celery) refuse to start.
"""

import gc

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MISSING_SECRET_KEY = "SECRET_KEY must be set (scripts/run and scripts/test generate one for development in var/)."


def require_secret_key() -> None:
    if not settings.SECRET_KEY_FROM_ENVIRONMENT:
        raise ImproperlyConfigured(MISSING_SECRET_KEY)


def freeze_loaded_objects() -> None:
    """Takes every object alive once the application has loaded (modules, settings, URL
    patterns, the voice providers: some 200,000) out of the garbage collector's reach.

    They live as long as the process, yet each full collection walked them all again while
    the event loop every live call shares stood still (passes of a second under 100 calls in
    `bench/voice.py`). Garbage is collected first, so none of it is kept for ever.
    """
    gc.collect()
    gc.freeze()
