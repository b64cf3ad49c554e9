"""The demo export of `make run`: a real-shaped export of sandbox tracks that
imports, then enriches completely from the sandbox."""

import pytest
from django.core.management import call_command

from ingestion.enrichment import enrich_playlist
from ingestion.files import ingest_path
from ingestion.pipeline import Status
from spotify_client import SpotifyClient
from warehouse.queries import missing_details

pytestmark = pytest.mark.django_db


def test_the_demo_export_imports_and_enriches_from_the_sandbox(sandbox, tmp_path):
    path = tmp_path / "demo.zip"
    call_command("spotify_sandbox", write_demo_export=str(path), stdout=None)
    results = ingest_path(path)
    assert [(r.name, r.status, r.tracks_loaded) for r in results] == [
        ("Road trip (from an export)", Status.SUCCEEDED, 40),
        # 12 tracks, one shared with Road trip, a local file:
        ("Kitchen radio (from an export)", Status.SUCCEEDED, 14),
    ]
    assert results[1].items_skipped == {"episode": 1}
    client = SpotifyClient.for_app()
    for result in results:
        assert missing_details(result.playlist_id)["enrichable"] > 0
        enriched = enrich_playlist(result.playlist_id, client=client)
        assert enriched.status == Status.SUCCEEDED, enriched.error
        assert missing_details(result.playlist_id)["enrichable"] == 0
