#!/usr/bin/env bash
# `make run`: the local Spotify sandbox, the demo playlists ingested, the demo
# login, the queue cluster and the web app.
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}
SANDBOX_PORT=${SANDBOX_PORT:-8765}

# Point the Spotify seam at the sandbox (these override .env for this script
# only). No SPOTIFY_REFRESH_TOKEN: people connect their own (sandbox) Spotify
# account, as with real Spotify; the demo user comes connected.
export DEBUG=${DEBUG:-true}
export SPOTIFY_API_BASE_URL="http://127.0.0.1:${SANDBOX_PORT}/v1/"
export SPOTIFY_ACCOUNTS_BASE_URL="http://127.0.0.1:${SANDBOX_PORT}/"
export SPOTIFY_CLIENT_ID=sandbox-client-id
export SPOTIFY_CLIENT_SECRET=sandbox-client-secret
export SPOTIFY_REFRESH_TOKEN=
export SPOTIFY_REDIRECT_URI="http://127.0.0.1:${PORT}/accounts/spotify/callback/"
# The sandbox is local: no need to pace requests as for the real API.
export SPOTIFY_MAX_REQUESTS_PER_SECOND=0

children=()
cleanup() {
    trap - EXIT INT TERM
    echo "Stopping… (the queue cluster gets ${STOP_GRACE_SECONDS:-15} s to finish its current run)"
    for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
    # django-q2 can take long to stop; a run it abandons is requeued by the reaper.
    for _ in $(seq $(( ${STOP_GRACE_SECONDS:-15} * 2 ))); do
        alive=0
        for pid in "${children[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.5
    done
    for pid in "${children[@]}"; do pkill -KILL -P "$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$PY" manage.py migrate --noinput
"$PY" manage.py createcachetable
"$PY" manage.py setup_schedules
"$PY" manage.py spotify_sandbox --port "$SANDBOX_PORT" &
children+=($!)
sandbox_ready="import urllib.request; urllib.request.urlopen('http://127.0.0.1:${SANDBOX_PORT}/_sandbox/stats', timeout=1)"
for _ in $(seq 50); do
    "$PY" -c "$sandbox_ready" 2>/dev/null && break
    sleep 0.2
done

# The web app's demo login, connected to the sandbox's Spotify account
# sandbox-demo, with the demo playlists in its list (DEBUG only).
demo_login=$("$PY" manage.py seed_demo | tail -n 1) || demo_login="No demo login (seed_demo needs DEBUG=true)."
echo "$demo_login"

echo "Ingesting the sandbox's demo playlists as the demo user…"
# shellcheck disable=SC2046
"$PY" manage.py ingest --user demo $("$PY" -c 'import devtools.sandbox as s; print(" ".join([*s.DEMO_PLAYLISTS.values(), s.MIXED_PLAYLIST_ID, s.COLLAB_PLAYLIST_ID]))') || true

# One demo playlist with three weeks of history (the sandbox ages it a day at a
# time; each refresh is a version): its History tab, diff and "as of" switch.
"$PY" manage.py demo_history --days 21 || true

# A Spotify account data export of sandbox tracks, imported for the demo user;
# its enrichment runs (durations, release dates, genres from the sandbox) wait
# in the queue for the cluster below. The same file can be tried on the upload page.
demo_export="${DATA_DIR:-data}/demo-spotify-export.zip"
"$PY" manage.py spotify_sandbox --write-demo-export "$demo_export"
"$PY" manage.py ingest --user demo --enrich "$demo_export" || true

# The queue cluster: runs requested from the web, the admin, `ingest --queue`
# and the daily schedule.
"$PY" manage.py qcluster &
children+=($!)

echo "Serving on http://127.0.0.1:${PORT}/ (Ctrl-C to stop)"
echo "$demo_login"
# --noreload: one process, so stopping the script stops the server too.
"$PY" manage.py runserver --noreload "127.0.0.1:${PORT}" &
children+=($!)
wait -n
