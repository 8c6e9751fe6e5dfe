"""The Celery app, configured from Django settings under the `CELERY_` namespace."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callmeback.settings")

app = Celery("callmeback")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

for folder in (
    app.conf.broker_transport_options.get("data_folder_in", ""),
    app.conf.broker_transport_options.get("processed_folder", ""),
):
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
