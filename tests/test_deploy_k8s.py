"""deploy/k8s: every overlay renders with `kubectl kustomize`, every built-in object passes the
Kubernetes schema strictly (kubernetes-validate), every custom resource passes the checks below
(written from the operators' CRDs: their schemas do not ship with any package here), and the
properties operations rely on hold: probes, limits, restricted security, disruption budgets,
autoscaling, migration Jobs, the contract's Ingress routes, secrets kept in Secrets."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "production")
KUBERNETES_VERSION = "1.32"  # the oldest release these manifests are written for
SERVICES = {"auth": 8081, "plans": 8082, "messages": 8083, "notifier": 8084}
# The contract's gateway prefixes.
ROUTES = {
    "/v1/auth": "auth", "/v1/users": "auth", "/.well-known": "auth",
    "/v1/plans": "plans", "/v1/messages": "messages", "/v1/notifications": "notifier",
}
NOTIFIER_QUEUES = {"notifier.otp", "notifier.messages"}
TMP = "/tmp"  # noqa: S108 (the containers' writable directory, an emptyDir)

KUBECTL = shutil.which("kubectl")
if KUBECTL is None:
    pytest.skip("kubectl is not installed: cannot render the kustomizations", allow_module_level=True)

Doc = dict[str, Any]


@functools.cache
def render(directory: str) -> tuple[Doc, ...]:
    result = subprocess.run([KUBECTL, "kustomize", str(K8S / directory)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    docs = tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)
    assert docs, f"{directory} rendered nothing"
    return docs


def of_kind(docs: tuple[Doc, ...], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: tuple[Doc, ...], kind: str, name: str) -> Doc:
    found = [doc for doc in of_kind(docs, kind) if doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def config_map(docs: tuple[Doc, ...], name: str) -> dict[str, str]:
    """A generated ConfigMap's data, found by its name before the content hash."""
    found = [doc for doc in of_kind(docs, "ConfigMap")
             if re.fullmatch(rf"{name}(-[a-z0-9]{{10}})?", doc["metadata"]["name"])]
    assert len(found) == 1, f"expected one ConfigMap {name}"
    return found[0].get("data", {})


def secret_keys(docs: tuple[Doc, ...]) -> dict[str, set[str]]:
    """Every Secret the render will create, plain or through an ExternalSecret: name -> keys."""
    secrets: dict[str, set[str]] = {}
    for doc in of_kind(docs, "Secret"):
        secrets[doc["metadata"]["name"]] = set(doc.get("stringData", {})) | set(doc.get("data", {}))
    for doc in of_kind(docs, "ExternalSecret"):
        spec = doc["spec"]
        target = spec.get("target", {}).get("name", doc["metadata"]["name"])
        template = spec.get("target", {}).get("template", {}).get("data")
        secrets[target] = set(template) if template else {d["secretKey"] for d in spec["data"]}
    return secrets


def app_deployments(docs: tuple[Doc, ...]) -> dict[str, Doc]:
    deployments = {doc["metadata"]["name"]: doc for doc in of_kind(docs, "Deployment")
                   if doc["metadata"]["name"] in SERVICES}
    assert set(deployments) == set(SERVICES), "a service has no Deployment"
    return deployments


# --- custom resources: what their CRDs require of the fields used here ----------------------------

def obj(properties: dict[str, Any], required: tuple[str, ...] = (), closed: bool = True) -> dict:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": list(required)}
    if closed:
        schema["additionalProperties"] = False
    return schema


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
ANY_OBJECT = {"type": "object"}
STRING_MAP = {"type": "object", "additionalProperties": STRING}
NAME_REF = obj({"name": {"type": "string", "minLength": 1}}, ("name",))
SECRET_KEY_REF = obj({"name": STRING, "key": STRING}, ("name", "key"))
QUANTITY = {"type": ["string", "integer"]}
RESOURCES = obj({"requests": {"type": "object", "additionalProperties": QUANTITY},
                 "limits": {"type": "object", "additionalProperties": QUANTITY}})
METADATA = obj({"name": STRING, "namespace": STRING, "labels": STRING_MAP,
                "annotations": STRING_MAP}, ("name",))


