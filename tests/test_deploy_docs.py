"""docs/operations.md keeps up with the code: every environment variable a service reads, every
metric it registers and every queue it consumes is documented, and every setting the Kubernetes
ConfigMaps set is one a service reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "operations.md"
SERVICE_SOURCES = [p for p in (ROOT / "services").rglob("*.py") if "migrations" not in p.parts]


def variables_read() -> set[str]:
    names: set[str] = set()
    for path in SERVICE_SOURCES:
        text = path.read_text()
        names |= set(re.findall(r"\benv_(?:str|int|float|list)\(\s*env,\s*\"([A-Z][A-Z0-9_]+)\"", text))
        names |= set(re.findall(r"\b(?:positive|env\.get)\(\s*(?:env,\s*)?\"([A-Z][A-Z0-9_]+)\"", text))
        names |= set(re.findall(r"f\"\{upper\}_([A-Z_]+)\"", text))  # <SERVICE>_DATABASE_URL, _PORT
    return names


def metrics_registered() -> set[str]:
    names: set[str] = set()
    for path in SERVICE_SOURCES:
        names |= set(re.findall(r"\b(?:Counter|Gauge|Histogram|Summary)\(\s*\"([a-z_]+)\"", path.read_text()))
    return names


def test_every_variable_is_documented() -> None:
    doc = DOC.read_text()
    found = variables_read()
    assert {"AMQP_URL", "SHUTDOWN_GRACE_SECONDS", "SMTP_PASSWORD", "TRUSTED_PROXY_HOPS"} <= found
    for name in sorted(found):
        if name in ("DATABASE_URL", "PORT"):
            for service in ("AUTH", "PLANS", "MESSAGES", "NOTIFIER"):
                assert f"{service}_{name}" in doc, f"{service}_{name} is not in docs/operations.md"
            continue
        assert f"`{name}`" in doc, f"{name} is read by a service but not in docs/operations.md"


def test_every_metric_is_documented() -> None:
    doc = DOC.read_text()
    found = metrics_registered()
    assert {"http_requests_total", "outbox_backlog_events", "notifier_otp_delivery_seconds"} <= found
    for name in sorted(found):
        assert f"`{name}`" in doc, f"metric {name} is not in docs/operations.md"


def test_every_queue_is_documented() -> None:
    doc = DOC.read_text()
    queues = set()
    for path in (ROOT / "services").glob("*/events.py"):
        queues |= set(re.findall(r"_QUEUE = \"([a-z]+\.[a-z]+)\"", path.read_text()))
    assert "notifier.otp" in queues
    for queue in sorted(queues):
        assert f"`{queue}`" in doc, f"queue {queue} is not in docs/operations.md"


def test_configmaps_set_only_what_services_read() -> None:
    read = variables_read() | {f"{s}_{n}" for s in ("AUTH", "PLANS", "MESSAGES", "NOTIFIER")
                               for n in ("DATABASE_URL", "PORT")}
    kustomizations = [ROOT / "deploy/k8s/base/kustomization.yaml",
                      *sorted((ROOT / "deploy/k8s/overlays").glob("*/kustomization.yaml"))]
    for path in kustomizations:
        for name in re.findall(r"^\s+- ([A-Z][A-Z0-9_]+)=", path.read_text(), re.MULTILINE):
            assert name in read, f"{path.relative_to(ROOT)} sets {name}, which no service reads"


def test_operator_commands_are_documented() -> None:
    doc = " ".join(DOC.read_text().split())
    for command in ("kubectl apply -k", "python -m services.auth rotate-keys",
                    "python -m services.common.dlq notifier list",
                    "python -m services.common.dlq notifier inspect",
                    "python -m services.common.dlq notifier replay",
                    "python -m services.auth create-user", "KEY_REFRESH_SECONDS", "SKIP LOCKED",
                    "advisory lock", "preStop"):
        assert command in doc, command
