from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "ingestion"

    def ready(self):
        from ingestion import across_warm
        from warehouse.signals import playlists_loaded

        # Every load, whoever runs it, asks (on its commit) for the warm of the pages
        # across playlists of the people who see it.
        playlists_loaded.connect(across_warm.on_playlists_loaded, dispatch_uid="across-warm")
