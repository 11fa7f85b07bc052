"""py-spy on a service's process through a measured window, and a short text of where time went."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections import Counter
from pathlib import Path

from devtools.processes import ROOT

PROFILES = ROOT / "bench" / "results" / "profiles"
RATE = 200  # samples per second


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


async def record_window(pid: int, delay: float, seconds: float, name: str) -> Path | None:
    """Sample `pid` for `seconds` after `delay`; the summary's path, or None without py-spy."""
    binary = py_spy()
    if binary is None:
        return None
    await asyncio.sleep(delay + 1.0)  # the load process needs a moment to start
    PROFILES.mkdir(parents=True, exist_ok=True)
    raw = PROFILES / f"{name}.collapsed"
    process = await asyncio.create_subprocess_exec(
        binary, "record", "--pid", str(pid), "--duration", str(max(int(seconds - 1.5), 1)),
        "--rate", str(RATE), "--format", "raw", "--nonblocking", "-o", str(raw),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    await process.wait()
    if not raw.exists():
        return None
    summary = PROFILES / f"{name}.txt"
    summary.write_text(summarize(raw.read_text(), name, RATE * max(int(seconds - 1.5), 1)))
    return summary


def function(frame: str) -> str:
    """`name (path/file.py:123)` as `name (path/file.py)`: a function's lines counted together."""
    frame = frame.strip()
    head, colon, line = frame.rpartition(":")
    return f"{head})" if colon and line.rstrip(")").isdigit() else frame


def summarize(collapsed: str, title: str, possible: int, top: int = 45) -> str:
    """From py-spy's collapsed stacks: the functions holding most samples, on the stack at all
    (inclusive) and at its top (self). Idle threads are not sampled, so `possible` (one thread
    busy all the time) tells how busy the process was."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [function(frame) for frame in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"# {title}: {total} busy samples of {possible} possible for one thread"
             f" ({100 * total / max(possible, 1):.0f} %), py-spy at {RATE}/s; shares are of busy samples", "",
             "## inclusive (on the stack)"]
    lines += [f"{100 * n / max(total, 1):5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    lines += ["", "## self (top of the stack)"]
    lines += [f"{100 * n / max(total, 1):5.1f}%  {frame}" for frame, n in own.most_common(top)]
    return "\n".join(lines) + "\n"
