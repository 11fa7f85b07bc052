"""The compose gateway's nginx configuration, run by a real nginx on loopback in front of four
stand-in upstreams: each contract prefix reaches its service with path and query intact, nothing
else is proxied, and auth (TRUSTED_PROXY_HOPS=1) sees the address that connected to the gateway,
not one a client wrote into X-Forwarded-For. Skipped, saying so, where nginx is not installed."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from services.auth.domain import client_address

ROOT = Path(__file__).resolve().parent.parent
GATEWAY_CONF = ROOT / "deploy" / "gateway" / "default.conf"
SERVICES = {"auth": 8081, "plans": 8082, "messages": 8083, "notifier": 8084}
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None)

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")


class Echo(BaseHTTPRequestHandler):
    """Answers with which service it is and what it was sent."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self) -> None:
        body = json.dumps({
            "service": self.server.service_name,  # type: ignore[attr-defined]
            "path": self.path,
            "method": self.command,
            "x_forwarded_for": self.headers.get("X-Forwarded-For"),
            "x_request_id": self.headers.get("X-Request-ID"),
            "host": self.headers.get("Host"),
            "body": self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode(),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_DELETE = _answer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    servers = []
    config = GATEWAY_CONF.read_text()
    for name, port in SERVICES.items():
        server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
        server.service_name = name  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        # The compose service name becomes this upstream's loopback address.
        config, count = re.subn(rf"\b{name}:{port}\b", f"127.0.0.1:{server.server_address[1]}", config)
        assert count == 1, f"{name}:{port} is not in the gateway configuration"
    listen = free_port()
    config, count = re.subn(r"listen 8080;", f"listen 127.0.0.1:{listen};", config)
    assert count == 1
    config = config.replace("access_log /dev/stdout gateway;", "access_log off;")
    work = tmp_path_factory.mktemp("nginx")
    (work / "default.conf").write_text(config)
    (work / "nginx.conf").write_text(f"""
daemon off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    # Bodies in memory: workers may run as another user that cannot write under pytest's tmp.
    client_body_buffer_size 1m;
    include {work}/default.conf;
}}
""")
    checked = subprocess.run([NGINX, "-t", "-p", str(work), "-c", str(work / "nginx.conf")],
                             capture_output=True, text=True, timeout=30, check=False)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([NGINX, "-p", str(work), "-c", str(work / "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{listen}"
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(  # noqa: S310 (loopback)
                    base + "/healthz", timeout=1):
                break
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        for server in servers:
            server.shutdown()
            server.server_close()


def call(url: str, method: str = "GET", body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(  # noqa: S310 (loopback http only)
        url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.parametrize(("path", "service"), [
    ("/v1/auth/login", "auth"),
    ("/v1/users", "auth"),
    ("/v1/users/me?fields=a%20b", "auth"),
    ("/.well-known/jwks.json", "auth"),
    ("/v1/plans", "plans"),
    ("/v1/plans/9b2f/goals?limit=5&cursor=abc", "plans"),
    ("/v1/messages/unread-count?plan_id=1", "messages"),
    ("/v1/notifications", "notifier"),
])
def test_each_prefix_reaches_its_service(gateway: str, path: str, service: str) -> None:
    status, _, body = call(gateway + path)
    assert status == 200
    answer = json.loads(body)
    assert answer["service"] == service
    assert answer["path"] == path, "path and query go through unchanged"
    assert re.fullmatch(r"[0-9a-f]{32}", answer["x_request_id"])


def test_bodies_and_methods_go_through(gateway: str) -> None:
    status, _, body = call(gateway + "/v1/messages", "POST", b'{"subject": "x"}',
                           {"Content-Type": "application/json"})
    assert status == 200
    assert json.loads(body)["body"] == '{"subject": "x"}'
    status, _, body = call(gateway + "/v1/users/me", "PATCH", b"{}")
    assert (status, json.loads(body)["method"]) == (200, "PATCH")


@pytest.mark.parametrize("path", ["/", "/metrics", "/readyz", "/openapi.json", "/v1/plansx",
                                  "/v2/plans", "/v1/authority"])
def test_nothing_else_is_proxied(gateway: str, path: str) -> None:
    status, headers, body = call(gateway + path)
    assert status == 404
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["status"] == 404


def test_auth_sees_the_connecting_address_not_a_forged_one(gateway: str) -> None:
    status, _, body = call(gateway + "/v1/auth/login", "POST", b"{}",
                           {"X-Forwarded-For": "203.0.113.66"})
    assert status == 200
    forwarded = json.loads(body)["x_forwarded_for"]
    assert forwarded == "203.0.113.66, 127.0.0.1"
    # What auth makes of it with TRUSTED_PROXY_HOPS=1 (compose and the k8s overlays):
    assert client_address("127.0.0.1", forwarded, 1) == "127.0.0.1"


def test_large_bodies_reach_the_service_to_be_refused_there(gateway: str) -> None:
    """nginx lets up to 1 MiB through; the services answer 413 as problem+json themselves."""
    status, _, _ = call(gateway + "/v1/plans", "POST", b"x" * 200_000)
    assert status == 200
    status, _, _ = call(gateway + "/v1/plans", "POST", b"x" * (2 * 1024 * 1024))
    assert status == 413
