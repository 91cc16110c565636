"""The soak's figures: per run and overall, as a rich table and a JSON file."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .cluster_state import Leftovers

ABSENT = "absent"
"""The outcome of a test that one run's report lists and another's does not."""


@dataclass(frozen=True)
class RunRecord:
    number: int
    contention: bool
    lock_wait_seconds: float
    seconds: float
    exit_code: int
    result: str
    run_id: str | None
    verdicts: dict[str, str]
    profile_differences: list[str]
    """Against the profile just before this run."""
    profile_drift: list[str]
    """Against the profile before the first run."""
    leftovers: Leftovers
    leaked_processes: list[str]
    log: str

    @property
    def clean(self) -> bool:
        return not (
            self.profile_differences or self.leftovers.labelled or self.leftovers.new or self.leaked_processes
        )


@dataclass
class Soak:
    provider: str
    requested_runs: int
    contention: bool
    command: str
    runs: list[RunRecord] = field(default_factory=list)
    stopped: str | None = None
    """Why fewer runs than requested ran (time budget, a run without report), or None."""

    def flaky(self) -> dict[str, dict[str, int]]:
        """Tests whose outcome differs between the runs that wrote a report: nodeid → outcome → runs."""
        reported = [run for run in self.runs if run.run_id is not None]
        nodeids = {nodeid for run in reported for nodeid in run.verdicts}
        flaky: dict[str, dict[str, int]] = {}
        for nodeid in sorted(nodeids):
            counts: dict[str, int] = {}
            for run in reported:
                outcome = run.verdicts.get(nodeid, ABSENT)
                counts[outcome] = counts.get(outcome, 0) + 1
            if len(counts) > 1:
                flaky[nodeid] = counts
        return flaky

    def figures(self) -> dict[str, Any]:
        seconds = [run.seconds for run in self.runs]
        return {
            "provider": self.provider,
            "cpu_contention": self.contention,
            "runs_requested": self.requested_runs,
            "runs": len(self.runs),
            "stopped": self.stopped,
            "seconds_per_run": {
                "min": min(seconds, default=None),
                "median": statistics.median(seconds) if seconds else None,
                "max": max(seconds, default=None),
            },
            "distinct_results": sorted({run.result for run in self.runs}),
            "runs_without_report": sum(run.run_id is None for run in self.runs),
            "flaky_results": len(self.flaky()),
            "flaky": self.flaky(),
            "profile_diff_runs": sum(bool(run.profile_differences) for run in self.runs),
            "leaked_objects": sum(len(run.leftovers.labelled) + len(run.leftovers.new) for run in self.runs),
            "leaked_processes": sum(len(run.leaked_processes) for run in self.runs),
            "command": self.command,
        }

    def to_json(self) -> str:
        runs = []
        for run in self.runs:
            record = asdict(run)
            record["verdict_counts"] = _counts(run.verdicts)
            del record["verdicts"]  # the report of each run has them; the flaky map names the differing
            runs.append(record)
        return json.dumps({**self.figures(), "per_run": runs}, indent=2) + "\n"


def _counts(verdicts: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in verdicts.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def write(soak: Soak, path: Path) -> None:
    """Rewritten after every run, so a soak stopped half-way still leaves its figures."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(soak.to_json())


def print_table(soak: Soak, console: Console) -> None:
    title = f"soak: {soak.provider}{' under CPU contention' if soak.contention else ''}"
    table = Table(
        "run", "wait s", "run s", "exit", "result", "profile", "objects left", "processes left", title=title
    )
    for run in soak.runs:
        left = run.leftovers
        table.add_row(
            str(run.number),
            f"{run.lock_wait_seconds:.0f}",
            f"{run.seconds:.1f}",
            str(run.exit_code),
            run.result,
            "identical" if not run.profile_differences else ", ".join(run.profile_differences),
            f"{len(left.labelled) + len(left.new)} (at exit {left.at_exit})",
            str(len(run.leaked_processes)),
        )
    console.print(table)
    figures = soak.figures()
    per_run = figures["seconds_per_run"]
    console.print(
        f"{figures['runs']} of {figures['runs_requested']} runs"
        + (f" (stopped: {soak.stopped})" if soak.stopped else "")
        + f"; wall time per run min/median/max {per_run['min']}/{per_run['median']}/{per_run['max']} s; "
        f"flaky results: {figures['flaky_results']}; profile diffs: {figures['profile_diff_runs']}; "
        f"leaked objects: {figures['leaked_objects']}; leaked processes: {figures['leaked_processes']}",
        highlight=False,
    )
    for nodeid, counts in figures["flaky"].items():
        console.print(f"  flaky {nodeid}: {counts}", highlight=False)
