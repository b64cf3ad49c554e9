"""Warming the pages across playlists after a load, so that the next view is warm.

My library, the overlap map and the duplicates (strict and loose) keep their figures
in the shared cache under a stamp of the person's playlists' loads
(`warehouse.across_cache`): the first view after each load used to count them all
again (0.4–5.4 s at 200 playlists). Here, once a load commits, a django-q2 task
(`ingestion.tasks.warm_across`) counts them for everyone who sees a loaded playlist,
under the new stamp, before they ask; and the comparisons of the ACROSS_WARM_COMPARISONS
pairs sharing the most tracks (the overlap map's first).

- **When**: on `transaction.on_commit` of every load (`warehouse.signals.playlists_loaded`:
  Spotify reads, file imports, MPD slices, enrichments), and of every change of which
  playlists a person sees (a grant or refusal, a removal from their list, its Undo).
  Who sees a playlist is the access rule's answer (`accounts.library.viewers`).
- **Once per person** (debounced): the first request sets a pending marker in the
  shared cache (`cache.add`, atomic on both backends) and enqueues one task; the
  requests that follow while it is pending add nothing. The task defers itself
  (a one-off schedule ACROSS_WARM_DELAY_SECONDS later, the marker kept) while runs
  that will load the person's playlists are queued and due, or running; the end of
  a run brings a deferred warm forward (`release_after_commit`). So a daily refresh of
  200 playlists, or a file of 200 playlists, warms each person once, after the last
  run. Then the task clears the marker and counts against the newest stamp; a load
  committing meanwhile asks for its own warm.
- **Never in the way**: a failure to ask for a warm is logged and never fails the
  load or the run; a warm that fails is logged and shows as a failed task in the
  admin's task history; a page whose warm has not run yet counts for itself.
- ACROSS_WARM_ON_LOAD=false switches it off (nothing is enqueued); with
  ACROSS_CACHE_SECONDS=0 there is nothing to warm.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from accounts import library
from ingestion.models import IngestRun, Kind
from warehouse import across_cache

logger = logging.getLogger(__name__)

WARM_TASK = "ingestion.tasks.warm_across"
# A pending marker outlives its task by this much at most: were the task lost (a
# worker killed with the Redis broker), the person's warms resume after it.
PENDING_SECONDS = 3600


def enabled():
    return settings.ACROSS_WARM_ON_LOAD and settings.ACROSS_CACHE_SECONDS > 0


def pending_key(user_id):
    return f"across-warm:pending:user-{user_id}"


# --- asking for a warm --------------------------------------------------------------
def on_playlists_loaded(sender, *, playlist_ids, **kwargs):
    """`warehouse.signals.playlists_loaded`'s receiver (inside the load's transaction):
    the people who see these playlists are asked for once it commits; nobody (a first
    import, before its grant; a bulk load no one listed): nothing to do."""
    if not enabled():
        return
    try:
        # In a savepoint: a failure here leaves the load's transaction usable.
        with transaction.atomic():
            people = library.viewers(playlist_ids)
    except Exception:
        logger.exception("across warm: asking for a warm after a load failed")
        return
    if people:
        warm_after_commit(user_ids=people)


def warm_after_commit(*, user_ids):
    """Once the current transaction commits, ask for a warm for each of `user_ids`.
    Never raises."""
    if not enabled():
        return
    user_ids = sorted(set(user_ids))
    transaction.on_commit(lambda: _request(user_ids), robust=True)


def _request(user_ids):
    for user_id in user_ids:
        try:
            request_warm(user_id)
        except Exception:  # the load is committed: a warm it cannot ask for costs a cold view
            logger.exception("across warm: asking for a warm after a load failed")


def request_warm(user_id):
    """Enqueue one warm for the person, unless one is pending (then it will see this
    load too). Returns whether it enqueued."""
    delay = settings.ACROSS_WARM_DELAY_SECONDS
    if not cache.add(pending_key(user_id), timezone.now().isoformat(), delay + PENDING_SECONDS):
        return False
    if delay <= 0:
        async_task(WARM_TASK, user_id, task_name=_task_name(user_id))
    else:
        _schedule(user_id, delay)
    return True


def _schedule(user_id, delay):
    at = timezone.now() + timedelta(seconds=delay)
    schedule(
        WARM_TASK,
        user_id,
        name=f"warm-across-user-{user_id}-at-{at:%Y%m%dT%H%M%S}",
        schedule_type=Schedule.ONCE,
        next_run=at,
        # The task the schedule turns into is named like the others in the history.
        q_options={"task_name": _task_name(user_id)},
    )


def _task_name(user_id):
    return f"warm-across-user-{user_id}"


def release_after_commit(run):
    """Once the end of `run` commits, bring forward the deferred warms of the people
    it loaded for: those who see its playlist, and whoever asked for it (a file run
    names no playlist). Never raises."""
    if not enabled():
        return
    try:
        people = set(library.viewers([run.playlist_id])) if run.playlist_id else set()
        people.update([run.requested_by_id] if run.requested_by_id else [])
        deferred = [user_id for user_id in sorted(people) if _deferred(user_id).exists()]
    except Exception:
        logger.exception("across warm: finding deferred warms failed")
        return
    if deferred:
        transaction.on_commit(lambda: release_deferred(deferred), robust=True)


def _deferred(user_id):
    return Schedule.objects.filter(func=WARM_TASK, args=repr((user_id,)))


def release_deferred(user_ids):
    """A deferred warm of one of `user_ids` whose person has no more loads coming runs
    now (not at its schedule's next check)."""
    for user_id in user_ids:
        deferred = _deferred(user_id)
        if _loads_coming(user_id):
            continue
        # Deleted first: if the cluster took it meanwhile, it is not enqueued twice
        # here, and at worst the figures are found kept already.
        if deferred.delete()[0]:
            async_task(WARM_TASK, user_id, task_name=_task_name(user_id))


def _loads_coming(user_id):
    """Whether runs that will load playlists of the person are running, or queued and
    due: a playlist they see, or a file (or playlist) they asked for. A retry due
    later does not hold the warm back (its load will ask for another)."""
    return (
        IngestRun.objects.active()
        .exclude(kind=Kind.EXPORT)
        .filter(Q(playlist_id__in=library.visible_playlist_ids(user_id)) | Q(requested_by=user_id))
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=timezone.now()))
        .exists()
    )


# --- the warm itself (the task's work) ----------------------------------------------------
def warm_person(user_id):
    """Count and keep the person's figures across their playlists, unless loads of
    them are still coming (then later, once). Returns what it did, for the task
    history; raises (logged) if the warm fails, so the task shows as failed."""
    try:
        if _loads_coming(user_id):
            delay = settings.ACROSS_WARM_DELAY_SECONDS
            cache.set(pending_key(user_id), timezone.now().isoformat(), delay + PENDING_SECONDS)
            _schedule(user_id, delay)
            return f"user {user_id}: deferred, runs loading their playlists are not done"
        # Cleared before the ids and the stamp are read: a load committing from
        # now on asks for a warm of its own.
        cache.delete(pending_key(user_id))
        started = time.perf_counter()
        ids = list(library.visible_playlist_ids(user_id))
        warmed = across_cache.warm(user_id, ids)
    except Exception:
        logger.exception("across warm: warming user %s failed", user_id)
        raise
    seconds = time.perf_counter() - started
    done = f"user {user_id}, {len(ids)} playlists: {warmed} in {seconds:.2f} s"
    logger.info("across warm: %s", done)
    return done
