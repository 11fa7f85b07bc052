"""Running the load generator's process for one job, and the figures a level reports."""

from __future__ import annotations

import asyncio
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import profile
from devtools.processes import ROOT

LOAD_TIMEOUT = 600.0


class LoadFailed(RuntimeError):
    pass


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (nearest rank) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(q / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def latency_figures(latencies_ms: Sequence[float]) -> dict[str, Any]:
    figures_ = {f"p{q}_ms": rounded(percentile(latencies_ms, q)) for q in (50, 95, 99)}
    return {**figures_, "max_ms": rounded(max(latencies_ms, default=None)), "count": len(latencies_ms)}


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def figures(result: dict[str, Any]) -> dict[str, Any]:
    """Throughput, latency percentiles, errors and CPU use of one measured window."""
    latencies = result["latencies_ms"]
    window = result["window"] or 1.0
    return {"throughput": round(len(latencies) / window, 1), **latency_figures(latencies),
            "errors": sum(result["errors"].values()), "error_kinds": result["errors"],
            "window_s": round(window, 2), "cpu_percent": result["cpu"]}


def throughput_ratio(service: dict[str, Any], floor: dict[str, Any]) -> float | None:
    """The service's throughput as a share of its floor's (rounded); None without a floor."""
    if not floor.get("throughput"):
        return None
    return round(service["throughput"] / floor["throughput"], 3)


async def run_load(job: dict[str, Any], profile_pid: int | None = None,
                   profile_name: str = "") -> dict[str, Any]:
    """The job in a separate process (`python -m bench.load`); with `profile_pid`, py-spy samples
    that process through the job's measured window."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.load", cwd=ROOT, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    profiler = None
    if profile_pid is not None:
        profiler = asyncio.create_task(profile.record_window(
            profile_pid, job.get("warmup", 0.0), job.get("duration", 10.0), profile_name))
    try:
        out, err = await asyncio.wait_for(process.communicate(json.dumps(job).encode()), LOAD_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise LoadFailed(f"the load process for {job['kind']} ran past {LOAD_TIMEOUT} s") from None
    finally:
        if profiler is not None:
            await profiler
    if process.returncode != 0:
        raise LoadFailed(f"the load process for {job['kind']} failed:\n{err.decode()[-3000:]}")
    return json.loads(out)


def results_dir() -> Path:
    return ROOT / "bench" / "results"
