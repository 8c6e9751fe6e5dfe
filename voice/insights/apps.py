from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """What calls leave behind: the after-call analysis (summary, mood, key phrases), the
    persona's memory distilled from each call, and the insights a person reads across calls.
    An app of its own inside voice, above calls: it reads conversations and calls, and
    nothing below imports it."""

    name = "voice.insights"
    label = "insights"
    verbose_name = "Insights"
    default_auto_field = "django.db.models.BigAutoField"
