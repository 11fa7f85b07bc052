"""CPU time of processes from /proc, to tell which process a load level kept busy."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
# Processes seen by name rather than by pid: every PostgreSQL backend, the RabbitMQ VM.
NAMED = {"postgres": "postgres", "beam.smp": "rabbitmq"}


def _stat(pid: int | str) -> tuple[str, float] | None:
    """(command name, user + system CPU seconds) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return name, (int(fields[11]) + int(fields[12])) / TICKS


def snapshot(pids: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named pid, and of all PostgreSQL and RabbitMQ processes."""
    seconds = {label: stat[1] for label, pid in pids.items() if (stat := _stat(pid)) is not None}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _stat(entry)
        if stat is not None and stat[0] in NAMED:
            label = NAMED[stat[0]]
            seconds[label] = seconds.get(label, 0.0) + stat[1]
    return seconds


class CpuWatch:
    """CPU use between start() and stop(), in percent of one core (200 % = both cores here)."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = {**pids, "load": os.getpid()}
        self._before: dict[str, float] = {}
        self._started = 0.0

    def start(self) -> None:
        self._before = snapshot(self.pids)
        self._started = time.monotonic()

    def stop(self) -> dict[str, float]:
        after = snapshot(self.pids)
        wall = max(time.monotonic() - self._started, 1e-6)
        return {label: round(100 * max(after[label] - self._before.get(label, 0.0), 0.0) / wall, 1)
                for label in after if label in self._before}
