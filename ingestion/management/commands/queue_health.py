"""`manage.py queue_health`: exit 1 when runs wait and the queue makes no progress.

Meant for a container health check (the worker's in docker-compose.yml) or any
monitor that runs a command: it prints what it found either way.
"""

from django.core.management.base import BaseCommand, CommandError

from ingestion.health import queue_health


class Command(BaseCommand):
    help = (
        "Checks that the queue makes progress: exits 1 when runs are waiting and nothing has "
        "progressed for QUEUE_STALL_MINUTES."
    )

    def handle(self, *args, **options):
        health = queue_health()
        if health.stalled:
            raise CommandError(health.message, returncode=1)
        self.stdout.write(health.message)
