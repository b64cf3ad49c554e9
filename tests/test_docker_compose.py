"""docker-compose.yml, .env.example and docs/configuration.md agree with config/settings.py.

Plain file checks: no database, no Docker.
"""

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "config" / "settings.py"
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
CONFIGURATION_DOC = ROOT / "docs" / "configuration.md"

# env.str("NAME", …), env.db_url("NAME", …), env(\n "NAME" …) and the like.
_SETTING_READ_RE = re.compile(r"""\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""")
# NAME=… at the start of a line, optionally commented out ("# NAME=…").
_ENV_LINE_RE = re.compile(r"^(?:#\s*)?([A-Z][A-Z0-9_]*)=", re.MULTILINE)
APP_SERVICES = ("web", "worker")


def settings_names():
    names = set(_SETTING_READ_RE.findall(SETTINGS.read_text(encoding="utf-8")))
    assert names, 'found no env.*("NAME" reads in config/settings.py: has the pattern changed?'
    return names


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _environment(service):
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
    return environment


def _command(service):
    command = service.get("command") or ""
    return " ".join(command) if isinstance(command, list) else command


def _published_ports(service):
    """(host port, container port) pairs of a service, short or long syntax."""
    pairs = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            pairs.append((str(port.get("published")), str(port.get("target"))))
            continue
        parts = str(port).split("/")[0].split(":")
        if len(parts) >= 2:
            pairs.append((parts[-2], parts[-1]))
    return pairs


def test_services_exist(compose):
    assert {"db", "web", "worker"} <= set(compose["services"])


def test_db_is_postgres_on_host_port_5433(compose):
    db = compose["services"]["db"]
    assert db["image"].split(":")[0] == "postgres"
    assert ("5433", "5432") in _published_ports(db)


def test_db_has_a_named_volume_and_a_pg_isready_healthcheck(compose):
    db = compose["services"]["db"]
    named = {volume.split(":")[0] for volume in db.get("volumes") or [] if isinstance(volume, str)}
    assert named & set(compose.get("volumes") or {}), "db should keep its data in a named volume"
    test = db["healthcheck"]["test"]
    assert "pg_isready" in (" ".join(test) if isinstance(test, list) else test)


def test_web_and_worker_share_one_image_and_wait_for_a_healthy_db(compose):
    services = compose["services"]
    builds = [services[name].get("build") for name in APP_SERVICES]
    images = [services[name].get("image") for name in APP_SERVICES]
    assert builds[0] is not None, "web should build the project image"
    assert builds[0] == builds[1]
    assert images[0] == images[1]
    for name in APP_SERVICES:
        depends_on = services[name]["depends_on"]
        assert isinstance(depends_on, dict), f"{name}: depends_on needs the long form"
        assert depends_on["db"]["condition"] == "service_healthy"


def test_web_serves_with_gunicorn_and_worker_runs_qcluster(compose):
    services = compose["services"]
    web = _command(services["web"])
    assert "gunicorn config.wsgi:application" in web
    assert "runserver" not in web
    assert "manage.py qcluster" in _command(services["worker"])


def test_the_worker_is_unhealthy_when_the_queue_stalls(compose):
    healthcheck = compose["services"]["worker"]["healthcheck"]
    assert healthcheck["test"] == ["CMD", "python", "manage.py", "queue_health"]


def test_gunicorn_is_a_pinned_requirement():
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert any(re.fullmatch(r"gunicorn==\S+", line.strip()) for line in requirements)


def test_app_environment_uses_real_setting_names(compose):
    known = settings_names()
    for name in APP_SERVICES:
        unknown = set(_environment(compose["services"][name])) - known
        assert not unknown, f"{name} sets variables config/settings.py never reads: {unknown}"


def test_database_url_points_at_the_db_service(compose):
    for name in APP_SERVICES:
        url = urlparse(_environment(compose["services"][name])["DATABASE_URL"])
        assert url.scheme in ("postgres", "postgresql", "pgsql")
        assert url.hostname == "db"
        assert url.port in (None, 5432)


def test_secret_key_is_required_and_debug_is_off(compose):
    for name in APP_SERVICES:
        environment = _environment(compose["services"][name])
        assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]*\}", str(environment["SECRET_KEY"])), (
            f"{name}: SECRET_KEY must come from the host with ${{SECRET_KEY:?…}}, no default"
        )
        assert str(environment["DEBUG"]).lower() in ("false", "0", "no", "off")


