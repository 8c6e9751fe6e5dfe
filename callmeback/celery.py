"""The Celery app, configured from Django settings under the `CELERY_` namespace."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callmeback.settings")

app = Celery("callmeback")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The embedded filesystem broker needs its folders before the first message.
for option in ("data_folder_in", "processed_folder", "control_folder"):
    folder = app.conf.broker_transport_options.get(option)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
