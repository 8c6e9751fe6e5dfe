"""The Celery app, configured from Django settings under the `CELERY_` namespace."""

import os
from pathlib import Path

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callmeback.settings")

app = Celery("callmeback")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The embedded filesystem broker needs its folders before the first message.
for option in ("data_folder_in", "processed_folder", "control_folder"):
    folder = app.conf.broker_transport_options.get(option)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)


@signals.worker_init.connect
@signals.beat_init.connect
def _require_secret_key(**_) -> None:
    """Workers and beat sign emails' links and tokens: no secret, no start. (Celery logs and
    ignores a receiver's exceptions, so this ends the process itself.)"""
    from django.core.exceptions import ImproperlyConfigured

    from callmeback.startup import require_secret_key

    try:
        require_secret_key()
    except ImproperlyConfigured as error:
        raise SystemExit(str(error)) from None
