"""The web app as a newcomer meets it (issue 16), in Chromium at desktop and phone widths.

One journey: the empty home that leads; Pick from my Spotify → Add selected, and
the home page following both runs live (one polled JSON) until their cards show
tracks; a failed add in the "needs attention" strip; remove with confirmation and
Undo; sorting home and the overview; a click on a chart bar filtering the track
table; the upload form refusing a file that is not an export before sending it;
and at 390 px no page scrolls sideways. Screenshots of each page at 1366
and 390 px land in test-artifacts/ (git-ignored; CI keeps them).

Skipped without Chromium or playwright unless REQUIRE_BROWSER_TESTS=1, as the
journeys in test_journey.py (whose browser set-up and run hand-off this reuses).
"""

import re
import threading
from contextlib import contextmanager

import pytest
from django.db import connections
from django.urls import reverse

from accounts.models import UserPlaylist
from devtools.sandbox import DEMO_PLAYLISTS
from ingestion import runs as ingestion_runs
from ingestion.models import IngestRun, Kind, RunStatus, Trigger
from tests.browser.test_journey import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    RUN_TIMEOUT_MS,
    TIMEOUT_MS,
    _note_csp_violation,
    _refuse,
    held_runs,  # noqa: F401 (a fixture)
    sync_playwright,  # noqa: F401 (a fixture)
)

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
SMALL, BIG = DEMO_PLAYLISTS[50], DEMO_PLAYLISTS[237]  # owned by sandbox-demo
FAILED_ID = "0000000000000000000Fail"[:22]

NO_SIDEWAYS_SCROLL_JS = "() => document.documentElement.scrollWidth <= window.innerWidth"


@contextmanager
def _page(sync_playwright):  # noqa: F811 (the fixture's value)
    errors, csp = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport=DESKTOP)
            context.set_default_timeout(TIMEOUT_MS)
            context.route(re.compile(r"^https?://(?!(127\.0\.0\.1|localhost)[:/])"), _refuse)
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda message: _note_csp_violation(message, csp))
            yield page, errors, csp
        finally:
            browser.close()


