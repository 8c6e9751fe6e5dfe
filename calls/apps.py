from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = "Calls"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Booked calls keep their admin in their own module, beside the calls admin.
        # Connects the goodbye's safety net in every process that may end a call.
        from calls import (
            scheduling_admin,  # noqa: F401
            tasks,  # noqa: F401
        )
