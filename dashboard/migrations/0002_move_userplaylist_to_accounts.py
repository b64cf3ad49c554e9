"""UserPlaylist now belongs to accounts (accounts/0002); the table is kept as is."""

from django.db import migrations


def move_content_type(apps, schema_editor):
    # Admin log entries and permissions follow the model to its new app.
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="dashboard", model="userplaylist").update(
        app_label="accounts"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_user_playlists"),
        ("accounts", "0002_userplaylist"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="UserPlaylist")],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, migrations.RunPython.noop),
    ]
