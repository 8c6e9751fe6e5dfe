from django.apps import AppConfig


class CallMeBackConfig(AppConfig):
    """The project package as an app: it holds no models, only project-wide system checks."""

    name = "callmeback"
    verbose_name = "Call Me Back"

    def ready(self) -> None:
        from callmeback import checks  # noqa: F401 - registers the deploy checks