def test_dockerfile_runs_as_non_root_and_exposes_8000():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^EXPOSE\s+8000\b", dockerfile, re.MULTILINE)


def test_env_example_lists_only_real_settings():
    listed = set(_ENV_LINE_RE.findall(ENV_EXAMPLE.read_text(encoding="utf-8")))
    unknown = listed - settings_names()
    assert not unknown, f".env.example lists variables config/settings.py never reads: {unknown}"


def test_every_setting_is_in_env_example():
    listed = set(_ENV_LINE_RE.findall(ENV_EXAMPLE.read_text(encoding="utf-8")))
    missing = settings_names() - listed
    assert not missing, f".env.example does not list: {sorted(missing)}"


def _settings_table_rows():
    """The rows of the settings table in docs/configuration.md (lines starting with `|`)."""
    text = CONFIGURATION_DOC.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows, "found no table rows in docs/configuration.md: has the table moved?"
    return "\n".join(rows)


def test_every_setting_is_documented_in_the_configuration_table():
    table = _settings_table_rows()
    missing = {name for name in settings_names() if not re.search(rf"`{name}`", table)}
    assert not missing, f"the table of docs/configuration.md does not document: {sorted(missing)}"


# ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME} as `docker compose` reads them.
_INTERPOLATION_RE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::?([-?])([^}]*))?\}")


def interpolate(text, environment):
    """A value as compose would see it with only `environment` set (defaults otherwise)."""

    def value(match):
        name, kind, default = match.groups()
        if name in environment:
            return environment[name]
        if kind == "?":
            raise KeyError(f"{name} is required: {default}")
        return default or ""

    return _INTERPOLATION_RE.sub(value, text)


def _host_bindings(service, environment):
    """(host address, host port, container port) of a service's short-syntax ports."""
    bindings = []
    for port in service.get("ports") or []:
        parts = interpolate(str(port), environment).split("/")[0].split(":")
        address = parts[0] if len(parts) == 3 else "0.0.0.0"
        bindings.append((address, parts[-2], parts[-1]))
    return bindings


def test_the_interpolation_helper_reads_compose_defaults():
    assert interpolate("${A:-x}:${B-y}:${C}", {}) == "x:y:"
    assert interpolate("${A:-x}", {"A": "set"}) == "set"
    with pytest.raises(KeyError, match="SECRET_KEY is required"):
        interpolate("${SECRET_KEY:?set it}", {})


def test_web_is_published_on_loopback_unless_web_bind_says_otherwise(compose):
    web = compose["services"]["web"]

    assert _host_bindings(web, {}) == [("127.0.0.1", "8000", "8000")]
    assert _host_bindings(web, {"WEB_BIND": "0.0.0.0"}) == [("0.0.0.0", "8000", "8000")]


def test_no_service_publishes_a_port_on_every_interface_by_default(compose):
    for name, service in compose["services"].items():
        for address, host_port, _ in _host_bindings(service, {}):
            assert address == "127.0.0.1", f"{name} publishes {host_port} on {address}"


def test_web_and_worker_share_one_data_volume_at_data_dir(compose):
    # Uploads are saved by web under DATA_DIR and read by the worker's run.
    mounts = {}
    for name in APP_SERVICES:
        service = compose["services"][name]
        data_dir = _environment(service)["DATA_DIR"]
        volumes = [v.split(":") for v in service.get("volumes") or [] if isinstance(v, str)]
        mounts[name] = [source for source, target, *_ in volumes if target == data_dir]
        assert mounts[name], f"{name} mounts nothing at DATA_DIR ({data_dir})"
    assert mounts["web"] == mounts["worker"]
    assert mounts["web"][0] in (compose.get("volumes") or {}), "DATA_DIR needs a named volume"


def test_the_tls_proxy_settings_reach_the_app(compose):
    names = {
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "CSRF_TRUSTED_ORIGINS",
        "TRUSTED_PROXY_COUNT",
    }
    for name in APP_SERVICES:
        environment = _environment(compose["services"][name])
        missing = names - set(environment)
        assert not missing, f"{name} does not pass {sorted(missing)} from the host"
        for variable in names:
            assert f"${{{variable}" in str(environment[variable]), f"{name}: {variable} is fixed"
