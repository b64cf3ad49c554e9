"""Who may see what: list entries get an access state (see accounts.library).

Existing entries are granted only where the records show their user loaded the
playlist: a playlist run that read it with their account and loaded it (not
"unchanged": before this change that status did not prove the token could read
the items); or a file import of theirs that listed it. Everything
else waits for its user's next successful read (the daily refresh, or "Try
again"), instead of showing someone else's data.
"""

from django.db import migrations, models


LOADED = ("succeeded", "partial")


def grant_what_was_loaded(apps, schema_editor):
    UserPlaylist = apps.get_model("accounts", "UserPlaylist")
    IngestRun = apps.get_model("ingestion", "IngestRun")
    loaded = set()
    for run in IngestRun.objects.filter(kind="playlist", status__in=LOADED).iterator():
        reader = (run.parameters or {}).get("spotify_user")
        if reader is not None:
            loaded.add((reader, run.playlist_id))
    file_runs = IngestRun.objects.filter(kind="file", requested_by__isnull=False)
    for run in file_runs.iterator():
        for entry in run.playlists or []:
            loaded.add((run.requested_by_id, entry["playlist_id"]))
    for entry in UserPlaylist.objects.iterator():
        if (entry.user_id, entry.playlist_id) in loaded:
            UserPlaylist.objects.filter(pk=entry.pk).update(access="granted")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_userplaylist'),
        ('ingestion', '0002_file_and_enrichment_runs'),
    ]

    operations = [
        migrations.AddField(
            model_name='userplaylist',
            name='access',
            field=models.CharField(choices=[('waiting', 'Waiting for its first load'), ('granted', 'Loaded by you'), ('refused', 'Not readable by you')], default='waiting', max_length=10),
        ),
        migrations.AddField(
            model_name='userplaylist',
            name='access_changed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='userplaylist',
            name='access_reason',
            field=models.TextField(blank=True, default=''),
        ),
        migrations.RunPython(grant_what_was_loaded, migrations.RunPython.noop),
    ]
