"""The results files: bench/results/latest.json (everything) and latest.md (the tables)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.measure import results_dir

SCENARIO_ORDER = ("send", "inbox", "login", "alert", "code")


def write(run: dict[str, Any], name: str = "latest", directory: Path | None = None) -> tuple[Path, Path]:
    directory = directory or results_dir()
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / f"{name}.json", directory / f"{name}.md"
    json_path.write_text(json.dumps(run, indent=1, ensure_ascii=False) + "\n")
    md_path.write_text(markdown(run))
    return json_path, md_path


def cell(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def busiest(cpu: dict[str, float], top: int = 3) -> str:
    """The processes that used most CPU in the window (% of one core; 200 % is the whole machine)."""
    ranked = sorted(cpu.items(), key=lambda item: -item[1])[:top]
    return ", ".join(f"{name} {share:.0f}" for name, share in ranked)


def level_label(result: dict[str, Any], level: dict[str, Any]) -> str:
    if result["name"] == "inbox":
        return f"inbox, {level['stored']:,} stored"
    if result["name"] == "alert":
        return f"send → alert at {level['rate_wanted']}/s"
    return result["name"]


def figure_rows(result: dict[str, Any]) -> list[str]:
    rows = []
    for level in result.get("levels", []):
        service, floor = level["service"], level.get("floor") or {}
        rows.append("| " + " | ".join([
            level_label(result, level), str(level["concurrency"]), cell(service.get("throughput")),
            cell(service.get("p50_ms")), cell(service.get("p95_ms")), cell(service.get("p99_ms")),
            cell(service.get("errors")), cell(floor.get("throughput")), cell(floor.get("p99_ms")),
            "-" if level.get("ratio") is None else f"{level['ratio']:.0%}",
            busiest(service.get("cpu_percent", {}))]) + " |")
    return rows


def target_row(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"| {result['name']} | - | failed: {result['error'].splitlines()[-1][:120]} | ERROR |"
    target = result["target"]
    return (f"| {result['name']} | {target['text']} | {target['measured']} |"
            f" {'MET' if target['met'] else 'MISSED'} |")


def markdown(run: dict[str, Any]) -> str:
    results = [run["scenarios"][n] for n in SCENARIO_ORDER if n in run["scenarios"]]
    machine = run["machine"]
    lines = [
        "# Samhandling benchmarks", "",
        f"{run['date']} · {machine['cores']} cores, {machine['memory_gib']} GiB · {machine['system']}"
        f" · Python {machine['python']} · {machine['postgres']} · commit `{run['commit']}`"
        f" · {'quick' if run['quick'] else 'full'} run, {run['duration_s'] / 60:.1f} min"
        f" · load average {machine['loadavg_start']} at the start, {machine['loadavg_end']} at the end", "",
        f"Command: `{run['command']}`", "",
        "## Targets", "", "| scenario | target | measured | result |", "|---|---|---|---|",
        *[target_row(r) for r in results], "",
        "## Figures", "",
        "Throughput per second and latency in ms. send → alert: alerts accepted per second and the"
        " latency from the send's answer to the alert's acceptance. code: codes accepted per second,"
        " latency from the login's answer to the code's acceptance. CPU: the busiest processes in the"
        " window, % of one core (the machine has 200 %).", "",
        "| scenario | c | throughput | p50 | p95 | p99 | errors | floor | floor p99 | ratio | CPU % |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *[row for r in results for row in figure_rows(r)], "",
        "## Floors", "", *[f"- {r['name']}: {r['floor']}" for r in results if "floor" in r], "",
        "## Settings", "", *[f"- {note}" for note in run["settings"]], "",
        *details(results),
    ]
    return "\n".join(lines) + "\n"


def details(results: list[dict[str, Any]]) -> list[str]:
    lines = ["## Details", ""]
    for result in results:
        if result["name"] == "alert" and "alerts" in result:
            lines.append(alert_details(result))
        if result["name"] == "code" and "queued" in result:
            lines.append(code_details(result))
        if result.get("setup"):
            done = ", ".join(f"{k} {v}" for k, v in result["setup"].items())
            lines.append(f"- {result['name']} set-up: {done}")
    return lines


def alert_details(result: dict[str, Any]) -> str:
    a, q = result["alerts"], result["queue"]
    return (f"- send → alert: {a['sent_messages']:,} messages sent, {a['alerts_expected']:,} alerts expected,"
            f" {a['alerts_measured']:,} measured, {a['not_alerted_within_wait']:,} not accepted within the"
            f" wait (coalesced behind an alert still pending, or still queued); notifier.messages:"
            f" slope {q['slope_per_s']}/s, {q['at_end_of_sending']} at the end of"
            f" sending, at most {q['max']}; alerts due at most {q['alerts_due_max']}.")


def code_details(result: dict[str, Any]) -> str:
    q = result["queued"]
    backlog = ", ".join(f"c={lv['concurrency']}: {lv['alerts_due_before']:,} alerts due and"
                        f" {lv['queue_before']:,} events queued before, {lv['alerts_due_after']:,} due after"
                        for lv in result["levels"])
    return f"- code under load: {q['alerts_queued']:,} alerts queued ({q['messages']:,} messages); {backlog}."
