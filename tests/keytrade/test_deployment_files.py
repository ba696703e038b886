"""docker-compose.yml runs the same processes as the Procfile, from one image, with healthchecks."""

import json
import re
import shlex

import pytest
import yaml

from tests.processes import ROOT

PROCESS_TYPES = {"web", "worker", "beat"}


def procfile() -> dict[str, list[str]]:
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            processes[name.strip()] = shlex.split(command)
    return processes


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def program(tokens: list[str]) -> list[str]:
    """The program and its positional words, e.g. `celery -A keytrade worker`."""
    words = [tokens[0].rsplit("/", 1)[-1]]
    for token in tokens[1:]:
        if token.startswith("--"):
            break
        words.append(token)
    return words


def compose_command(service: dict) -> list[str]:
    command = service["command"]
    tokens = shlex.split(command) if isinstance(command, str) else list(command)
    if tokens[:2] == ["sh", "-c"]:
        script = shlex.split(tokens[2])
        # The long-running program is the one exec'd at the end of the script.
        return script[script.index("exec") + 1 :]
    return tokens


def options(tokens: list[str]) -> dict[str, str]:
    found = {}
    for index, token in enumerate(tokens):
        if token.startswith("--"):
            nxt = tokens[index + 1] if index + 1 < len(tokens) else ""
            found[token] = "" if nxt.startswith("--") else nxt
    return found


def test_the_procfile_has_web_worker_and_beat():
    assert set(procfile()) == PROCESS_TYPES


@pytest.mark.parametrize("process", sorted(PROCESS_TYPES))
def test_compose_runs_the_procfile_program_for_each_process(process):
    services = compose()["services"]
    local = procfile()[process]
    deployed = compose_command(services[process])
    assert program(deployed) == program(local)
    # Tuning flags agree; only where gunicorn binds differs (container vs. localhost).
    local_opts, deployed_opts = options(local), options(deployed)
    local_opts.pop("--bind", None)
    deployed_opts.pop("--bind", None)
    assert deployed_opts == local_opts


def test_web_applies_migrations_before_serving():
    script = compose()["services"]["web"]["command"][2]
    assert script.index("manage.py migrate --no-input") < script.index("exec gunicorn")


def test_web_worker_and_beat_share_one_image_and_the_env_file():
    services = compose()["services"]
    images = {services[name]["image"] for name in PROCESS_TYPES}
    assert images == {"keytrade:latest"}
    for name in PROCESS_TYPES:
        assert services[name]["build"] == "."
        assert services[name]["env_file"] == ".env"
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert "@postgres:5432/" in environment["DATABASE_URL"]
        assert environment["REDIS_URL"] == "redis://redis:6379/0"


def test_every_service_has_a_healthcheck_and_state_lives_in_named_volumes():
    spec = compose()
    assert set(spec["services"]) == PROCESS_TYPES | {"postgres", "redis"}
    for name, service in spec["services"].items():
        assert service["healthcheck"]["test"], name
    assert "/healthz" in " ".join(spec["services"]["beat"]["healthcheck"]["test"])
    assert spec["services"]["web"]["healthcheck"]["test"][-2:] == ["keytrade.probe", "web"]
    mounted = {
        volume.split(":", 1)[0]
        for service in spec["services"].values()
        for volume in service.get("volumes", [])
    }
    assert mounted == set(spec["volumes"]) == {"postgres-data", "redis-data", "candles-data"}
    # Backtests read on web what worker downloads wrote: both mount the candle store.
    for name in ("web", "worker"):
        assert "candles-data:/app/var/candles" in spec["services"][name]["volumes"]


def test_worker_and_beat_start_after_web_has_migrated():
    services = compose()["services"]
    for name in ("worker", "beat"):
        assert services[name]["depends_on"]["web"]["condition"] == "service_healthy"


def test_the_dockerfile_builds_one_non_root_image_with_static_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("# ") and "FROM python:3.11-slim" in dockerfile
    assert "RUN pip install ." in dockerfile
    assert "manage.py collectstatic --no-input" in dockerfile
    assert "\nUSER keytrade\n" in dockerfile
    assert '"gunicorn", "keytrade.wsgi"' in dockerfile


def test_the_image_runs_gunicorn_with_the_procfiles_flags():
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*?\])$", dockerfile, re.MULTILINE | re.DOTALL).group(1)
    tokens = json.loads(cmd.replace("\\\n", ""))
    image_opts, local_opts = options(tokens), options(procfile()["web"])
    image_opts.pop("--bind")
    local_opts.pop("--bind")
    assert image_opts == local_opts


def test_web_serves_with_processes_not_threads():
    # Pages are CPU-bound Python: threads of one process share its GIL, and a threaded worker
    # keeps accepting connections while busy, so the slowest requests queue behind others.
    flags = options(procfile()["web"])
    assert flags["--worker-class"] == "sync" and "--threads" not in flags
    assert int(flags["--workers"]) >= 2


# --- .ci/run proves the compose topology with processes ------------------------------------


def ci_script() -> str:
    return (ROOT / ".ci" / "run").read_text()


def exported_names(script: str) -> set[str]:
    names = set()
    for line in script.splitlines():
        if line.startswith("export "):
            names.update(token.split("=", 1)[0] for token in shlex.split(line)[1:])
    return names


def test_ci_starts_each_compose_process_on_its_own_from_the_procfile():
    script = ci_script()
    declared = re.search(r"^PROCESS_TYPES=\((.*)\)$", script, re.MULTILINE)[1].split()
    assert set(declared) == PROCESS_TYPES
    # One process per service, as compose runs one container per service; not one supervisor.
    assert "honcho" not in script
    assert 'command=$(sed -n "s/^$name: *//p" Procfile)' in script
    assert script.index("manage.py migrate --no-input") < script.index('start_process "$name"')


def test_ci_gives_the_processes_the_environment_compose_gives_them():
    compose_env = set(compose()["x-keytrade"]["environment"])
    assert compose_env <= exported_names(ci_script())


def test_ci_runs_the_browser_journey_against_those_processes_through_their_pages():
    script = ci_script()
    journey = script[script.index('section "Browser journey against the topology"') :]
    assert script.index('start_process "$name"') < script.index(journey)
    assert "pytest tests/e2e" in journey
    assert 'KEYTRADE_E2E_BASE_URL="$BASE"' in journey
    # The test reaches the deployment only over HTTP: no database or Redis of its own there.
    assert "env -u DATABASE_URL -u REDIS_URL" in journey
