"""After a load commits, a queue task counts the pages across playlists (library,
overlap map, duplicates strict and loose) for everyone who sees the playlist, so
that their next view is a cache hit (ingestion.across_warm).

Most tests call the task through django-q2 in sync mode (the test settings) or
call the task function directly; tests of the debounce enqueue through the real
ORM broker (sync mode off) and count what waits in it. The real cluster's test
is in tests/ingestion/test_qcluster.py."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule, Task

from accounts import library
from devtools.sandbox import DEMO_PLAYLISTS
from devtools.synthetic.exports import (
    catalog_tracks,
    export_item,
    export_playlist,
    write_export_json,
)
from devtools.synthetic.mpd import generate_slices
from devtools.synthetic.snapshots import TrackFactory, snapshot_of
from ingestion import across_warm, runs, tasks
from ingestion.models import IngestRun, RunStatus, Trigger
from ingestion.pipeline import ingest_playlist
from ingestion.snapshot import ArtistRef
from ingestion.transform import transform_snapshot
from warehouse import across_cache, queries
from warehouse.loader import load_playlist
from warehouse.models import Playlist

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("database_cache")]

ARTIST = ArtistRef(id="art1", name="Queen")
WARMED = "computed library, overlap, duplicates:strict, duplicates:loose"
# A view whose figures the warm kept: session, user, visible playlists, their stamp,
# the cache read, then what is not kept (test_across_pages.py pins the same counts).
WARM_QUERIES = {"library": 6, "overlap": 5, "duplicates": 6}


def song(n, name=None):
    return TrackFactory(
        id=f"t{n}", name=name or f"Song {n}", artists=(ARTIST,), duration_ms=100_000 * n
    )


def load(playlist_id, numbers, name="A playlist"):
    snapshot = snapshot_of([song(n) for n in numbers], playlist_id=playlist_id, name=name)
    load_playlist(snapshot, transform_snapshot(snapshot).rows)


@pytest.fixture
def shelves(alice, bob):
    """alice: "pa" (t1 t2 t3) and "pshared" (t2 t3 t4); bob: "pshared" and his
    private "pbob" (t2 and t9, which only he may see). Loaded without asking for a
    warm (the test's transaction never commits)."""
    load("pa", [1, 2, 3], "Mine A")
    load("pshared", [2, 3, 4], "Shared")
    load("pbob", [2, 9], "Bob's secret")
    for user, playlist_id in ((alice, "pa"), (alice, "pshared"), (bob, "pshared"), (bob, "pbob")):
        library.grant(user.pk, playlist_id, add=True)


@pytest.fixture
def broker(monkeypatch):
    """Tasks go to the real ORM broker (sync mode off) and wait there: no cluster."""
    monkeypatch.setattr(Conf, "SYNC", False)


def warm_tasks():
    queued = [task.task for task in OrmQ.objects.all()]
    return [task["args"] for task in queued if task["func"] == across_warm.WARM_TASK]


def kept(user, what):
    """The figure kept for `user` under the stamp of now (None: a view would count)."""
    ids = sorted(library.visible_playlist_ids(user))
    return across_cache.cached(user.pk, what, ids, None, compute_if_missing=False)


def assert_views_are_cache_hits(client, user, django_assert_num_queries):
    client.force_login(user)
    for name, count in WARM_QUERIES.items():
        with django_assert_num_queries(count):
            assert client.get(reverse(f"dashboard:{name}")).status_code == 200
    with django_assert_num_queries(WARM_QUERIES["duplicates"]):
        client.get(reverse("dashboard:duplicates"), {"loose": "1"})


def test_after_a_load_and_its_warm_the_next_views_are_cache_hits(
    client, alice, shelves, django_capture_on_commit_callbacks, django_assert_num_queries
):
    with django_capture_on_commit_callbacks(execute=True):  # the warm runs inline (sync)
        load("pa", [1, 2, 3, 5], "Mine A")

    assert kept(alice, "library").figures.distinct_tracks == 5
    assert_views_are_cache_hits(client, alice, django_assert_num_queries)
    assert client.get(reverse("dashboard:library")).context["summary"].figures.distinct_tracks == 5
    # In the task history, as every django-q2 task is.
    (task,) = Task.objects.filter(func=across_warm.WARM_TASK)
    assert task.success and task.name == f"warm-across-user-{alice.pk}"
    assert WARMED in task.result


def test_many_loads_enqueue_one_warm_per_person_which_counts_once(
    alice, bob, shelves, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for playlist_id, numbers in [("pa", [1, 2]), ("pshared", [2, 3]), ("pbob", [9])] * 3:
            load(playlist_id, numbers)  # nine loads: alice sees six, bob six
    assert sorted(warm_tasks()) == sorted([(alice.pk,), (bob.pk,)])

    assert WARMED in tasks.warm_across(alice.pk)
    # Done: a second delivery finds everything kept and counts nothing.
    assert "computed nothing; already kept: library, overlap" in tasks.warm_across(alice.pk)
    # The marker is cleared by the warm: the next load asks again.
    with django_capture_on_commit_callbacks(execute=True):
        load("pa", [1])
    assert warm_tasks().count((alice.pk,)) == 2


@pytest.fixture
def clean_cache(database_cache):
    """The cache table is not emptied between transactional tests: each starts and
    ends with it empty (a pending marker left behind would hold a warm back)."""
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db(transaction=True)
def test_a_file_of_many_playlists_warms_its_importer_once(
    client, alice, clean_cache, tmp_path, django_assert_num_queries
):
    """Committed for real (autocommit): each grant asks for a warm as it would in a
    worker. The first is held back while the run loads (deferred to a schedule), the
    others find it pending, and the end of the run brings it forward: one count."""
    (path,) = generate_slices(tmp_path / "mpd", slices=1, playlists_per_slice=12)
    run = runs.request_file_import(path, trigger=Trigger.SHELL, user=alice, enqueue=False)
    runs.execute_run(runs.claim_run(run.pk))
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error

    results = list(
        Task.objects.filter(func=across_warm.WARM_TASK)
        .order_by("started")
        .values_list("result", flat=True)
    )
    assert len(results) == 2 and "deferred" in results[0], results
    assert f"12 playlists: {WARMED}" in results[1]
    assert not Schedule.objects.filter(func=across_warm.WARM_TASK).exists()
    assert_views_are_cache_hits(client, alice, django_assert_num_queries)


@pytest.mark.django_db(transaction=True)
def test_an_import_with_enrichment_warms_its_importer_once_after_both_loads(
    sandbox, alice, clean_cache, tmp_path
):
    """The enrichment the import asks for is queued before the import's end releases
    the warm: the warm waits for it, and counts once, after the enrichment's load."""
    catalog = sandbox.catalog
    items = [export_item(catalog, track) for track in catalog_tracks(catalog)]
    path = write_export_json(tmp_path / "Playlist1.json", [export_playlist("To enrich", items)])
    run = runs.request_file_import(
        path, trigger=Trigger.SHELL, user=alice, enrich=True, enqueue=False
    )
    runs.execute_run(runs.claim_run(run.pk))  # the enrichment runs inline (sync mode)

    enrichment = IngestRun.objects.exclude(pk=run.pk).get()
    assert enrichment.status == RunStatus.SUCCEEDED, enrichment.error
    results = list(
        Task.objects.filter(func=across_warm.WARM_TASK)
        .order_by("started")
        .values_list("result", flat=True)
    )
    counted = [result for result in results if WARMED in result]
    assert len(counted) == 1 and counted[0] == results[-1], results
    assert f"user {alice.pk}, 1 playlists" in counted[0]


@pytest.mark.django_db(transaction=True)
def test_a_daily_refresh_warms_each_person_once_after_its_last_load(
    sandbox, alice, clean_cache, broker
):
    """The refresh queues a run per playlist; a worker takes them in turn, and a
    second one takes the warm the first load asked for while the others still wait."""
    playlist_ids = [DEMO_PLAYLISTS[n] for n in (50, 51, 237)]
    for playlist_id in playlist_ids:
        assert ingest_playlist(playlist_id).status == "succeeded"
        library.grant(alice.pk, playlist_id, add=True)
    # A stale snapshot each: every run of the refresh reads and loads its playlist.
    Playlist.objects.filter(pk__in=playlist_ids).update(snapshot_id="stale")
    runs.refresh_tracked_playlists(trigger=Trigger.SCHEDULE)
    first, *others = IngestRun.objects.filter(trigger=Trigger.SCHEDULE).order_by("pk")

    tasks.run_ingest(first.pk)
    assert warm_tasks() == [(alice.pk,)]
    assert "deferred" in tasks.warm_across(alice.pk)  # the other runs are still queued
    for run in others:
        tasks.run_ingest(run.pk)  # their loads find the warm pending; the last one ends it
    assert warm_tasks() == [(alice.pk,)] * 2  # brought forward once, by the last run's end
    assert not Schedule.objects.filter(func=across_warm.WARM_TASK).exists()
    assert f"3 playlists: {WARMED}" in tasks.warm_across(alice.pk)


def test_a_deferred_warm_comes_due_as_a_task_named_like_the_others(alice, shelves):
    """What the cluster's scheduler does with a deferral (here in this process, sync)."""
    from django_q.brokers import get_broker
    from django_q.scheduler import scheduler

    across_warm._schedule(alice.pk, 0)
    scheduler(broker=get_broker())
    (task,) = Task.objects.filter(func=across_warm.WARM_TASK)
    assert task.name == f"warm-across-user-{alice.pk}" and WARMED in task.result
    assert kept(alice, "library") is not None


def test_the_warm_of_a_shared_playlist_warms_both_people_with_their_own_figures(
    client, alice, bob, shelves, django_capture_on_commit_callbacks, django_assert_num_queries
):
    with django_capture_on_commit_callbacks(execute=True):
        load("pshared", [2, 3, 4, 6], "Shared")

    alices, bobs = kept(alice, "overlap"), kept(bob, "overlap")
    assert {p["playlist_id"] for p in alices.playlists} == {"pa", "pshared"}
    assert {p["playlist_id"] for p in bobs.playlists} == {"pbob", "pshared"}
    assert kept(alice, "library").figures.distinct_tracks == 5  # t1 t2 t3 t4 t6
    assert kept(bob, "library").figures.distinct_tracks == 5  # t2 t3 t4 t6 t9
    for user in (alice, bob):
        assert_views_are_cache_hits(client, user, django_assert_num_queries)
    client.force_login(alice)
    for name in WARM_QUERIES:
        html = client.get(reverse(f"dashboard:{name}")).content.decode()
        assert "Bob&#x27;s secret" not in html and "Song 9" not in html, name


def kept_comparison(user, ids):
    return across_cache.cached(
        user.pk, across_cache.comparison(ids), ids, None, compute_if_missing=False
    )


def test_the_warm_compares_the_pairs_sharing_the_most_tracks_in_both_orders(
    client, alice, shelves, settings, django_assert_num_queries
):
    """alice's pairs: pa & pshared share 2 tracks, pa & pc and pc & pshared 1 each;
    with one comparison warmed, only the first is kept, in both orders, and its view
    is a cache hit (test_across_pages.py pins the kept view at 9 queries)."""
    load("pc", [3], "Mine C")
    library.grant(alice.pk, "pc", add=True)
    settings.ACROSS_WARM_COMPARISONS = 1

    assert "compared 1 pair in" in tasks.warm_across(alice.pk)

    expected = queries.compare_playlists(playlist_ids=["pa", "pshared"])
    assert kept_comparison(alice, ["pa", "pshared"]) == expected
    backward = kept_comparison(alice, ["pshared", "pa"])
    assert backward.playlist_ids == ["pshared", "pa"]
    assert backward == queries.compare_playlists(playlist_ids=["pshared", "pa"])
    assert kept_comparison(alice, ["pa", "pc"]) is None
    client.force_login(alice)
    with django_assert_num_queries(9):
        response = client.get(reverse("dashboard:compare") + "?p=pshared&p=pa")
    assert response.context["comparison"] == backward


def test_no_comparison_is_warmed_when_switched_off(alice, shelves, settings):
    settings.ACROSS_WARM_COMPARISONS = 0
    result = tasks.warm_across(alice.pk)
    assert WARMED in result and "compared" not in result
    assert kept_comparison(alice, ["pa", "pshared"]) is None


def test_warming_alice_never_counts_bobs_private_playlist(alice, bob, shelves):
    """The warm asks the access rule: what it keeps for alice is hers alone, though
    bob's private playlist shares a track with hers."""
    tasks.warm_across(alice.pk)
    assert kept(alice, "library").figures.distinct_tracks == 4  # t1 t2 t3 t4, not t9
    assert {p["playlist_id"] for p in kept(alice, "overlap").playlists} == {"pa", "pshared"}
    assert kept(bob, "library") is None  # bob's own figures: not counted by alice's warm
    # Her one pair is compared; bob's pshared & pbob (sharing t2) is not, for anyone.
    assert kept_comparison(alice, ["pa", "pshared"]) is not None
    for user in (alice, bob):
        assert kept_comparison(user, ["pshared", "pbob"]) is None


def test_removing_a_playlist_from_my_list_warms_what_remains(
    client, alice, shelves, django_capture_on_commit_callbacks, django_assert_num_queries
):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dashboard:remove", args=["pshared"]))
    assert kept(alice, "library").figures.distinct_tracks == 3
    assert all(kept(alice, what) is not None for what in across_cache.WARMED)
    with django_assert_num_queries(WARM_QUERIES["library"]):
        client.get(reverse("dashboard:library"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dashboard:restore", args=["pshared"]))
    assert kept(alice, "library").figures.distinct_tracks == 4


def test_a_view_before_the_warm_has_run_counts_for_itself(client, alice, shelves, broker):
    client.force_login(alice)
    client.get(reverse("dashboard:library"))
    load("pa", [1, 2, 3, 7, 8])  # its warm waits in the queue (or never came)
    assert kept(alice, "library") is None
    assert client.get(reverse("dashboard:library")).context["summary"].figures.distinct_tracks == 6


def test_switched_off_nothing_is_enqueued(
    client, alice, shelves, broker, settings, django_capture_on_commit_callbacks
):
    settings.ACROSS_WARM_ON_LOAD = False
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        load("pa", [1, 2])
        library.refuse(alice.pk, "pshared", "Spotify answered 404")
        client.post(reverse("dashboard:remove", args=["pa"]))
    assert callbacks == [] and not OrmQ.objects.exists() and not Schedule.objects.exists()
    assert cache.get(across_warm.pending_key(alice.pk)) is None


@pytest.fixture
def unreachable_cache(settings):
    """A shared cache that refuses every call: Redis on a port nothing listens on."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
        }
    }


def test_a_warm_that_fails_never_fails_the_load_or_the_run(
    alice, shelves, unreachable_cache, tmp_path, django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        load("pa", [1, 2, 3, 4, 5])
        (path,) = generate_slices(tmp_path / "mpd", slices=1, playlists_per_slice=3)
        run = runs.request_file_import(path, trigger=Trigger.SHELL, user=alice, enqueue=False)
        runs.execute_run(runs.claim_run(run.pk))
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert library.visible_playlist_ids(alice).count() == 5
    assert "across warm: asking for a warm after a load failed" in caplog.text


def test_the_warm_task_raises_what_failed_so_the_queue_records_it(
    alice, shelves, unreachable_cache, caplog
):
    with pytest.raises(Exception, match="(?i)connect"):
        tasks.warm_across(alice.pk)
    assert f"across warm: warming user {alice.pk} failed" in caplog.text
