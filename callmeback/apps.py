from django.apps import AppConfig


class CallMeBackConfig(AppConfig):
    """The project package as an app: project-wide system checks, and the one table of the
    shared plumbing (the answers kept for `Idempotency-Key`)."""

    name = "callmeback"
    verbose_name = "Call Me Back"

    def ready(self) -> None:
        from callmeback import checks  # noqa: F401 - registers the deploy checks