def resource(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return obj({"apiVersion": {"const": api_version}, "kind": {"const": kind},
                "metadata": METADATA, "spec": spec}, ("apiVersion", "kind", "metadata", "spec"))


CUSTOM_RESOURCES: dict[tuple[str, str], dict[str, Any]] = {
    ("keda.sh/v1alpha1", "ScaledObject"): resource("keda.sh/v1alpha1", "ScaledObject", obj({
        "scaleTargetRef": obj({"apiVersion": STRING, "kind": STRING,
                               "name": {"type": "string", "minLength": 1},
                               "envSourceContainerName": STRING}, ("name",)),
        "minReplicaCount": {"type": "integer", "minimum": 0},
        "maxReplicaCount": {"type": "integer", "minimum": 1},
        "pollingInterval": {"type": "integer", "minimum": 1},
        "cooldownPeriod": {"type": "integer", "minimum": 0},
        "advanced": obj({"horizontalPodAutoscalerConfig": obj({"name": STRING, "behavior": ANY_OBJECT}),
                         "restoreToOriginalReplicaCount": BOOLEAN}),
        "triggers": {"type": "array", "minItems": 1, "items": obj({
            "type": {"type": "string", "minLength": 1}, "name": STRING,
            "metadata": STRING_MAP, "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
            "authenticationRef": obj({"name": STRING, "kind": {
                "enum": ["TriggerAuthentication", "ClusterTriggerAuthentication"]}}, ("name",)),
        }, ("type", "metadata"))},
    }, ("scaleTargetRef", "triggers"))),
    ("keda.sh/v1alpha1", "TriggerAuthentication"): resource(
        "keda.sh/v1alpha1", "TriggerAuthentication", obj({
            "secretTargetRef": {"type": "array", "items": obj(
                {"parameter": STRING, "name": STRING, "key": STRING}, ("parameter", "name", "key"))},
        })),
    ("postgresql.cnpg.io/v1", "Cluster"): resource("postgresql.cnpg.io/v1", "Cluster", obj({
        "instances": {"type": "integer", "minimum": 1},
        "imageName": STRING,
        "primaryUpdateStrategy": {"enum": ["unsupervised", "supervised"]},
        "bootstrap": obj({"initdb": obj({"database": STRING, "owner": STRING,
                                         "secret": NAME_REF})}),
        "postgresql": obj({"parameters": STRING_MAP}),
        "storage": obj({"size": STRING, "storageClass": STRING}, ("size",)),
        "resources": RESOURCES,
        "affinity": obj({"enablePodAntiAffinity": BOOLEAN, "topologyKey": STRING,
                         "podAntiAffinityType": {"enum": ["preferred", "required"]}}),
        "plugins": {"type": "array", "items": obj({"name": STRING, "enabled": BOOLEAN,
                                                   "isWALArchiver": BOOLEAN,
                                                   "parameters": STRING_MAP}, ("name",))},
    }, ("instances",))),
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): resource(
        "postgresql.cnpg.io/v1", "ScheduledBackup", obj({
            "schedule": {"type": "string", "pattern": r"^\S+( \S+){5}$"},  # six fields
            "cluster": NAME_REF,
            "backupOwnerReference": {"enum": ["none", "self", "cluster"]},
            "method": {"enum": ["barmanObjectStore", "volumeSnapshot", "plugin"]},
            "pluginConfiguration": obj({"name": STRING, "parameters": STRING_MAP}, ("name",)),
            "immediate": BOOLEAN, "suspend": BOOLEAN,
        }, ("cluster", "schedule"))),
    ("barmancloud.cnpg.io/v1", "ObjectStore"): resource("barmancloud.cnpg.io/v1", "ObjectStore", obj({
        "retentionPolicy": {"type": "string", "pattern": r"^[1-9][0-9]*[dwm]$"},
        "configuration": obj({
            "destinationPath": {"type": "string", "minLength": 1},
            "endpointURL": STRING,
            "s3Credentials": obj({"accessKeyId": SECRET_KEY_REF,
                                  "secretAccessKey": SECRET_KEY_REF}),
            "wal": obj({"compression": {"enum": ["gzip", "bzip2", "snappy", "lz4", "xz", "zstd"]}}),
            "data": obj({"compression": {"enum": ["gzip", "bzip2", "snappy", "lz4", "xz", "zstd"]}}),
        }, ("destinationPath",)),
    }, ("configuration",))),
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): resource("rabbitmq.com/v1beta1", "RabbitmqCluster", obj({
        "replicas": {"type": "integer", "minimum": 0},
        "image": STRING,
        "resources": RESOURCES,
        "persistence": obj({"storage": STRING, "storageClassName": STRING}),
        "rabbitmq": obj({"additionalConfig": STRING, "additionalPlugins": {"type": "array"},
                         "advancedConfig": STRING, "envConfig": STRING}),
        "affinity": ANY_OBJECT,
    })),
    ("external-secrets.io/v1", "ExternalSecret"): resource("external-secrets.io/v1", "ExternalSecret", obj({
        "refreshInterval": STRING,
        "secretStoreRef": obj({"name": STRING, "kind": {"enum": ["SecretStore", "ClusterSecretStore"]}},
                              ("name",)),
        "target": obj({"name": STRING, "creationPolicy": {"enum": ["Owner", "Orphan", "Merge", "None"]},
                       "template": obj({"type": STRING, "engineVersion": {"enum": ["v2"]},
                                        "data": STRING_MAP})}),
        "data": {"type": "array", "items": obj({
            "secretKey": STRING,
            "remoteRef": obj({"key": STRING, "property": STRING}, ("key",)),
        }, ("secretKey", "remoteRef"))},
    }, ("secretStoreRef",))),
}


