from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Only management commands: `spotify_sandbox`, `seed_demo`, `generate_mpd`."""

    name = "devtools"
    verbose_name = "Development tools"
