from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    """Booked calls and recurring series: an app of its own inside calls, above it."""

    name = "calls.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from calls.scheduling import checks, signals  # noqa: F401 - registers its checks; answers whether a persona is still booked