def validate(doc: Doc) -> None:
    """Built-in kinds against the Kubernetes schema, strictly; custom resources against the above."""
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        schema = CUSTOM_RESOURCES.get((doc["apiVersion"], doc["kind"]))
        assert schema is not None, f"no schema for {doc['apiVersion']} {doc['kind']}"
        jsonschema.validate(doc, schema)


# --- tests -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid(overlay: str) -> None:
    for doc in render(f"overlays/{overlay}"):
        try:
            validate(doc)
        except (kubernetes_validate.ValidationError, jsonschema.ValidationError) as exc:
            pytest.fail(f"{overlay}: {doc['kind']}/{doc['metadata'].get('name')}: {exc}")


def test_base_renders_and_is_valid() -> None:
    for doc in render("base"):
        validate(doc)


def test_validation_rejects_what_is_wrong() -> None:
    """The checks above are real: a misspelt field and a CR without its required spec both fail."""
    deployment = named(render("overlays/dev"), "Deployment", "auth")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)
    scaled = yaml.safe_load(yaml.safe_dump(named(render("overlays/dev"), "ScaledObject", "notifier")))
    del scaled["spec"]["scaleTargetRef"]
    with pytest.raises(jsonschema.ValidationError):
        validate(scaled)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployments_have_probes_and_limits(overlay: str) -> None:
    for doc in of_kind(render(f"overlays/{overlay}"), "Deployment"):
        for container in doc["spec"]["template"]["spec"]["containers"]:
            where = f"{overlay}: {doc['metadata']['name']}/{container['name']}"
            assert "livenessProbe" in container and "readinessProbe" in container, where
            resources = container.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), where
            assert {"cpu", "memory"} <= set(resources.get("limits", {})), where


