"""A production run, the way docker-compose.yml's services run, without Docker.

    .venv/bin/python scripts/smoke_production.py      # .ci/run runs it; ~1 minute

PostgreSQL (a throwaway database `pa_smoke`), the production settings (DEBUG
off, the TLS-proxy settings of docs/configuration.md, JSON logs), then the web
service's commands (migrate, createcachetable, setup_schedules, collectstatic,
`check --deploy` with no issue, gunicorn) and the worker's (`qcluster`), the
Spotify sandbox as the Spotify API, and a walk over HTTP as a person and a TLS
proxy would make it: /healthz up, sign up, connect Spotify through the sandbox's
consent page, add a sandbox playlist, wait for its run, open the dashboard,
fetch its static files (hashed names, compressed), /metrics; then a clean stop
(SIGTERM, every process gone within STOP_SECONDS, exit status 0) and every line
the worker logged is one JSON object, the run's lines with its id.

Every wait is a bounded poll for a condition. Exits non-zero, saying what
failed, on the first failed check.
"""

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from base64 import urlsafe_b64encode
from contextlib import suppress
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
DATABASE = os.environ.get("SMOKE_DATABASE", "pa_smoke")
PG = os.environ.get("SMOKE_PG", "postgres://postgres@127.0.0.1:5432")
WAIT_SECONDS = 60  # a bound on each wait, not an expectation
STOP_SECONDS = 30
USERNAME, PASSWORD = "smoke-sam", "a-long-smoke-test-passphrase-77"
METRICS_TOKEN = secrets.token_urlsafe(24)


def main():
    sys.path.insert(0, str(ROOT))
    from devtools.sandbox import DEMO_PLAYLISTS, DEMO_USER_ID

    started = time.monotonic()
    web_port, sandbox_port = free_port(), free_port()
    base = f"http://127.0.0.1:{web_port}"
    env = production_env(base, sandbox_port)
    processes = []
    with tempfile.TemporaryDirectory(prefix="smoke-") as tmp:
        logs = Path(tmp)
        try:
            recreate_database()
            for command in (
                ["migrate", "--noinput"],
                ["createcachetable"],
                ["setup_schedules"],
                ["collectstatic", "--noinput", "--clear"],
            ):
                manage(env, *command)
            check_deploy(env)
            sandbox_env = {**env, "DEBUG": "true"}  # a development tool, not the app
            processes.append(
                start(
                    "sandbox",
                    [PYTHON, "manage.py", "spotify_sandbox", "--port", str(sandbox_port)],
                    sandbox_env,
                    logs,
                )  # fmt: skip
            )
            processes.append(
                start(
                    "gunicorn",
                    [
                        PYTHON,
                        "-m",
                        "gunicorn",
                        "config.wsgi:application",
                        "--bind",
                        f"127.0.0.1:{web_port}",
                        "--workers",
                        "2",
                    ],
                    env,
                    logs,
                )  # fmt: skip
            )
            worker = start("qcluster", [PYTHON, "manage.py", "qcluster"], env, logs)
            processes.append(worker)
            run_id = walk(base, DEMO_USER_ID, DEMO_PLAYLISTS[237])
        except SystemExit:
            for process in processes:
                print(f"--- {process.name} log (end)\n{process.log_path.read_text()[-3000:]}")
            raise
        finally:
            stopped = stop(processes)
            drop_database()
        check(stopped, f"every process stopped within {STOP_SECONDS} s with status 0")
        check_json_logs(logs / "qcluster.log", run_id)
    print(f"smoke: all checks passed in {time.monotonic() - started:.0f} s")


# --- the environment and the services --------------------------------------------------------
def production_env(base, sandbox_port):
    return {
        "PATH": os.environ["PATH"],
        "ENV_FILE": os.devnull,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SPOTIFY_TOKEN_KEY": urlsafe_b64encode(os.urandom(32)).decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"{PG}/{DATABASE}",
        # Behind a TLS proxy (docs/configuration.md): `check --deploy` is clean. This
        # script is the proxy: it sends X-Forwarded-Proto: https on every request.
        "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
        "SECURE_SSL_REDIRECT": "true",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
        "SECURE_HSTS_PRELOAD": "true",
        "CSRF_TRUSTED_ORIGINS": base.replace("http://", "https://"),
        "TRUSTED_PROXY_COUNT": "1",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "METRICS_TOKEN": METRICS_TOKEN,
        "Q_WORKERS": "2",
        "SPOTIFY_API_BASE_URL": f"http://127.0.0.1:{sandbox_port}/v1/",
        "SPOTIFY_ACCOUNTS_BASE_URL": f"http://127.0.0.1:{sandbox_port}/",
        "SPOTIFY_CLIENT_ID": "sandbox-client-id",
        "SPOTIFY_CLIENT_SECRET": "sandbox-client-secret",
        "SPOTIFY_REDIRECT_URI": f"{base}/accounts/spotify/callback/",
        "SPOTIFY_MAX_REQUESTS_PER_SECOND": "0",
    }


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def psql(sql):
    subprocess.run(["psql", PG + "/postgres", "-qc", sql], check=True, capture_output=True)


def recreate_database():
    drop_database()
    psql(f"CREATE DATABASE {DATABASE}")


def drop_database():
    psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def manage(env, *args):
    completed = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    check(completed.returncode == 0, f"manage.py {' '.join(args)}", completed.stderr[-2000:])
    return completed


def check_deploy(env):
    completed = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    output = completed.stdout + completed.stderr
    check("no issues" in output, "check --deploy reports no issues", output)


def start(name, command, env, logs):
    log = (logs / f"{name}.log").open("w")
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    process.name, process.log_path = name, logs / f"{name}.log"
    return process