def _shoot(page, name):
    """Full-page screenshots at 1366 and 390 px; the 390 one must not scroll sideways."""
    for label, viewport in (("1366", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(viewport)
        page.wait_for_load_state("load")
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
        if label == "390":
            assert page.evaluate(NO_SIDEWAYS_SCROLL_JS), f"{name} scrolls sideways at 390 px"
    page.set_viewport_size(DESKTOP)


def _execute_one_after_another(run_ids):
    """Hand the held runs to the (synchronous) queue one after the other, in one thread
    that closes its connections at the end (see test_journey._execute_in_thread)."""

    def work():
        try:
            for run_id in run_ids:
                ingestion_runs.async_task(
                    ingestion_runs.RUN_TASK, run_id, task_name=f"ingest-run-{run_id}"
                )
        finally:
            connections.close_all()

    thread = threading.Thread(target=work, name="ingest-runs", daemon=True)
    thread.start()
    return thread


def _texts(locator):
    return [text.strip() for text in locator.all_inner_texts()]


def test_a_newcomer_adds_follows_fixes_removes_sorts_and_filters(
    sync_playwright,  # noqa: F811
    transactional_db,
    live_server,
    sandbox,
    held_runs,  # noqa: F811
    alice,
    connect_spotify,
    monkeypatch,
):
    from playwright.sync_api import expect

    # Playwright's sync API runs an event loop in this thread; the test's own ORM
    # calls (setting up a failed add) are synchronous and safe here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    from tests.conftest import PASSWORD

    ARTIFACTS.mkdir(exist_ok=True)
    base = live_server.url
    threads = []
    with _page(sync_playwright) as (page, errors, csp):
        try:
            page.goto(base + reverse("login"))
            page.fill("#id_username", alice.username)
            page.fill("#id_password", PASSWORD)
            page.get_by_role("button", name="Sign in").click()

            # --- the empty state leads: connect Spotify (and why), or upload
            start = page.locator(".empty-start")
            expect(start).to_contain_text("Your list is empty")
            expect(start.get_by_role("link", name="Connect Spotify")).to_be_visible()
            expect(start).to_contain_text("own or collaborate on")
            expect(start.get_by_role("link", name="Upload an export")).to_be_visible()
            _shoot(page, "home-empty")

            # --- Pick from my Spotify → Add selected: home follows both runs live
            connect_spotify(alice)
            page.goto(base + reverse("spotify-playlists"))
            page.check(f'input[name="playlist"][value="{SMALL}"]')
            page.check(f'input[name="playlist"][value="{BIG}"]')
            _shoot(page, "pick")
            page.get_by_role("button", name="Add selected").click()
            expect(page).to_have_url(base + reverse("dashboard:home"))
            expect(page.locator(".badge[data-active]")).to_have_count(2)
            expect(page.locator(".badge[data-active]").first).to_have_text("Queued")
            assert len(held_runs) == 2, held_runs
            threads.append(_execute_one_after_another(list(held_runs)))
            # No reload by the test: the page's one polled JSON brings the news.
            expect(page.locator(".badge[data-active]")).to_have_count(0, timeout=RUN_TIMEOUT_MS)
            cards = page.locator("#playlist-list .playlist-card")
            expect(cards).to_have_count(2)
            expect(page.locator(f'[data-playlist-id="{BIG}"] .facts')).to_contain_text("237 tracks")
            for thread in threads:
                thread.join(timeout=RUN_TIMEOUT_MS / 1000)

            # --- a failed add: in the attention strip, with its reason, not as a card
            UserPlaylist.objects.create(user=alice, playlist_id=FAILED_ID)
            IngestRun.objects.create(
                playlist_id=FAILED_ID,
                reference=FAILED_ID,
                kind=Kind.PLAYLIST,
                trigger=Trigger.WEB,
                requested_by=alice,
                status=RunStatus.FAILED,
                name="Late night drive",
                error="Spotify did not answer in time.",
            )
            page.reload()
            strip = page.locator(".attention")
            expect(strip).to_contain_text("Late night drive")
            expect(strip).to_contain_text("Spotify did not answer in time.")
            expect(strip.get_by_role("button", name="Try again")).to_be_visible()
            expect(cards).to_have_count(2)
            _shoot(page, "home")

            # --- remove asks first, and can be undone
            failed = strip.locator(f'[data-playlist-id="{FAILED_ID}"]')
            remove = failed.get_by_role("button", name="Remove from my list")
            expect(remove).to_be_hidden()
            failed.locator("summary", has_text="Remove…").click()
            expect(failed).to_contain_text("Remove Late night drive from your list?")
            remove.click()
            expect(page.locator(".messages")).to_contain_text("Removed")
            expect(page.locator(".attention")).to_have_count(0)
            assert not UserPlaylist.objects.filter(user=alice, playlist_id=FAILED_ID).exists()
            page.get_by_role("button", name="Undo").click()
            expect(page.locator(".attention")).to_contain_text("Late night drive")
            assert UserPlaylist.objects.filter(user=alice, playlist_id=FAILED_ID).exists()

            # --- sort home by tracks (biggest first), then by name
            page.locator('.list-sort a[data-sort="tracks"]').click()
            expect(page).to_have_url(re.compile(r"sort=tracks"))
            expect(cards.first).to_have_attribute("data-playlist-id", BIG)
            page.locator('.list-sort a[data-sort="tracks"]').click()  # again: smallest first
            expect(cards.first).to_have_attribute("data-playlist-id", SMALL)
            page.fill("#list-query", "zzz-nothing")
            page.locator(".list-controls").get_by_role("button", name="Search").click()
            expect(page.locator(".empty")).to_contain_text("zzz-nothing")

            # --- the overview's table sorts by its column heads
            page.goto(base + reverse("dashboard:overview"))
            head = page.locator('th[data-sort="tracks"]')
            head.locator("a").click()
            expect(head).to_have_attribute("aria-sort", "descending")
            counts = [
                int(t.replace(",", ""))
                for t in _texts(page.locator("#playlists tbody td.num:nth-child(3)"))
            ]
            assert counts == sorted(counts, reverse=True) and len(counts) == 2
            _shoot(page, "overview")

            # --- the dashboard: a click on the top artist's bar filters the table
            page.goto(base + reverse("dashboard:playlist", args=[BIG]))
            canvas = page.locator("#chart-artists")
            expect(canvas).to_have_attribute("data-clickable", "true")
            bar = page.evaluate(
                """() => {
                  const chart = Chart.getChart(document.getElementById("chart-artists"));
                  const element = chart.getDatasetMeta(0).data[0];
                  return {x: element.x - (element.x - element.base) / 2, y: element.y,
                          value: chart.data.datasets[0].data[0], label: chart.data.labels[0]};
                }"""
            )
            box = canvas.bounding_box()
            page.mouse.click(box["x"] + bar["x"], box["y"] + bar["y"])
            filters = page.locator("#track-table [data-table-filters]")
            expect(filters).to_contain_text(f"Artist: {bar['label']}")
            expect(page.locator("#track-table p.table-status")).to_contain_text(
                f"of {bar['value']}"
            )
            expect(page).to_have_url(re.compile(r"[?&]artist="))
            artists = _texts(page.locator("#track-table tbody td.col-artist"))
            assert artists and all(bar["label"] in cell for cell in artists)
            _shoot(page, "dashboard-filtered")
            filters.get_by_role("link", name="Show all tracks").click()
            expect(page.locator("#track-table p.table-status")).to_contain_text("of 237")
            _shoot(page, "dashboard")

            # --- the upload form says what a peek at the file tells, before queuing
            page.goto(base + reverse("dashboard:upload"))
            runs_before = IngestRun.objects.count()
            page.set_input_files(
                "#id_file",
                files=[
                    {"name": "Playlist1.json", "mimeType": "application/json", "buffer": b"hello"}
                ],
            )
            peek = page.locator("#file-peek")
            expect(peek).to_contain_text("Playlist1.json is not JSON")
            page.get_by_role("button", name="Import").click()
            expect(page).to_have_url(base + reverse("dashboard:upload"))
            assert IngestRun.objects.count() == runs_before
            _shoot(page, "upload-peek")

            # --- the other pages, at both widths, none scrolling sideways on a phone
            for name, url in (
                ("library", reverse("dashboard:library")),
                ("history", reverse("dashboard:history", args=[BIG])),
                ("upload", reverse("dashboard:upload")),
                ("duplicates", reverse("dashboard:duplicates")),
                ("overlap", reverse("dashboard:overlap")),
                ("run", reverse("dashboard:run", args=[held_runs[1]])),
            ):
                page.goto(base + url)
                _shoot(page, name)
        finally:
            for thread in threads:
                thread.join(timeout=RUN_TIMEOUT_MS / 1000)
            # The ORM calls above ran inside Playwright's context, on connections of
            # their own (asgiref's locals follow the context): close those here.
            connections.close_all()

    assert errors == [], errors
    assert csp == [], csp
