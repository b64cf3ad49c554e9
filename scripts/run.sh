#!/usr/bin/env bash
# `make run`: the local Spotify sandbox, the demo playlists ingested, the demo
# login, the queue cluster and the web app.
# Ctrl-C stops everything this script started: the queue cluster first (its runs
# in progress go back to the queue), then the web app and the sandbox.
set -euo pipefail
# Each background process in a process group of its own: Ctrl-C reaches this
# script alone, which stops them in order (the queue cluster would otherwise get
# the SIGINT too, and then our SIGTERM as a second request: stop at once).
set -m
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}
SANDBOX_PORT=${SANDBOX_PORT:-8765}
DATA=${DATA_DIR:-data}
mkdir -p "$DATA"
# What each step prints (migrations, the sandbox's details, ingest progress, the
# web server's requests) goes here; the console gets what a person needs.
LOG="$DATA/make-run.log"
: >"$LOG"

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
# How long the queue cluster may take to stop (it hands its runs back at once).
export Q_STOP_SECONDS=${Q_STOP_SECONDS:-10}

step() { printf '%s\n' "$*"; }
quietly() { "$@" >>"$LOG" 2>&1; }

# Every process a pid started, the pid last.
tree() {
    local child
    for child in $(pgrep -P "$1" 2>/dev/null); do tree "$child"; done
    printf '%s\n' "$1"
}

# Wait up to $2 seconds for process $1 to end; false if it is still there.
ended_within() {
    local _
    for _ in $(seq $(($2 * 10))); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    ! kill -0 "$1" 2>/dev/null
}

sandbox_pid="" cluster_pid="" web_pid="" stopping=""
stop() {
    local pid
    trap - EXIT INT TERM
    stopping=1
    set +e +m # +m: no job notices
    step "Stopping…"
    # The cluster first, while the sandbox still answers: runs in progress go
    # back to the queue and the next `make run` finishes them.
    if [ -n "$cluster_pid" ]; then
        kill -TERM "$cluster_pid" 2>/dev/null
        ended_within "$cluster_pid" $((Q_STOP_SECONDS + 5)) ||
            for pid in $(tree "$cluster_pid"); do kill -KILL "$pid" 2>/dev/null; done
    fi
    for pid in $web_pid $sandbox_pid; do
        kill -TERM "$pid" 2>/dev/null
        ended_within "$pid" 5 || kill -KILL "$pid" 2>/dev/null
    done
    wait 2>/dev/null
    step "Stopped."
}
failed() {
    [ -z "$stopping" ] || return 0 # the wait that Ctrl-C interrupted
    step "make run failed; the last lines of $LOG:"
    tail -n 20 "$LOG"
}
trap stop EXIT INT TERM
trap failed ERR

step "Preparing the database…"
quietly "$PY" manage.py migrate --noinput
quietly "$PY" manage.py createcachetable
quietly "$PY" manage.py setup_schedules

step "Starting the Spotify sandbox on http://127.0.0.1:${SANDBOX_PORT}/ (details: docs/sandbox.md)…"
"$PY" manage.py spotify_sandbox --port "$SANDBOX_PORT" >>"$LOG" 2>&1 &
sandbox_pid=$!
sandbox_ready="import urllib.request; urllib.request.urlopen('http://127.0.0.1:${SANDBOX_PORT}/_sandbox/stats', timeout=1)"
for _ in $(seq 50); do
    "$PY" -c "$sandbox_ready" 2>/dev/null && break
    sleep 0.2
done

# The web app's demo login, connected to the sandbox's Spotify account
# sandbox-demo, with the demo playlists in its list (DEBUG only).
demo_login=$("$PY" manage.py seed_demo 2>>"$LOG" | tail -n 1) ||
    demo_login="No demo login (seed_demo needs DEBUG=true)."

step "Loading the demo playlists (a minute or two the first time)…"
# shellcheck disable=SC2046
quietly "$PY" manage.py ingest --user demo $("$PY" -c 'import devtools.sandbox as s; print(" ".join([*s.DEMO_PLAYLISTS.values(), s.MIXED_PLAYLIST_ID, s.COLLAB_PLAYLIST_ID]))') || true

# One demo playlist with three weeks of history (the sandbox ages it a day at a
# time; each refresh is a version): its History tab, diff and "as of" switch.
quietly "$PY" manage.py demo_history --days 21 || true

# A Spotify account data export of sandbox tracks, imported for the demo user;
# its enrichment runs (durations, release dates, genres from the sandbox) wait
# in the queue for the cluster below. The same file can be tried on the upload page.
demo_export="$DATA/demo-spotify-export.zip"
quietly "$PY" manage.py spotify_sandbox --write-demo-export "$demo_export"
quietly "$PY" manage.py ingest --user demo --enrich "$demo_export" || true

# The queue cluster: runs requested from the web, the admin, `ingest --queue`
# and the daily schedule.
"$PY" manage.py qcluster >>"$LOG" 2>&1 &
cluster_pid=$!

# --noreload: one process, so stopping the script stops the server too.
"$PY" manage.py runserver --noreload "127.0.0.1:${PORT}" >>"$LOG" 2>&1 &
web_pid=$!

cat <<EOF

  Playlist Analytics is running: http://127.0.0.1:${PORT}/
  ${demo_login}
  (Use 127.0.0.1, not localhost: Spotify sends you back to that address.)
  Try a file upload with ${demo_export}.
  Everything the app and the sandbox print goes to ${LOG}.
  Press Ctrl-C to stop.

EOF
wait -n
