"""A real Celery worker takes tasks from the configured broker (Redis in CI)."""

import threading

from celery.signals import task_postrun
from django.core import mail

from accounts.tasks import send_email


def test_worker_sends_queued_email(celery_worker, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    finished = threading.Event()

    def on_finished(sender=None, **kwargs):
        if sender is not None and sender.name == send_email.name:
            finished.set()

    task_postrun.connect(on_finished, weak=False)
    try:
        send_email.delay(subject="Hello", body="From the worker", to="ann@example.com")
        assert finished.wait(timeout=30), "the worker never ran the task"
    finally:
        task_postrun.disconnect(on_finished)

    assert [m.subject for m in mail.outbox] == ["Hello"]