def stop(processes):
    """SIGTERM each, as `docker compose stop` does; True if all ended well in time."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    clean = True
    for process in processes:
        try:
            code = process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            print(f"smoke: {process.name} did not stop within {STOP_SECONDS} s", file=sys.stderr)
            clean = False
            continue
        if code not in (0, -signal.SIGTERM):
            print(f"smoke: {process.name} exited with {code}", file=sys.stderr)
            print(process.log_path.read_text()[-3000:], file=sys.stderr)
            clean = False
        with suppress(ProcessLookupError):  # nothing of its group may outlive it
            os.killpg(process.pid, signal.SIGKILL)
    return clean


# --- the walk --------------------------------------------------------------------------------
def client(base):
    # This client is the TLS proxy's inside leg: the app's Secure cookies go back
    # to it over http. (requests copies cookies into fresh jars with the default
    # policy on every request and redirect, so the policy itself is changed.)
    DefaultCookiePolicy.return_ok_secure = lambda policy, cookie, request: True
    session = requests.Session()
    https_origin = base.replace("http://", "https://")
    session.headers.update({"X-Forwarded-Proto": "https", "Origin": https_origin})
    return session


def csrf_token(html):
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    check(match, "the page has a CSRF token", html[:500])
    return match.group(1)


def walk(base, sandbox_user, playlist_id):
    """Returns the id of the run the walk waited for."""
    plain = requests.Session()
    health = poll(lambda: get_ok(plain, base + "/healthz"), "/healthz to answer 200")
    check(health.json()["status"] == "ok", "/healthz says ok", health.text)

    http = client(base)
    # Sign up.
    page = http.get(base + "/accounts/signup/")
    check(page.status_code == 200, "the sign-up page", page.status_code)
    signed_up = http.post(
        base + "/accounts/signup/",
        data={
            "csrfmiddlewaretoken": csrf_token(page.text),
            "username": USERNAME,
            "email": f"{USERNAME}@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    check("My playlists" in signed_up.text, "signed up, on My playlists", signed_up.text[:800])

    # Connect Spotify: the sandbox's consent page, approved as the sandbox's demo user.
    account = http.get(base + "/accounts/spotify/")
    consent = http.post(
        base + "/accounts/spotify/connect/",
        data={"csrfmiddlewaretoken": csrf_token(account.text)},
        allow_redirects=False,
    )
    check(consent.status_code == 302, "Connect Spotify redirects to Spotify", consent.status_code)
    authorize = consent.headers["Location"]
    approved = http.get(
        authorize, params={"sandbox_user": sandbox_user, "sandbox_approve": "1"}
    )  # follows the sandbox's redirect back to the app's callback
    check(approved.status_code == 200, "back from the consent page", approved.url)
    check(sandbox_user in http.get(base + "/accounts/spotify/").text, "Spotify connected")

    # Add a sandbox playlist by its link; the queue cluster runs it.
    home = http.get(base + "/")
    added = http.post(
        base + "/playlists/add/",
        data={
            "csrfmiddlewaretoken": csrf_token(home.text),
            "reference": f"https://open.spotify.com/playlist/{playlist_id}",
        },
    )
    match = re.search(r"/runs/(\d+)/$", urlsplit(added.url).path)
    check(match, "adding the playlist opens its run page", added.url)
    run_id = int(match.group(1))
    status = poll(
        lambda: (s := http.get(f"{base}/runs/{run_id}/status.json").json())["final"] and s,
        "the run to end",
    )
    check(status["status"] == "succeeded", "the run succeeded", status)

    # The dashboard and its static files: hashed names, served compressed.
    dashboard = http.get(f"{base}/playlists/{playlist_id}/")
    check(dashboard.status_code == 200, "the dashboard opens", dashboard.status_code)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+\.(?:js|css))"', dashboard.text)
    check(assets, "the dashboard links static files", dashboard.text[:800])
    for asset in assets:
        check(re.search(r"\.[0-9a-f]{12}\.(js|css)$", asset), f"{asset} has a hashed name")
        served = http.get(urljoin(base, asset), headers={"Accept-Encoding": "gzip, br"})
        check(served.status_code == 200, f"{asset} is served", served.status_code)
        encoding = served.headers.get("Content-Encoding")
        check(encoding in ("gzip", "br"), f"{asset} is served compressed", encoding)
        check("immutable" in served.headers.get("Cache-Control", ""), f"{asset} is cached")

    # The metrics see the run (read from the database by a web process).
    metrics = http.get(base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    check(metrics.status_code == 200, "/metrics with the token", metrics.status_code)
    line = 'playlist_analytics_runs{kind="playlist",status="succeeded"} 1.0'
    check(line in metrics.text, "/metrics counts the run", metrics.text[:1500])
    return run_id


def get_ok(session, url):
    try:
        response = session.get(url, timeout=5)
    except requests.RequestException:  # not up yet
        return None
    return response if response.status_code == 200 else None


def poll(condition, what):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    fail(f"gave up waiting for {what} after {WAIT_SECONDS} s")


# --- the logs --------------------------------------------------------------------------------
def check_json_logs(path, run_id):
    lines = path.read_text().splitlines()
    check(lines, "the worker logged something")
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            fail(f"a worker log line is not JSON: {line!r}")
    of_the_run = [entry for entry in entries if entry.get("run_id") == run_id]
    check(of_the_run, f"the worker's lines of run {run_id} carry its id", lines[-20:])


def check(condition, what, detail=""):
    if not condition:
        fail(f"{what}: FAILED" + (f"\n{detail}" if detail else ""))
    print(f"smoke: ok  {what}")


def fail(message):
    print(f"smoke: {message}", file=sys.stderr)
    raise SystemExit(1)


if __name__ == "__main__":
    main()
