"""`manage.py qcluster`: django-q2's command, with a cluster that a killed worker cannot freeze.

It takes the place of django-q2's own command (ingestion is listed before
django_q in INSTALLED_APPS) so that `make run`, Docker Compose and any
process manager get it unchanged. See ingestion.cluster for why.
"""

import logging
import os

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone
from django_q.management.commands.qcluster import Command as DjangoQCommand

from ingestion.cluster import GuardedCluster, release_tasks_taken_since

logger = logging.getLogger(__name__)


class Command(DjangoQCommand):
    help = (
        "Starts the django-q2 cluster that executes queued runs. When a killed process may "
        "have left the cluster's queues locked, it starts a fresh cluster instead of freezing."
    )

    def handle(self, *args, **options):
        if not settings.SECRET_KEY:
            raise CommandError("Set SECRET_KEY: the queue's tasks are signed with it.")
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        while True:
            started = timezone.now()
            cluster = GuardedCluster()
            cluster.start()
            if options.get("run_once"):
                cluster.stop()
                return
            if not cluster.wants_restart():
                return
            released = release_tasks_taken_since(started)
            logger.critical(
                "Starting a new queue cluster; %d task(s) the old one had taken are queued again.",
                released,
            )
