"""django-q2 entry points: thin adapters that take ids and call ingestion.runs."""

from ingestion import across_warm, export_runs, runs
from ingestion.models import Trigger
from ingestion.shutdown import stop_requested
from warehouse import index_deferral, summaries


def run_ingest(run_id):
    """Claim the run and execute it; a duplicate delivery finds nothing to claim."""
    if stop_requested():
        # The cluster is stopping: the next cluster runs it.
        runs.hand_back_unclaimed(run_id)
        return f"run {run_id}: handed back (the queue cluster is stopping)"
    run = runs.claim_run(run_id)
    if run is None:
        return "not claimed (already taken, cancelled, or not due yet)"
    result = runs.execute_run(run)
    # The counts its loads logged, folded after the run (outside its loads'
    # transactions): the reads stay one index read each (warehouse.summaries).
    summaries.fold()
    return f"run {run_id}: {result.status if result else 'abandoned or handed back'}"


def refresh_tracked_playlists():
    created, active = runs.refresh_tracked_playlists(trigger=Trigger.SCHEDULE)
    return f"{created} runs queued, {active} already queued or running"


def reap_stale_runs():
    """The reaper's schedule: stale runs, export files past their retention, the
    warehouse-wide counts' log folded (their reads are exact without it, only
    slower the longer the log: `warehouse.summaries.fold`), and the indexes an
    import that died left dropped built again (`warehouse.index_deferral`)."""
    reaped = runs.reap_stale_runs()
    expired = export_runs.delete_expired_exports()
    folded = summaries.fold()
    rebuilt = index_deferral.restore_abandoned()
    return (
        f"{reaped} stale runs reaped, {expired} expired export files deleted, "
        f"{folded} loads' counts folded, {rebuilt} deferred indexes rebuilt"
    )


def warm_across(user_id):
    """Count the person's figures across their playlists after a load (ingestion.across_warm)."""
    return across_warm.warm_person(user_id)
