from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = "Calls"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the goodbye's safety net in every process that may end a call.
        from calls import tasks  # noqa: F401
