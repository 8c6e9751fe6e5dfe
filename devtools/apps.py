from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Installed only in development (see settings' DEVTOOLS), for its management commands."""

    name = "devtools"
    verbose_name = "Development tools"