def assert_restricted(pod: Doc, where: str) -> None:
    """The restricted Pod Security Standard, and a read-only root with a writable /tmp."""
    pod_security = pod.get("securityContext", {})
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for container in pod["containers"] + pod.get("initContainers", []):
        security = container.get("securityContext", {})
        assert security.get("allowPrivilegeEscalation") is False, where
        assert security.get("readOnlyRootFilesystem") is True, where
        assert security.get("capabilities", {}).get("drop") == ["ALL"], where
        assert not security.get("capabilities", {}).get("add"), where
        assert security.get("privileged") is not True, where
        assert True in (security.get("runAsNonRoot"), pod_security.get("runAsNonRoot")), where
        assert security.get("runAsUser", pod_security.get("runAsUser")) != 0, where
        seccomp = security.get("seccompProfile", pod_security.get("seccompProfile", {}))
        assert seccomp.get("type") == "RuntimeDefault", where
        tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == TMP]
        assert tmp and "emptyDir" in volumes[tmp[0]["name"]], f"{where}: no emptyDir on /tmp"
    assert pod.get("automountServiceAccountToken") is False, where
    assert not pod.get("hostNetwork") and not pod.get("hostPID"), where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_deployments(overlay: str) -> None:
    docs = render(f"overlays/{overlay}")
    grace = float(config_map(docs, "samhandling-config")["SHUTDOWN_GRACE_SECONDS"])
    secrets = secret_keys(docs)
    for name, doc in app_deployments(docs).items():
        where = f"{overlay}: deployment/{name}"
        pod = doc["spec"]["template"]["spec"]
        assert "replicas" not in doc["spec"], f"{where}: the autoscaler owns the replica count"
        assert doc["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, where
        assert_restricted(pod, where)
        (container,) = pod["containers"]
        assert container["args"] == [f"services.{name}", "serve"], where
        assert re.search(r"[:@]", container["image"]), f"{where}: the overlay sets no tag or digest"
        assert [p["containerPort"] for p in container["ports"]] == [SERVICES[name]], where
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", where
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", where
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz", where
        pre_stop = container["lifecycle"]["preStop"]
        sleep = pre_stop["sleep"]["seconds"] if "sleep" in pre_stop else \
            float(pre_stop["exec"]["command"][-1])
        assert sleep >= 3, where
        # After the preStop sleep, SIGTERM drains requests and then deliveries, each up to
        # SHUTDOWN_GRACE_SECONDS; SIGKILL must not come before.
        assert pod["terminationGracePeriodSeconds"] > sleep + 2 * grace, where
        env_from = container["envFrom"]
        secret_refs = [e["secretRef"]["name"] for e in env_from if "secretRef" in e]
        assert secret_refs == [f"{name}-env"], where
        keys = secrets.get(f"{name}-env")
        assert keys is not None, f"{where}: Secret {name}-env is not created by this overlay"
        assert {f"{name.upper()}_DATABASE_URL", "AMQP_URL"} <= keys, where
        others = {f"{other.upper()}_DATABASE_URL" for other in SERVICES if other != name}
        assert not keys & others, f"{where}: sees another service's database"
        config_names = {e["configMapRef"]["name"] for e in env_from if "configMapRef" in e}
        present = {d["metadata"]["name"] for d in of_kind(docs, "ConfigMap")}
        assert config_names <= present, where
        for env in container.get("env", []):
            assert not re.search(r"(PASSWORD|TOKEN|_URL)$", env["name"]) or "valueFrom" in env, \
                f"{where}: {env['name']} belongs in a Secret or ConfigMap"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_configuration(overlay: str) -> None:
    docs = render(f"overlays/{overlay}")
    common = config_map(docs, "samhandling-config")
    assert common["BIND_HOST"] == "0.0.0.0"
    assert common["AUTH_URL"] == "http://auth:8081"
    assert common["PUBLIC_URL"].startswith("http")
    assert config_map(docs, "auth-config")["TRUSTED_PROXY_HOPS"] == "1"
    notifier = config_map(docs, "notifier-config")
    assert notifier["SMTP_HOST"], "the notifier would write e-mail to its dev outbox"
    assert notifier["SMS_GATEWAY_URL"], "the notifier would write SMS to its dev outbox"
    assert notifier["SMTP_SECURITY"] in ("none", "starttls", "tls")
    for data in (common, config_map(docs, "auth-config"), notifier):
        for key in data:
            assert not re.search(r"(PASSWORD|_TOKEN|DATABASE_URL|AMQP_URL)$", key), \
                f"{key} belongs in a Secret"
    assert {"SMTP_PASSWORD", "SMS_GATEWAY_TOKEN"} <= secret_keys(docs)["notifier-env"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_and_disruption_budgets(overlay: str) -> None:
    docs = render(f"overlays/{overlay}")
    deployments = app_deployments(docs)
    budgets = of_kind(docs, "PodDisruptionBudget")
    for name, port in SERVICES.items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        service = named(docs, "Service", name)
        assert service["spec"]["ports"] == [{"name": "http", "port": port, "targetPort": "http"}]
        assert service["spec"]["selector"].items() <= labels.items()
        covering = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(covering) == 1, f"{overlay}: {name} needs one PodDisruptionBudget"
        assert covering[0]["spec"].get("maxUnavailable") == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscaling(overlay: str) -> None:
    docs = render(f"overlays/{overlay}")
    autoscalers = {h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(docs, "HorizontalPodAutoscaler")}
    for name in ("auth", "plans", "messages"):
        hpa = autoscalers[name]
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        (metric,) = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
    # The notifier: KEDA owns its HPA; a second one on the same Deployment would fight it.
    assert "notifier" not in autoscalers
    scaled = named(docs, "ScaledObject", "notifier")["spec"]
    assert scaled["scaleTargetRef"]["name"] == "notifier"
    assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"]
    triggers = scaled["triggers"]
    assert {t["metadata"]["queueName"] for t in triggers if t["type"] == "rabbitmq"} == NOTIFIER_QUEUES
    assert any(t["type"] == "cpu" for t in triggers)
    secrets = secret_keys(docs)
    for trigger in triggers:
        if trigger["type"] != "rabbitmq":
            continue
        assert trigger["metadata"]["mode"] == "QueueLength"
        assert "host" not in trigger["metadata"], "the broker URL carries a password"
        auth = named(docs, "TriggerAuthentication", trigger["authenticationRef"]["name"])
        for ref in auth["spec"]["secretTargetRef"]:
            assert ref["key"] in secrets.get(ref["name"], set()), ref


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migration_jobs(overlay: str) -> None:
    docs = render(f"overlays/{overlay}")
    jobs = {j["metadata"]["name"]: j for j in of_kind(docs, "Job")}
    secrets = secret_keys(docs)
    for name in SERVICES:
        job = jobs[f"{name}-migrate"]
        pod = job["spec"]["template"]["spec"]
        assert pod["restartPolicy"] in ("Never", "OnFailure")
        assert_restricted(pod, f"{overlay}: job/{name}-migrate")
        (container,) = pod["containers"]
        assert container["args"] == [f"services.{name}", "migrate"]
        assert container["image"] == app_deployments(docs)[name]["spec"]["template"]["spec"][
            "containers"][0]["image"], "migrations must come from the same release"
        (ref,) = container["envFrom"]
        assert {f"{name.upper()}_DATABASE_URL", "AMQP_URL"} <= secrets[ref["secretRef"]["name"]]
        assert "limits" in container["resources"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ingress_routes_match_the_contract(overlay: str) -> None:
    docs = render(f"overlays/{overlay}")
    (ingress,) = of_kind(docs, "Ingress")
    routes = {}
    for rule in ingress["spec"]["rules"]:
        assert rule.get("host"), "a host per overlay"
        for path in rule["http"]["paths"]:
            assert path["pathType"] == "Prefix"
            backend = path["backend"]["service"]
            service = named(docs, "Service", backend["name"])
            assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
            routes[path["path"]] = backend["name"]
    assert routes == ROUTES


def test_production_runs_on_the_operators() -> None:
    docs = render("overlays/production")
    clusters = {c["metadata"]["name"]: c for c in of_kind(docs, "Cluster")}
    assert set(clusters) == {f"{name}-db" for name in SERVICES}
    for name in SERVICES:
        spec = clusters[f"{name}-db"]["spec"]
        assert spec["instances"] == 3
        assert spec["bootstrap"]["initdb"]["database"] == f"samhandling_{name}"
        owner_secret = spec["bootstrap"]["initdb"]["secret"]["name"]
        assert secret_keys(docs)[owner_secret] == {"username", "password"}
        assert any(p.get("isWALArchiver") for p in spec["plugins"]), f"{name}-db has no WAL archive"
        backups = [b for b in of_kind(docs, "ScheduledBackup")
                   if b["spec"]["cluster"]["name"] == f"{name}-db"]
        assert len(backups) == 1
    (rabbitmq,) = of_kind(docs, "RabbitmqCluster")
    assert rabbitmq["spec"]["replicas"] == 3
    # The services' URLs point at what the operators create: <cluster>-rw and the cluster's Service.
    for doc in of_kind(docs, "ExternalSecret"):
        for key, value in doc["spec"]["target"].get("template", {}).get("data", {}).items():
            if key.endswith("_DATABASE_URL"):
                assert re.search(r"@([a-z]+)-db-rw:5432/", value).group(1) + "-db" in clusters
            if key == "AMQP_URL":
                assert f"@{rabbitmq['metadata']['name']}:5672/" in value
    assert not of_kind(docs, "Secret"), "production takes every secret from the secret store"
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] >= 3
    assert named(docs, "ScaledObject", "notifier")["spec"]["minReplicaCount"] >= 3
    (ingress,) = of_kind(docs, "Ingress")
    assert ingress["spec"]["tls"], "production serves HTTPS"
    namespaces = {d["metadata"]["name"] for d in of_kind(docs, "Namespace")}
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} <= namespaces


def test_production_is_bigger_than_dev() -> None:
    def memory_limit(overlay: str, name: str) -> float:
        value = app_deployments(render(f"overlays/{overlay}"))[name]["spec"]["template"]["spec"][
            "containers"][0]["resources"]["limits"]["memory"]
        number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", value).groups()
        return int(number) * (1024 if unit == "Gi" else 1)

    for name in SERVICES:
        assert memory_limit("production", name) > memory_limit("dev", name)


def test_dev_brings_its_own_infrastructure() -> None:
    docs = render("overlays/dev")
    services = {s["metadata"]["name"] for s in of_kind(docs, "Service")}
    assert {"postgres", "rabbitmq", "mailpit", "sms-sink"} <= services
    for doc in of_kind(docs, "Secret"):
        for key, value in doc.get("stringData", {}).items():
            if key.endswith("_DATABASE_URL") or key == "AMQP_URL":
                host = re.search(r"@([^:/]+)", value).group(1)
                assert host in services, f"{doc['metadata']['name']}: {key} points at {host}"
            assert "CHANGE-ME" not in value, f"{doc['metadata']['name']}: {key} is a placeholder"
    notifier = config_map(docs, "notifier-config")
    assert notifier["SMTP_HOST"] in services
    sink_token = named(docs, "Deployment", "sms-sink")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "SMS_SINK_TOKEN", "value": named(docs, "Secret", "notifier-env")["stringData"][
        "SMS_GATEWAY_TOKEN"]} in sink_token
