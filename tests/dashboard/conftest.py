"""Named people and loaded playlists for the dashboard tests (and the analytics ones).

- `alice` owns data: load playlists for her with `loaded_playlist(alice, …)`.
- `bob` shares one of alice's playlists: `loaded_playlist(alice, bob)` lists it for both.
- `charlie` sees nothing: he has no playlists, so every page of alice's answers him 404.

All three (defined in tests/conftest.py) sign in with `PASSWORD`. Sign a client in with
`client.force_login(alice)`:
django-axes needs the request in `authenticate`, which `client.login()` does not pass.

    def test_it_lists_the_playlist(client, alice, loaded_playlist):
        playlist = loaded_playlist(alice, tracks=5, name="Road trip")
        client.force_login(alice)
        ...

`ingest_run(playlist_id, **fields)` makes an ingest run row (status succeeded unless
told otherwise; at most one queued or running run per playlist).
"""

import pytest
from django.utils import timezone

from devtools.synthetic.snapshots import TrackFactory, snapshot_of
from ingestion.models import IngestRun, RunStatus, Trigger
from ingestion.pipeline import IngestResult, transform_and_load
from tests.conftest import make_user
from warehouse.models import Playlist


@pytest.fixture
def staff(django_user_model):
    return make_user(django_user_model, "sam-staff", is_staff=True, is_superuser=True)


@pytest.fixture
def loaded_playlist(db):
    """Load a playlist of `tracks` tracks into the warehouse, as loaded by each of `users`
    (on their lists, and theirs to see).

    `loaded_playlist(alice, bob, tracks=3, name=…, owner_name=…, description=…,
    image_url=…, playlist_id=…)` returns the warehouse `Playlist`. The snapshot
    goes through the real transform and loader, so rows look like ingested ones.
    Pass `track_list=[TrackFactory(...), …]` for specific tracks instead of `tracks`.
    """
    from accounts import library

    def load(*users, tracks=3, track_list=None, **snapshot_fields):
        items = track_list if track_list is not None else TrackFactory.build_batch(tracks)
        snapshot = snapshot_of(items, **snapshot_fields)
        transform_and_load(snapshot, IngestResult(reference=snapshot.playlist_id))
        for user in users:
            library.grant(user.pk, snapshot.playlist_id, add=True)
        return Playlist.objects.get(pk=snapshot.playlist_id)

    return load


@pytest.fixture
def ingest_run(db):
    """Make an IngestRun: `ingest_run(playlist_id, status=…, **fields)`."""

    def make(playlist_id, **fields):
        status = fields.pop("status", RunStatus.SUCCEEDED)
        defaults = {
            "reference": playlist_id,
            "trigger": Trigger.WEB,
            "attempt": 1,
            "started_at": timezone.now(),
        }
        if status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            defaults["finished_at"] = timezone.now()
        return IngestRun.objects.create(
            playlist_id=playlist_id, status=status, **{**defaults, **fields}
        )

    return make


def downloaded_text(response, file_format):
    """A streamed download's content as text, to look for what it must not hold:
    a ZIP's entry names and contents, a Parquet file's rows, a CSV or JSON as is."""
    import io
    import zipfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    assert response.streaming, "downloads stream"
    content = b"".join(response.streaming_content)
    if file_format == "zip":
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = [name + "\n" + archive.read(name).decode() for name in archive.namelist()]
        return "\n".join(parts)
    if file_format == "parquet":
        return str(pq.read_table(pa.BufferReader(content)).to_pylist())
    return content.decode()


@pytest.fixture
def database_cache(settings):
    """The shared cache as a database table (the default without REDIS_URL), whatever
    the environment says: its reads and writes are queries the tests can count, and
    the test's transaction rolls them back. Emptied first: a transactional test
    before (a real queue cluster warming someone's pages) may have left entries."""
    from django.core.cache import cache

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
        }
    }
    cache.clear()
