"""Run history in the admin: filter, search, read the log, run again, cancel; a stalled queue."""

from django.contrib import admin, messages
from django.utils.html import format_html_join

from accounts.admin import tell_about_operator_token
from ingestion import runs
from ingestion.health import queue_health
from ingestion.models import IngestRun, Kind


@admin.register(IngestRun)
class IngestRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "playlist",
        "kind",
        "status",
        "step",
        "trigger",
        "attempt",
        "tracks_loaded",
        "api_calls",
        "queued_at",
        "finished_at",
    )
    list_filter = ("status", "kind", "trigger", "quota_exceeded")
    search_fields = ("playlist_id", "name", "reference", "error")
    date_hierarchy = "queued_at"
    list_select_related = ("requested_by",)
    show_full_result_count = False
    actions = ("run_again", "cancel")
    fieldsets = (
        (None, {"fields": ("kind", "playlist_id", "name", "reference", "status", "error")}),
        ("Request", {"fields": ("trigger", "requested_by", "parameters")}),
        (
            "Progress",
            {
                "fields": (
                    "step",
                    ("items_fetched", "items_total"),
                    ("artists_done", "artists_total"),
                    ("files_done", "files_total"),
                    ("playlists_done", "playlists_total"),
                )
            },
        ),
        (
            "Outcome",
            {
                "fields": (
                    "tracks_loaded",
                    "items_skipped",
                    ("rows_inserted", "rows_updated", "rows_removed"),
                    ("api_calls", "rate_limit_waits", "quota_exceeded"),
                    "playlists_loaded",
                )
            },
        ),
        (
            "Timing and attempts",
            {
                "fields": (
                    ("queued_at", "not_before"),
                    ("started_at", "heartbeat_at", "finished_at"),
                    "attempt",
                    "attempt_history",
                )
            },
        ),
        ("Log", {"fields": ("log_lines",)}),
    )

    def changelist_view(self, request, extra_context=None):
        # Shell and unattended runs may read with SPOTIFY_REFRESH_TOKEN: say when it ends.
        tell_about_operator_token(request)
        # A stalled queue is said where runs are watched (see ingestion.health).
        health = queue_health()
        if health.stalled:
            messages.error(request, health.message)
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Runs are history: only the actions below change them.
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field for fieldset in self.fieldsets for field in _flatten(fieldset[1]["fields"])]

    @admin.display(description="playlist, file or export", ordering="name")
    def playlist(self, run):
        return run.title

    @admin.display(description="playlists loaded (file imports)")
    def playlists_loaded(self, run):
        if not run.playlists:
            return "none"
        return format_html_join(
            "\n",
            "<div>{} <code>{}</code>: {} tracks</div>",
            ((p["name"], p["playlist_id"], p["tracks"]) for p in run.playlists),
        )

    @admin.display(description="earlier attempts")
    def attempt_history(self, run):
        if not run.attempts:
            return "none"
        return format_html_join(
            "\n",
            "<div>#{}: ended {} — {}</div>",
            ((a["attempt"], a["ended_at"], a["error"]) for a in run.attempts),
        )

    @admin.display(description="log")
    def log_lines(self, run):
        return format_html_join(
            "\n", "<div><code>{}</code></div>", ((line,) for line in run.log.splitlines())
        )

    def has_operate_permission(self, request):
        # Runs are read-only records, but whoever may change them may act on them.
        return request.user.has_perm("ingestion.change_ingestrun")

    @admin.action(description="Run again", permissions=["operate"])
    def run_again(self, request, queryset):
        queued = 0
        # A file import is run again from the shell, or by uploading the file again;
        # an export is of its requester's library (none left: nothing to export).
        for run in queryset.exclude(kind=Kind.FILE).exclude(kind=Kind.EXPORT, requested_by=None):
            new, created = runs.request_again(run, user=request.user)
            queued += created
        self.message_user(
            request,
            f"{queued} run(s) queued; playlists with an active run kept it, "
            "file imports are run again with `manage.py ingest PATH` or a new upload.",
        )

    @admin.action(description="Cancel", permissions=["operate"])
    def cancel(self, request, queryset):
        cancelled = sum(runs.cancel_run(run) for run in queryset)
        level = messages.SUCCESS if cancelled else messages.WARNING
        self.message_user(
            request, f"{cancelled} run(s) cancelled (only queued or running runs can be).", level
        )


def _flatten(fields):
    for field in fields:
        if isinstance(field, tuple):
            yield from field
        else:
            yield field
